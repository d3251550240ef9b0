"""Password, TLS and client-certificate brokers; unreachable brokers; failures in words."""

from __future__ import annotations

import logging
import re
import time
import uuid

import pytest
from helpers.mqtt_broker import PASSWORD, USERNAME, Collector, free_port, make_certificates

from customersim.cli import main
from customersim.mqtt import MqttError, MqttSettings, Publisher, send_event

pytestmark = pytest.mark.broker


def _settings(mosquitto, topics, kind, **changes) -> MqttSettings:
    return MqttSettings(
        host="127.0.0.1",
        port=mosquitto.ports[kind],
        topics=topics,
        client_id=f"sec-{uuid.uuid4().hex[:8]}",
        **changes,
    )


def _round_trip(mosquitto, topics, settings) -> None:
    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    try:
        payload = send_event(settings, "move", customer_id="997", ts=192326400, x=2, y=3)
        assert collector.wait_for(1, 10) == [(topics["move"], payload)]
    finally:
        collector.close()
    assert payload == b'{"id":"997","ts":192326400,"x":2,"y":3}'


def test_password_broker(mosquitto, topics) -> None:
    _round_trip(
        mosquitto, topics, _settings(mosquitto, topics, "password", username=USERNAME, password=PASSWORD)
    )


def test_tls_broker(mosquitto, topics) -> None:
    _round_trip(
        mosquitto, topics, _settings(mosquitto, topics, "tls", ca_file=str(mosquitto.certs["ca.pem"]))
    )


def test_client_certificate_broker(mosquitto, topics) -> None:
    certs = mosquitto.certs
    _round_trip(
        mosquitto,
        topics,
        _settings(
            mosquitto,
            topics,
            "mtls",
            ca_file=str(certs["ca.pem"]),
            client_cert_file=str(certs["client.pem"]),
            client_key_file=str(certs["client.key"]),
        ),
    )


def test_insecure_tls_says_so_loudly(mosquitto, topics, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="customersim.mqtt"):
        _round_trip(
            mosquitto,
            topics,
            _settings(mosquitto, topics, "tls", ca_file=str(mosquitto.certs["ca.pem"]), tls_insecure=True),
        )
    assert "MQTT_TLS_INSECURE is on" in caplog.text and "NOT checked" in caplog.text


def test_wrong_password_is_one_line_without_the_password(mosquitto, topics, capsys) -> None:
    settings = _settings(mosquitto, topics, "password", username=USERNAME, password="wrong-" + PASSWORD)
    publisher = Publisher(settings, speed="max")
    publisher.start(iter(()))
    stats = publisher.wait(20)
    assert stats.error and "refused the connection" in stats.error and "MQTT_PASSWORD" in stats.error
    assert "wrong-" not in stats.error and not stats.running
    env = {
        "MQTT_HOST": "127.0.0.1",
        "MQTT_PORT": str(mosquitto.ports["password"]),
        "MQTT_USERNAME": USERNAME,
        "MQTT_PASSWORD": "wrong-" + PASSWORD,
        "ENTER_TOPIC": topics["enter"],
    }
    assert main(["send", "enter", "--id", "1"], env) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("customersim send: broker 127.0.0.1:") and "not authori" in err[-1]
    assert "Traceback" not in "\n".join(err) and "wrong-" not in "\n".join(err)


def test_missing_credentials_are_explained(mosquitto, topics) -> None:
    with pytest.raises(MqttError, match="set MQTT_USERNAME / MQTT_PASSWORD"):
        send_event(_settings(mosquitto, topics, "password"), "enter", customer_id="1")


def test_untrusted_certificate_fails_at_once(mosquitto, topics, tmp_path) -> None:
    other_ca = make_certificates(tmp_path, prefix="other-")["ca.pem"]
    began = time.monotonic()
    with pytest.raises(MqttError, match=r"certificate check failed.*MQTT_BROKER_CERT_FILE"):
        send_event(
            _settings(mosquitto, topics, "tls", ca_file=str(other_ca)), "enter", customer_id="1", timeout=20
        )
    assert time.monotonic() - began < 10  # not retried until the timeout


def test_client_certificate_missing(mosquitto, topics) -> None:
    settings = _settings(mosquitto, topics, "mtls", ca_file=str(mosquitto.certs["ca.pem"]))
    with pytest.raises(MqttError, match="MQTT_CLIENT_CERT_FILE"):
        send_event(settings, "enter", customer_id="1", timeout=2)


