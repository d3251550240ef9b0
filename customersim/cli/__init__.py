"""The ``customersim`` command line: thin subcommands over the library.

Each subcommand lives in its own module of this package and exposes ``register(subparsers)``,
which adds its parser and sets ``handler(args, environ) -> int``. Settings come from the
environment first and flags override them; entry points are the only place the environment is
read.

Errors a user can fix (a bad setting, a broken file, an unreachable broker) are printed as one
line on stderr with exit status 2 (usage) or 1 (failure), never as a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from customersim.cli import customers, fit, generate, publish, report, run, send, validate
from customersim.errors import FAILURES, ConfigError

# Subcommands, in the order ``--help`` lists them.
COMMANDS = (generate, validate, publish, run, send, report, fit, customers)


class _Parser(argparse.ArgumentParser):
    """argparse with its errors in one line (the usage text is what ``--help`` is for)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="customersim",
        description="Simulate shoppers in a store: datasets, validation and live MQTT events.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting."""
    parser = build_parser()
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    try:
        return int(args.handler(args, env) or 0)
    except ConfigError as error:
        print(f"customersim {args.command}: {error}", file=sys.stderr)
        return 2
    except FAILURES as error:
        print(f"customersim {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"customersim {args.command}: interrupted", file=sys.stderr)
        return 130
