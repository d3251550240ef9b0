"""docs/asyncapi.yaml describes what the publisher really sends, and refuses what it must not.

The document is the contract handed to consumers, and ``tests/helpers/contract.py`` checks every
payload the MQTT tests' subscribers receive against it. These tests check the document and the
checker themselves: the channels are the default topics of the settings, every reference
resolves, the examples and the library's encoders pass, and payloads that break the contract
(a wrong type, a missing or an unasked-for key, a float timestamp, another key order) fail.
"""

from __future__ import annotations

import dataclasses
import json
import uuid

import pytest
from helpers.contract import (
    DOCUMENT,
    assert_all_contract,
    assert_contract,
    channel_addresses,
    channel_for,
    document,
    payload_schema,
)
from helpers.mqtt_broker import Collector, publish_sentinel

from customersim import SimConfig, simulate
from customersim.mqtt import Topics, encode_frame, encode_payload


def refs(node):
    """Every $ref string in a parsed document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def pointer(ref: str):
    node = document()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_document_is_asyncapi_3_with_a_channel_per_event():
    doc = document()
    assert doc["asyncapi"] == "3.0.0"
    assert doc["defaultContentType"] == "application/json"
    assert channel_addresses() == {
        "enter": "customer/enter",
        "move": "customer/move",
        "exit": "customer/exit",
        "focus": "customer/focus",
    }


def test_channels_carry_the_default_topics_of_the_settings():
    # Every event type the settings have a topic for is a channel, at that default topic.
    defaults = Topics()
    events = [field.name for field in dataclasses.fields(Topics)]
    assert {"enter", "move", "exit"} <= set(events)
    for event in events:
        assert channel_addresses()[event] == defaults.for_event(event)


def test_every_reference_resolves_and_every_channel_is_sent_on():
    doc = document()
    found = list(refs(doc))
    assert found and all(ref.startswith("#/") for ref in found)
    for ref in found:
        pointer(ref)  # a KeyError names the reference that points nowhere
    sent_on = {op["channel"]["$ref"] for op in doc["operations"].values() if op["action"] == "send"}
    assert sent_on == {f"#/channels/{name}" for name in doc["channels"]}


@pytest.mark.parametrize("channel", ["enter", "move", "exit", "focus"])
def test_payload_schemas_are_closed_and_require_every_key(channel):
    schema = payload_schema(channel)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["required"] == list(schema["properties"])


def test_payload_keys_and_types():
    def types(channel):
        return {key: prop["type"] for key, prop in payload_schema(channel)["properties"].items()}

    assert types("enter") == types("exit") == {"id": "string", "ts": "integer"}
    assert types("move") == {"id": "string", "ts": "integer", "x": "integer", "y": "integer"}
    assert types("focus") == {"id": "string", "ts": "integer", "dep": "string"}


def test_the_examples_pass():
    for name, channel in document()["channels"].items():
        (message,) = channel["messages"].values()
        examples = pointer(message["$ref"])["examples"]
        assert examples
        for example in examples:
            payload = json.dumps(example["payload"], separators=(",", ":")).encode()
            assert_contract(channel["address"], payload)
            assert channel_for(channel["address"]) == name


def test_the_readme_payloads_pass():
    readme = (DOCUMENT.parents[1] / "README.md").read_text(encoding="utf-8")
    for event in ("enter", "move", "exit"):
        line = next(line for line in readme.splitlines() if line.startswith(f"| `customer/{event}`"))
        payload = line.split("`")[3]
        assert_contract(f"customer/{event}", json.dumps(json.loads(payload), separators=(",", ":")).encode())


def test_encode_payload_passes_for_every_event_type():
    assert_contract("customer/enter", encode_payload("enter", 997, 192326400))
    assert_contract("customer/move", encode_payload("move", "997", 192326400, x=2, y=3))
    assert_contract("customer/exit", encode_payload("exit", "997", 192326400))


@pytest.mark.parametrize("seed", [0, 5])
def test_every_payload_of_a_simulated_day_passes(seed):
    frame = simulate(SimConfig(hours=6, seed=seed))
    topics = Topics()
    messages = list(
        zip([topics.for_event(e) for e in frame["event"].astype(str)], encode_frame(frame), strict=True)
    )
    assert assert_all_contract(messages) == len(frame) > 0


def test_frames_whose_ids_come_in_pieces_encode_like_whole_ones():
    """An Arrow-backed column may hold its values in chunks: simulate() takes the ids block by
    block, and pd.concat keeps its frames' pieces. The payloads do not depend on it."""
    import pandas as pd
    import pyarrow as pa

    frame = simulate(SimConfig(width=20, height=15, customers_average_in_store=25, hours=50, seed=2))
    ids = frame["customer_id"].array.__arrow_array__()
    assert isinstance(ids, pa.ChunkedArray) and ids.num_chunks > 1
    whole = frame.assign(customer_id=pd.Series(ids.combine_chunks(), dtype=frame["customer_id"].dtype))
    assert whole["customer_id"].array.__arrow_array__().num_chunks == 1
    expected = encode_frame(whole)
    assert encode_frame(frame) == expected
    assert encode_frame(pd.concat([whole.iloc[:1000], whole.iloc[1000:]], ignore_index=True)) == expected


