"""The Publisher against a real mosquitto: every event arrives, in order, paced, stoppable."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, defaultdict

import pytest
from helpers.contract import assert_all_contract
from helpers.mqtt_broker import Collector, publish_sentinel

from customersim import SimConfig, simulate
from customersim.mqtt import MessageFeed, MqttSettings, Publisher, encode_frame

pytestmark = pytest.mark.broker


def _settings(mosquitto, topics, kind="plain", **changes) -> MqttSettings:
    return MqttSettings(
        host="127.0.0.1",
        port=mosquitto.ports[kind],
        topics=topics,
        client_id=f"pub-{threading.get_ident()}-{time.monotonic_ns()}",
        **changes,
    )


def _expected(frame, topics) -> list[tuple[str, bytes]]:
    names = [topics[event] for event in frame["event"].astype(str)]
    return list(zip(names, encode_frame(frame), strict=True))


def _per_customer(messages) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = defaultdict(list)
    for _, payload in messages:
        out[json.loads(payload)["id"]].append(payload)
    return out


@pytest.fixture(scope="module")
def day() -> object:
    return simulate(SimConfig(hours=6, seed=3, customers_average_in_store=40, start="2026-01-05T08:00:00Z"))


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_every_event_arrives_in_order_per_customer(mosquitto, topics, day, qos) -> None:
    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    try:
        publisher = Publisher(_settings(mosquitto, topics, qos=qos), speed="max")
        publisher.start(day)
        stats = publisher.wait(60)
        assert stats.ok and stats.finished and not stats.running, stats
        assert stats.published == stats.acknowledged == len(day)
        received = collector.wait_for(len(day))
    finally:
        collector.close()
    expected = _expected(day, topics)
    assert Counter(received) == Counter(expected)  # every event, exact payloads, right topic
    assert _per_customer(received) == _per_customer(expected)  # each customer's events in order


def test_frames_from_an_iterator_and_paced_publishing(mosquitto, topics) -> None:
    # Four simulated seconds at speed 4: about one second on the wall clock, never less.
    frame = simulate(SimConfig(hours=1, seed=5, customers_average_in_store=300, dwell_mean_seconds=5))
    frame = frame[frame["ts"] < frame["ts"].iat[0] + 4]
    chunks = [frame.iloc[: len(frame) // 2], frame.iloc[len(frame) // 2 :]]
    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    try:
        publisher = Publisher(_settings(mosquitto, topics), speed=4)
        began = time.monotonic()
        publisher.start(iter(chunks))
        stats = publisher.wait(30)
        took = time.monotonic() - began
        received = collector.wait_for(len(frame))
    finally:
        collector.close()
    assert stats.ok and stats.published == len(frame)
    span = int(frame["ts"].iat[-1] - frame["ts"].iat[0])
    assert took >= span / 4 - 0.05, (took, span)
    assert Counter(received) == Counter(_expected(frame, topics))


def test_stop_from_another_thread_flushes_and_is_idempotent(mosquitto, topics) -> None:
    endless = (simulate(SimConfig(hours=1, seed=s, customers_average_in_store=50)) for s in range(10**6))
    publisher = Publisher(_settings(mosquitto, topics, qos=1), speed=600)
    publisher.start(endless)
    deadline = time.monotonic() + 20
    while publisher.stats().acknowledged < 50 and time.monotonic() < deadline:
        publisher.wait(0.05)
    stopper = threading.Thread(target=publisher.stop, kwargs={"timeout": 5})
    stopper.start()
    stopper.join(15)
    stats = publisher.stop()
    assert not stats.running and stats.stopped and not stats.finished and stats.error is None
    assert stats.published >= 50 and stats.acknowledged == stats.published and stats.failed == 0


def test_mock_mode_logs_and_publishes_nothing(mosquitto, topics, day, caplog) -> None:
    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    try:
        with caplog.at_level(logging.INFO, logger="customersim.mqtt.mock"):
            publisher = Publisher(_settings(mosquitto, topics, mock=True), speed="max")
            publisher.start(day.iloc[:200])
            stats = publisher.wait(30)
        # Anything the mock had published would be queued before this marker.
        sentinel = publish_sentinel(mosquitto.ports["plain"], topics["enter"])
        received = collector.wait_for(1)
    finally:
        collector.close()
    assert stats.published == 200 and not stats.connected
    assert received == [(topics["enter"], sentinel)]
    first = _expected(day.iloc[:1], topics)[0]
    assert f"{first[0]} {first[1].decode()}" in caplog.text


@pytest.mark.parametrize(
    "kind, changes", [("plain", {"protocol": "5"}), ("websockets", {"transport": "websockets"})]
)
def test_mqtt5_and_websockets(mosquitto, topics, day, kind, changes) -> None:
    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    try:
        publisher = Publisher(_settings(mosquitto, topics, kind=kind, **changes), speed="max")
        publisher.start(day.iloc[:500])
        stats = publisher.wait(30)
        received = collector.wait_for(500)
    finally:
        collector.close()
    assert stats.ok, stats
    assert Counter(received) == Counter(_expected(day.iloc[:500], topics))


def test_message_feed_keeps_the_latest(mosquitto, topics, day) -> None:
    settings = _settings(mosquitto, topics)
    with MessageFeed(settings, maxlen=10) as feed:
        publisher = Publisher(settings, speed="max")
        publisher.start(day.iloc[:100])
        assert publisher.wait(30).ok
        deadline = time.monotonic() + 10
        while feed.received < 100 and time.monotonic() < deadline:
            publisher.wait(0.02)
        latest = feed.messages()
    expected = _expected(day.iloc[:100], topics)[-10:]
    assert feed.received == 100
    assert_all_contract([(m.topic, m.payload.encode()) for m in latest], topics=topics)
    assert [(m.topic, m.payload.encode()) for m in latest] == expected


@pytest.mark.parametrize("mock", [False, True])
def test_message_callback_sees_every_message(mosquitto, topics, day, mock) -> None:
    seen: list[tuple[str, bytes]] = []
    publisher = Publisher(
        _settings(mosquitto, topics, mock=mock, qos=1),
        speed="max",
        on_message=lambda topic, payload: seen.append((topic, payload)),
    )
    publisher.start(day.iloc[:500])
    stats = publisher.wait(30)
    assert stats.ok and stats.published == 500
    assert seen == _expected(day.iloc[:500], topics)


def test_an_error_in_the_publishing_thread_is_one_line(topics, day, caplog) -> None:
    publisher = Publisher(MqttSettings(mock=True, topics=topics), speed="max", extra_fields=("nosuch",))
    with caplog.at_level(logging.DEBUG, logger="customersim"):
        publisher.start(day.iloc[:10])
        stats = publisher.wait(30)
    assert stats.error is not None and "nosuch" in stats.error
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is None and "\n" not in errors[0].getMessage()
