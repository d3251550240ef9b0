"""``customersim customers export``: the customer list in the form another tool reads.

The retail demo's visualization app shows who a shopper is from a JSON list of customers that
it reads by position (customer ``i`` at index ``i - 1``). ``export --format visualization-json``
writes that list from the customer list the simulation uses (``--customers``, else the
environment's, else the built-in one), and refuses a list whose ids are not 1..N, saying why.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from customersim.errors import UserError

FORMATS = ("visualization-json",)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "customers",
        help="work with the customer list (export it for the demo's visualization app)",
        description="Work with the customer list that the simulation draws its shoppers from.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export",
        help="write the customer list in another tool's format",
        description="Write the customer list in another tool's format. visualization-json is the "
        "JSON list of the retail demo's visualization app: customer i at position i-1, so the "
        "ids must be the whole numbers 1 to N.",
    )
    export.add_argument(
        "--format", choices=FORMATS, default=FORMATS[0], help="output format (default: %(default)s)"
    )
    export.add_argument("--out", required=True, metavar="FILE", help="file to write, - for stdout")
    export.add_argument(
        "--customers",
        metavar="CSV",
        default=None,
        help="customer list (default: the simulation's, from the environment, else the built-in list)",
    )
    export.set_defaults(handler=export_command)


def export_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    # The list is the one a simulation with these settings would use.
    from customersim.config import SimConfig
    from customersim.customers import load_customers
    from customersim.visualization import write_visualization_json

    path = SimConfig.from_env(environ, customers_file=args.customers).customers_file
    customers = load_customers(path)
    source = path if path is not None else "the built-in customer list"
    try:
        count = write_visualization_json(customers, args.out, source)
    except OSError as error:
        raise UserError(f"cannot write {args.out}: {error.strerror or error}") from None
    if args.out != "-":
        print(f"wrote {count:,} customers to {args.out} (customer i at position i-1)")
    return 0
