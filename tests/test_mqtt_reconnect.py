"""A broker that goes away: restarted in the middle of a QoS 1 publish, or gone for good."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from helpers.contract import assert_all_contract
from helpers.mqtt_broker import Collector

from customersim.frame import EVENT_DTYPE, STRING_DTYPE
from customersim.mqtt import MqttSettings, Publisher, encode_frame

pytestmark = pytest.mark.broker


def _events(count: int, seconds: int) -> pd.DataFrame:
    """``count`` move events spread over ``seconds``, each payload unique."""
    ts = 1_767_600_000 + (np.arange(count) * seconds) // count
    return pd.DataFrame(
        {
            "ts": ts.astype("int64"),
            "event": pd.Categorical(["move"] * count, dtype=EVENT_DTYPE),
            "customer_id": pd.Series([str(i % 97) for i in range(count)], dtype=STRING_DTYPE),
            "x": (np.arange(count) % 6).astype("int16"),
            "y": (np.arange(count) // 6 % 10).astype("int16"),
            "visit": np.arange(count, dtype="int64"),
        }
    )


def test_broker_restart_in_the_middle_loses_nothing(restartable_mosquitto, topics) -> None:
    broker = restartable_mosquitto
    frame = _events(20_000, 2_000)  # 2,000 s at speed 1,000: two seconds of publishing
    # A persistent session: the broker keeps this subscriber's queue across its restart.
    collector = Collector(broker.ports["plain"], list(topics.values()), session=True)
    settings = MqttSettings(
        host="127.0.0.1",
        port=broker.ports["plain"],
        topics=topics,
        qos=1,
        client_id=f"restart-{uuid.uuid4().hex[:8]}",
    )
    publisher = Publisher(settings, speed=1000, give_up_after=30)
    try:
        publisher.start(frame)
        collector.wait_for(4_000, 20)
        assert publisher.stats().running
        broker.stop()
        broker.start()
        stats = publisher.wait(60)
        received = collector.wait_for_distinct(len(frame), 30)
    finally:
        publisher.stop()
        collector.close()
    assert stats.reconnects >= 1 and stats.error is None, stats
    assert stats.acknowledged == stats.published == len(frame) and stats.failed == 0
    expected = encode_frame(frame)
    # At least once: nothing lost (a message in flight at the restart may come twice).
    missing = Counter(expected) - Counter(payload for _, payload in received)
    assert not missing, f"{sum(missing.values())} lost"


def test_broker_that_never_comes_back_ends_with_an_error(restartable_mosquitto, topics) -> None:
    broker = restartable_mosquitto
    # Flat out, with far more events than go out before the broker stops: messages are in
    # flight when it goes (paced, the loss could fall between two seconds with none in flight).
    frame = _events(200_000, 100)
    collector = Collector(broker.ports["plain"], list(topics.values()))
    settings = MqttSettings(
        host="127.0.0.1",
        port=broker.ports["plain"],
        topics=topics,
        qos=1,
        client_id=f"gone-{uuid.uuid4().hex[:8]}",
    )
    publisher = Publisher(settings, speed="max", give_up_after=1.5)
    try:
        publisher.start(frame)
        collector.wait_for(500, 20)
        broker.stop()
        stats = publisher.wait(30)
    finally:
        publisher.stop()
        collector.close()
    assert_all_contract(collector.messages, topics=topics)
    assert not stats.running and not stats.finished
    assert stats.error is not None and "could not reconnect" in stats.error
    waited = float(re.search(r"gave up after (\d+\.\d) s", stats.error).group(1))
    assert 1.4 <= waited <= 2.0, stats.error
    assert stats.failed == stats.published - stats.acknowledged > 0
    json.dumps(stats.error)  # one plain sentence
