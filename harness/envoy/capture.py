"""A capture testcase's events as the runs of bytes the lane writes, side by side.

Envoy's h1_fuzz.cc / h2_fuzz.cc write each event in turn; the lane joins consecutive events of
one side into one write (see ``harness.envoy.lane``: deviations from Envoy's fixture).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from harness.codec.http2 import PREFACE as H2_PREFACE

DOWN: Final = "downstream"
UP: Final = "upstream"


def h1_runs(case: Any, direct: bool) -> list[tuple[str, bytes]]:
    """A CaptureFuzzTestCase's events as runs: consecutive sends of one side joined, the
    no-op events (``*_recv_bytes``, unset) and, for a direct route, upstream sends left out.
    Sides alternate from one run to the next."""
    runs: list[tuple[str, bytes]] = []
    append = runs.append
    side = ""
    chunks: list[bytes] = []
    for event in case.events:
        which = event.WhichOneof("event_selector")
        if which == "downstream_send_bytes":
            if side is not DOWN:
                if chunks:
                    append((side, b"".join(chunks)))
                side, chunks = DOWN, []
            chunks.append(event.downstream_send_bytes)
        elif which == "upstream_send_bytes" and not direct:
            if side is not UP:
                if chunks:
                    append((side, b"".join(chunks)))
                side, chunks = UP, []
            chunks.append(event.upstream_send_bytes)
    if chunks:
        append((side, b"".join(chunks)))
    return runs


def h2_runs(case: Any, direct: bool) -> list[tuple[str, bytes]]:
    """An H2CaptureFuzzTestCase's events as runs (see ``h1_runs``); the client preface goes
    before the first downstream event only (h2_fuzz.cc)."""
    from harness.codec.h2_frames import h2_capture_event_bytes

    steps: Iterable[tuple[str | None, bytes]] = map(h2_capture_event_bytes, case.events)
    runs: list[tuple[str, bytes]] = []
    preface = True
    side = ""
    chunks: list[bytes] = []
    for step, data in steps:
        if step == DOWN:
            step = DOWN
            if preface:
                preface = False
                data = H2_PREFACE + data
        elif step == UP and not direct:
            step = UP
        else:
            continue  # *_recv_bytes, unset, or upstream bytes of a direct route
        if step is not side:
            if chunks:
                runs.append((side, b"".join(chunks)))
            side, chunks = step, []
        chunks.append(data)
    if chunks:
        runs.append((side, b"".join(chunks)))
    return runs
