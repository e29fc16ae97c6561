"""Envoy faults the input does not reproduce: restarted and logged, not findings.

An Envoy can die or stop for reasons no input caused: a SIGKILL from outside (an operator, the
kernel's OOM killer, a test), a SIGSTOP, a machine under pressure. The lane has restarted
Envoy by the time it raises ``EnvoyCrash`` / ``EnvoyHang``; here the input it blames is
replayed once more on that fresh Envoy, with every close synced (``finish="sync"``). Only a
fault that happens again is a finding; otherwise one line goes to stderr (the fuzz log) and
the input at hand is replayed, so the run goes on as if nothing had happened.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.envoy.errors import EnvoyCrash, EnvoyError

if TYPE_CHECKING:  # the lane is imported on first use, never with the envoy plane's module
    from harness.envoy.lane import EnvoyLane
    from harness.observation import Observation

# Unreproduced faults in a row on one input before the last one is let through as a finding:
# an Envoy that keeps dying under every input is not healthy, whatever the cause.
MAX_UNREPRODUCED = 3


def replay_confirmed(
    lane: EnvoyLane, replay: Callable[[Any], Observation], case: Any
) -> Observation:
    """``replay(case)``; a fault escapes only when its blamed input reproduces it."""
    for _ in range(MAX_UNREPRODUCED):
        try:
            return replay(case)
        except EnvoyError as fault:
            if reproduces(lane, replay, fault.data, like=case):
                raise
            log_unreproduced(fault, lane)
    return replay(case)


def reproduces(
    lane: EnvoyLane, replay: Callable[[Any], Observation], blamed: Any, *, like: Any
) -> bool:
    """Whether ``blamed`` crashes or hangs a fresh Envoy (the lane restarted it already)."""
    if type(blamed) is not type(like):  # Envoy died before any input: nothing to blame
        return False
    finish, lane.finish = lane.finish, "sync"
    try:
        replay(blamed)
    except EnvoyError:
        return True
    finally:
        lane.finish = finish
    return False


def log_unreproduced(fault: EnvoyError, lane: EnvoyLane) -> None:
    what = "exited" if isinstance(fault, EnvoyCrash) else "stopped answering"
    first = str(fault).splitlines()[0] if str(fault) else fault.kind
    print(
        f"envoy-fuzz: Envoy {what} ({first}) but the input does not reproduce it on a fresh "
        f"Envoy: not a finding; Envoy restarted ({lane.restarts} restarts so far)",
        file=sys.stderr,
        flush=True,
    )
