"""``customersim run``: the long-running service, a store that never closes.

This is what the service it replaces was: from the moment it starts, shoppers come and go (the
store is already in steady state at the first second), and each of their events is published
when it happens (or ``--speed`` times faster). It simulates in rolling windows without end and
stops cleanly on SIGINT or SIGTERM, letting in-flight messages be acknowledged.

Without a broker host it starts the built-in broker on 127.0.0.1 at the broker port and says so
in one line; with a host it publishes there. It logs to the console and to the log file
(``messages.log`` unless the logging settings name another).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from customersim.cli._logging import setup_logging
from customersim.cli._mqtt_options import (
    add_publish_arguments,
    extra_fields_from_args,
    mqtt_settings,
    speed_from_args,
)
from customersim.cli._publishing import StopOnSignal, watch
from customersim.cli._sim_options import add_sim_arguments, config_from_args
from customersim.errors import UserError
from customersim.mqtt.settings import MQTT_SETTINGS

if TYPE_CHECKING:
    from customersim.mqtt import PublisherStats
    from customersim.mqtt.broker import EmbeddedBroker

log = logging.getLogger("customersim.run")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="the live service: simulate from now, endlessly, and publish in real time",
        description="Simulate the store from now on, without end, and publish each event when it "
        "happens (or --speed times faster) until SIGINT/SIGTERM. Without "
        f"{MQTT_SETTINGS.env('host')} a built-in broker is started on "
        f"127.0.0.1:{MQTT_SETTINGS.env('port')}. --start and --hours are "
        "ignored: the service starts now and has no end.",
    )
    parser.add_argument(
        "--stats-every",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds between progress lines in the log (default 60)",
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=20_000,
        metavar="N",
        help="events simulated ahead at a time (default 20000)",
    )
    add_publish_arguments(parser, default_speed="1", default_give_up=300.0)
    add_sim_arguments(parser)
    parser.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    setup_logging(environ, to_file=True)
    settings = mqtt_settings(args, environ)
    speed = speed_from_args(args)
    config = config_from_args(args, environ).replace(start=int(time.time()))
    from customersim.mqtt import Publisher
    from customersim.mqtt.broker import EmbeddedBroker
    from customersim.simulation import simulate_chunks

    if args.chunk_rows < 1:
        raise UserError(f"--chunk-rows must be a whole number >= 1, got {args.chunk_rows}")
    frames = simulate_chunks(config, chunk_rows=args.chunk_rows, endless=True)
    broker: EmbeddedBroker | None = None

    def progress(stats: PublisherStats) -> None:
        log.info(
            "running: %s published, %s acknowledged, %.1f msg/s, lag %.1f s%s",
            f"{stats.published:,}",
            f"{stats.acknowledged:,}",
            stats.rate,
            stats.lag_seconds,
            "" if stats.connected or settings.mock else " (not connected)",
        )

    with StopOnSignal() as stop:
        try:
            if not settings.mock and not settings.host:
                broker = EmbeddedBroker("127.0.0.1", settings.port).start()
                settings = settings.replace(host="127.0.0.1")
                print(broker.announcement(), flush=True)
                log.info("%s", broker.announcement())
            try:
                publisher = Publisher(
                    settings,
                    speed,
                    give_up_after=args.give_up_after,
                    extra_fields=extra_fields_from_args(args),
                )
            except ValueError as error:
                raise UserError(str(error)) from None
            log.info(
                "simulating from %d (now) at speed %s: %d x %d store, %g customers inside on "
                "average; publishing to %s",
                config.start,
                args.speed,
                config.width,
                config.height,
                config.customers_average_in_store,
                "mock mode (log only)" if settings.mock else settings.address,
            )
            publisher.start(frames, origin_ts=config.start)
            stats = watch(publisher, stop, every=args.stats_every, report=progress).stats
        finally:
            if broker is not None:
                broker.stop()
    log.info("stopped: %s", stats.summary())
    if stats.error:
        raise UserError(stats.error)
    return 0 if stats.failed == 0 else 1
