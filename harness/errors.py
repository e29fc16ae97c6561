"""Errors the user can read: one line, a non-zero exit, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input (flag, file, target name, missing tool).

    The CLI prints ``envoy-fuzz: <message>`` and exits with status 2.
    """


class TestcaseError(UserError):
    """A corpus file that cannot be read as the target's input kind."""

    __test__ = False  # not a pytest test class
