#!/usr/bin/env python3
"""Fuzzes the Envoy-compatible HTTP/1 codec with raw byte streams, as requests and as responses."""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("http1_connection", sys.argv)
