"""Scripted customers: the scenario player's format to frame rows, and mixing them into a crowd."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from customersim import SimConfig, simulate, validate_events
from customersim.cli import main
from customersim.mixing import mix
from customersim.scenarios import ScenarioError, load, store_layout

T0 = 1618135313955  # 2021-04-11T10:01:53.955Z in epoch milliseconds


def _scenario(customer="3", *steps) -> dict:
    return {"customer": {"customer_id": customer}, "path": list(steps)}


def _step(kind, ms_or_iso, x=None, y=None) -> dict:
    step = {"type": kind, "timestamp": ms_or_iso}
    if x is not None:
        step["location"] = {"x": x, "y": y}
    return step


THE_PLAYERS_EXAMPLE = _scenario(
    "3",
    {"type": "ENTER", "location": {"x": 200, "y": 10}, "timestamp": "2021-04-11T10:01:53.955760"},
    _step("MOVE", T0 + 10_000, 1, 1),
    _step("MOVE", "2021-04-11T10:02:13.955", 1, 2),
    _step("EXIT", T0 + 30_000),
)


def test_the_players_format_becomes_frame_rows() -> None:
    rows = load(THE_PLAYERS_EXAMPLE)
    # The walk back to the door before EXIT is filled in: (1, 2) -> (1, 1) -> (0, 0).
    assert rows["event"].astype(str).tolist() == ["enter", "move", "move", "move", "move", "exit"]
    assert rows["ts"].tolist() == [1618135313, 1618135323, 1618135333, 1618135338, 1618135343, 1618135343]
    assert rows[["x", "y"]].to_numpy().tolist() == [[0, 0], [1, 1], [1, 2], [1, 1], [0, 0], [0, 0]]
    assert set(rows["customer_id"]) == {"3"}
    assert rows["ts"].dtype == np.int64 and rows["x"].dtype == np.int16
    assert list(rows.columns[:5]) == ["ts", "event", "customer_id", "x", "y"]
    assert validate_events(rows, SimConfig(), check_occupancy=False).ok


def test_non_adjacent_steps_are_filled_with_the_shortest_walk_over_the_time_between() -> None:
    rows = load(
        _scenario("7", _step("ENTER", T0), _step("MOVE", T0 + 40_000, 4, 8), _step("EXIT", T0 + 80_000))
    )
    moves = rows[rows["event"] == "move"]
    # 8 steps out (a diagonal walk to (4, 8)) and 8 back to the door, spread evenly.
    assert len(moves) == 16
    assert moves[["x", "y"]].to_numpy().tolist()[7] == [4, 8]
    assert moves["ts"].tolist()[:8] == [T0 // 1000 + 5 * i for i in range(1, 9)]
    config = SimConfig()
    assert validate_events(rows, config, check_occupancy=False).ok
    four = SimConfig(neighbourhood=4)
    rows4 = load(_scenario("7", _step("ENTER", T0), _step("MOVE", T0, 2, 2), _step("EXIT", T0)), four)
    assert (rows4["event"] == "move").sum() == 8  # 4 out and 4 back with edge steps only
    assert validate_events(rows4, four, check_occupancy=False).ok


@pytest.mark.parametrize(
    ("scenario", "field", "words"),
    [
        (
            _scenario("3", _step("ENTER", T0), _step("MOVE", T0, 200, 10), _step("EXIT", T0)),
            "path[1].location",
            "(200, 10) is outside the 6 x 10 store",
        ),
        (_scenario("3", _step("MOVE", T0, 1, 1)), "path[0].type", "a visit begins with ENTER"),
        (
            _scenario("3", _step("ENTER", T0), _step("MOVE", T0 + 5, 1, 1)),
            "path[1].type",
            "finish it with EXIT",
        ),
        (_scenario("3", _step("ENTER", T0), _step("EXIT", T0 - 1)), "path[1].timestamp", "earlier than"),
        (_scenario("3", _step("ENTER", "yesterday")), "path[0].timestamp", "is not a time"),
        (
            _scenario("3", _step("ENTER", T0), _step("JUMP", T0)),
            "path[1].type",
            "expected ENTER, MOVE or EXIT",
        ),
        (_scenario("3", _step("ENTER", T0), _step("MOVE", T0, 1.5, 1)), "path[1].location.x", "whole number"),
        ({"customer": {}, "path": []}, "customer.customer_id", "non-empty id"),
        ({"customer": {"customer_id": "3"}, "path": []}, "path", "non-empty list"),
    ],
)
def test_a_bad_scenario_is_refused_with_the_field_and_the_reason(scenario, field, words) -> None:
    with pytest.raises(ScenarioError) as caught:
        load(scenario)
    assert caught.value.field == field
    assert words in caught.value.reason


def test_files_and_folders_name_the_file_at_fault(tmp_path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(THE_PLAYERS_EXAMPLE))
    (tmp_path / "b.json").write_text(
        json.dumps([_scenario("8", _step("ENTER", T0), _step("EXIT", T0 + 1000))])
    )
    rows = load(tmp_path)
    assert sorted(set(rows["scenario"])) == ["a.json", "b.json"]
    assert rows["ts"].is_monotonic_increasing
    assert rows.groupby("customer_id")["visit"].nunique().to_dict() == {"3": 1, "8": 1}
    assert (rows["visit"] < 0).all()
    (tmp_path / "c.json").write_text('{"customer": {"customer_id": "9"},\n "path": [}')
    with pytest.raises(ScenarioError, match=r"c\.json: line 2 column 11: not valid JSON"):
        load(tmp_path)


def test_one_customer_cannot_follow_two_scripts_at_once() -> None:
    twice = [THE_PLAYERS_EXAMPLE, _scenario("3", _step("ENTER", T0 + 20_000), _step("EXIT", T0 + 90_000))]
    with pytest.raises(ScenarioError, match="customer 3 is scripted twice at the same time"):
        load(twice)


def test_recalculate_time_starts_the_earliest_now_and_keeps_the_gaps() -> None:
    later = _scenario("8", _step("ENTER", T0 + 60_000), _step("EXIT", T0 + 65_000))
    rows = load([THE_PLAYERS_EXAMPLE, later], recalculate_time=True, now=2_000_000_000)
    assert rows["ts"].min() == 2_000_000_000
    # The earliest step is at .955760 s: 60 s after it is 59.24 s after the whole second.
    assert rows.loc[rows["customer_id"] == "8", "ts"].tolist() == [2_000_000_059, 2_000_000_064]


def _inside_twice(frame: pd.DataFrame) -> list[str]:
    """Customers who enter while inside (time order, ties in row order)."""
    inside: set[str] = set()
    twice = []
    for event, customer in zip(frame["event"].astype(str), frame["customer_id"].astype(str), strict=True):
        if event == "enter":
            if customer in inside:
                twice.append(customer)
            inside.add(customer)
        elif event == "exit":
            inside.discard(customer)
        else:
            inside.add(customer)
    return twice


@pytest.mark.parametrize("seed", [3, 11])
def test_mixing_keeps_the_scripted_customer_out_of_the_crowd(seed) -> None:
    config = SimConfig(hours=1, start="2026-01-05T08:00:00Z", seed=seed, customers_average_in_store=300)
    crowd = simulate(config)
    start = int(config.start) + 1800
    # Script a customer who is inside on a simulated visit at that moment: that visit is cut short.
    before = crowd[crowd["ts"] <= start].groupby("customer_id", observed=True)["event"].last().astype(str)
    busy = before[before != "exit"].index[0]
    script = _scenario(
        busy,
        _step("ENTER", start * 1000),
        _step("MOVE", start * 1000 + 30_000, 5, 9),
        _step("EXIT", start * 1000 + 90_000),
    )
    scripted = load(script, config)
    mixed = pd.concat(list(mix([crowd], scripted, store_layout(config))), ignore_index=True)
    assert mixed["ts"].is_monotonic_increasing
    assert validate_events(mixed, config, check_occupancy=False).ok
    assert _inside_twice(mixed) == []
    mine = mixed[mixed["customer_id"] == busy]
    window = mine[(mine["ts"] >= start) & (mine["ts"] <= start + 90)]
    # Their simulated visit walks out and leaves just before the script enters them.
    events = window["event"].astype(str).tolist()
    assert events[events.index("enter") - 1] == "exit"
    assert window["x"].max() == 5 and window["y"].max() == 9
    # Everyone else is untouched.
    others = crowd[crowd["customer_id"] != busy].reset_index(drop=True)
    rest = mixed[mixed["customer_id"] != busy].reset_index(drop=True)
    pd.testing.assert_frame_equal(rest, others.drop(columns="visit"), check_categorical=False)


def test_publish_a_scenario_file_in_mock_mode(tmp_path, capsys) -> None:
    path = tmp_path / "sports.json"
    path.write_text(json.dumps(THE_PLAYERS_EXAMPLE))
    env = {"TESTING_MOCK_MQTT": "true"}
    assert main(["publish", "--scenario", str(path)], env) == 0
    assert "published 6 messages, acknowledged 6, failed 0" in capsys.readouterr().out
    assert main(["publish", "--scenario", str(tmp_path / "missing.json")], env) == 1
    assert main(["publish", "--scenario", str(path), "--in", str(path)], env) == 1
    err = capsys.readouterr().err
    assert "missing.json: file: does not exist" in err and "cannot be used together" in err
    assert "Traceback" not in err


def test_publish_mixes_a_scenario_into_the_simulated_window(tmp_path, capsys) -> None:
    start = 1767600000  # 2026-01-05T08:00:00Z
    script = _scenario(
        "3",
        _step("ENTER", (start + 600) * 1000),
        _step("MOVE", (start + 630) * 1000, 5, 9),
        _step("EXIT", (start + 700) * 1000),
    )
    path = tmp_path / "sports.json"
    path.write_text(json.dumps(script))
    config = SimConfig(hours=0.5, start=start, seed=4, customers_average_in_store=50)
    expected = pd.concat(list(mix([simulate(config)], load(path, config), store_layout(config))))
    argv = ["publish", "--scenario", str(path), "--with-simulation", "--hours", "0.5", "--start", str(start)]
    env = {"TESTING_MOCK_MQTT": "true", "SIM_SEED": "4", "CUSTOMERS_AVERAGE_IN_STORE": "50"}
    assert main(argv, env) == 0
    out = capsys.readouterr().out
    assert f"published {len(expected):,} messages, acknowledged {len(expected):,}, failed 0" in out
