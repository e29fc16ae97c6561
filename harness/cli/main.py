"""`envoy-fuzz` command line.

Each module of ``COMMAND_MODULES`` adds its subcommands with ``register_commands(subparsers)``;
a subcommand's handler takes the parsed args and returns the exit status. A ``UserError``
anywhere becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from harness.cli import ci, config, fuzzing, report, triage, views
from harness.errors import UserError, one_line

# Modules that add subcommands; each defines register_commands(subparsers).
COMMAND_MODULES = (fuzzing, views, triage, report, ci, config)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit status 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        # prog is "envoy-fuzz" or "envoy-fuzz fuzz": the CLI adds the program name itself
        command = self.prog.partition(" ")[2]
        raise UserError(f"{command}: {message}" if command else message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="envoy-fuzz",
        description="Envoy-compatible fuzzing and protocol test harness.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in COMMAND_MODULES:
        module.register_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(args_list)
        if extra and not getattr(args, "accepts_extra", False):
            raise UserError(f"{args.command}: unrecognized arguments: {' '.join(extra)}")
        args.extra = extra
        return int(args.handler(args))
    except UserError as e:
        print(one_line(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("envoy-fuzz: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
