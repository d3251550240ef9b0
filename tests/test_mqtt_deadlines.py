"""Brokers that misbehave: silent ports, hung brokers, TLS against a plain listener, a second
client with the same id, signals and a log file on a full disk.

Each limit a user sets (``--give-up-after``, ``--timeout``) is a promise: the command ends
within it plus a small margin, and says how long it actually waited.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from helpers.mqtt_broker import Collector, Mosquitto, free_port, make_certificates

from customersim.cli import main

pytestmark = pytest.mark.broker

# Seconds a command may run past its limit: the last attempt's wind-down and the reply.
MARGIN = 1.5


class SilentListener:
    """A TCP port that accepts connections and never says a word (a hung or wrong service)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(50)
        self.port = self.socket.getsockname()[1]
        self._accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            self._accepted.append(conn)

    def close(self) -> None:
        self.socket.close()
        for conn in self._accepted:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentListener]:
    listener = SilentListener()
    yield listener
    listener.close()


@pytest.fixture
def stopped_mosquitto() -> Iterator[Mosquitto]:
    """A broker of the test's own, frozen with SIGSTOP: the port accepts, nothing answers."""
    broker = Mosquitto.create(kinds=("plain",)).start()
    broker.process.send_signal(signal.SIGSTOP)
    yield broker
    broker.process.send_signal(signal.SIGCONT)
    broker.cleanup()


# Every event topic of the default settings, for a subscriber that only needs to hear publishing.
ALL_EVENTS = "customer/#"


def _env(port: int, **extra: str) -> dict[str, str]:
    return {
        "MQTT_HOST": "127.0.0.1",
        "MQTT_PORT": str(port),
        "MQTT_NAME": f"t-{time.monotonic_ns()}",
        **extra,
    }


def _timed(argv: list[str], env: dict[str, str]) -> tuple[int, float]:
    began = time.monotonic()
    code = main(argv, env)
    return code, time.monotonic() - began


def _waited(text: str) -> float:
    found = re.search(r"gave up after (\d+\.\d) s", text)
    assert found, text
    return float(found.group(1))


PUBLISH = ["publish", "--hours", "0.2", "--seed", "1", "--give-up-after", "5"]


def test_publish_to_a_silent_port_keeps_its_deadline(silent, capsys) -> None:
    code, seconds = _timed(PUBLISH, _env(silent.port))
    err = capsys.readouterr().err
    assert code == 1 and seconds <= 5 + MARGIN, (seconds, err)
    assert "no answer to CONNECT" in err and 4.5 <= _waited(err) <= 5 + MARGIN
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_send_to_a_silent_port_keeps_its_timeout(silent, capsys) -> None:
    code, seconds = _timed(["send", "enter", "--id", "1", "--timeout", "3"], _env(silent.port))
    err = capsys.readouterr().err
    assert code == 1 and seconds <= 3 + MARGIN, (seconds, err)
    assert 2.5 <= _waited(err) <= 3 + MARGIN and "Traceback" not in err


def test_publish_to_a_hung_broker_keeps_its_deadline(stopped_mosquitto, capsys) -> None:
    code, seconds = _timed(PUBLISH, _env(stopped_mosquitto.ports["plain"]))
    err = capsys.readouterr().err
    assert code == 1 and seconds <= 5 + MARGIN, (seconds, err)
    assert "gave up after" in err and "Traceback" not in err


def test_a_broker_that_hangs_mid_run_is_given_up_on_time(capsys) -> None:
    broker = Mosquitto.create(kinds=("plain",)).start()
    env = _env(broker.ports["plain"])
    result: dict[str, float | int] = {}

    def publish() -> None:
        began = time.monotonic()
        result["code"] = main(
            ["publish", "--hours", "2", "--speed", "600", "--qos", "1", "--give-up-after", "5"], env
        )
        result["ended"] = time.monotonic()
        result["began"] = began

    thread = threading.Thread(target=publish)
    heard = Collector(broker.ports["plain"], [ALL_EVENTS], contract=False)
    thread.start()
    try:
        # Frozen mid-run: after the broker has passed on the first messages.
        assert len(heard.wait_for(20, timeout=30)) >= 20
        heard.close()
        broker.process.send_signal(signal.SIGSTOP)
        frozen = time.monotonic()
        thread.join(30)
    finally:
        broker.process.send_signal(signal.SIGCONT)
        broker.cleanup()
    err = capsys.readouterr().err
    assert not thread.is_alive() and result["code"] == 1, err
    assert result["ended"] - frozen <= 5 + MARGIN, (result["ended"] - frozen, err)
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["0", "-2"])
def test_send_refuses_a_timeout_that_is_not_positive(value, capsys) -> None:
    assert main(["send", "enter", "--id", "1", "--timeout", value], _env(free_port())) == 1
    err = capsys.readouterr().err
    assert "--timeout" in err and "above 0" in err and len(err.strip().splitlines()) == 1


