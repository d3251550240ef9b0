"""The Streamlit page, run by Streamlit's own AppTest: widgets, figures, messages, publishing.

Every test runs the real ``app.py`` script with a real environment (``monkeypatch.setenv``, read
by the script once per run) and the real library; the publishing tests use the session's real
mosquitto broker and a bare paho subscriber (``tests/helpers/mqtt_broker.py``) as the downstream system.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.app_figures import chart, outlined_cells, trace
from helpers.contract import assert_all_contract, assert_contract
from helpers.mqtt_broker import PASSWORD, USERNAME, Collector, free_port, publish_sentinel
from streamlit.testing.v1 import AppTest

from customersim import SimConfig, simulate
from customersim.app.live import running_publishers
from customersim.app.support import download_name, events_file_bytes, journey_choices, typical_visit_index
from customersim.config import SETTINGS
from customersim.files import read_events
from customersim.floorplan import ENTRANCE, EXIT
from customersim.metrics import dwell_seconds_per_cell, visits_per_cell
from customersim.mqtt.settings import MQTT_SETTINGS
from customersim.settings_table import all_tables

APP = str(Path(__file__).resolve().parents[1] / "app.py")
# Every variable of every settings table: the page must not see the machine's own settings.
SETTINGS_VARIABLES = tuple(name for table in all_tables() for name in table.env_names)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean environment; mock MQTT so that pages not about publishing start no broker."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TESTING_MOCK_MQTT", "true")
    return monkeypatch


def page(tab: str | None = None) -> AppTest:
    """The page as first shown; ``tab`` opens another tab than Store (only the open one is built)."""
    at = AppTest.from_file(APP, default_timeout=60)
    if tab is not None:
        at.session_state["tab"] = tab
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def wait_until(at: AppTest, condition, timeout: float = 20.0, what: str = "condition") -> None:
    """Rerun the page (as its self-refreshing status does) until ``condition(at)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        run(at)
        if condition(at):
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting for {what}; page says {status_text(at)!r}, errors {errors(at)}"
            )
        time.sleep(0.1)  # poll interval of a condition wait with a deadline


def status_text(at: AppTest) -> str:
    texts = [e.value for kind in (at.success, at.info, at.warning, at.error) for e in kind]
    return " | ".join(t for t in texts if t.startswith("**"))


# ------------------------------------------------------------------------------ Tune and See


def test_default_page_draws_a_day_of_the_default_store(env) -> None:
    at = page()
    assert errors(at) == []
    config = SimConfig()
    frame = simulate(config)
    assert metric(at, "Events") == f"{len(frame):,}"
    assert abs(float(metric(at, "Mean inside")) - 6) < 2
    assert [t.label for t in at.tabs] == ["Store", "Journeys", "Events", "Publish"]

    visits = chart(at, "fig_visits")
    z = visits["data"][0]["z"]
    np.testing.assert_array_equal(z, visits_per_cell(frame, config.width, config.height))
    # The door is framed at the size of its cell, (0, 0).
    assert outlined_cells(visits, "door") == [(-0.5, 0.5, -0.5, 0.5)]
    assert visits["layout"]["yaxis"]["range"] == [-0.5, 9.5]  # y = 0 at the bottom, as the sensors
    dwell = chart(at, "fig_dwell")
    np.testing.assert_allclose(
        dwell["data"][0]["z"], dwell_seconds_per_cell(frame, 6, 10, end=config.end) / 60
    )
    assert "total minutes over all shoppers" in dwell["layout"]["title"]["text"]
    # A flat profile expects the target all day; the headline is the mean against it.
    occupancy = chart(at, "fig_occupancy")
    np.testing.assert_allclose(np.asarray(trace(occupancy, "expected")["y"], dtype=float), 6.0, rtol=1e-3)
    assert (
        f"mean {metric(at, 'Mean inside')} over the window, target 6" in occupancy["layout"]["title"]["text"]
    )
    assert len(trace(occupancy, "inside")["x"]) <= 150
    assert metric(at, "Store visits")
    assert any(text.value.startswith("**What you are looking at:**") for text in at.markdown)
    arrivals = chart(at, "fig_arrivals")
    assert list(trace(arrivals, "arrivals")["x"]) == list(range(24))
    assert arrivals["layout"]["xaxis"]["range"] == [-0.5, 23.5]


