"""MQTT settings from the environment, payload encoding and speed parsing (no broker needed)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from customersim import SimConfig, simulate
from customersim.config import ConfigError
from customersim.frame import EVENT_DTYPE, STRING_DTYPE
from customersim.mqtt import MqttSettings, encode_frame, encode_payload, parse_speed


def test_defaults_follow_the_old_service() -> None:
    settings = MqttSettings.from_env({})
    assert (settings.host, settings.port, settings.client_id, settings.qos) == (None, 1883, "demoClient", 1)
    assert settings.topics.as_tuple() == (
        "customer/enter",
        "customer/move",
        "customer/exit",
        "customer/focus",
    )
    assert not settings.mock and not settings.tls and settings.protocol == "3.1.1"


def test_every_variable_is_read(tmp_path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    env = {
        "MQTT_HOST": "broker.local",
        "MQTT_PORT": "8883",
        "MQTT_NAME": "shop-1",
        "ENTER_TOPIC": "s/in",
        "MOVE_TOPIC": "s/mv",
        "EXIT_TOPIC": "s/out",
        "FOCUS_TOPIC": "s/focus",
        "MQTT_QOS": "2",
        "MQTT_USERNAME": "u",
        "MQTT_PASSWORD": "pw",
        "MQTT_BROKER_CERT_FILE": str(ca),
        "MQTT_TLS_INSECURE": "true",
        "MQTT_PROTOCOL": "5",
        "MQTT_TRANSPORT": "websockets",
        "TESTING_MOCK_MQTT": "True",
    }
    s = MqttSettings.from_env(env)
    assert (s.host, s.port, s.client_id, s.qos, s.username, s.password) == (
        "broker.local",
        8883,
        "shop-1",
        2,
        "u",
        "pw",
    )
    assert s.topics.as_tuple() == ("s/in", "s/mv", "s/out", "s/focus")
    assert s.tls and s.tls_insecure and s.protocol == "5" and s.transport == "websockets" and s.mock


@pytest.mark.parametrize(
    "variable, value, words",
    [
        ("MQTT_PORT", "abc", "MQTT_PORT"),
        ("MQTT_PORT", "70000", "1 to 65535"),
        ("MQTT_QOS", "3", "0, 1 or 2"),
        ("MQTT_PROTOCOL", "4", "3.1.1 or 5"),
        ("MQTT_TRANSPORT", "udp", "tcp or websockets"),
        ("MQTT_TLS_INSECURE", "maybe", "true or false"),
        ("TESTING_MOCK_MQTT", "perhaps", "TESTING_MOCK_MQTT"),
        ("ENTER_TOPIC", "customer/#", "ENTER_TOPIC"),
        ("MQTT_BROKER_CERT_FILE", "/nonexistent/ca.pem", "MQTT_BROKER_CERT_FILE"),
        ("MQTT_CLIENT_KEY_FILE", __file__, "MQTT_CLIENT_CERT_FILE"),
        ("MQTT_TLS_INSECURE", "true", "TLS is off"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as error:
        MqttSettings.from_env({variable: value})
    assert words in str(error.value)
    assert variable in str(error.value) or variable == "MQTT_TLS_INSECURE"


def test_the_password_never_shows() -> None:
    settings = MqttSettings(host="h", username="u", password="hunter2-secret")
    assert "hunter2-secret" not in repr(settings) and "hunter2-secret" not in str(settings)
    assert "password=***" in repr(settings)
    with pytest.raises(ConfigError) as error:
        MqttSettings.from_env({"MQTT_PASSWORD": "hunter2-secret"})
    assert "hunter2-secret" not in str(error.value) and "MQTT_USERNAME" in str(error.value)


@pytest.mark.parametrize(
    "value, expected", [(None, None), ("max", None), ("MAX", None), ("1", 1.0), (60, 60.0)]
)
def test_speed(value, expected) -> None:
    assert parse_speed(value) == expected


@pytest.mark.parametrize("value", ["0", "-1", "fast", "nan", "inf"])
def test_bad_speed(value) -> None:
    with pytest.raises(ValueError, match="speed"):
        parse_speed(value)


def test_contract_payloads_are_exact() -> None:
    assert encode_payload("move", 997, 192326400, 2, 3) == b'{"id":"997","ts":192326400,"x":2,"y":3}'
    assert encode_payload("enter", "997", 192326400) == b'{"id":"997","ts":192326400}'
    assert encode_payload("exit", "997", 192326400) == b'{"id":"997","ts":192326400}'


def _reference(row) -> dict:
    body = {"id": str(row.customer_id), "ts": int(row.ts)}
    if row.event == "move":
        body.update(x=int(row.x), y=int(row.y))
    return body


@pytest.mark.parametrize("seed", [1, 2])
def test_frame_encoding_matches_the_contract_row_by_row(seed: int) -> None:
    frame = simulate(SimConfig(hours=2, seed=seed, customers_average_in_store=20))
    payloads = encode_frame(frame)
    assert len(payloads) == len(frame) > 100
    assert set(frame["event"]) == {"enter", "move", "exit"}
    for row, payload in zip(frame.itertuples(), payloads, strict=True):
        assert json.loads(payload) == _reference(row)
        assert b" " not in payload
        assert payload == encode_payload(
            row.event,
            row.customer_id,
            row.ts,
            row.x if row.event == "move" else None,
            row.y if row.event == "move" else None,
        )


def test_odd_ids_are_escaped_and_extra_fields_are_opt_in() -> None:
    frame = pd.DataFrame(
        {
            "ts": np.array([5, 6], dtype="int64"),
            "event": pd.Categorical(["enter", "move"], dtype=EVENT_DTYPE),
            "customer_id": pd.Series(['a"b\\c', "ünï"], dtype=STRING_DTYPE),
            "x": np.array([0, 4], dtype="int16"),
            "y": np.array([0, 7], dtype="int16"),
            "visit": np.array([11, 12], dtype="int64"),
        }
    )
    plain = encode_frame(frame)
    assert [json.loads(p) for p in plain] == [
        {"id": 'a"b\\c', "ts": 5},
        {"id": "ünï", "ts": 6, "x": 4, "y": 7},
    ]
    extra = encode_frame(frame, extra_fields=("visit",))
    assert [json.loads(p)["visit"] for p in extra] == [11, 12]
    with pytest.raises(ValueError, match="nope"):
        encode_frame(frame, extra_fields=("nope",))
