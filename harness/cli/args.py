"""Argument types and flags shared by every subcommand module."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import targets


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