def test_a_changed_setting_redraws_the_heatmap(env) -> None:
    at = page()
    before = chart(at, "fig_visits")["data"][0]["z"]
    at.number_input(key="width").set_value(8)
    run(at)  # the door's bound follows the width: x up to 7 from now on
    at.number_input(key="door_x").set_value(7)
    run(at)
    after = chart(at, "fig_visits")
    assert after["data"][0]["z"].shape == (10, 8) and before.shape == (10, 6)
    assert outlined_cells(after, "door") == [(6.5, 7.5, -0.5, 0.5)]
    # Back to a config simulated before: the same store again (how fast is benchmarks/app_first_view.py's
    # business, not a test's).
    at.number_input(key="width").set_value(6)
    at.number_input(key="door_x").set_value(0)
    run(at)
    np.testing.assert_array_equal(chart(at, "fig_visits")["data"][0]["z"], before)
    at.number_input(key="seed").set_value(12345)
    run(at)
    assert not np.array_equal(chart(at, "fig_visits")["data"][0]["z"], before)


@pytest.mark.parametrize(
    ("widget", "key", "value", "words"),
    [
        ("text_input", "start", "yesterday", "Start (UTC): start (SIM_START) = 'yesterday' is not allowed"),
        ("number_input", "hours", 50000.0, "Hours: hours (SIM_HOURS) = 50000"),
        # Trips make more events per visit than random steps did: a day with 900 inside is
        # refused by the page's size guard before the customer list is found too short.
        ("number_input", "average", 900.0, "Hours: hours (SIM_HOURS) = 24 with 900 customers inside"),
    ],
)
def test_bad_settings_name_the_field_and_keep_the_last_picture(env, widget, key, value, words) -> None:
    at = page()
    before = chart(at, "fig_visits")["data"][0]["z"]
    getattr(at, widget)(key=key).set_value(value)
    run(at)
    assert any(words in text for text in errors(at)), errors(at)
    # The last good result stays, marked as stale.
    np.testing.assert_array_equal(chart(at, "fig_visits")["data"][0]["z"], before)
    assert any(w.value.startswith("**Stale:**") for w in at.warning)
    assert any(c.value.startswith("Stale · ") for c in at.caption)


def test_door_bounds_follow_the_store(env) -> None:
    at = page()
    at.number_input(key="door_x").set_value(5)
    at.number_input(key="door_y").set_value(9)
    run(at)
    at.number_input(key="width").set_value(4)
    at.number_input(key="height").set_value(3)
    run(at)
    assert at.number_input(key="door_x").max == 3 and at.number_input(key="door_y").max == 2
    assert (at.number_input(key="door_x").value, at.number_input(key="door_y").value) == (3, 2)
    assert errors(at) == []
    assert outlined_cells(chart(at, "fig_visits"), "door") == [(2.5, 3.5, 1.5, 2.5)]


def test_the_url_reproduces_the_store(env) -> None:
    at = page()
    at.number_input(key="width").set_value(9)
    at.number_input(key="seed").set_value(7)
    at.selectbox(key="preset").set_value("shop day")
    run(at)
    link = dict(at.query_params)
    assert link["STORE_WIDTH"] == "9" and link["SIM_SEED"] == "7" and "ARRIVAL_PROFILE" in link
    again = AppTest.from_file(APP, default_timeout=60)
    again.query_params.update(link)
    run(again)
    assert again.number_input(key="width").value == 9 and again.number_input(key="seed").value == 7
    np.testing.assert_array_equal(
        chart(again, "fig_visits")["data"][0]["z"], chart(at, "fig_visits")["data"][0]["z"]
    )


def test_settings_default_from_the_environment(env) -> None:
    env.setenv("STORE_WIDTH", "9")
    env.setenv("SIM_SEED", "4")
    env.setenv("DOOR", "8,2")
    env.setenv("ARRIVAL_PROFILE", ",".join(["0"] * 8 + ["1"] * 16))
    at = page()
    assert at.number_input(key="width").value == 9 and at.number_input(key="seed").value == 4
    assert outlined_cells(chart(at, "fig_visits"), "door") == [(7.5, 8.5, 1.5, 2.5)]
    expected = trace(chart(at, "fig_arrivals"), "expected")["y"]
    assert np.all(np.asarray(expected[:8]) == 0) and np.all(np.asarray(expected[8:]) > 0)


