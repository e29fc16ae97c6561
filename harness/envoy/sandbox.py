"""A validate-mode Envoy that cannot write outside its private directory.

``envoy --mode validate`` opens for real the files a config names for writing (access logs,
event logs, TLS key logs, ...), so a fuzzed config could create or truncate files anywhere
the process may write. Two layers keep it inside the run's private directory:

1. **Paths** (always): every written-file field of the config (``harness.config.files``) is
   rewritten to a fresh name inside ``<private>/written/`` before Envoy sees it. Envoy then
   opens a file that can always be created, whatever the host's file system holds, so the
   verdict depends on the config alone (the model's view: it is sans-IO).
2. **A read-only file system** (where the kernel lets an unprivileged process have it): Envoy
   runs in its own user and mount namespace in which every mount is read-only except the
   private directory (``mount_setattr`` with ``AT_RECURSIVE``, Linux 5.12+). Whatever the
   path table misses fails with ``Read-only file system`` instead of writing. Docker's default
   seccomp profile refuses ``unshare(CLONE_NEWUSER)``; there (``namespace_available()`` is
   False) the paths layer is all, and a config that does not parse here (so its paths cannot
   be rewritten) runs only if its bytes name no written-file field at all.

``--envoy-mode serve`` (``harness.envoy.serve``) also needs a **private network**: the same
namespace plus a network namespace whose only interface is loopback, brought up. The config's
listeners bind there (only loopback addresses are local, as on a host with no other
interface, whatever this machine's own addresses are), and nothing it connects to (clusters,
health checks, xDS) leaves it.
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from harness.config import files
from harness.config.load import ConfigParseError, parse_config
from harness.config.validation import engine
from harness.engine.corpus import to_text
from harness.errors import UserError

_CLONE_NEWUSER, _CLONE_NEWNS, _CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000
_SUN_PATH = 108  # sizeof(sockaddr_un.sun_path)
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_IFREQ = struct.Struct("16sh22x")  # struct ifreq: the name, then ifr_flags in its union
_MS_BIND, _MS_REC, _MS_PRIVATE = 4096, 16384, 1 << 18
_AT_FDCWD, _AT_RECURSIVE, _MOUNT_ATTR_RDONLY = -100, 0x8000, 1
_SYS_MOUNT_SETATTR = 442  # the same number on every architecture (added in Linux 5.12)


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


class Sandbox:
    """One run's private directory: where the config's written files go, and how Envoy is
    started so that it can write nowhere else."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written = root / "written"
        self.written.mkdir()
        self._placed: dict[tuple[str, str], str] = {}

    def place(self, path: str, kind: str) -> str:
        """A fresh name inside the private directory for a file the config names (the same
        one each time the config names the same path: two sockets on one path collide, two
        logs share a file, as they would unsandboxed)."""
        if kind == files.SOCKET and (
            path.startswith("@") or "\0" in path or len(path.encode()) >= _SUN_PATH
        ):
            # abstract (no file, and private to the network namespace), or a path Envoy
            # rejects before it binds (Network::Address::PipeInstance): kept, creating nothing
            return path
        placed = self._placed.get((path, kind))
        if placed is None:
            target = self.written / str(len(self._placed) + 1)
            if kind == files.DIRECTORY:
                target.mkdir()
            placed = f"{target}-" if kind == files.PREFIX else str(target)
            self._placed[(path, kind)] = placed
        return placed

    def confine(self, data: bytes, fmt: str, served: bool = False) -> tuple[bytes, str]:
        """The config to hand Envoy, and its format: ``data`` itself when it names no written
        file, else with those paths rewritten (as text proto, whatever ``fmt`` was); with
        ``served`` (serve mode) the Unix sockets it binds too. Raises UserError when neither
        layer can hold the config."""
        try:
            msg = parse_config(data, fmt)
        except ConfigParseError as e:
            if namespace_available() or not any(
                w.encode() in data for w in files.WRITTEN_FILE_WORDS
            ):
                return data, fmt
            raise UserError(
                f"cannot sandbox envoy --mode validate: the config does not parse here ({e}), "
                "so the files it names cannot be redirected, and this machine gives no "
                "unprivileged user namespace for a read-only file system"
            ) from None
        if not files.redirect_written_files(msg, self.place, engine().message_of_any, served):
            return data, fmt
        return to_text(msg), "text"  # prints any Any, even one whose payload is corrupt

    def preexec(
        self, then: Callable[[], None], private_network: bool = False
    ) -> Callable[[], None]:
        """The child's set-up between fork and exec: ``then`` (the caller's own), then the
        read-only namespace when the machine has it; with ``private_network`` the namespace
        is required (UserError if the machine has none) and has a network of its own."""
        if private_network:
            require_private_network()
        elif not namespace_available():
            return then
        enter = _enter_read_only(self.root, private_network)

        def both() -> None:
            then()
            enter()

        return both


