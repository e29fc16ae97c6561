"""The process-wide lanes of the Envoy plane: one Envoy + fake upstream per capture target.

Each lane starts on first use - or earlier, by ``prestart``, which the runner calls before it
loads and instruments the target, so that Envoy gets ready while the engine does that - and
stops at exit, however the process ends.

Kept apart from the run functions (``harness.envoy.fuzz``): the runner imports this module
before it instruments the target, and the lane machinery is not what should guide the fuzzer.
"""

from __future__ import annotations

import atexit
import ctypes
import os
from typing import TYPE_CHECKING, Any, Final

from harness.config.proxy import ProxyConfig
from harness.engine import runner
from harness.engine.runner import ENV_SPIN, feedback
from harness.envoy.stats import CounterWatch, batch_size, out_dir_from_env

if TYPE_CHECKING:
    from harness.envoy.lane import EnvoyLane

H1: Final = ProxyConfig(downstream="http1")
H1_DIRECT: Final = ProxyConfig(downstream="http1", direct_response=True)
# h2_capture_fuzz_test: HTTP/2 both sides, METADATA allowed on the HCM and on cluster_0.
H2: Final = ProxyConfig(downstream="http2", upstream="http2", allow_metadata=True)
# h2_capture_direct_response_fuzz_test has its own initialize(): no allow_metadata there.
H2_DIRECT: Final = ProxyConfig(downstream="http2", upstream="http2", direct_response=True)

# The bootstrap of each capture target's Envoy (Envoy's <target>_fuzz_test).
CAPTURE_CONFIGS: Final = {
    "h1_capture": H1,
    "h1_capture_direct_response": H1_DIRECT,
    "h2_capture": H2,
    "h2_capture_direct_response": H2_DIRECT,
}

_lanes: dict[str, EnvoyLane] = {}
_watches: dict[str, CounterWatch] = {}


def lane(name: str, config: ProxyConfig | None = None) -> EnvoyLane:
    """The process-wide lane called ``name``; ``config`` defaults to the capture target
    ``name``'s. Its Envoy starts (or, after ``prestart``, is waited for) on its first input."""
    return _lanes.get(name) or _new_lane(name, config or CAPTURE_CONFIGS[name])


def prestart(name: str) -> None:
    """Start the lane of capture target ``name`` without waiting for its Envoy to be ready
    (the first ``lane(name)`` waits); nothing for other names."""
    config = CAPTURE_CONFIGS.get(name)
    if config is not None and name not in _lanes:
        _new_lane(name, config).launch()


def _new_lane(name: str, config: ProxyConfig) -> EnvoyLane:
    from harness.envoy.lane import SPIN, EnvoyLane

    if not _lanes:
        atexit.register(stop_lanes)
        _at_c_exit()
    try:
        spin = float(os.environ.get(ENV_SPIN, SPIN))
    except ValueError:
        spin = SPIN
    found = _lanes[name] = EnvoyLane(config, finish="input", spin=spin)
    return found


def watch(name: str) -> CounterWatch:
    """The stat-counter watch of lane ``name`` (``harness.envoy.stats``): per input under
    ``--feedback stats`` (the runner's ``feedback()``), else a read now and then."""
    found = _watches.get(name)
    if found is None:
        found = _watches[name] = CounterWatch(
            feedback() == "stats",
            out_dir_from_env(),
            batch=batch_size(),
            hand_back=runner.output_corpus,
        )
    return found


def running() -> dict[str, EnvoyLane]:
    """The lanes this process started, by name."""
    return dict(_lanes)


def stop_lanes() -> None:
    for name, started in _lanes.items():
        if name in _watches:
            _watches[name].finish(started)
        started.stop()
    _lanes.clear()


_CExitHook = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_c_hook: Any = None
_c_handle = ctypes.create_string_buffer(1)  # a unique address: the hook's "DSO handle"


def _at_c_exit() -> None:
    """Also stop the lanes when libFuzzer ends the process with C exit(), which skips
    Python's atexit (else Envoy dies by PDEATHSIG only, and is left unreaped where PID 1
    does not reap). On a normal Python exit the hook runs early, from Python's atexit, via
    __cxa_finalize - which also removes it, as it must not run once Python is finalized."""
    global _c_hook
    if _c_hook is not None:
        return
    try:  # glibc: __cxa_atexit/__cxa_finalize (plain atexit is not an exported symbol)
        libc = ctypes.CDLL(None)
        register, finalize = libc.__cxa_atexit, libc.__cxa_finalize
    except (AttributeError, OSError):
        return  # PDEATHSIG still kills Envoy
    register.argtypes = [_CExitHook, ctypes.c_void_p, ctypes.c_void_p]
    finalize.argtypes = [ctypes.c_void_p]
    _c_hook = _CExitHook(lambda _: stop_lanes())
    handle = ctypes.addressof(_c_handle)
    if register(_c_hook, None, handle) == 0:
        atexit.register(finalize, handle)