def test_sidebar_bounds_and_tooltips_come_from_the_settings_tables(env) -> None:
    at = page()
    for key, name in (
        ("width", "width"),
        ("height", "height"),
        ("average", "customers_average_in_store"),
        ("visit_minutes", "mean_visit_minutes"),
        ("dwell", "dwell_mean_seconds"),
        ("dwell_spread", "dwell_spread"),
        ("pace_spread", "pace_spread"),
        ("walk", "walk_seconds_per_cell"),
        ("hours", "hours"),
        ("seed", "seed"),
    ):
        widget = at.number_input(key=key)
        assert (widget.min, widget.max) == SETTINGS[name].input_bounds, key
        assert widget.help == SETTINGS[name].tooltip and SETTINGS[name].env in widget.help
    # The door's bounds follow the store's size (test_door_bounds_follow_the_store).
    assert at.number_input(key="door_x").max == at.number_input(key="width").value - 1
    at = page("Publish")  # only the open tab is built
    assert (at.number_input(key="port").min, at.number_input(key="port").max) == (1, 65535)
    assert at.checkbox(key="use_tls").help == MQTT_SETTINGS["use_tls"].tooltip
    assert "MQTT_TLS" in at.checkbox(key="use_tls").help


def test_a_bad_environment_variable_is_a_message_not_a_traceback(env) -> None:
    env.setenv("STORE_WIDTH", "wide")
    at = page()
    assert any("width (STORE_WIDTH) = 'wide' is not allowed" in text for text in errors(at))
    assert at.get("plotly_chart")  # the built-in defaults still give a page


def test_shop_day_preset_shapes_the_arrivals(env) -> None:
    at = page()
    at.selectbox(key="preset").set_value("shop day")
    run(at)
    expected = np.asarray(trace(chart(at, "fig_arrivals"), "expected")["y"])
    assert expected[3] == 0 and expected[18] > expected[8] > 0


def test_uploaded_customer_list_is_used(env) -> None:
    at = page("Events")
    ids = [f"C{n:03d}" for n in range(60)]
    at.file_uploader(key="customers").upload(
        "mine.csv",
        ("customer_id,name\n" + "\n".join(f"{i},Someone" for i in ids) + "\n").encode(),
        "text/csv",
    )
    run(at)
    assert errors(at) == []
    assert any("uploaded list mine.csv" in c.value for c in at.caption)
    events = next(
        d.value for d in at.dataframe if {"ts", "customer_id"} <= set(d.value.columns) and len(d.value) > 100
    )
    assert set(events["customer_id"]) <= set(ids)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"customer_id,name\n1,a\n2,b\n1,c\n", "bad.csv, line 4, column customer_id: duplicate id '1'"),
        (b"id,name\n1,a\n", "bad.csv, line 1: no customer_id column"),
        (b"customer_id,name\n1,a\n2\n", "bad.csv, line 3: 1 fields where the header has 2"),
        (
            b"customer_id\n" + "\n".join(str(n) for n in range(1, 6)).encode() + b"\n",
            "the customer list has 5",
        ),
        (b"customer_id\n1\n\xff\xfe\n", "bad.csv, line 3: not UTF-8"),
        ("customer_id\n1\n2\n".encode("utf-16"), "bad.csv: is UTF-16 text"),
        (b"PAR1\x15\x04" + bytes(range(256)), "bad.csv: is a Parquet file"),
    ],
)
def test_a_bad_upload_names_the_line_and_column(env, content, words) -> None:
    at = page()
    at.file_uploader(key="customers").upload("bad.csv", content, "text/csv")
    run(at)
    assert any(words in text for text in errors(at)), errors(at)


def test_journey_explorer_steps_through_a_visit(env) -> None:
    at = page("Journeys")
    visit = at.selectbox(key="visit").value
    choices = journey_choices(simulate(SimConfig()))
    assert visit["duration"] == choices["duration"].iloc[typical_visit_index(choices)]  # typical
    assert visit["duration"] < choices["duration"].max()
    slider = next(s for s in at.slider if s.key.startswith("step-"))
    positions = int(visit["moves"]) + 2  # enter, the moves, exit
    assert slider.value == slider.max == positions  # the whole path at first
    assert f"position {positions} of {positions} (exit" in chart(at, "fig_path")["layout"]["title"]["text"]
    slider.set_value(1)
    run(at)
    figure = chart(at, "fig_path")
    assert (
        "position 1 of" in figure["layout"]["title"]["text"] and "enter" in figure["layout"]["title"]["text"]
    )
    now = trace(figure, "now")
    assert (now["x"], now["y"]) == ([0], [0])  # a visit starts at the door
    assert f"Visit {int(visit['visit'])}" in figure["layout"]["title"]["text"]
    table = next(d.value for d in at.dataframe if "time" in d.value.columns and len(d.value) <= 8)
    assert table["event"].tolist() == ["enter"]  # the table follows the position


