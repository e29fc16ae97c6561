"""Envoy-plane run functions of the capture targets.

Inputs: ``test.integration.CaptureFuzzTestCase`` (h1_capture*) and
``test.integration.H2CaptureFuzzTestCase`` (h2_capture*), replayed as Envoy's
h1/h2_capture[_direct_response]_fuzz_test do (see ``harness.envoy.lane``).

Each target keeps one lane (one Envoy + fake upstream, ``harness.envoy.lanes``) for the whole
process. The oracle is Envoy staying alive and answering: a crash or
hang escapes as ``EnvoyCrash`` / ``EnvoyHang`` (the lane has restarted Envoy by then) when the
input it is blamed on reproduces it on the fresh Envoy (``harness.envoy.faults``); one that
does not (Envoy killed from outside) is logged and the run goes on.

The lanes replay with ``finish="input"``: when a call returns, Envoy has handled every byte
of the case (a crash on it is raised by that call, its answers are all read); Envoy closes
the case's connections while the engine mutates the next input, and a crash in that part
is raised by the next call (blamed on this case in ``EnvoyCrash.data``).

The lane machinery is imported before the runner instruments this module (``lanes``) or on
first use (``lane``), never with it: sockets, process handling and response parsing are not
what should guide the fuzzer (instrumenting them costs ~0.4 s of start-up and slows every
input). Guidance is ``_feedback``: one branch per fact of Envoy's visible
behaviour after the case - whether it opened an upstream connection, the answers (status
classes and the common codes), its close, how many requests reached the upstream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.envoy.faults import replay_confirmed
from harness.envoy.lanes import lane, watch

if TYPE_CHECKING:
    from harness.envoy.lane import EnvoyLane
    from harness.observation import Observation


def _feedback(obs: Observation, connected: bool) -> int:
    """Branches on what Envoy visibly did, so that new behaviour is new coverage (each
    branch has its own statement: an empty one could be compiled away with its edge)."""
    seen = 0
    if connected:
        seen += 1
    for status in obs.statuses:
        if status < 200:
            seen += 2
        elif status == 200:
            seen += 3
        elif status < 300:
            seen += 4
        elif status < 400:
            seen += 5
        elif status == 400:
            seen += 6
        elif status == 403 or status == 404:
            seen += 7
        elif status == 408 or status == 413 or status == 414:
            seen += 8
        elif status == 426 or status == 431:
            seen += 9
        elif status < 500:
            seen += 10
        elif status == 500:
            seen += 11
        elif status == 502:
            seen += 12
        elif status == 503:
            seen += 13
        elif status == 504:
            seen += 14
        else:
            seen += 15
    if len(obs.statuses) > 1:
        seen += 16
    if obs.closed:
        seen += 17
    requests = len(obs.upstream)
    if requests == 1:
        seen += 18
    elif requests > 1:
        seen += 19
    if any(r.body for r in obs.upstream):
        seen += 20
    return seen


def _watched(name: str, replay: Callable[[EnvoyLane, Any], Observation], case: Any) -> None:
    """Replay ``case`` on lane ``name``; then Envoy's counters (``harness.envoy.stats``) - read
    inside the confirmed replay, so a crash during the closes is checked like any other."""
    running = lane(name)
    counters = watch(name)

    def again(c: Any) -> Observation:
        return replay(running, c)

    counters.before_input(running, case, again)

    def replay_and_read(c: Any) -> Observation:
        obs = replay(running, c)
        counters.after_input(running, c, again)
        return obs

    _feedback(replay_confirmed(running, replay_and_read, case), running.upstream_connected)


def _h1(running: EnvoyLane, case: Any) -> Observation:
    return running.replay_capture(case, settle=False)


def _h1_direct(running: EnvoyLane, case: Any) -> Observation:
    return running.replay_capture(case, direct=True, settle=False)


def _h2(running: EnvoyLane, case: Any) -> Observation:
    return running.replay_h2_capture(case, settle=False)


def _h2_direct(running: EnvoyLane, case: Any) -> Observation:
    return running.replay_h2_capture(case, direct=True, settle=False)


def h1_capture(case: Any) -> None:
    """Replay a capture through Envoy to the scripted upstream (Envoy's h1_capture_fuzz_test)."""
    _watched("h1_capture", _h1, case)


def h1_capture_direct_response(case: Any) -> None:
    """Replay a capture against a direct-response route (h1_capture_direct_response_fuzz_test)."""
    _watched("h1_capture_direct_response", _h1_direct, case)


def h2_capture(case: Any) -> None:
    """Replay an HTTP/2 capture through Envoy to the scripted upstream (h2_capture_fuzz_test)."""
    _watched("h2_capture", _h2, case)


def h2_capture_direct_response(case: Any) -> None:
    """Replay an HTTP/2 capture against a direct-response route
    (h2_capture_direct_response_fuzz_test)."""
    _watched("h2_capture_direct_response", _h2_direct, case)
