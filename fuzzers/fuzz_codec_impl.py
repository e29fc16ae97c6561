#!/usr/bin/env python3
"""Envoy's codec_impl_fuzz_test: HTTP/1 and HTTP/2 client and server codecs against each other"""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("codec_impl", sys.argv)
