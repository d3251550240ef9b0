"""``customersim validate FILE``: check an events file against the contract and journey rules."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from customersim.cli._sim_options import add_sim_arguments, config_from_args
from customersim.errors import UserError

SHOWN = 50


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check an events file (CSV or Parquet); exit 1 when anything is broken",
        description="Check an events file against the payload contract and the journey rules, "
        "with the grid, door and occupancy of the given settings.",
    )
    parser.add_argument("file", metavar="FILE", help="events file, .csv or .parquet")
    parser.add_argument(
        "--no-occupancy",
        action="store_true",
        help="do not compare the time-average occupancy with the target",
    )
    add_sim_arguments(parser)
    parser.set_defaults(handler=validate_command)


def validate_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    config = config_from_args(args, environ)
    from customersim.files import file_format, read_events
    from customersim.validate import validate_events

    try:
        frame = read_events(args.file)
    except (OSError, ValueError) as error:
        raise UserError(str(error)) from None
    report = validate_events(frame, config, check_occupancy=not args.no_occupancy)
    csv = file_format(args.file) == "csv"
    for row, rule, message in report.violations.head(SHOWN).itertuples(index=False):
        where = "file" if row < 0 else (f"line {row + 2}" if csv else f"row {row}")
        print(f"{args.file}: {where}: [{rule}] {message}")
    hidden = len(report.violations) - SHOWN
    if hidden > 0:
        print(f"... and {hidden} more")
    print(f"{args.file}: {report.summary()}")
    return 0 if report.ok else 1