def test_extra_fields_pass_only_when_asked_for():
    frame = simulate(SimConfig(hours=1, seed=1))
    row = frame.iloc[[int((frame["event"] == "move").to_numpy().argmax())]]
    (payload,) = encode_frame(row, extra_fields=("visit",))
    with pytest.raises(AssertionError, match="'visit' was unexpected"):
        assert_contract("customer/move", payload)
    body = assert_contract("customer/move", payload, extra_fields=["visit"])
    assert body["visit"] == int(row["visit"].iloc[0])
    (plain,) = encode_frame(row)
    with pytest.raises(AssertionError, match="lacks the extra fields"):
        assert_contract("customer/move", plain, extra_fields=["visit"])


@pytest.mark.parametrize(
    ("topic", "payload", "problem"),
    [
        ("customer/enter", b'{"id":997,"ts":192326400}', "is not of type 'string'"),
        ("customer/enter", b'{"id":"997","ts":192326400.0}', "is not of type 'integer'"),
        ("customer/enter", b'{"id":"997","ts":"192326400"}', "is not of type 'integer'"),
        ("customer/exit", b'{"id":"997"}', "'ts' is a required property"),
        ("customer/exit", b'{"id":"997","ts":1,"x":2,"y":3}', "were unexpected"),
        ("customer/move", b'{"id":"997","ts":1,"x":2}', "'y' is a required property"),
        ("customer/move", b'{"id":"997","ts":1,"x":"2","y":3}', "is not of type 'integer'"),
        ("customer/move", b'{"id":"997","ts":1,"x":-1,"y":3}', "less than the minimum"),
        ("customer/move", b'{"ts":1,"id":"997","x":2,"y":3}', "in the order"),
        ("customer/move", b'{"id": "997", "ts": 1, "x": 2, "y": 3}', "not compact JSON"),
        ("customer/focus", b'{"id":"997","ts":1}', "'dep' is a required property"),
        ("customer/focus", b'{"id":"997","ts":1,"dep":""}', "should be non-empty"),
        ("customer/enter", b"not json", "not UTF-8 JSON"),
        ("customer/enter", b'["997",1]', "not a JSON object"),
        ("customer/elsewhere", b'{"id":"997","ts":1}', "is no channel"),
    ],
)
def test_contract_breaches_fail_with_the_reason(topic, payload, problem):
    with pytest.raises(AssertionError, match=problem.replace("(", r"\(")):
        assert_contract(topic, payload)


def test_renamed_topics_map_to_their_event_channel():
    topics = {"enter": "test/x/enter", "move": "test/x/move", "exit": "test/x/exit"}
    assert channel_for("test/x/move", topics) == "move"
    assert channel_for("customer/exit", topics) == "exit"
    with pytest.raises(AssertionError, match="is not of type 'integer'"):
        assert_contract("test/x/enter", b'{"id":"1","ts":"now"}', topics=topics)


def _publish(port: int, topic: str, payload: bytes) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"raw-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.mark.broker
def test_a_subscriber_hands_out_no_payload_outside_the_contract(mosquitto, topics):
    port = mosquitto.ports["plain"]
    checked = Collector(port, list(topics.values()))
    unchecked = Collector(port, list(topics.values()), contract=False)
    try:
        _publish(port, topics["move"], encode_payload("move", "997", 192326400, x=2, y=3))
        marker = publish_sentinel(port, topics["enter"])
        assert [p for _, p in checked.wait_for(2)][1] == marker  # events and markers pass
        _publish(port, topics["move"], b'{"id":"997","ts":192326400,"x":2}')
        with pytest.raises(AssertionError, match="'y' is a required property"):
            checked.wait_for(3)
        assert len(unchecked.wait_for(3)) == 3
    finally:
        checked.close()
        unchecked.close()
