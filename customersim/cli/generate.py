"""``customersim generate``: simulate a window and write it to a CSV or Parquet file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from customersim.cli._progress import SimulatedTimeBar
from customersim.cli._sim_options import add_sim_arguments, config_from_args
from customersim.config import format_start
from customersim.customers import CustomerListError
from customersim.engine import CapacityError
from customersim.errors import UserError
from customersim.files import EventsWriter, file_format, table_from_columns
from customersim.metrics import OccupancyTally
from customersim.simulation import simulate_blocks


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="simulate a window of time and write the events to a file",
        description="Simulate a window of time and write its events to a .csv or .parquet file. "
        "Example: customersim generate --hours 168 --seed 11 "
        "--start 2026-01-05T00:00:00Z --out week.csv",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="output file, .csv or .parquet")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes that build the walks (the file is the same for any N)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_sim_arguments(parser)
    parser.set_defaults(handler=generate_command)


def generate_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    config = config_from_args(args, environ)
    if args.workers < 1:
        raise UserError(f"--workers must be a whole number >= 1, got {args.workers}")
    try:
        file_format(args.out)
    except ValueError as error:
        raise UserError(str(error)) from None
    tally = OccupancyTally(config.start, config.end)
    try:
        with (
            EventsWriter(args.out) as writer,
            SimulatedTimeBar(config.start, config.end, disable=args.quiet) as bar,
        ):
            ids, blocks = simulate_blocks(config, workers=args.workers)
            for block in blocks:
                writer.write_table(table_from_columns(block, ids))
                tally.update_arrays(block["ts"], block["event"], block["visit"])
                bar.advance_to(int(block["ts"][-1]))
    except (CapacityError, CustomerListError, OSError) as error:
        raise UserError(str(error)) from None
    print(
        f"wrote {args.out}: {tally.events} events, {tally.visits} visits, "
        f"{format_start(config.start)} + {config.hours:g} h, mean inside "
        f"{tally.mean_inside():.2f} (target {config.customers_average_in_store:g})",
        file=sys.stdout,
    )
    return 0