def test_tls_against_a_plain_listener_says_so_at_once(tmp_path, capsys) -> None:
    broker = Mosquitto.create(kinds=("plain",)).start()
    try:
        ca = make_certificates(tmp_path)["ca.pem"]
        env = _env(broker.ports["plain"], MQTT_BROKER_CERT_FILE=str(ca))
        code, seconds = _timed(["publish", "--hours", "0.1", "--give-up-after", "20"], env)
    finally:
        broker.cleanup()
    err = capsys.readouterr().err
    assert code == 1 and seconds < 5, (seconds, err)
    assert "did not speak TLS" in err and "Traceback" not in err


# ------------------------------------------------------------------- one client id, two clients


def _publisher_process(port: int, client_id: str, protocol: str, log_file: str) -> subprocess.Popen:
    env = {
        **os.environ,
        **_env(port, MQTT_NAME=client_id, MQTT_PROTOCOL=protocol, LOG_FILENAME=log_file),
        "LOG_LEVEL": "INFO",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "customersim",
            "publish",
            "--hours",
            "4",
            "--speed",
            "120",
            "--give-up-after",
            "30",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_two_publishers_with_one_client_id_end_with_one_line(protocol, tmp_path) -> None:
    broker = Mosquitto.create(kinds=("plain",)).start()
    client_id = f"twin-{time.monotonic_ns()}"
    heard = Collector(broker.ports["plain"], [ALL_EVENTS], contract=False)
    first = _publisher_process(broker.ports["plain"], client_id, protocol, str(tmp_path / "a.log"))
    try:
        # The first is connected and publishing before the second arrives.
        assert len(heard.wait_for(10, timeout=30)) >= 10
        second = _publisher_process(broker.ports["plain"], client_id, protocol, str(tmp_path / "b.log"))
        deadline = time.monotonic() + 30
        while first.poll() is None and second.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)  # polling for "one of them has ended", with a deadline
        ended = [p for p in (first, second) if p.poll() is not None]
        still = [p for p in (first, second) if p.poll() is None]
        assert len(ended) == 1 and len(still) == 1, "expected one publisher to give way"
        _out, err = ended[0].communicate(timeout=10)
        # The survivor keeps its connection: it goes on publishing after the other has gone.
        after = heard.count()
        assert len(heard.wait_for(after + 20, timeout=30)) >= after + 20
        assert still[0].poll() is None
    finally:
        heard.close()
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.communicate(timeout=20)
        broker.stop()  # mosquitto writes its log out when it exits
        mosquitto_log = broker.log()
        broker.cleanup()
    assert ended[0].returncode == 1, err
    final = [line for line in err.splitlines() if line.startswith("customersim publish:")]
    assert len(final) == 1 and "another client uses the same client id" in final[0], err
    assert "MQTT_NAME" in final[0] and "Traceback" not in err
    # Not a storm: a handful of reconnects at most, on either side.
    assert err.count("lost the connection") <= 3, err
    connections = mosquitto_log.count(f"as {client_id} ")
    assert 2 <= connections <= 8, mosquitto_log


# ----------------------------------------------------------------- signals and a full disk


def test_publish_stops_cleanly_on_sigterm(tmp_path) -> None:
    broker = Mosquitto.create(kinds=("plain",)).start()
    env = {**os.environ, **_env(broker.ports["plain"]), "LOG_LEVEL": "INFO"}
    process = subprocess.Popen(
        [sys.executable, "-m", "customersim", "publish", "--hours", "2", "--speed", "60", "--qos", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    heard = Collector(broker.ports["plain"], [ALL_EVENTS], contract=False)
    try:
        # The signal comes while publishing: after the broker has passed on the first messages.
        assert len(heard.wait_for(10, timeout=30)) >= 10
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=20)
    finally:
        heard.close()
        if process.poll() is None:
            process.kill()
        broker.cleanup()
    assert process.returncode == 128 + signal.SIGTERM, err
    summary = [
        line for line in err.splitlines() if line.startswith("customersim publish: stopped by SIGTERM")
    ]
    assert len(summary) == 1, err
    published, acknowledged = (
        int(n.replace(",", "")) for n in re.findall(r"(?:published|acknowledged) ([\d,]+)", summary[0])
    )
    assert published > 0 and acknowledged == published and "failed 0" in summary[0]
    assert "Traceback" not in err


def test_run_on_a_full_disk_logs_to_the_console_once_told(tmp_path) -> None:
    env = {**os.environ, "TESTING_MOCK_MQTT": "true", "LOG_FILENAME": "/dev/full", "LOG_LEVEL": "INFO"}
    process = subprocess.Popen(
        [sys.executable, "-m", "customersim", "run", "--speed", "60", "--average-inside", "50"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines = []
        for line in process.stderr:  # mock mode logs each message: wait for a few of them
            lines.append(line)
            if sum("customersim.mqtt.mock" in seen for seen in lines) >= 20:
                break
        process.send_signal(signal.SIGTERM)
        _out, rest = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    err = "".join(lines) + rest
    assert process.returncode == 0, err
    assert err.count("cannot write the log file /dev/full") == 1, err
    assert "Traceback" not in err and "--- Logging error ---" not in err
    assert "stopped: published" in err  # the console goes on with the story