def test_play_advances_the_journey(env) -> None:
    at = page("Journeys")

    def position() -> int:
        return next(s for s in at.slider if s.key.startswith("step-")).value

    positions = position()
    at.toggle(key="play").set_value(True)
    run(at)
    first = position()
    assert 1 < first < positions  # restarted from the enter, and moving
    run(at)  # what the fragment's timer does
    assert position() > first
    at.toggle(key="play").set_value(False)
    run(at)
    paused = position()
    run(at)
    assert position() == paused


def test_downloads_hold_the_events(env, tmp_path: Path) -> None:
    at = page("Events")
    assert [b.proto.label for b in at.get("download_button")] == ["Download CSV", "Download Parquet"]
    assert download_name(SimConfig(), "csv") == "events_6x10_door0-0_avg6_24h_20260105T000000Z_seed0.csv"
    assert download_name(SimConfig(width=9, seed=3, hours=2), "parquet").startswith("events_9x10_")
    events = next(d.value for d in at.dataframe if "time" in d.value.columns and len(d.value) > 100)
    assert events["time"].iloc[0] == pd.Timestamp(int(events["ts"].iloc[0]), unit="s").strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    frame = simulate(SimConfig(hours=2))
    for kind in ("csv", "parquet"):
        path = tmp_path / f"events.{kind}"
        path.write_bytes(events_file_bytes(SimConfig(hours=2), kind))
        back = read_events(path)
        pd.testing.assert_frame_equal(
            back.reset_index(drop=True),
            frame.reset_index(drop=True),
            check_dtype=False,
            check_categorical=False,
        )


# ----------------------------------------------------------------------------------- Publish


@pytest.fixture
def broker_env(env, mosquitto, topics) -> dict:
    env.setenv("TESTING_MOCK_MQTT", "false")
    env.setenv("MQTT_HOST", "127.0.0.1")
    env.setenv("MQTT_PORT", str(mosquitto.ports["plain"]))
    env.setenv("ENTER_TOPIC", topics["enter"])
    env.setenv("MOVE_TOPIC", topics["move"])
    env.setenv("EXIT_TOPIC", topics["exit"])
    env.setenv("SIM_HOURS", "2")
    return topics


def test_start_and_stop_twice_keeps_one_publisher_and_no_duplicates(broker_env, mosquitto) -> None:
    topics = broker_env
    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    try:
        at = page("Publish")
        at.select_slider(key="speed").set_value("1000")
        run(at)
        for _attempt in range(2):
            first = collector.count()
            at.button(key="start_publishing").click()
            run(at)
            collector.wait_for(first + 20)
            for _ in range(3):  # reruns (any click, the status refresh) must not start another
                run(at)
                assert running_publishers() == 1
            assert at.button(key="start_publishing").disabled
            wait_until(at, lambda a: "publishing" in status_text(a), what="publishing status")
            at.button(key="stop_publishing").click()
            run(at)
            assert running_publishers() == 0
            assert "**stopped**" in status_text(at)
            # The flow has stopped: a marker sent now is the last thing the subscriber hears.
            before_marker = collector.count()
            marker = publish_sentinel(mosquitto.ports["plain"], topics["enter"])
            received = collector.wait_for(before_marker + 1)
            assert received[before_marker][1] == marker
            # Nothing after the marker (QoS 1 from one broker keeps each sender's order).
            assert (
                publish_sentinel(mosquitto.ports["plain"], topics["enter"])
                == collector.wait_for(before_marker + 2)[before_marker + 1][1]
            ), "events kept arriving after Stop"
            received = received[: before_marker + 1]
            run_messages = received[first:-1]
            assert len(run_messages) >= 20
            counts = Counter(run_messages)
            assert max(counts.values()) == 1, "a message arrived twice within one run"
            assert_all_contract(run_messages, topics=topics)
    finally:
        collector.close()


