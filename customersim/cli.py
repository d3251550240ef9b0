"""The ``customersim`` command line: thin subcommands over the library.

Each subcommand lives in its own module under :mod:`customersim.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``handler(args, environ) -> int``.
Settings come from the environment first and flags override them; entry points are the only
place the environment is read.

Errors a user can fix (a bad setting, a broken file, an unreachable broker) are printed as one
line on stderr with exit status 2 (usage) or 1 (failure), never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Mapping, Sequence

from customersim.config import ConfigError

# Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "customersim.commands.generate",
    "customersim.commands.validate",
    "customersim.commands.publish",
    "customersim.commands.run",
    "customersim.commands.send",
)


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit status 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="customersim",
        description="Simulate shoppers in a store: datasets, validation and live MQTT events.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:  # a command not built yet
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting."""
    parser = build_parser()
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    try:
        return int(args.handler(args, env) or 0)
    except (ConfigError, UserError) as error:
        print(f"customersim {args.command}: {error}", file=sys.stderr)
        return 2 if isinstance(error, ConfigError) else 1
    except KeyboardInterrupt:
        print(f"customersim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
