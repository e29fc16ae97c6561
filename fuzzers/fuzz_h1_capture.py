#!/usr/bin/env python3
"""Envoy's h1_capture_fuzz_test: CaptureFuzzTestCase through the Envoy model or a real Envoy."""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("h1_capture", sys.argv)
