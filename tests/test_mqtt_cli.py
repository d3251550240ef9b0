"""The MQTT commands end to end: publish, send and the long-running run service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from helpers.contract import assert_all_contract, assert_contract
from helpers.mqtt_broker import Collector, free_port

from customersim import SimConfig, simulate
from customersim.cli import main
from customersim.files import write_events
from customersim.mqtt import encode_frame

pytestmark = pytest.mark.broker


def _env(mosquitto, topics, **extra) -> dict[str, str]:
    return {
        "MQTT_HOST": "127.0.0.1",
        "MQTT_PORT": str(mosquitto.ports["plain"]),
        "ENTER_TOPIC": topics["enter"],
        "MOVE_TOPIC": topics["move"],
        "EXIT_TOPIC": topics["exit"],
        "MQTT_NAME": f"cli-{time.monotonic_ns()}",
        **extra,
    }


def _subscribe(port: int, topic_filter: str, count: int) -> subprocess.Popen:
    """A mosquitto_sub that exits after ``count`` messages; returns once it is subscribed."""
    # stdbuf: mosquitto_sub block-buffers a pipe, and the SUBACK line would never come.
    sub = subprocess.Popen(
        [
            "stdbuf",
            "-oL",
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-t",
            topic_filter,
            "-q",
            "1",
            "-v",
            "-C",
            str(count),
            "-d",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in sub.stdout:  # -d prints the broker's SUBACK before any message
        if "SUBACK" in line:
            return sub
    raise RuntimeError("mosquitto_sub did not subscribe")


def test_publish_example_delivers_every_event(mosquitto, topics, capsys) -> None:
    argv = [
        "publish",
        "--hours",
        "2",
        "--seed",
        "3",
        "--start",
        "2026-01-05T08:00:00Z",
        "--speed",
        "max",
        "--qos",
        "1",
    ]
    frame = simulate(SimConfig(hours=2, seed=3, start="2026-01-05T08:00:00Z"))
    base = topics["enter"].rsplit("/", 1)[0]
    sub = _subscribe(mosquitto.ports["plain"], f"{base}/#", len(frame))
    assert main(argv, _env(mosquitto, topics)) == 0
    out, _ = sub.communicate(timeout=30)
    lines = [line for line in out.splitlines() if line.startswith(base)]
    received = [(line.split(" ", 1)[0], line.split(" ", 1)[1].encode()) for line in lines]
    assert assert_all_contract(received, topics=topics) == len(frame)
    names = [topics[event] for event in frame["event"].astype(str)]
    assert Counter(received) == Counter(zip(names, encode_frame(frame), strict=True))
    for customer in frame["customer_id"].unique()[:50]:  # per-customer order
        mine = [p for _, p in received if json.loads(p)["id"] == customer]
        assert mine == [
            p for p, c in zip(encode_frame(frame), frame["customer_id"], strict=True) if c == customer
        ]
    summary = capsys.readouterr().out
    assert f"published {len(frame):,} messages, acknowledged {len(frame):,}, failed 0" in summary


def test_send_move_arrives_exactly(mosquitto, topics, capsys) -> None:
    sub = _subscribe(mosquitto.ports["plain"], topics["move"], 1)
    assert (
        main(
            ["send", "move", "--id", "997", "--ts", "192326400", "--x", "2", "--y", "3"],
            _env(mosquitto, topics),
        )
        == 0
    )
    out, _ = sub.communicate(timeout=10)
    assert f'{topics["move"]} {{"id":"997","ts":192326400,"x":2,"y":3}}' in out.splitlines()
    line = next(line for line in out.splitlines() if line.startswith(topics["move"] + " "))
    assert_contract(topics["move"], line.split(" ", 1)[1].encode(), topics=topics)


def test_replay_a_file_rebased_to_now(mosquitto, topics, tmp_path) -> None:
    frame = simulate(SimConfig(hours=1, seed=8, customers_average_in_store=10))
    path = tmp_path / "events.csv"
    write_events(frame, path)
    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    try:
        before = int(time.time())
        assert main(["publish", "--in", str(path), "--rebase-now"], _env(mosquitto, topics)) == 0
        received = collector.wait_for(len(frame))
    finally:
        collector.close()
    ts = sorted(json.loads(p)["ts"] for _, p in received)
    offset = ts[0] - int(frame["ts"].iat[0])
    assert before <= ts[0] <= int(time.time())
    assert ts == sorted((frame["ts"] + offset).tolist())


def test_one_shot_commands_need_mqtt_host(capsys) -> None:
    assert main(["send", "enter", "--id", "1"], {}) == 1
    assert main(["publish", "--hours", "0.1"], {}) == 1
    err = capsys.readouterr().err
    assert err.count("MQTT_HOST is not set") == 2 and "Traceback" not in err


def _run_service(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "customersim",
            "run",
            "--average-inside",
            "300",
            "--dwell-mean-seconds",
            "5",
            *args,
        ],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(service: subprocess.Popen) -> tuple[int, str, str]:
    service.send_signal(signal.SIGTERM)
    out, err = service.communicate(timeout=20)
    return service.returncode, out, err


def test_run_publishes_in_real_time_and_stops_on_sigterm(mosquitto, topics, tmp_path) -> None:
    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    log_file = tmp_path / "service.log"
    service = _run_service(_env(mosquitto, topics, LOG_FILENAME=str(log_file)))
    try:
        received = collector.wait_for(40, 30)
        arrival = time.time()
    finally:
        code, _out, err = _stop(service)
        collector.close()
    assert len(received) >= 40, err
    # Real time: nothing is published ahead of its time, nor late.
    newest = max(json.loads(p)["ts"] for _, p in received)
    assert arrival - 3 <= newest <= arrival + 1
    assert code == 0, err
    assert "SIGTERM received: stopping" in err and "stopped: published" in log_file.read_text()


def test_run_starts_the_built_in_broker(tmp_path) -> None:
    port = free_port()
    service = _run_service(
        {"MQTT_PORT": str(port), "LOG_FILENAME": str(tmp_path / "m.log"), "MQTT_HOST": ""}, "--speed", "60"
    )
    try:
        first = service.stdout.readline()
        assert first.strip() == (
            f"publishing to the built-in broker at 127.0.0.1:{port}; subscribe with "
            f"mosquitto_sub -h 127.0.0.1 -p {port} -t 'customer/#'"
        )
        collector = Collector(port, ["customer/#"])
        try:
            received = collector.wait_for(20, 30)
        finally:
            collector.close()
    finally:
        code, _out, err = _stop(service)
    assert len(received) >= 20 and code == 0, err


def test_built_in_broker_port_taken(mosquitto, tmp_path, capsys) -> None:
    env = {"MQTT_PORT": str(mosquitto.ports["plain"]), "LOG_FILENAME": str(tmp_path / "m.log")}
    assert main(["run"], env) == 1
    err = capsys.readouterr().err
    assert f"port {mosquitto.ports['plain']} on 127.0.0.1 is already taken" in err
    assert "MQTT_HOST=127.0.0.1" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["publish", "run"])
def test_a_list_too_small_is_one_line_before_anything_starts(command, capsys) -> None:
    env = {"TESTING_MOCK_MQTT": "true", "LOG_FILENAME": os.devnull}
    assert main([command, "--average-inside", "900", "--hours", "1"], environ=env) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"customersim {command}: the customer list has 1000 customers" in err
    assert "needs at least 1084" in err


def test_focus_events_arrive_on_their_topic_with_exactly_id_ts_dep(mosquitto, topics) -> None:
    window = ["--layout", "fashion", "--average-inside", "15", "--hours", "1", "--seed", "4"]
    config = SimConfig(layout="fashion", customers_average_in_store=15, hours=1, seed=4)
    frame = simulate(config)
    assert (frame["event"] == "focus").sum() > 10
    base = topics["enter"].rsplit("/", 1)[0]
    env = _env(mosquitto, topics, FOCUS_TOPIC=f"{base}/focus")
    sub = _subscribe(mosquitto.ports["plain"], f"{base}/#", len(frame))
    assert main(["publish", *window, "--speed", "max", "--qos", "1"], env) == 0
    out, _ = sub.communicate(timeout=30)
    received = [line.split(" ", 1) for line in out.splitlines() if line.startswith(base)]
    assert len(received) == len(frame)
    keys = {"enter": ["id", "ts"], "move": ["id", "ts", "x", "y"], "exit": ["id", "ts"]}
    keys["focus"] = ["id", "ts", "dep"]
    for topic, payload in received:
        body = json.loads(payload)
        assert list(body) == keys[topic.rsplit("/", 1)[1]]
        if topic.endswith("/focus"):
            assert body["dep"] in {"Women", "Men", "Boys", "Girls", "Sports"}
    assert sum(topic.endswith("/focus") for topic, _ in received) == (frame["event"] == "focus").sum()


def test_send_focus_arrives_exactly(mosquitto, topics) -> None:
    base = topics["enter"].rsplit("/", 1)[0]
    sub = _subscribe(mosquitto.ports["plain"], f"{base}/focus", 1)
    env = _env(mosquitto, topics, FOCUS_TOPIC=f"{base}/focus")
    assert main(["send", "focus", "--id", "4", "--ts", "192322800", "--dep", "Boys"], env) == 0
    out, _ = sub.communicate(timeout=10)
    assert f'{base}/focus {{"id":"4","ts":192322800,"dep":"Boys"}}' in out.splitlines()
    assert main(["send", "focus", "--id", "4"], env) == 1
