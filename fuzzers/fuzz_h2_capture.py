#!/usr/bin/env python3
"""Envoy's h2_capture_fuzz_test: H2CaptureFuzzTestCase through the Envoy model or a real Envoy."""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("h2_capture", sys.argv)
