#!/usr/bin/env python3
"""Envoy's h2_capture_direct_response_fuzz_test: a direct-response route over HTTP/2."""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("h2_capture_direct_response", sys.argv)
