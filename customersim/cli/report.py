"""``customersim report DATASET``: a self-contained HTML page on how believable a dataset is."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from customersim.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write an HTML fidelity report of an events file (optionally against another)",
        description="Describe an events file (CSV or Parquet) as one HTML page that opens offline: "
        "occupancy by weekday and hour, visit length and dwell, departments, checkout, repeat "
        "visits, and published figures for real stores. With --against, two datasets side by "
        "side with distance figures. Example: customersim report week.parquet --out report.html",
    )
    parser.add_argument("dataset", metavar="DATASET", help="events file, .csv or .parquet")
    parser.add_argument("--against", metavar="OTHER", help="a second events file to compare with")
    parser.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write")
    parser.add_argument(
        "--target",
        type=float,
        metavar="N",
        help="the intended mean number inside, drawn on the occupancy figure",
    )
    parser.add_argument(
        "--layout",
        metavar="NAME|TOML",
        help="the store layout the data was made for: its checkout lines give the queue waits",
    )
    parser.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from customersim.files import read_events
    from customersim.report import describe, report_html

    layout = None
    if args.layout:
        from customersim.config import SimConfig
        from customersim.errors import ConfigError
        from customersim.layout import StoreLayout

        try:
            config = SimConfig(layout=args.layout)
        except ConfigError as error:
            raise UserError(str(error)) from None
        layout = StoreLayout.from_floorplan(config.floorplan, config.neighbourhood)
    described = []
    for path in [args.dataset] + ([args.against] if args.against else []):
        try:
            frame = read_events(path)
            described.append(describe(frame, name=Path(path).name, target=args.target, layout=layout))
        except (OSError, ValueError) as error:
            raise UserError(str(error)) from None
    page = report_html(*described)
    out = Path(args.out)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent or ".")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(page)
        os.replace(temporary, out)
    except OSError as error:
        raise UserError(f"{out}: cannot write the report: {error.strerror or error}") from None
    print(f"wrote {out}: {len(page) / 1e6:.1f} MB, {' vs '.join(d.name for d in described)}", file=sys.stdout)
    return 0
