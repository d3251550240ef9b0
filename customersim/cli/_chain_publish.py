"""``customersim publish --stores TABLE``: every store of a chain, live, on its own topics.

Each store's events are simulated in chunks and published by a publisher of its own on the
topics of ``--topic-template`` (default ``store/{store_id}/{topic}``,
so ``store/north/customer/enter``). With ``--rebase-now`` all stores shift by the same amount,
so that the chain's window starts now.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from customersim.cli._mqtt_options import extra_fields_from_args
from customersim.cli._publishing import StopOnSignal, publish_outcome, watch
from customersim.cli._sim_options import config_from_args
from customersim.errors import CapacityError, CustomerListError, MqttError, UserError

if TYPE_CHECKING:
    from customersim.mqtt import MqttSettings, PublisherStats

log = logging.getLogger("customersim.publish")


def add_chain_arguments(parser: argparse.ArgumentParser) -> None:
    """``--stores`` and ``--topic-template``."""
    group = parser.add_argument_group("a chain of stores")
    group.add_argument(
        "--stores",
        metavar="TABLE",
        default=None,
        help="stores table (.csv or .toml): publish every store of the chain, each on its own topics",
    )
    group.add_argument(
        "--topic-template",
        metavar="TEMPLATE",
        default=None,
        help="topics of a chain's store: {store_id}, {topic} (the single-store topic) and {event} "
        "(default store/{store_id}/{topic})",
    )


def publish_chain(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    settings: MqttSettings,
    speed: float | None,
    progress_every: float,
) -> int:
    """Publish every store of ``args.stores``; returns the exit status."""
    from customersim.chain import read_stores_table
    from customersim.mqtt.chain import DEFAULT_TOPIC_TEMPLATE, ChainPublisher, check_topic_template
    from customersim.simulation import simulate_chunks

    if args.in_file or args.scenario:
        raise UserError("--stores goes with neither --in nor --scenario: a chain is simulated, not replayed")
    template = check_topic_template(
        DEFAULT_TOPIC_TEMPLATE if args.topic_template is None else args.topic_template
    )
    chain = read_stores_table(args.stores, config_from_args(args, environ))
    try:
        frames = [simulate_chunks(store.config, chunk_rows=args.chunk_rows) for store in chain]
    except (CapacityError, CustomerListError) as error:
        raise UserError(str(error)) from None
    origin = min(store.config.start for store in chain)
    if args.rebase_now:
        offset = int(time.time()) - origin
        frames = [(f.assign(ts=f["ts"] + offset) for f in store_frames) for store_frames in frames]
        origin += offset
    try:
        publisher = ChainPublisher(
            settings,
            chain.store_ids,
            template,
            speed=speed,
            give_up_after=args.give_up_after,
            extra_fields=extra_fields_from_args(args),
        )
    except (MqttError, ValueError) as error:
        raise UserError(str(error)) from None

    def progress(stats: PublisherStats) -> None:
        log.info(
            "progress: %s published, %s acknowledged, %.0f msg/s, lag %.1f s (%d stores)",
            f"{stats.published:,}",
            f"{stats.acknowledged:,}",
            stats.rate,
            stats.lag_seconds,
            len(chain),
        )

    with StopOnSignal() as stop:
        publisher.start(frames, origin_ts=origin)
        result = watch(publisher, stop, every=progress_every, report=progress)  # type: ignore[arg-type]
    where = "mock mode (logged only)" if settings.mock else settings.address
    return publish_outcome(result, where, detail=f"{len(chain)} stores on {template}: ")
