"""``customersim validate FILE``: check an events file against the contract and journey rules."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from customersim.cli._sim_options import add_sim_arguments, config_from_args, read_settings_file
from customersim.config import SETTINGS, SimConfig, format_start
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


def _window_given(args: argparse.Namespace, environ: Mapping[str, str]) -> bool:
    """Whether the flags, the settings file or the environment say which window the file covers."""
    names = ("start", "hours")
    if any(getattr(args, f"sim_{name}", None) is not None for name in names):
        return True
    given = set(environ)
    path = getattr(args, "sim_settings_file", None)
    if path:
        given |= set(read_settings_file(path))
    return any(SETTINGS.env(name) in given for name in names)


def _window_of(frame, config: SimConfig) -> SimConfig:
    """The config over the whole hours the file's events fall in.

    A simulated window begins and ends on the hour with events in its first and last seconds, so
    the hours around the first and the last event are the window (the occupancy is then measured
    over what was simulated, not over the default day).
    """
    ts = frame["ts"].to_numpy()
    first = int(ts.min()) // 3600 * 3600
    last = -(-(int(ts.max()) + 1) // 3600) * 3600
    return config.replace(start=first, hours=(last - first) / 3600)


def validate_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    config = config_from_args(args, environ)
    from customersim.files import file_format, read_events
    from customersim.validate import validate_events

    try:
        frame = read_events(args.file)
    except (OSError, ValueError) as error:
        raise UserError(str(error)) from None
    if not _window_given(args, environ) and len(frame):
        config = _window_of(frame, config)
        print(
            f"{args.file}: window from the file: {format_start(config.start)} + {config.hours:g} h "
            "(--start and --hours set it)"
        )
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