def test_feed_shows_what_a_subscriber_receives(broker_env, mosquitto) -> None:
    at = page("Publish")
    at.select_slider(key="speed").set_value("max")
    at.button(key="start_publishing").click()
    run(at)
    frame = simulate(SimConfig(hours=2))
    wait_until(
        at,
        lambda a: any(f"{len(frame):,} so far" in c.value for c in a.caption),
        what="the subscriber to receive every message",
    )
    assert "**finished**" in status_text(at)
    assert metric(at, "Published") == f"{len(frame):,}" == metric(at, "Acknowledged")
    progress = at.get("progress")[0].proto
    assert progress.value == 100 and f"{len(frame):,} of {len(frame):,} messages" in progress.text
    assert pd.Timestamp(int(frame["ts"].iloc[-1]), unit="s").strftime("%H:%M:%S") in progress.text
    feed = next(d.value for d in at.table if "payload" in d.value.columns)
    assert len(feed) == 12 and set(feed["topic"]) <= set(broker_env.values())
    messages = zip(feed["topic"], feed["payload"].str.encode("utf-8"), strict=True)
    assert_all_contract(messages, topics=broker_env)
    last = frame.iloc[-1]
    assert json.loads(feed["payload"].iloc[0])["ts"] == int(last["ts"])  # newest first


def test_send_one_event(broker_env, mosquitto) -> None:
    collector = Collector(mosquitto.ports["plain"], list(broker_env.values()))
    try:
        at = page("Publish")
        assert at.number_input(key="send_x").disabled  # an enter has no cell
        at.selectbox(key="send_event").set_value("move")
        run(at)
        # A move's cell lies inside the store (6 x 10).
        assert (at.number_input(key="send_x").max, at.number_input(key="send_y").max) == (5, 9)
        at.text_input(key="send_ts").set_value("192326400")
        at.number_input(key="send_x").set_value(2)
        at.number_input(key="send_y").set_value(3)
        at.button(key="send").click()
        run(at)
        topic, payload = collector.wait_for(1)[0]
        assert topic == broker_env["move"] and assert_contract(topic, payload, topics=broker_env) == {
            "id": "997",
            "ts": 192326400,
            "x": 2,
            "y": 3,
        }
        assert any('{"id":"997","ts":192326400,"x":2,"y":3}' in s.value for s in at.success)
    finally:
        collector.close()


def test_wrong_password_is_a_message_and_never_shown(env, mosquitto) -> None:
    env.setenv("TESTING_MOCK_MQTT", "false")
    env.setenv("MQTT_HOST", "127.0.0.1")
    env.setenv("MQTT_PORT", str(mosquitto.ports["password"]))
    env.setenv("MQTT_USERNAME", USERNAME)
    wrong = "not-the-" + PASSWORD
    env.setenv("MQTT_PASSWORD", wrong)
    at = page("Publish")
    at.button(key="start_publishing").click()
    run(at)
    wait_until(at, lambda a: "**failed**" in status_text(a), what="the failure")
    assert "check MQTT_USERNAME / MQTT_PASSWORD" in status_text(at)
    shown = [
        str(e.value)
        for kind in (at.error, at.success, at.info, at.warning, at.caption, at.markdown)
        for e in kind
    ]
    assert not any(wrong in text for text in shown)
    assert at.text_input(key="password").proto.type == at.text_input(key="password").proto.PASSWORD


def test_unreachable_broker_says_why_then_fails(env) -> None:
    from customersim.app.live import LiveSession

    env.setenv("TESTING_MOCK_MQTT", "false")
    env.setenv("MQTT_HOST", "127.0.0.1")
    env.setenv("MQTT_PORT", str(free_port()))  # nothing listens there
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["live"] = LiveSession(give_up_after=3.0)  # the page's is 15 s
    at.session_state["tab"] = "Publish"
    run(at)
    assert status_text(at) == ""  # no status banner before Start
    at.button(key="start_publishing").click()
    run(at)
    assert "connection refused" in status_text(at) and "giving up in" in status_text(at)
    wait_until(at, lambda a: "**failed**" in status_text(a), what="the failed state")
    assert "gave up after 3" in status_text(at) and running_publishers() == 0
    assert not at.button(key="start_publishing").disabled  # a new try is one click away
    at.button(key="start_publishing").click()
    run(at)
    assert "**failed**" not in status_text(at)  # no stale status after Start
    at.button(key="stop_publishing").click()
    run(at)
    assert running_publishers() == 0


def test_mock_mode_logs_instead_of_sending(env) -> None:
    env.setenv("SIM_HOURS", "1")
    at = page("Publish")
    assert at.toggle(key="mock").value
    at.select_slider(key="speed").set_value("max")
    at.button(key="start_publishing").click()
    run(at)
    wait_until(at, lambda a: "**finished**" in status_text(a), what="the mock run to finish")
    assert "mock mode" in " ".join(c.value for c in at.caption)
    feed = next(d.value for d in at.table if "payload" in d.value.columns)
    assert len(feed) > 0 and feed["topic"].iloc[0].startswith("customer/")


