"""Argument types and flags shared by every subcommand module."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path

from harness import targets
from harness.engine.runner import ENV_ENVOY_MODE
from harness.errors import UserError

ENVOY_MODES = ("validate", "serve")
_ENVOY_MODE_PLANES = ("envoy", "differential")


def targets_flag(p: argparse.ArgumentParser) -> None:
    """``--targets FILE.py`` (repeatable): load a user's targets file first."""
    p.add_argument(
        "--targets",
        type=Path,
        metavar="FILE.py",
        action="append",
        default=[],
        help="also load targets a Python file registers with harness.register()",
    )


def load_user_targets(args: argparse.Namespace) -> None:
    for path in args.targets:
        targets.load_file(path)


def envoy_mode_flag(p: argparse.ArgumentParser) -> None:
    """``--envoy-mode validate|serve``: how the config target's envoy plane runs Envoy."""
    p.add_argument(
        "--envoy-mode",
        choices=ENVOY_MODES,
        help="server target, envoy/differential planes: validate (default): envoy --mode "
        "validate; serve: start the config for a moment in a private network",
    )


def apply_envoy_mode(
    args: argparse.Namespace, names: Iterable[str], plane: str | None, *, command: str
) -> None:
    """Check ``--envoy-mode`` against the targets ``names`` and the ``plane`` (None: not
    checked) and put it in this process's environment (``runner.ENV_ENVOY_MODE``), where the
    fuzzers, triage and replays it starts read it."""
    mode = getattr(args, "envoy_mode", None)
    if mode is None:
        return
    for name in names:
        if mode not in targets.envoy_modes(name):
            raise UserError(f"{command}: target {name!r} takes no --envoy-mode")
    if plane is not None and plane not in _ENVOY_MODE_PLANES:
        raise UserError(f"{command}: --envoy-mode is for the envoy and differential planes")
    if mode == "serve":
        from harness.envoy.sandbox import require_private_network

        require_private_network()
    os.environ[ENV_ENVOY_MODE] = mode


def _whole_number(text: str, least: int, wording: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be {wording}: {text!r}")
    return value


def positive_int(text: str) -> int:
    return _whole_number(text, 1, "at least 1")


def non_negative_int(text: str) -> int:
    return _whole_number(text, 0, "0 or more")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def short_path(path: str | Path) -> str:
    """``path`` relative to the working dir when it is below it, else as it is."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
