#!/usr/bin/env python3
"""HTTP/2 frame parse/serialize/re-parse fixpoint on raw frame streams"""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("h2_frames", sys.argv)
