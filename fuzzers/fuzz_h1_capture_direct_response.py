#!/usr/bin/env python3
"""Envoy's h1_capture_direct_response_fuzz_test: a direct-response route, model or real Envoy."""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("h1_capture_direct_response", sys.argv)
