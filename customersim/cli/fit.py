"""``customersim fit EVENTS_FILE --out settings.toml``: settings estimated from a store's own log."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

from customersim.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="estimate settings from an enter/move/exit log and write them as a settings file",
        description="Estimate the arrival profile, visit length, dwell, walking pace and department "
        "attractions of an events file (CSV or Parquet, our columns) and write them as TOML that "
        "generate --settings reads. Example: customersim fit store.csv --out settings.toml",
    )
    parser.add_argument("events", metavar="EVENTS_FILE", help="events file, .csv or .parquet")
    parser.add_argument("--out", required=True, metavar="FILE", help="the settings file to write (.toml)")
    parser.add_argument(
        "--profile-hours",
        type=int,
        choices=(24, 168),
        help="weights of the arrival profile (default: 168 when the log covers a week)",
    )
    parser.set_defaults(handler=fit_command)


def fit_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from customersim.files import read_events
    from customersim.fit import fit_events, settings_toml

    try:
        frame = read_events(args.events)  # its messages name the file, line and column
    except (OSError, ValueError) as error:
        raise UserError(str(error)) from None
    try:
        fit = fit_events(frame, args.profile_hours)
    except ValueError as error:
        raise UserError(f"{args.events}: {error}") from None
    out = Path(args.out)
    try:
        out.write_text(settings_toml(fit, Path(args.events).name), encoding="utf-8")
    except OSError as error:
        raise UserError(f"{out}: cannot write the settings: {error.strerror or error}") from None
    print(f"wrote {out}: {len(fit.settings)} settings from {fit.visits} visits", file=sys.stdout)
    return 0
