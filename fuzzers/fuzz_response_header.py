#!/usr/bin/env python3
"""HTTP/2 client codec on raw frame bytes (Envoy's response_header_fuzz_test frame replay)"""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("response_header", sys.argv)