def test_built_in_broker_when_no_host_is_set(env) -> None:
    port = free_port()
    env.setenv("TESTING_MOCK_MQTT", "false")
    env.setenv("MQTT_PORT", str(port))
    env.setenv("SIM_HOURS", "1")
    at = page("Publish")
    assert any(f"publishing to the built-in broker at 127.0.0.1:{port}" in i.value for i in at.info)
    collector = Collector(port, ["customer/#"])
    try:
        at.select_slider(key="speed").set_value("max")
        at.button(key="start_publishing").click()
        run(at)
        wait_until(at, lambda a: "**finished**" in status_text(a), what="the run to finish")
        frame = simulate(SimConfig(hours=1))
        assert len(collector.wait_for(len(frame))) == len(frame)
    finally:
        collector.close()


def test_built_in_broker_port_taken_suggests_mqtt_host(env, mosquitto) -> None:
    env.setenv("TESTING_MOCK_MQTT", "false")
    env.setenv("MQTT_PORT", str(mosquitto.ports["plain"]))
    at = page("Publish")
    assert any("already taken" in e and "MQTT_HOST=127.0.0.1" in e for e in errors(at)), errors(at)
    assert at.button(key="start_publishing").disabled


def test_endless_publishing_runs_until_stop(env) -> None:
    at = page("Publish")
    at.checkbox(key="endless").check()
    at.select_slider(key="speed").set_value("max")
    run(at)
    at.button(key="start_publishing").click()
    run(at)
    wait_until(
        at,
        lambda a: float(metric(a, "Published").replace(",", "")) > 20_000,
        what="more messages than the one-day window holds",
    )
    assert "**publishing**" in status_text(at)
    at.button(key="stop_publishing").click()
    run(at)
    assert "**stopped**" in status_text(at) and running_publishers() == 0


# --------------------------------------------------------------- the page's plain helpers


def test_profile_table_round_trip_and_messages() -> None:
    from customersim.app.support import profile_from_table, profile_table
    from customersim.config import ConfigError

    weights = tuple(float(h % 5) for h in range(24))
    assert profile_from_table(profile_table(weights)) == weights
    table = profile_table(weights)
    table.loc[7, "weight"] = -1.0
    with pytest.raises(ConfigError, match=r"arrival_profile \(ARRIVAL_PROFILE\), hour 07:00: -1.0"):
        profile_from_table(table)
    with pytest.raises(ConfigError, match="all 24 weights are 0"):
        profile_from_table(profile_table([0.0] * 24))


def test_profile_bars_beside_the_table() -> None:
    import re

    from customersim.app.support import SHOP_DAY_PROFILE, profile_svg

    svg = profile_svg(SHOP_DAY_PROFILE, width=110)
    widths = [float(w) for w in re.findall(r'<rect x="18" y="[0-9.]+" width="([0-9.]+)"', svg)]
    assert len(widths) == 24 and widths[0] == 0 and widths[18] == max(widths) == 110 - 18 - 2
    assert widths[9] == pytest.approx(widths[18] * 1.2 / 2, abs=0.1)


def test_size_guard_estimates_the_events() -> None:
    from customersim.app.support import check_app_size, estimated_events
    from customersim.config import ConfigError

    config = SimConfig(hours=24, seed=2)
    assert estimated_events(config) == pytest.approx(len(simulate(config)), rel=0.25)
    check_app_size(config)
    with pytest.raises(ConfigError, match=r"hours \(SIM_HOURS\) = 24 .* more than the 1,000"):
        check_app_size(config, limit=1000)


def test_two_sessions_on_one_broker_each_see_only_their_own(mosquitto, topics) -> None:
    from customersim.app.live import LiveSession
    from customersim.mqtt import MqttSettings, encode_frame

    base = dict(host="127.0.0.1", port=mosquitto.ports["plain"], topics=tuple(topics.values()))
    frames = [simulate(SimConfig(hours=1, seed=seed)) for seed in (1, 2)]
    sessions = [LiveSession(feed_size=30) for _ in frames]
    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    try:
        for number, (live, frame) in enumerate(zip(sessions, frames, strict=True)):
            settings = MqttSettings(client_id=f"demoClient-tab{number}", **base)
            live.start(settings, frame, speed="max")
        deadline = time.monotonic() + 30
        while any(live.running for live in sessions) and time.monotonic() < deadline:
            time.sleep(0.1)  # poll interval of a condition wait with a deadline
        received = collector.wait_for(sum(len(f) for f in frames))
        assert len(received) == sum(len(f) for f in frames)  # each message once: no takeover
        # Each feed counts its own session's messages, all of them and no more.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(
            live.status().feed_received < len(frame) for live, frame in zip(sessions, frames, strict=True)
        ):
            time.sleep(0.1)  # poll interval of a condition wait with a deadline
        for live, frame in zip(sessions, frames, strict=True):
            status = live.status()
            assert status.state == "finished" and status.stats.reconnects == 0
            own = {p.decode() for p in encode_frame(frame)}
            assert len(status.feed) == 30 and all(payload in own for _, payload, _ in status.feed)
        assert sessions[0].status().feed_received == len(frames[0])
        assert sessions[1].status().feed_received == len(frames[1])
    finally:
        for live in sessions:
            live.stop()
        collector.close()


