#!/usr/bin/env python3
"""Envoy's http1_codec_impl_fuzz_test: Http1CodecImplFuzzTestCase messages, HTTP/1 codec"""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("http1_codec_impl", sys.argv)
