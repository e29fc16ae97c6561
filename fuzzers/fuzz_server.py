#!/usr/bin/env python3
"""Envoy's server_fuzz_test: fuzzed v3 Bootstrap configs (model of envoy --mode validate)."""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("server", sys.argv)
