#!/usr/bin/env python3
"""An Envoy-like request header map driven by HeaderMapImplFuzzTestCase actions."""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("header_map", sys.argv)
