#!/usr/bin/env python3
"""HPACK encode/decode round trip on HpackTestCase header lists (Envoy's hpack_fuzz_test)"""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("hpack", sys.argv)
