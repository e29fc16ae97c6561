#!/usr/bin/env python3
"""Envoy StringUtil (atoull, escape, trim, crop, findToken) on raw bytes."""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("string_utility", sys.argv)
