"""Live events of a chain: each store on its own topics, through a topic template.

A chain's downstream systems tell stores apart by topic: the store ``north`` publishes its
enters on ``store/north/customer/enter``, its moves on ``store/north/customer/move`` and so on.
The template says how: ``{store_id}`` is the store, ``{topic}`` the topic a single store would
use (``customer/enter``, or the configured enter topic, ...) and ``{event}`` the event name.
The payloads are exactly the single-store contract.

:class:`ChainPublisher` runs one :class:`~customersim.mqtt.publisher.Publisher` per store (each
with its own client id, ``<client id>-<store_id>``, since two clients with one id throw each
other off the broker) and reports their progress as one.
"""

from __future__ import annotations

import dataclasses
import string
import time
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from customersim.mqtt.publisher import Publisher, PublisherStats
from customersim.mqtt.settings import MqttSettings, MqttSettingsError, Topics

DEFAULT_TOPIC_TEMPLATE = "store/{store_id}/{topic}"
_FIELDS = ("store_id", "topic", "event")


def check_topic_template(template: str) -> str:
    """The template, checked: it names ``{store_id}`` and no field but store_id, topic, event.

    Raises:
        MqttSettingsError: the message names the setting and what is allowed.
    """
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise MqttSettingsError(f"--topic-template = {template!r} is not allowed: {error}") from None
    if "store_id" not in fields or not fields <= set(_FIELDS):
        raise MqttSettingsError(
            f"--topic-template = {template!r} is not allowed: expected a topic "
            "with {store_id} and optionally {topic} or {event}, e.g. store/{store_id}/{topic}"
        )
    return template


def store_topics(topics: Topics, template: str, store_id: str) -> Topics:
    """The topics of one store: ``template`` filled in for each event type of ``topics``."""
    check_topic_template(template)
    return dataclasses.replace(
        topics,
        **{
            field.name: template.format(
                store_id=store_id, topic=getattr(topics, field.name), event=field.name
            )
            for field in dataclasses.fields(topics)
        },
    )


class ChainPublisher:
    """Publishes each store's frames on the store's topics; one paced publisher per store.

    Args:
        settings: broker and single-store topics; the template is applied to these topics.
        store_ids: the stores, in the order their frames are given to :meth:`start`.
        template: see :data:`DEFAULT_TOPIC_TEMPLATE`.
        **publisher_options: passed to every :class:`Publisher` (speed, window, give_up_after,
            extra_fields).
    """

    def __init__(
        self,
        settings: MqttSettings,
        store_ids: Sequence[str],
        template: str = DEFAULT_TOPIC_TEMPLATE,
        **publisher_options: Any,
    ) -> None:
        check_topic_template(template)
        self.store_ids = list(store_ids)
        self.publishers = [
            Publisher(
                dataclasses.replace(settings, topics=store_topics(settings.topics, template, store_id)),
                client_id=f"{settings.client_id}-{store_id}",
                **publisher_options,
            )
            for store_id in self.store_ids
        ]

    def start(
        self, frames: Sequence[pd.DataFrame | Iterable[pd.DataFrame]], *, origin_ts: int | None = None
    ) -> None:
        """Start every store's publisher on its frames (one entry per store, in order).

        Args:
            origin_ts: the event time that maps to "now" for every store (default: each
                store's first event), so that paced stores keep in step.
        """
        if len(frames) != len(self.publishers):
            raise ValueError(f"expected frames for {len(self.publishers)} stores, got {len(frames)}")
        for publisher, store_frames in zip(self.publishers, frames, strict=True):
            publisher.start(store_frames, origin_ts=origin_ts)

    def stats(self) -> PublisherStats:
        """The progress of all stores as one (sums; the first error; the largest lag)."""
        return _combine([p.stats() for p in self.publishers])

    def wait(self, timeout: float | None = None) -> PublisherStats:
        """Block until every store is done, or ``timeout`` seconds passed; the combined stats."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for publisher in self.publishers:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            publisher.wait(left)
        return self.stats()

    def stop(self, timeout: float = 5.0) -> PublisherStats:
        """Stop every store's publisher; idempotent."""
        for publisher in self.publishers:
            publisher.stop(timeout)
        return self.stats()


def _combine(parts: list[PublisherStats]) -> PublisherStats:
    errors = [p.error for p in parts if p.error]
    retrying = [p.retrying for p in parts if p.retrying]
    return PublisherStats(
        connected=all(p.connected for p in parts),
        error=errors[0] if errors else None,
        published=sum(p.published for p in parts),
        acknowledged=sum(p.acknowledged for p in parts),
        failed=sum(p.failed for p in parts),
        rate=sum(p.rate for p in parts),
        lag_seconds=max(p.lag_seconds for p in parts),
        running=any(p.running for p in parts),
        finished=all(p.finished for p in parts),
        stopped=any(p.stopped for p in parts),
        reconnects=sum(p.reconnects for p in parts),
        elapsed_seconds=max(p.elapsed_seconds for p in parts),
        retrying=retrying[0] if retrying else None,
    )
