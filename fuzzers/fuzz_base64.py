#!/usr/bin/env python3
"""Envoy Base64 and Base64Url encode/decode on raw bytes."""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("base64", sys.argv)
