"""``customersim generate``: simulate a window and write it to a CSV or Parquet file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from customersim.cli._dask_generate import add_dask_arguments, check_local, generate_on_dask
from customersim.cli._sim_options import add_sim_arguments, config_from_args
from customersim.config import format_start
from customersim.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="simulate a window of time and write the events to a file",
        description="Simulate a window of time and write its events to a .csv or .parquet file. "
        "Example: customersim generate --hours 168 --seed 11 "
        "--start 2026-01-05T00:00:00Z --out week.csv",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="output file, .csv or .parquet (with --engine dask: a new dataset folder)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes that build the walks (the file is the same for any N); default 1, "
        "with --engine dask one per core",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_sim_arguments(parser)
    add_dask_arguments(parser)
    parser.set_defaults(handler=generate_command)


def generate_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.engine == "dask":
        return generate_on_dask(args, environ)
    check_local(args)
    args.workers = 1 if args.workers is None else args.workers
    config = config_from_args(args, environ)
    if args.workers < 1:
        raise UserError(f"--workers must be a whole number >= 1, got {args.workers}")
    # Imported here, not at the top: the other commands (and --help) start without them.
    from customersim.dataset import write_dataset
    from customersim.files import file_format

    try:
        file_format(args.out)
    except ValueError as error:
        raise UserError(str(error)) from None
    try:
        if args.quiet or not sys.stderr.isatty():  # no bar to show: tqdm is not even loaded
            summary = write_dataset(config, args.out, workers=args.workers)
        else:
            from customersim.cli._progress import SimulatedTimeBar

            with SimulatedTimeBar(config.start, config.end) as bar:
                summary = write_dataset(config, args.out, workers=args.workers, on_progress=bar.advance_to)
    except OSError as error:  # a full disk, a folder in the way: nothing is left behind
        raise UserError(f"cannot write {args.out}: {error}") from None
    print(
        f"wrote {args.out}: {summary.events} events, {summary.visits} visits, "
        f"{format_start(config.start)} + {config.hours:g} h, mean inside "
        f"{summary.mean_inside:.2f} (target {config.customers_average_in_store:g})",
        file=sys.stdout,
    )
    return 0
