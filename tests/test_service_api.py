"""The live service's HTTP face in-process: bodies, answers, the token, and the stream's clock.

The app runs over a real :class:`LiveStream` and a real publisher in mock mode (it logs instead
of publishing); the end-to-end tests against mosquitto are in ``test_service_live.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from customersim import SimConfig
from customersim.frame import EVENT_TYPES
from customersim.mqtt import MqttSettings, Publisher
from customersim.scenarios import store_layout
from customersim.service.http import create_app
from customersim.service.stream import LiveStream
from customersim.simulation import simulate_chunks

TOKEN = "t0ken-for-tests-only"


def _scenario(customer: str = "3", first_ms: int = 1618135313955) -> dict:
    return {
        "customer": {"customer_id": customer},
        "path": [
            {"type": "ENTER", "location": {"x": 200, "y": 10}, "timestamp": "2021-04-11T10:01:53.955760"},
            {"type": "MOVE", "location": {"x": 2, "y": 3}, "timestamp": first_ms + 5000},
            {"type": "EXIT", "location": {"x": 0, "y": 0}, "timestamp": first_ms + 9000},
        ],
    }


@pytest.fixture
def service(request) -> Iterator[tuple[TestClient, LiveStream, Publisher]]:
    """An app over a stream with a simulated crowd (or none: ``@pytest.mark.parametrize`` off)."""
    simulation, token = getattr(request, "param", (True, None))
    config = SimConfig(start=int(time.time()))
    frames = simulate_chunks(config, chunk_rows=2000, endless=True) if simulation else None
    stream = LiveStream(frames, store_layout(config), origin_ts=time.time(), speed=1.0)
    settings = MqttSettings(mock=True)
    publisher = Publisher(settings, None)
    publisher.start(stream)
    client = TestClient(create_app(stream, publisher.stats, settings, token=token))
    yield client, stream, publisher
    publisher.stop()


def test_the_old_bodies_are_taken_and_answered_with_the_exact_payload(service) -> None:
    client, stream, _ = service
    answer = client.post("/produce_move", json={"id": "997", "ts": 192326400, "x": 2, "y": 3})
    assert answer.status_code == 200
    assert answer.json() == {
        "topic": "customer/move",
        "payload": {"id": "997", "ts": 192326400, "x": 2, "y": 3},
    }
    # No Content-Type (a bare curl -d), a numeric id, and ts defaulting to now.
    before = int(time.time())
    answer = client.post("/produce_entry", content=b'{"id": 997}')
    assert answer.status_code == 200
    payload = answer.json()["payload"]
    assert payload["id"] == "997" and before <= payload["ts"] <= int(time.time()) + 1
    assert set(payload) == {"id", "ts"}
    assert client.post("/produce_exit", json={"id": "997", "ts": 192326400}).json()["payload"] == {
        "id": "997",
        "ts": 192326400,
    }
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(n for (_, s), n in stream.counts().items() if s == "api") < 3:
        time.sleep(0.02)  # poll interval: waiting for the publisher to take the three events
    assert stream.counts()[("move", "api")] == 1 and stream.counts()[("exit", "api")] == 1


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        ("/produce_move", {"id": "997", "ts": 1, "x": 2}, "y", "Field required"),
        ("/produce_move", {"id": "997", "x": 2.5, "y": 1}, "x", "fractional part"),
        ("/produce_move", {"id": "997", "x": 6, "y": 1}, "x", "6 is outside the store: expected 0 to 5"),
        ("/produce_entry", {"ts": 1}, "id", "Field required"),
        ("/produce_entry", {"id": " "}, "id", "must not be blank"),
        ("/produce_entry", {"id": "1", "ts": -5}, "ts", "greater than or equal to 0"),
        ("/produce_exit", b"{not json", "body", "not valid JSON at line 1 column 2"),
        ("/produce_exit", b"", "body", "missing"),
        ("/scenario?recalculate_time=true", {"customer": {"customer_id": "3"}}, "path", "non-empty list"),
        ("/scenario", _scenario(), "path[0].timestamp", "in the past of the live store"),
    ],
)
def test_bad_bodies_get_422_with_the_field_and_the_reason(service, path, body, field, words) -> None:
    client, _, _ = service
    answer = client.post(path, content=body) if isinstance(body, bytes) else client.post(path, json=body)
    assert answer.status_code == 422, answer.text
    problems = answer.json()["detail"]
    assert any(p["field"] == field and words in p["reason"] for p in problems), problems


def test_an_outside_location_is_refused_naming_the_step(service) -> None:
    client, _, _ = service
    body = _scenario()
    body["path"][1]["location"] = {"x": 200, "y": 10}
    answer = client.post("/scenario?recalculate_time=true", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"] == [
        {
            "field": "path[1].location",
            "reason": "(200, 10) is outside the 6 x 10 store: x goes from 0 to 5 and y from 0 to 9 "
            "(sensor cells)",
        }
    ]


def test_scenarios_are_listed_and_one_customer_cannot_be_scripted_twice_at_once(service) -> None:
    client, _, _ = service
    answer = client.post("/scenario?recalculate_time=true", json=_scenario("3"))
    assert answer.status_code == 201, answer.text
    taken = answer.json()
    assert taken["customer_id"] == "3" and taken["events"] == 2 + 3 + 3  # enter, 3 out, 3 back, exit
    assert taken["notes"] == ["path[0]: ENTER happens at the door (0, 0); location (200, 10) not used"]
    assert taken["last_ts"] - taken["first_ts"] == 9
    again = client.post("/scenario?recalculate_time=true", json=_scenario("3"))
    assert again.status_code == 409 and "customer 3 already has a scripted path" in again.json()["detail"]
    assert client.post("/scenario?recalculate_time=true", json=_scenario("4")).status_code == 201
    listed = client.get("/scenario").json()
    assert [s["customer_id"] for s in listed] == ["3", "4"]


def test_stop_pauses_the_crowd_and_start_resumes_it(service) -> None:
    client, stream, _ = service
    assert client.get("/state").json()["simulation"] == "running"
    stopped = client.post("/stop").json()
    assert stopped["simulation"] == "paused" and stopped["changed"] is True
    assert client.post("/stop").json()["changed"] is False
    assert stream.paused
    assert client.post("/start").json()["simulation"] == "running"
    assert client.get("/healthcheck").json() == {"status": "ok"}
    assert client.get("/ready").status_code == 200  # mock mode: nothing to connect to


@pytest.mark.parametrize("service", [(False, None)], indirect=True)
def test_without_a_crowd_start_and_stop_say_so(service) -> None:
    client, _, _ = service
    assert client.get("/state").json()["simulation"] == "off"
    answer = client.post("/start")
    assert answer.status_code == 409 and "--no-simulation" in answer.json()["detail"]


@pytest.mark.parametrize("service", [(False, TOKEN)], indirect=True)
def test_with_a_token_every_post_needs_it(service) -> None:
    client, _, _ = service
    body = {"id": "997", "ts": 192326400, "x": 2, "y": 3}
    for path in ("/produce_move", "/scenario", "/stop", "/start"):
        answer = client.post(path, json=body)
        assert answer.status_code == 401, path
        assert answer.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in answer.text
    assert (
        client.post("/produce_move", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    )
    ok = client.post("/produce_move", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert client.get("/state").status_code == 200 and client.get("/metrics").status_code == 200


def test_produce_endpoints_follow_the_event_types() -> None:
    """One endpoint per event type of the frame (``/produce_focus`` once focus events exist)."""
    config = SimConfig()
    stream = LiveStream(None, store_layout(config), origin_ts=0)
    app = create_app(stream, lambda: None, MqttSettings(mock=True))
    paths = {route.path for route in app.routes}
    names = {
        "enter": "/produce_entry",
        "move": "/produce_move",
        "exit": "/produce_exit",
        "focus": "/produce_focus",
    }
    assert {names[e] for e in EVENT_TYPES} <= paths


class _Clock:
    """A hand-turned monotonic clock, for the stream's pacing."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_paused_crowd_stands_still_and_goes_on_later_in_order() -> None:
    config = SimConfig(start=1_800_000_000, customers_average_in_store=50)
    clock = _Clock()
    frames = simulate_chunks(config, chunk_rows=5000, endless=True)
    stream = LiveStream(frames, store_layout(config), origin_ts=config.start, speed=1.0, clock=clock)
    clock.now += 60
    first = next(stream)
    assert len(first) > 0 and first["ts"].max() <= config.start + 60
    stream.pause()
    clock.now += 600
    assert len(next(stream)) == 0  # frozen: nothing simulated goes out
    stream.resume()
    clock.now += 60
    later = next(stream)
    # Ten paused minutes later the crowd goes on, its times moved on by the pause.
    assert len(later) > 0
    assert later["ts"].min() > config.start + 600 and later["ts"].max() <= config.start + 720
    # Those went out a minute late (the clock jumped); once caught up, nothing is late.
    assert 55 <= stream.lag_seconds() <= 60
    next(stream)
    assert stream.lag_seconds() == 0


