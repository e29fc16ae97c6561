"""Errors the user can read: one line, a non-zero exit, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input (flag, file, target name, missing tool).

    The CLI prints ``envoy-fuzz: <message>`` and exits with status 2.
    """


PREFIX = "envoy-fuzz: "


def one_line(error: UserError) -> str:
    """How a UserError is shown: by the CLI, and by a fuzzer child in its output."""
    return f"{PREFIX}{error}"


def reported_in(output: str) -> str | None:
    """The last UserError a child process reported in ``output`` (its message), if any."""
    lines = [line for line in output.splitlines() if line.startswith(PREFIX)]
    return lines[-1].removeprefix(PREFIX) if lines else None


class TestcaseError(UserError):
    """A corpus file that cannot be read as the target's input kind."""

    __test__ = False  # not a pytest test class
