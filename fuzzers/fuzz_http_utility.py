#!/usr/bin/env python3
"""Envoy Http::Utility functions driven by test.common.http.UtilityTestCase."""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("http_utility", sys.argv)
