"""``customersim run``: the long-running service, a store that never closes.

This is what the service it replaces was: from the moment it starts, shoppers come and go (the
store is already in steady state at the first second), and each of their events is published
when it happens (or ``--speed`` times faster). It simulates in rolling windows without end and
stops cleanly on SIGINT or SIGTERM, letting in-flight messages be acknowledged.

Without a broker host it starts the built-in broker on 127.0.0.1 at the broker port and says so
in one line; with a host it publishes there. It logs to the console and to the log file
(``messages.log`` unless the logging settings name another).

``--http-port`` adds the HTTP face of :mod:`customersim.service.http`, and
``--scenario`` plays scripted customers among the simulated ones (``--no-simulation``: only
them); both go through :class:`customersim.service.stream.LiveStream`, which decides what is due.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from customersim.cli._checks import with_fields_checked
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
from customersim.service.settings import HTTP_SETTINGS, HttpSettings

if TYPE_CHECKING:
    from customersim.mqtt import Publisher, PublisherStats
    from customersim.mqtt.broker import EmbeddedBroker
    from customersim.service.stream import LiveStream

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
    live = parser.add_argument_group("live service: HTTP face and scripted customers")
    for name in ("port", "host"):
        HTTP_SETTINGS[name].add_flag(live, f"http_{name}")
    live.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="FILE_OR_DIR",
        help="play scripted customers (scenario player JSON; a folder: every *.json), shifted so "
        "that the earliest starts now; repeatable",
    )
    live.add_argument(
        "--no-simulation",
        action="store_true",
        help="no simulated crowd: publish only scripted and hand-made (HTTP) events",
    )
    add_publish_arguments(parser, default_speed="1", default_give_up=300.0)
    add_sim_arguments(parser)
    parser.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    setup_logging(environ, to_file=True)
    settings = mqtt_settings(args, environ)
    speed = speed_from_args(args)
    config = config_from_args(args, environ).replace(start=int(time.time()))
    http = HttpSettings.from_env(environ, port=args.http_port, host=args.http_host)
    if speed is None and (http.enabled or args.scenario):
        raise UserError(
            "--speed max has no clock for scripted and hand-made events: give a factor (1 = wall "
            "clock) with --http-port or --scenario"
        )
    if args.chunk_rows < 1:
        raise UserError(f"--chunk-rows must be a whole number >= 1, got {args.chunk_rows}")
    from customersim.mqtt import Publisher
    from customersim.mqtt.broker import EmbeddedBroker
    from customersim.simulation import simulate_chunks

    frames = None if args.no_simulation else simulate_chunks(config, chunk_rows=args.chunk_rows, endless=True)
    if frames is not None:
        frames = with_fields_checked(frames, extra_fields_from_args(args))
    stream = _live_stream(frames, config, speed, args.scenario)
    broker: EmbeddedBroker | None = None
    server = None

    def progress(stats: PublisherStats) -> None:
        log.info(
            "running: %s published, %s acknowledged, %.1f msg/s, lag %.1f s%s",
            f"{stats.published:,}",
            f"{stats.acknowledged:,}",
            stats.rate,
            stream.lag_seconds(),
            "" if stats.connected or settings.mock else " (not connected)",
        )

    with StopOnSignal() as stop:
        try:
            if not settings.mock and not settings.host:
                broker = EmbeddedBroker("127.0.0.1", settings.port).start()
                settings = settings.replace(host="127.0.0.1")
                print(broker.announcement(), flush=True)
                log.info("%s", broker.announcement())
            # The stream paces the events itself (see LiveStream): the publisher sends what it gets.
            try:
                publisher = Publisher(
                    settings,
                    None,
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
                0 if args.no_simulation else config.customers_average_in_store,
                "mock mode (log only)" if settings.mock else settings.address,
            )
            if http.enabled:
                # Bound before publishing starts: a port already taken stops the run at once.
                server = _serve_http(stream, publisher, settings, http)
            publisher.start(stream)
            stats = watch(publisher, stop, every=args.stats_every, report=progress).stats
        finally:
            if server is not None:
                server.stop()
            if broker is not None:
                broker.stop()
    log.info("stopped: %s", stats.summary())
    if stats.error:
        raise UserError(stats.error)
    return 0 if stats.failed == 0 else 1


def _live_stream(frames: Any, config: Any, speed: float | None, scenario_paths: list[str]) -> LiveStream:
    """The stream the publisher reads, with the scenario files scheduled (earliest starts now)."""
    from customersim.scenarios import ScenarioError, read_scenarios, store_layout
    from customersim.service.stream import LiveStream, ScenarioConflict

    layout = store_layout(config)
    # The store clock is the wall clock (times speed) from now: simulated rows from config.start
    # (this second, whole) on are due as soon as their second begins.
    stream = LiveStream(frames, layout, origin_ts=time.time(), speed=speed)
    if scenario_paths:
        try:
            found = read_scenarios(scenario_paths, layout)
            stream.schedule_from_now(found)
        except (ScenarioError, ScenarioConflict) as error:
            raise UserError(f"--scenario: {error}") from None
        log.info("%d scripted customers scheduled from %s", len(found), ", ".join(scenario_paths))
    return stream


def _serve_http(stream: LiveStream, publisher: Publisher, settings: Any, http: HttpSettings) -> Any:
    from customersim.service.http import create_app
    from customersim.service.server import HttpServer

    app = create_app(stream, publisher.stats, settings, token=http.token)
    assert http.port is not None
    server = HttpServer(app, http.host, http.port).start()
    if http.token is None and http.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "the HTTP API on %s is reachable from other machines and %s is not set: anyone who "
            "reaches it can publish events and pause the stream; set it",
            server.url,
            HTTP_SETTINGS.env("token"),
        )
    log.info(
        "HTTP API on %s (POST endpoints %s %s)",
        server.url,
        "need the bearer token of" if http.token else "open: set",
        HTTP_SETTINGS.env("token") + ("" if http.token else " if others can reach this port"),
    )
    return server