def test_unreachable_broker_gives_up_with_words(topics) -> None:
    settings = MqttSettings(host="127.0.0.1", port=free_port(), topics=topics)
    publisher = Publisher(settings, speed="max", give_up_after=1.0)
    publisher.start(iter(()))
    stats = publisher.wait(20)
    assert stats.error is not None and "connection refused" in stats.error
    # The message quotes the time actually waited: the limit, not more.
    waited = float(re.search(r"gave up after (\d+\.\d) s", stats.error).group(1))
    assert 0.9 <= waited <= 1.5, stats.error


def test_unreachable_broker_says_why_while_still_retrying(topics) -> None:
    settings = MqttSettings(host="127.0.0.1", port=free_port(), topics=topics)
    publisher = Publisher(settings, speed="max", give_up_after=30.0)
    publisher.start(iter(()))
    try:
        deadline = time.monotonic() + 10
        while publisher.stats().retrying is None and time.monotonic() < deadline:
            publisher.wait(0.05)  # returns at once while running: polls the stats
        stats = publisher.stats()
        assert stats.running and not stats.connected and stats.error is None
        assert stats.retrying is not None and "connection refused" in stats.retrying
    finally:
        stats = publisher.stop()
    assert stats.retrying is None and not stats.running


def _unencrypted_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "unencrypted" in r.getMessage()]


def test_a_password_over_plain_tcp_is_warned_about_once_without_the_password(
    mosquitto, topics, caplog
) -> None:
    settings = _settings(mosquitto, topics, "password", username=USERNAME, password=PASSWORD)
    with caplog.at_level(logging.WARNING, logger="customersim.mqtt"):
        _round_trip(mosquitto, topics, settings)
    (warning,) = _unencrypted_warnings(caplog)
    assert "MQTT_TLS=true" in warning and f"127.0.0.1:{mosquitto.ports['password']}" in warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="customersim.mqtt"):
        publisher = Publisher(settings, speed="max")
        publisher.start(iter(()))
        stats = publisher.wait(20)
    assert stats.error is None and len(_unencrypted_warnings(caplog)) == 1
    assert PASSWORD not in caplog.text


def test_a_password_over_tls_is_not_warned_about(mosquitto, topics, caplog) -> None:
    # The TLS listener lets anyone in, so it takes any user name and password.
    settings = _settings(
        mosquitto, topics, "tls", ca_file=str(mosquitto.certs["ca.pem"]), username="u", password="p"
    )
    with caplog.at_level(logging.WARNING, logger="customersim.mqtt"):
        _round_trip(mosquitto, topics, settings)
    assert _unencrypted_warnings(caplog) == []


def _tls_env(mosquitto, topics) -> dict[str, str]:
    return {
        "MQTT_HOST": "127.0.0.1",
        "MQTT_PORT": str(mosquitto.ports["tls"]),
        "MQTT_TLS": "true",
        "MQTT_NAME": f"sec-{uuid.uuid4().hex[:8]}",
        "ENTER_TOPIC": topics["enter"],
        "MOVE_TOPIC": topics["move"],
        "EXIT_TOPIC": topics["exit"],
    }


def test_tls_with_the_system_store_refuses_an_unknown_ca_in_words(mosquitto, topics, monkeypatch) -> None:
    # The system's own store: the test broker's freshly made CA is not in it.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    settings = MqttSettings.from_env(_tls_env(mosquitto, topics))
    assert settings.tls and settings.ca_file is None
    began = time.monotonic()
    with pytest.raises(MqttError) as caught:
        send_event(settings, "enter", customer_id="1", timeout=20)
    message = str(caught.value)
    assert "certificate check failed" in message and "no CA in the system's store" in message
    assert "MQTT_BROKER_CERT_FILE" in message
    assert time.monotonic() - began < 10  # not retried until the timeout


def test_tls_with_the_system_store_trusts_what_openssl_trusts(
    mosquitto, topics, monkeypatch, tmp_path, capsys
) -> None:
    # OpenSSL's default store is the file SSL_CERT_FILE names (and the folder SSL_CERT_DIR).
    monkeypatch.setenv("SSL_CERT_FILE", str(mosquitto.certs["ca.pem"]))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    try:
        argv = ["send", "move", "--id", "997", "--ts", "192326400", "--x", "2", "--y", "3"]
        assert main(argv, _tls_env(mosquitto, topics)) == 0, capsys.readouterr().err
        payload = b'{"id":"997","ts":192326400,"x":2,"y":3}'
        assert collector.wait_for(1, 10) == [(topics["move"], payload)]
    finally:
        collector.close()