def require_private_network() -> None:
    """UserError unless this machine can give a process a private network (serve mode)."""
    if not namespace_available():
        raise UserError(
            "--envoy-mode serve needs a private network namespace, and this machine gives no "
            "unprivileged user namespace (Docker's default seccomp profile refuses one): use "
            "validate mode"
        )


def _enter_read_only(writable: Path, private_network: bool = False) -> Callable[[], None]:
    """A function for the child (between fork and exec) that enters a new user and mount
    namespace where only ``writable`` (and below) may be written, and with
    ``private_network`` a network namespace with loopback up; it raises OSError if the
    kernel refuses (then Popen raises SubprocessError)."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    root = str(writable).encode()
    read_only, read_write = (
        _MountAttr(_MOUNT_ATTR_RDONLY, 0, 0, 0),
        _MountAttr(0, _MOUNT_ATTR_RDONLY, 0, 0),
    )

    def check(result: int) -> None:
        if result != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def enter() -> None:
        check(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS | (_CLONE_NEWNET * private_network)))
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"{uid} {uid} 1"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None))
        check(libc.mount(root, root, None, _MS_BIND | _MS_REC, None))
        size = ctypes.sizeof(_MountAttr)
        check(
            libc.syscall(
                _SYS_MOUNT_SETATTR, _AT_FDCWD, b"/", _AT_RECURSIVE, ctypes.byref(read_only), size
            )
        )
        check(
            libc.syscall(
                _SYS_MOUNT_SETATTR, _AT_FDCWD, root, _AT_RECURSIVE, ctypes.byref(read_write), size
            )
        )
        # the working directory (set before this) is still the one under the read-only
        # mounts: enter it again through the writable bind, or relative paths cannot write
        os.chdir(os.getcwd())
        if private_network:
            _loopback_up()

    return enter


def _loopback_up() -> None:
    """``ip link set lo up`` in this process's network namespace (a new one has it down, and
    then every address binds, where a host would refuse one it does not have)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        _, flags = _IFREQ.unpack(fcntl.ioctl(s, _SIOCGIFFLAGS, _IFREQ.pack(b"lo", 0)))
        fcntl.ioctl(s, _SIOCSIFFLAGS, _IFREQ.pack(b"lo", flags | _IFF_UP))


@functools.cache
def namespace_available() -> bool:
    """Whether this machine lets us run a process in a read-only namespace (probed once, by
    starting the Python interpreter in one and having it fail to write)."""
    if sys.platform != "linux" or os.environ.get("ENVOY_FUZZ_SANDBOX") == "paths":
        return False
    import tempfile

    with tempfile.TemporaryDirectory(prefix="envoy-fuzz-sandbox-probe-") as tmp:
        outside = Path(tmp).parent / f"{Path(tmp).name}-outside"
        probe = f"open({str(outside)!r}, 'w')"
        try:
            result = subprocess.run(
                [sys.executable, "-c", probe],
                preexec_fn=_enter_read_only(Path(tmp)),
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (subprocess.SubprocessError, OSError):
            return False
        if outside.exists():  # the namespace did not hold: never rely on it
            outside.unlink()
            return False
        return result.returncode != 0 and b"Read-only file system" in result.stderr


def layers() -> str:
    """The sandbox layers this machine gives, in words (for reports)."""
    return "paths + read-only namespace" if namespace_available() else "paths only"
