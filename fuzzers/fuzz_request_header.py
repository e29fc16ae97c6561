#!/usr/bin/env python3
"""HTTP/2 server codec on raw frame bytes (Envoy's request_header_fuzz_test frame replay)"""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("request_header", sys.argv)
