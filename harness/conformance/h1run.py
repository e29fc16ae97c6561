"""Run one HTTP/1 case on its own connection: write its bytes, read responses, judge.

Responses are read until the server closes, the expected number of final responses arrived,
or the deadline passes. The reader knows just enough HTTP/1.1 (status line, Content-Length,
chunked, 1xx) to count and frame answers; a response it cannot parse ends the reading.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from harness.conformance.case import Case, H1Expect
from harness.conformance.net import Closed, Connection, Outcome, Result, Timeout

_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r?\n")


@dataclass
class Read:
    statuses: list[int]  # every status, 1xx included, in order
    closed: bool
    timed_out: bool

    def describe(self) -> list[str]:
        out = [f"HTTP/1.1 {s}" for s in self.statuses]
        if self.closed:
            out.append("Connection closed")
        if self.timed_out:
            out.append("Timeout")
        return out or ["nothing"]


def _split_one(buf: bytes, head_request: bool) -> tuple[int, int] | None:
    """(status, bytes used) of the first complete response in ``buf``, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    m = _STATUS.match(buf)
    if m is None:
        raise ValueError("not an HTTP/1 response")
    status = int(m.group(1))
    head = buf[:end].decode("latin-1").lower()
    at = end + 4
    if 100 <= status < 200 or status in (204, 304) or head_request:
        return status, at
    cl = re.search(r"\ncontent-length:\s*(\d+)", head)
    if "transfer-encoding: chunked" in head:
        pos = at
        while True:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                return None
            size = int(buf[pos:line_end].split(b";")[0].strip() or b"0", 16)
            pos = line_end + 2
            if size == 0:
                trailer_end = buf.find(b"\r\n", pos)
                while trailer_end > pos:  # skip trailer fields
                    pos = trailer_end + 2
                    trailer_end = buf.find(b"\r\n", pos)
                if trailer_end < 0:
                    return None
                return status, trailer_end + 2
            if len(buf) < pos + size + 2:
                return None
            pos += size + 2
    if cl:
        n = int(cl.group(1))
        return (status, at + n) if len(buf) >= at + n else None
    return None  # body to the close


def read_responses(
    conn: Connection, deadline: float, finals: int, head_request: bool = False
) -> Read:
    buf, statuses, got = b"", [], 0
    while True:
        try:
            buf += conn.recv(deadline)
        except Closed:
            if buf and _STATUS.match(buf):  # a response delimited by the close
                statuses.append(int(_STATUS.match(buf).group(1)))  # type: ignore[union-attr]
            return Read(statuses, True, False)
        except Timeout:
            return Read(statuses, False, True)
        while buf:
            try:
                one = _split_one(buf, head_request)
            except ValueError:
                return Read(statuses, False, False)
            if one is None:
                break
            status, used = one
            statuses.append(status)
            buf = buf[used:]
            if status >= 200:
                got += 1
        if got >= finals:
            return Read(statuses, False, False)


def expected_text(e: H1Expect) -> list[str]:
    match e.kind:
        case "reject":
            codes = "/".join(map(str, e.statuses)) if e.statuses else "4xx"
            if e.close:
                return [f"HTTP/1.1 {codes}, then Connection closed"]
            return [f"HTTP/1.1 {codes}", "Connection closed"]
        case "accept":
            return [f"{e.count} response(s) with status < 400"]
        case "status":
            return ["statuses " + " ".join(map(str, e.statuses))]
        case "interim_then_final":
            return ["HTTP/1.1 100 Continue, then a final response"]
        case "closed_after":
            return ["a response, then Connection closed"]
        case "answered":
            return ["any response"]
    return []


def passes(e: H1Expect, r: Read) -> bool:
    finals = [s for s in r.statuses if s >= 200]
    match e.kind:
        case "reject":
            if not finals:
                return r.closed
            if e.close and not r.closed:
                return False
            return finals[0] in e.statuses if e.statuses else 400 <= finals[0] < 500
        case "accept":
            return len(finals) >= e.count and all(s < 400 for s in finals[: e.count])
        case "status":
            return tuple(finals) == e.statuses
        case "interim_then_final":
            return bool(r.statuses) and r.statuses[0] == 100 and bool(finals)
        case "closed_after":
            return bool(finals) and r.closed
        case "answered":
            return bool(r.statuses)
    return False


def run_h1(case: Case, conn: Connection, timeout: float) -> Outcome:
    e = case.expect
    assert isinstance(e, H1Expect)
    deadline = time.monotonic() + timeout
    head_request = case.writes[0].startswith(b"HEAD ") if case.writes else False
    try:
        for data in case.writes:
            conn.send(data)
    except Closed:
        pass  # what the server answered before closing is still read
    finals = e.count if e.kind == "accept" else max(1, len(e.statuses))
    if e.kind == "closed_after" or (e.kind == "reject" and e.close):
        finals = 10**6  # read to the close
    read = read_responses(conn, deadline, finals, head_request)
    result: Result = "passed" if passes(e, read) else "failed"
    return Outcome(result, expected_text(e), read.describe())
