"""The live service's HTTP face end to end: a real ``customersim run`` process, a real mosquitto
broker, a plain paho subscriber and an HTTP client."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import httpx
import pytest
from helpers.mqtt_broker import Collector, free_port
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.broker

# The old service's README, pointed at `customersim run --http-port`.
CURL_LINES = [
    ("/produce_entry", '{"id": "997", "ts": 192326400}'),
    ("/produce_move", '{"id": "997", "ts": 192326400, "x": 2, "y": 3}'),
    ("/produce_exit", '{"id": "997", "ts": 192326400}'),
]


class TimedCollector(Collector):
    """The plain subscriber, also noting when each message arrived (wall clock)."""

    def __init__(self, *args, **kwargs) -> None:
        self.arrivals: list[float] = []
        super().__init__(*args, **kwargs)

    def _on_message(self, client, userdata, message) -> None:
        with self._changed:
            self.arrivals.append(time.time())
            self.messages.append((message.topic, message.payload))
            self._changed.notify_all()

    def snapshot(self) -> list[tuple[float, str, dict]]:
        """Arrival time, topic and payload of each message so far (checked against the contract)."""
        with self._changed:
            messages = self._checked_copy()
            return [
                (at, topic, json.loads(payload))
                for at, (topic, payload) in zip(self.arrivals, messages, strict=True)
            ]


def _env(port: int, topics: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        "MQTT_HOST": "127.0.0.1",
        "MQTT_PORT": str(port),
        "ENTER_TOPIC": topics["enter"],
        "MOVE_TOPIC": topics["move"],
        "EXIT_TOPIC": topics["exit"],
        "MQTT_NAME": f"service-{time.monotonic_ns()}",
        **extra,
    }


def _poll(condition, timeout: float, what: str):
    """Call ``condition`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)  # poll interval


class Service:
    """``customersim run --http-port P`` in a process of its own."""

    def __init__(self, env: dict[str, str], tmp_path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"service-{self.port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "customersim", "run", "--http-port", str(self.port), *args],
            env={**os.environ, **env, "LOG_FILENAME": str(self.log)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.http = httpx.Client(base_url=self.url, timeout=10)
        _poll(self._alive, 30, "the service's /healthcheck")

    def _alive(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the service exited: {self.process.communicate()[1]}")
        try:
            return self.http.get("/healthcheck").status_code == 200
        except httpx.TransportError:
            return False

    def metrics(self) -> dict[tuple[str, tuple], float]:
        text = self.http.get("/metrics").text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def stop(self) -> tuple[int, str]:
        self.http.close()
        self.process.send_signal(signal.SIGTERM)
        _out, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


def _crowd_args(inside: int = 300) -> list[str]:
    return ["--average-inside", str(inside), "--dwell-mean-seconds", "5"]


def test_the_old_services_curl_lines_put_the_three_payloads_on_the_broker(
    mosquitto, topics, tmp_path
) -> None:
    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    service = Service(_env(mosquitto.ports["plain"], topics), tmp_path)
    try:
        for path, body in CURL_LINES:
            # curl -X POST -H "Content-Type: application/json" -d '...' http://127.0.0.1:P/produce_...
            answer = service.http.post(path, content=body, headers={"Content-Type": "application/json"})
            assert answer.status_code == 200, answer.text
        expected = {
            (topics["enter"], b'{"id":"997","ts":192326400}'),
            (topics["move"], b'{"id":"997","ts":192326400,"x":2,"y":3}'),
            (topics["exit"], b'{"id":"997","ts":192326400}'),
        }
        _poll(lambda: expected <= set(collector.wait_for(0, 0)), 15, "the three payloads")
    finally:
        code, err = service.stop()
        collector.close()
    assert code == 0, err


def _inside_twice(messages: list[tuple[float, str, dict]], topics: dict[str, str]) -> list[str]:
    """Customers who enter while inside, in the order the subscriber heard the events."""
    event_of = {topic: event for event, topic in topics.items()}
    inside: set[str] = set()
    twice = []
    for _, topic, payload in messages:
        event, customer = event_of[topic], payload["id"]
        if event == "enter" and customer in inside:
            twice.append(customer)
        if event == "exit":
            inside.discard(customer)
        else:
            inside.add(customer)
    return twice


def test_a_posted_scenario_is_replayed_on_time_among_the_crowd_with_nobody_inside_twice(
    mosquitto, topics, tmp_path
) -> None:
    collector = TimedCollector(mosquitto.ports["plain"], list(topics.values()))
    service = Service(_env(mosquitto.ports["plain"], topics), tmp_path, *_crowd_args())
    try:
        collector.wait_for(300, 30)
        # Script a customer who is inside on a simulated visit now: they must not be in twice.
        last_event: dict[str, str] = {}
        for _, topic, payload in collector.snapshot():
            last_event[payload["id"]] = topic
        customer = next(c for c, topic in last_event.items() if topic == topics["move"])
        scenario = {
            "customer": {"customer_id": customer},
            "path": [
                {"type": "ENTER", "location": {"x": 0, "y": 0}, "timestamp": "2021-04-11T10:01:53.955760"},
                {"type": "MOVE", "location": {"x": 1, "y": 1}, "timestamp": 1618135314955},
                {"type": "MOVE", "location": {"x": 5, "y": 9}, "timestamp": "2021-04-11T10:02:01.955"},
                {"type": "EXIT", "location": {"x": 0, "y": 0}, "timestamp": "2021-04-11T10:02:05.955"},
            ],
        }
        posted_at = time.time()
        answer = service.http.post("/scenario", params={"recalculate_time": "true"}, json=scenario)
        assert answer.status_code == 201, answer.text
        taken = answer.json()
        assert service.http.get("/scenario").json()[0]["customer_id"] == customer
        assert taken["last_ts"] - taken["first_ts"] == 12
        assert abs(taken["first_ts"] - posted_at) <= 2

        def scripted_exit_heard():
            return any(
                p["id"] == customer and t == topics["exit"] and p["ts"] == taken["last_ts"]
                for _, t, p in collector.snapshot()
            )

        _poll(scripted_exit_heard, 30, "the scripted customer's exit")
        _poll(lambda: service.http.get("/scenario").json() == [], 10, "the scenario to be played out")
        heard = collector.snapshot()
    finally:
        code, err = service.stop()
        collector.close()
    assert code == 0, err
    after = [(at, t, p) for at, t, p in heard if at >= posted_at]
    mine = [(at, t, p) for at, t, p in after if p["id"] == customer]
    enters = [i for i, (_, t, _) in enumerate(mine) if t == topics["enter"]]
    script = mine[enters[0] :]
    assert [t for _, t, _ in script].count(topics["exit"]) == 1 and script[-1][1] == topics["exit"]
    # Their simulated visit was cut short: they walked out and left before the script let them in.
    assert enters[0] > 0 and mine[enters[0] - 1][1] == topics["exit"]
    # On time: each scripted event arrives as its second begins (ts: whole seconds of the store
    # clock, which is the wall clock at speed 1).
    for at, _, payload in script:
        assert payload["ts"] - 0.2 <= at <= payload["ts"] + 1.5, (at, payload)
    cells = [(p["x"], p["y"]) for _, t, p in script if t == topics["move"]]
    assert (5, 9) in cells and cells[-1] == (0, 0)
    assert all(max(abs(a[0] - b[0]), abs(a[1] - b[1])) == 1 for a, b in itertools.pairwise(cells))
    # Interleaved: other shoppers' events arrived while the script played.
    during = [p for at, _, p in after if script[0][0] <= at <= script[-1][0] and p["id"] != customer]
    assert len(during) > 50
    assert _inside_twice(heard, topics) == []


def test_ready_follows_the_broker_connection(restartable_mosquitto, topics, tmp_path) -> None:
    broker = restartable_mosquitto
    env = _env(broker.ports["plain"], topics)
    service = Service(env, tmp_path, "--give-up-after", "120")
    try:
        _poll(lambda: service.http.get("/ready").status_code == 200, 15, "/ready 200 at start")
        broker.stop()
        down = _poll(
            lambda: (r := service.http.get("/ready")).status_code == 503 and r.json(), 15, "/ready 503"
        )
        assert down["ready"] is False and str(broker.ports["plain"]) in down["reason"]
        assert service.metrics()[("customersim_broker_connected", ())] == 0
        broker.start()
        up = _poll(
            lambda: (r := service.http.get("/ready")).status_code == 200 and r.json(), 30, "/ready 200"
        )
        assert up["ready"] is True
        metrics = service.metrics()
        assert metrics[("customersim_broker_connected", ())] == 1
        assert metrics[("customersim_broker_reconnects_total", ())] >= 1
    finally:
        code, err = service.stop()
    assert code == 0, err


def test_metrics_parse_and_match_what_a_subscriber_received(mosquitto, topics, tmp_path) -> None:
    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    token = "s3cret-t0ken-of-this-test"
    env = _env(mosquitto.ports["plain"], topics, HTTP_TOKEN=token, LOG_LEVEL="DEBUG")
    service = Service(env, tmp_path, *_crowd_args(50))
    bearer = {"Authorization": f"Bearer {token}"}
    try:
        collector.wait_for(100, 30)
        move = {"id": "hand-made", "ts": 192326400, "x": 2, "y": 3}
        assert service.http.post("/produce_move", json=move).status_code == 401
        assert service.http.post("/produce_move", json=move, headers=bearer).status_code == 200
        # Pause the crowd: the stream falls quiet and every counter can be compared exactly.
        assert service.http.post("/stop", headers=bearer).json()["simulation"] == "paused"

        def settled():
            metrics = service.metrics()
            published = sum(
                v for (name, _), v in metrics.items() if name == "customersim_events_published_total"
            )
            acknowledged = metrics[("customersim_messages_acknowledged_total", ())]
            return (
                metrics
                if published == acknowledged == collector.count()
                and published > 0
                and metrics[("customersim_publish_lag_seconds", ())] < 1
                else None
            )

        metrics = _poll(settled, 20, "counters equal to what the subscriber received")
        heard = collector.wait_for(0, 0)
    finally:
        code, err = service.stop()
        collector.close()
    assert code == 0, err
    by_topic = Counter(topic for topic, _ in heard)
    for event, topic in topics.items():
        published = sum(
            v
            for (name, labels), v in metrics.items()
            if name == "customersim_events_published_total" and dict(labels)["event"] == event
        )
        assert published == by_topic[topic], event
    assert metrics[("customersim_events_published_total", (("event", "move"), ("source", "api")))] == 1
    assert metrics[("customersim_messages_failed_total", ())] == 0
    assert metrics[("customersim_broker_connected", ())] == 1
    assert metrics[("customersim_simulation_running", ())] == 0
    # Customers inside, as the subscriber can tell from the events it heard.
    last: dict[str, str] = {}
    for topic, payload in heard:
        last[json.loads(payload)["id"]] = topic
    inside = sum(1 for customer, topic in last.items() if topic != topics["exit"] and customer != "hand-made")
    assert metrics[("customersim_customers_inside", ())] == inside > 0
    # The token never appears in the service's logs.
    assert token not in service.log.read_text() and token not in err
    assert "hand-made event queued" in service.log.read_text()


def test_run_plays_scenario_files_alone_from_now(mosquitto, topics, tmp_path) -> None:
    from customersim.scenarios import load

    folder = tmp_path / "demo"
    folder.mkdir()
    for customer, offset in (("3", 0), ("8", 2000)):
        (folder / f"c{customer}.json").write_text(
            json.dumps(
                {
                    "customer": {"customer_id": customer},
                    "path": [
                        {"type": "ENTER", "timestamp": 1618135313000 + offset},
                        {"type": "MOVE", "location": {"x": 2, "y": 2}, "timestamp": 1618135315000 + offset},
                        {"type": "EXIT", "timestamp": 1618135319000 + offset},
                    ],
                }
            )
        )
    expected = load(folder)
    collector = TimedCollector(mosquitto.ports["plain"], list(topics.values()))
    started = time.time()
    service = Service(
        _env(mosquitto.ports["plain"], topics), tmp_path, "--scenario", str(folder), "--no-simulation"
    )
    try:
        heard = [
            (t, p)
            for _, t, p in _poll(
                lambda: collector.snapshot() if collector.count() >= len(expected) else None,
                30,
                "the scripted events",
            )
        ]
        assert service.http.get("/state").json()["simulation"] == "off"
    finally:
        code, err = service.stop()
        collector.close()
    assert code == 0, err
    event_of = {topic: event for event, topic in topics.items()}
    offset = heard[0][1]["ts"] - int(expected["ts"].iat[0])
    assert started - 1 <= heard[0][1]["ts"] <= time.time()
    got = sorted((p["ts"] - offset, event_of[t], p["id"], p.get("x", 0), p.get("y", 0)) for t, p in heard)
    want = sorted(
        (
            int(r.ts),
            str(r.event),
            r.customer_id,
            int(r.x) if r.event == "move" else 0,
            int(r.y) if r.event == "move" else 0,
        )
        for r in expected.itertuples()
    )
    assert got == want
