"""Envoy-plane run functions of the capture targets (input: test.integration.CaptureFuzzTestCase).

Each target keeps one lane (one Envoy + fake upstream) for the whole process, started on
first use and stopped at exit. The oracle is Envoy staying alive and answering: a crash or
hang escapes as ``EnvoyCrash`` / ``EnvoyHang`` (the lane has restarted Envoy by then).
"""

from __future__ import annotations

import atexit
import ctypes
from typing import Any

from harness.config.proxy import ProxyConfig
from harness.envoy.lane import EnvoyLane

_lanes: dict[str, EnvoyLane] = {}


def lane(name: str, config: ProxyConfig) -> EnvoyLane:
    """The process-wide lane called ``name`` (started on first use)."""
    found = _lanes.get(name)
    if found is None:
        if not _lanes:
            atexit.register(stop_lanes)
            _at_c_exit()
        found = _lanes[name] = EnvoyLane(config)
        found.start()
    return found


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


def stop_lanes() -> None:
    for running in _lanes.values():
        running.stop()
    _lanes.clear()


def h1_capture(case: Any) -> None:
    """Replay a capture through Envoy to the scripted upstream (Envoy's h1_capture_fuzz_test)."""
    lane("h1_capture", ProxyConfig(downstream="http1")).replay_capture(case, settle=False)


def h1_capture_direct_response(case: Any) -> None:
    """Replay a capture against a direct-response route (h1_capture_direct_response_fuzz_test)."""
    config = ProxyConfig(downstream="http1", direct_response=True)
    lane("h1_capture_direct_response", config).replay_capture(case, direct=True, settle=False)
