#!/usr/bin/env python3
"""Envoy PathUtil (canonicalPath, mergeSlashes, removeQueryAndFragment) via PathUtilityTestCase."""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("path_utility", sys.argv)