def test_live_session_in_mock_mode_keeps_one_publisher() -> None:
    from customersim.app.live import LiveSession
    from customersim.mqtt import MqttSettings

    frame = simulate(SimConfig(hours=1))
    live = LiveSession(feed_size=5)
    live.start(MqttSettings(mock=True), frame, speed=1.0)  # wall clock: runs until stopped
    live.start(MqttSettings(mock=True), frame, speed=1.0)  # replaces, never adds
    assert live.running and running_publishers() == 1 and live.runs == 2
    live.stop()
    assert not live.running and running_publishers() == 0
    assert live.status().state == "stopped"


# ------------------------------------------------------------------------------ store layouts
FASHION = ("Women", "Men", "Boys", "Girls", "Sports")


def test_layout_picker_switches_layouts(env) -> None:
    at = page()
    assert at.selectbox(key="layout").options[:3] == ["open", "fashion", "supermarket"]
    assert not at.number_input(key="width").disabled
    at.selectbox(key="layout").set_value("supermarket")
    run(at)
    assert errors(at) == []
    plan = SimConfig(layout="supermarket").floorplan
    visits = chart(at, "fig_visits")
    assert visits["data"][0]["z"].shape == (plan.height, plan.width)
    # The map's shelves are drawn filled, its doors framed at cell size, entrance and exit apart.
    shelf = np.asarray(trace(visits, "shelf / wall")["z"], dtype=float)
    assert (np.isnan(shelf) == np.asarray(plan.walkable)).all()
    (ex, ey) = plan.cells_of(EXIT)[0]
    assert (ex - 0.5, ex + 0.5, ey - 0.5, ey + 0.5) in outlined_cells(visits, "exit")
    (nx, ny) = plan.cells_of(ENTRANCE)[0]
    assert outlined_cells(visits, "entrance") == [(nx - 0.5, nx + 0.5, ny - 0.5, ny + 0.5)]
    # Width, height and door belong to the open rectangle: disabled, and the URL names the layout.
    assert at.number_input(key="width").disabled and at.number_input(key="door_x").disabled
    assert any("apply to the `open` layout only" in c.value for c in at.caption)
    link = dict(at.query_params)
    assert link["STORE_LAYOUT"] == "supermarket" and "STORE_WIDTH" not in link
    again = AppTest.from_file(APP, default_timeout=60)
    again.query_params.update(link)
    run(again)
    assert again.selectbox(key="layout").value == "supermarket"
    np.testing.assert_array_equal(chart(again, "fig_visits")["data"][0]["z"], visits["data"][0]["z"])
    at.selectbox(key="layout").set_value("open")
    run(at)
    assert chart(at, "fig_visits")["data"][0]["z"].shape == (10, 6)
    assert "fig_departments" not in [e.proto.id.rsplit("-", 1)[-1] for e in at.get("plotly_chart")]


def test_department_figures_for_fashion(env) -> None:
    from customersim.metrics import department_stats, department_transitions

    at = page()
    at.selectbox(key="layout").set_value("fashion")
    run(at)
    assert errors(at) == []
    config = SimConfig(layout="fashion")
    frame = simulate(config)
    stats = department_stats(frame, config.end)
    figure = chart(at, "fig_departments")
    visits = figure["data"][0]
    assert list(visits["y"]) == list(FASHION) == list(stats.index)
    np.testing.assert_array_equal(np.asarray(visits["x"], dtype=float), stats["visits"].to_numpy())
    np.testing.assert_array_equal(np.asarray(figure["data"][2]["x"], dtype=float), stats["focus"].to_numpy())
    assert stats["focus"].sum() > 0 and (stats["visits"] > 0).all()
    matrix = chart(at, "fig_transitions")["data"][0]
    assert list(matrix["x"]) == list(FASHION) and list(matrix["y"]) == list(FASHION)
    np.testing.assert_array_equal(np.asarray(matrix["z"]), department_transitions(frame).to_numpy())
    labels = {a["text"] for a in chart(at, "fig_visits")["layout"]["annotations"]}
    assert set(FASHION) <= labels


