"""Live publishing of a chain: each store's events on its own topics (a real mosquitto)."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest
from helpers.mqtt_broker import Collector

from customersim.chain import read_stores_table
from customersim.cli import main
from customersim.config import SimConfig
from customersim.mqtt import MqttSettingsError, Topics, encode_frame
from customersim.mqtt.chain import check_topic_template, store_topics
from customersim.simulation import simulate

pytestmark = pytest.mark.broker


def test_store_topics_fill_the_template_for_every_event_type():
    topics = store_topics(Topics(), "store/{store_id}/{topic}", "north")
    assert topics.as_tuple() == (
        "store/north/customer/enter",
        "store/north/customer/move",
        "store/north/customer/exit",
        "store/north/customer/focus",
    )
    assert store_topics(Topics(), "shop/{store_id}/{event}", "7").enter == "shop/7/enter"


@pytest.mark.parametrize(
    "template", ["store/{topic}", "store/{store}/{topic}", "store/{store_id", "a/+/{store_id}"]
)
def test_bad_templates_name_the_setting(template):
    with pytest.raises(MqttSettingsError, match=r"--topic-template|topics"):
        store_topics(Topics(), check_topic_template(template), "north")


def test_publish_of_a_three_store_chain_puts_each_store_on_its_own_topics(mosquitto, tmp_path, capsys):
    table = tmp_path / "stores.csv"
    table.write_text("store_id,customers_average_in_store,width\nnorth,3,\nharbour,8,4\nmall,12,20\n")
    base = f"test-{uuid.uuid4().hex[:10]}"
    env = {
        "MQTT_HOST": "127.0.0.1",
        "MQTT_PORT": str(mosquitto.ports["plain"]),
        "MQTT_NAME": f"chain-{time.monotonic_ns()}",
    }
    template = base + "/store/{store_id}/{topic}"
    settings = ["--hours", "0.5", "--seed", "6", "--start", "2026-01-05T10:00:00Z"]
    chain = read_stores_table(table, SimConfig(hours=0.5, seed=6, start="2026-01-05T10:00:00Z"))
    expected: dict[str, Counter] = {}
    for store in chain:
        frame = simulate(store.config)
        assert len(frame) > 0
        names = [f"{base}/store/{store.store_id}/customer/{event}" for event in frame["event"].astype(str)]
        expected[store.store_id] = Counter(zip(names, encode_frame(frame), strict=True))
    # One subscriber per store, on exactly that store's topics (each message is checked against
    # the AsyncAPI contract by the Collector).
    port = mosquitto.ports["plain"]
    collectors = {
        store_id: Collector(
            port, [f"{base}/store/{store_id}/customer/{e}" for e in ("enter", "move", "exit")]
        )
        for store_id in expected
    }
    try:
        assert main(["publish", "--stores", str(table), "--topic-template", template, *settings], env) == 0
        received = {s: c.wait_for_distinct(len(expected[s])) for s, c in collectors.items()}
    finally:
        for collector in collectors.values():
            collector.close()
    for store_id, messages in received.items():
        assert Counter(set(messages)) == expected[store_id], store_id
    out = capsys.readouterr().out
    assert "3 stores on" in out and "failed 0" in out
