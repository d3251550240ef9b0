"""``customersim generate``: simulate a window and write it to a CSV or Parquet file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from customersim.api import simulate_chunks
from customersim.cli import UserError
from customersim.commands.options import add_sim_arguments, config_from_args
from customersim.config import format_start
from customersim.customers import CustomerListError
from customersim.engine import CapacityError
from customersim.metrics import OccupancyTally
from customersim.progress import SimulatedTimeBar
from customersim.sinks.files import EventsWriter, file_format


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="simulate a window of time and write the events to a file",
        description="Simulate a window of time and write its events to a .csv or .parquet file. "
                    "Example: customersim generate --hours 168 --seed 11 "
                    "--start 2026-01-05T00:00:00Z --out week.csv")
    parser.add_argument("--out", required=True, metavar="FILE", help="output file, .csv or .parquet")
    parser.add_argument("--chunk-rows", type=int, default=1_000_000, metavar="N",
                        help="rows per chunk written at once (does not change the file)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_sim_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    config = config_from_args(args, environ)
    try:
        file_format(args.out)
    except ValueError as error:
        raise UserError(str(error)) from None
    tally = OccupancyTally(int(config.start), config.end)
    try:
        with EventsWriter(args.out) as writer, \
                SimulatedTimeBar(int(config.start), config.end, disable=args.quiet) as bar:
            for chunk in simulate_chunks(config, chunk_rows=args.chunk_rows):
                writer.write(chunk)
                tally.update(chunk)
                bar.advance_to(int(chunk["ts"].iat[-1]))
    except (CapacityError, CustomerListError, OSError) as error:
        raise UserError(str(error)) from None
    print(f"wrote {args.out}: {tally.events} events, {tally.visits} visits, "
          f"{format_start(int(config.start))} + {config.hours:g} h, mean inside "
          f"{tally.mean_inside():.2f} (target {config.customers_average_in_store:g})", file=sys.stdout)
    return 0
