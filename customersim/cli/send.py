"""``customersim send``: one hand-made event on its topic, for testing consumers.

What the old service's produce_entry / produce_move / produce_exit endpoints did::

    customersim send move --id 997 --ts 192326400 --x 2 --y 3
    # customer/move {"id":"997","ts":192326400,"x":2,"y":3}
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from customersim.cli._logging import setup_logging
from customersim.cli._mqtt_options import add_qos_argument, mqtt_settings, require_external_broker
from customersim.config import SETTINGS, SimConfig, parse_start
from customersim.errors import UserError
from customersim.events import EVENT_TYPES
from customersim.mqtt import send_event


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "send",
        help="publish one hand-made event (enter, move, exit or focus)",
        description="Publish one event on its topic and wait for the broker to take it. "
        "Example: customersim send move --id 997 --ts 192326400 --x 2 --y 3",
    )
    parser.add_argument("event", choices=EVENT_TYPES, help="event type")
    parser.add_argument("--id", dest="customer_id", required=True, help="customer id (sent as a string)")
    parser.add_argument(
        "--ts", default=None, metavar="TIME", help="epoch seconds or ISO 8601 time (default: now)"
    )
    parser.add_argument("--x", type=int, default=None, help="cell x (move only)")
    parser.add_argument("--y", type=int, default=None, help="cell y (move only)")
    for name in ("width", "height"):
        parser.add_argument(
            f"--{name}",
            default=None,
            metavar="CELLS",
            help=f"store {name}: when given (or {SETTINGS[name].env} is set), the cell must be inside",
        )
    parser.add_argument("--dep", default=None, help="department name (focus only)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to reach the broker and get the acknowledgement, in all (default 10)",
    )
    add_qos_argument(parser)
    parser.set_defaults(handler=send_command)


def send_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    setup_logging(environ)
    if not args.timeout > 0:
        raise UserError(f"--timeout = {args.timeout:g} is not allowed: expected seconds above 0")
    if args.event == "move" and (args.x is None or args.y is None):
        raise UserError("a move needs --x and --y")
    if args.event != "move" and (args.x is not None or args.y is not None):
        raise UserError(f"--x and --y only go with move events, not {args.event}")
    if args.event == "focus" and not (args.dep or "").strip():
        raise UserError("a focus needs --dep, the department's name")
    if args.event != "focus" and args.dep is not None:
        raise UserError(f"--dep only goes with focus events, not {args.event}")
    ts = None
    if args.ts is not None:
        try:
            ts = parse_start(args.ts)
        except ValueError as error:
            raise UserError(f"--ts = {args.ts!r} is not allowed: expected {error}") from None
    settings = mqtt_settings(args, environ)
    require_external_broker(settings, "customersim send")
    try:
        payload = send_event(
            settings,
            args.event,
            customer_id=args.customer_id,
            ts=ts,
            x=args.x,
            y=args.y,
            dep=args.dep,
            timeout=args.timeout,
            **_store_size(args, environ),
        )
    except ValueError as error:
        raise UserError(str(error)) from None
    print(f"{settings.topics.for_event(args.event)} {payload.decode('utf-8')}", file=sys.stdout)
    return 0


def _store_size(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, int | None]:
    """The store's width and height where a flag or the environment gives them (else None)."""
    given = {}
    for name in ("width", "height"):
        value = getattr(args, name) or environ.get(SETTINGS[name].env, "").strip()
        if value:
            given[name] = value
    checked = SimConfig(**given)  # a bad value is a ConfigError naming the setting
    return {name: getattr(checked, name) if name in given else None for name in ("width", "height")}