def test_segments_picker_changes_who_comes_and_follows_the_url(env) -> None:
    from customersim.metrics import visits_per_cell

    at = page()
    assert at.selectbox(key="segments").value == "default"
    at.selectbox(key="segments").set_value("none")
    run(at)
    assert errors(at) == [] and at.query_params["CUSTOMER_SEGMENTS"] == "none"
    config = SimConfig(segments="none")
    expected = visits_per_cell(simulate(config), config.width, config.height)
    np.testing.assert_array_equal(np.asarray(chart(at, "fig_visits")["data"][0]["z"]), expected)
    # The default table weighs who comes: another day than everyone alike.
    default = SimConfig()
    assert not np.array_equal(expected, visits_per_cell(simulate(default), default.width, default.height))
    again = AppTest.from_file(APP, default_timeout=60)
    again.query_params.update(dict(at.query_params))
    run(again)
    assert again.selectbox(key="segments").value == "none"


def test_a_bad_uploaded_layout_names_line_and_column_and_keeps_the_last_result(env) -> None:
    at = page()
    at.selectbox(key="layout").set_value("fashion")
    run(at)
    before = chart(at, "fig_visits")["data"][0]["z"]
    at.selectbox(key="layout").set_value("upload a layout file…")
    run(at)
    bad = b"map = '''\n####\n#.?#\n#>##\n'''\n"
    at.file_uploader(key="layout_file").upload("mine.toml", bad, "application/toml")
    run(at)
    assert any("mine.toml, line 3, column 3: unknown character '?'" in text for text in errors(at)), errors(
        at
    )
    np.testing.assert_array_equal(chart(at, "fig_visits")["data"][0]["z"], before)
    assert any(w.value.startswith("**Stale:**") for w in at.warning)
    # A good upload is simulated: its map sets the store.
    good = b"name = 'corner'\nmap = '''\n#####\n#AA.#\n#...#\n#+###\n'''\n[departments]\nA = 'Fruit'\n"
    at.file_uploader(key="layout_file").upload("corner.toml", good, "application/toml")
    run(at)
    assert errors(at) == []
    assert chart(at, "fig_visits")["data"][0]["z"].shape == (4, 5)
    assert "STORE_LAYOUT" not in dict(at.query_params)  # a server path is not the URL's business


def test_send_a_focus_event_with_a_department_of_the_layout(broker_env, mosquitto, monkeypatch) -> None:
    focus_topic = broker_env["enter"].rsplit("/", 1)[0] + "/focus"
    broker_env_with_focus = {**broker_env, "focus": focus_topic}
    monkeypatch.setenv("FOCUS_TOPIC", focus_topic)
    collector = Collector(mosquitto.ports["plain"], [focus_topic])
    try:
        at = page("Publish")
        at.selectbox(key="send_event").set_value("focus")
        run(at)
        assert at.selectbox(key="send_dep").disabled  # the open store has no departments
        at.selectbox(key="layout").set_value("fashion")
        run(at)
        assert list(at.selectbox(key="send_dep").options) == list(FASHION)
        at.selectbox(key="send_dep").set_value("Boys")
        at.text_input(key="send_ts").set_value("192322800")
        at.button(key="send").click()
        run(at)
        assert errors(at) == [], errors(at)
        topic, payload = collector.wait_for(1)[0]
        assert topic == focus_topic
        assert assert_contract(topic, payload, topics=broker_env_with_focus) == {
            "id": "997",
            "ts": 192322800,
            "dep": "Boys",
        }
    finally:
        collector.close()


def test_too_few_checkout_lanes_name_the_fields_that_change_their_load(env) -> None:
    at = page()
    at.selectbox(key="layout").set_value("supermarket")
    at.number_input(key="average").set_value(30.0)
    at.selectbox(key="preset").set_value("supermarket week")
    run(at)
    (message,) = errors(at)
    assert message.startswith("Target average inside / Checkout service (seconds) / Layout: the layout's 7")
    assert "customer from the list" not in message  # not the message of a list that is too small
    at.number_input(key="service").set_value(60.0)
    run(at)
    assert errors(at) == []