# The contract's keys of each event type's payload (focus: once the frame has focus events).
CONTRACT_KEYS = {
    "enter": {"id", "ts"},
    "move": {"id", "ts", "x", "y"},
    "exit": {"id", "ts"},
    "focus": {"id", "ts", "dep"},
}
ENDPOINT_NAMES = {"enter": "entry", "move": "move", "exit": "exit", "focus": "focus"}


def test_every_event_type_has_its_endpoint_and_exactly_the_contract_payload(service) -> None:
    client, _, _ = service
    body = {"id": "997", "ts": 192326400, "x": 2, "y": 3, "dep": "sports", "visit": 4}
    for event in EVENT_TYPES:
        answer = client.post(f"/produce_{ENDPOINT_NAMES[event]}", json=body)
        assert answer.status_code == 200, (event, answer.text)
        payload = answer.json()["payload"]
        assert set(payload) == CONTRACT_KEYS[event], event
        assert {k: body[k] for k in payload} == payload


def test_further_columns_of_the_simulation_travel_with_their_rows() -> None:
    config = SimConfig(start=1_800_000_000)
    clock = _Clock()
    chunk = next(simulate_chunks(config, chunk_rows=500))
    chunk["zone"] = [f"z{i}" for i in range(len(chunk))]
    stream = LiveStream(iter([chunk]), store_layout(config), origin_ts=config.start, clock=clock)
    clock.now += 3600
    released = next(stream)
    assert len(released) > 0
    by_key = dict(
        zip(
            zip(chunk["ts"], chunk["customer_id"], chunk["x"], chunk["y"], strict=True),
            chunk["zone"],
            strict=True,
        )
    )
    for row in released.itertuples():
        assert row.zone == by_key[(row.ts, row.customer_id, row.x, row.y)]


def test_a_taken_http_port_is_one_line_before_anything_is_published(capsys, tmp_path) -> None:
    import socket

    from customersim.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {"TESTING_MOCK_MQTT": "true", "LOG_FILENAME": str(tmp_path / "m.log")}
        assert main(["run", "--http-port", str(port)], env) == 1
    err = capsys.readouterr().err
    assert f"customersim run: HTTP port {port} on 127.0.0.1 is already taken" in err
    assert "Traceback" not in err and "customersim.mqtt.mock" not in err
    assert main(["run", "--http-port", "70000"], env) == 2
    assert "port (HTTP_PORT) = '70000' is not allowed: expected a port number from 1 to 65535" in (
        capsys.readouterr().err
    )
