"""The validator catches frames broken on purpose, and passes good ones."""

import numpy as np
import pytest

from customersim import SimConfig, simulate, validate_events

CONFIG = SimConfig(hours=12, seed=21, customers_average_in_store=8)


@pytest.fixture(scope="module")
def good():
    return simulate(CONFIG)


def _row_of(frame, event, nth=5):
    return int(np.flatnonzero(frame["event"].to_numpy() == event)[nth])


def _exit_of_a_returning_customer(frame):
    """An exit of a customer who enters again later in the frame: without it, that enter comes
    while they are still inside (a missing exit at the end of the window is no violation)."""
    event, customer = frame["event"].to_numpy(), frame["customer_id"].to_numpy()
    last_enter = {who: row for row, who in enumerate(customer) if event[row] == "enter"}
    exits = [row for row in np.flatnonzero(event == "exit") if last_enter.get(customer[row], -1) > row]
    return int(exits[3])


def test_good_frame_passes(good):
    report = validate_events(good, CONFIG)
    assert report.ok and "no violations" in report.summary()
    assert abs(report.mean_inside - 8) < 2


def _exit_of_a_returning_customer(frame):
    """The row of the first exit of a customer who enters again later (so the loss shows)."""
    entries = frame[frame["event"] == "enter"]["customer_id"].value_counts()
    again = entries.index[entries.to_numpy() > 1]
    exits = frame.index[(frame["event"] == "exit") & frame["customer_id"].isin(again)]
    return int(exits[0])


def _broken(good, column, row, value):
    frame = good.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    return frame


@pytest.mark.parametrize(
    "breakage, rule",
    [
        (lambda f: _broken(f, "x", _row_of(f, "move"), 99), "grid"),
        (lambda f: _broken(f, "y", _row_of(f, "move"), -1), "grid"),
        (lambda f: _broken(f, "event", 10, "teleport"), "event"),
        (lambda f: _broken(f, "customer_id", 10, " "), "customer_id"),
        (lambda f: _broken(f, "ts", 10, "noon"), "type"),
        (lambda f: _broken(f, "x", _row_of(f, "enter"), 3), "door"),
        (lambda f: f.drop(index=_exit_of_a_returning_customer(f)).reset_index(drop=True), "journey"),
        (lambda f: f.drop(index=_row_of(f, "enter", 3)).reset_index(drop=True), "journey"),
        (lambda f: f.iloc[::-1].reset_index(drop=True), "order"),
        (lambda f: f.drop(columns=["y"]), "columns"),
    ],
)
def test_broken_frames_are_caught_with_their_row(good, breakage, rule):
    report = validate_events(breakage(good), CONFIG)
    assert not report.ok
    assert rule in set(report.violations["rule"]), report.violations.head()
    assert report.violations["message"].str.len().gt(10).all()


def test_a_jump_is_not_a_step(good):
    frame = good.copy()
    visit = frame.loc[frame["event"] == "move", "visit"].value_counts().index[0]
    rows = frame.index[(frame["visit"] == visit) & (frame["event"] == "move")]
    frame.loc[rows[3], ["x", "y"]] = [(frame.loc[rows[2], "x"] + 3) % 6, frame.loc[rows[2], "y"]]
    report = validate_events(frame, CONFIG)
    assert "step" in set(report.violations["rule"])
    assert rows[3] in set(report.violations["row"]) or rows[4] in set(report.violations["row"])


def test_being_inside_twice_is_caught(good):
    frame = good.copy()
    first = frame.loc[frame["event"] == "enter"].iloc[0]
    other = frame.loc[
        (frame["event"] == "enter") & (frame["customer_id"] != first.customer_id) & (frame["ts"] > first.ts)
    ].iloc[0]
    # Give the later visit the same customer while the first is still inside.
    frame.loc[frame["visit"] == other.visit, "customer_id"] = first.customer_id
    report = validate_events(frame, CONFIG)
    assert "journey" in set(report.violations["rule"])


def test_occupancy_far_from_target_is_reported(good):
    report = validate_events(good, CONFIG.replace(customers_average_in_store=30))
    assert "occupancy" in set(report.violations["rule"])
    assert validate_events(good, CONFIG.replace(customers_average_in_store=30), check_occupancy=False).ok


def test_wrong_grid_is_reported(good):
    report = validate_events(good, CONFIG.replace(width=3, height=3))
    assert "grid" in set(report.violations["rule"])


def test_frame_without_visit_column_is_checked_by_customer(good):
    assert validate_events(good.drop(columns=["visit"]), CONFIG).ok
