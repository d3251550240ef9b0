"""``customersim publish``: send a dataset to the broker, generated now or replayed from a file.

The events keep their own timestamps (``--rebase-now`` shifts them so that the first event is
now) and go out in ``ts`` order at ``--speed`` (default ``max``). The command ends with a
summary line and fails (exit 1) if any message was not acknowledged.

``--scenario FILE_OR_DIR`` publishes scripted customers (the scenario player's JSON, see
:mod:`customersim.scenarios`) instead, or mixed into the simulated window with
``--with-simulation`` (nobody inside twice, see :mod:`customersim.mixing`).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from customersim.cli._chain_publish import add_chain_arguments, publish_chain
from customersim.cli._checks import with_fields_checked
from customersim.cli._logging import setup_logging
from customersim.cli._mqtt_options import (
    add_publish_arguments,
    extra_fields_from_args,
    mqtt_settings,
    require_external_broker,
    speed_from_args,
)
from customersim.cli._publishing import StopOnSignal, publish_outcome, watch
from customersim.cli._sim_options import add_sim_arguments, config_from_args
from customersim.errors import UserError
from customersim.mqtt.settings import MQTT_SETTINGS

if TYPE_CHECKING:
    import pandas as pd

    from customersim.mqtt import PublisherStats

log = logging.getLogger("customersim.publish")
PROGRESS_EVERY = 5.0  # seconds between progress lines


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="publish a generated or recorded dataset on the MQTT broker",
        description="Generate a window of events (or read one with --in) and publish it on the "
        f"broker of {MQTT_SETTINGS.env('host')}, in ts order. Example: "
        f"{MQTT_SETTINGS.env('host')}=127.0.0.1 customersim "
        "publish --hours 2 --seed 3 --start 2026-01-05T08:00:00Z --speed max --qos 1",
    )
    parser.add_argument(
        "--in",
        dest="in_file",
        metavar="FILE",
        default=None,
        help="replay this .csv or .parquet events file instead of simulating",
    )
    parser.add_argument(
        "--rebase-now", action="store_true", help="shift all timestamps so that the first event is now"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="FILE_OR_DIR",
        help="publish scripted customers from scenario files (a folder: every *.json); repeatable",
    )
    parser.add_argument(
        "--with-simulation",
        action="store_true",
        help="with --scenario: mix the scripted customers into the simulated window",
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=200_000,
        metavar="N",
        help="rows simulated at once (memory, not the result)",
    )
    add_publish_arguments(parser, default_speed="max", default_give_up=30.0)
    add_sim_arguments(parser)
    add_chain_arguments(parser)
    parser.set_defaults(handler=publish_command)


def _scenario_frames(args: argparse.Namespace, environ: Mapping[str, str]) -> Iterable[pd.DataFrame]:
    """Scripted customers alone, or mixed into the simulated window."""
    from customersim.mixing import mix
    from customersim.scenarios import ScenarioError, load, store_layout

    config = config_from_args(args, environ)
    try:
        scripted = load(args.scenario, config)
    except ScenarioError as error:
        raise UserError(f"--scenario: {error}") from None
    if not args.with_simulation:
        return [scripted.drop(columns=["visit", "scenario"])]
    from customersim.simulation import simulate_chunks

    simulated = simulate_chunks(config, chunk_rows=args.chunk_rows)
    return mix(simulated, scripted, store_layout(config))


def _frames(args: argparse.Namespace, environ: Mapping[str, str]) -> Iterable[pd.DataFrame]:
    if args.chunk_rows < 1:
        raise UserError(f"--chunk-rows must be a whole number >= 1, got {args.chunk_rows}")
    if args.in_file and args.scenario:
        raise UserError("--in and --scenario cannot be used together: publish one or the other")
    if args.with_simulation and not args.scenario:
        raise UserError("--with-simulation goes with --scenario (without it the window is simulated anyway)")
    if args.scenario:
        from customersim.mqtt.pacing import rebased

        frames = _scenario_frames(args, environ)
        return rebased(frames) if args.rebase_now else frames
    if args.in_file:
        from customersim.files import read_events

        try:
            frame = read_events(args.in_file)
        except (OSError, ValueError) as error:
            raise UserError(str(error)) from None
        if not frame["ts"].is_monotonic_increasing:
            # A file edited or merged by hand: publish in time order all the same.
            frame = frame.sort_values("ts", kind="stable", ignore_index=True)
        frames: Iterable[pd.DataFrame] = [frame]
    else:
        from customersim.simulation import simulate_chunks

        frames = simulate_chunks(config_from_args(args, environ), chunk_rows=args.chunk_rows)
    if args.rebase_now:
        from customersim.mqtt.pacing import rebased

        return rebased(frames)
    return frames


def _progress(stats: PublisherStats) -> None:
    log.info(
        "progress: %s published, %s acknowledged, %.0f msg/s, lag %.1f s",
        f"{stats.published:,}",
        f"{stats.acknowledged:,}",
        stats.rate,
        stats.lag_seconds,
    )


def publish_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    setup_logging(environ)
    settings = mqtt_settings(args, environ)
    require_external_broker(settings, "customersim publish")
    speed = speed_from_args(args)
    if args.stores:
        return publish_chain(args, environ, settings, speed, PROGRESS_EVERY)
    from customersim.mqtt import Publisher

    frames = with_fields_checked(_frames(args, environ), extra_fields_from_args(args))
    try:
        publisher = Publisher(
            settings, speed, give_up_after=args.give_up_after, extra_fields=extra_fields_from_args(args)
        )
    except ValueError as error:
        raise UserError(str(error)) from None
    with StopOnSignal() as stop:
        publisher.start(frames)
        result = watch(publisher, stop, every=PROGRESS_EVERY, report=_progress)
    where = "mock mode (logged only)" if settings.mock else settings.address
    return publish_outcome(result, where)
