#!/usr/bin/env python3
"""HTTP/2 server codec on Http2ConnectionFuzzCase frames (Envoy's http2_connection_fuzz_test)"""

import sys

from harness.engine import runner

if __name__ == "__main__":
    runner.main("http2_connection", sys.argv)
