"""Metrics on hand-made frames (known answers) and on simulated ones."""

import numpy as np
import pandas as pd
import pytest

from customersim import SimConfig, metrics, simulate
from customersim.frame import normalize_frame


def _frame(rows):
    return normalize_frame(pd.DataFrame(rows, columns=["ts", "event", "customer_id", "x", "y"]))


HAND_MADE = _frame(
    [
        (0, "move", "a", 1, 0),  # a was inside before the window
        (10, "enter", "b", 0, 0),
        (20, "move", "b", 1, 1),
        (30, "move", "a", 0, 0),
        (40, "exit", "a", 0, 0),
        (50, "move", "b", 0, 0),
        (60, "exit", "b", 0, 0),
        (70, "enter", "a", 0, 0),  # a again, still inside at the end
        (80, "move", "a", 1, 0),
    ]
)


def test_visit_table_knows_partial_visits():
    table = metrics.visit_table(HAND_MADE)
    assert len(table) == 3
    assert table["complete"].sum() == 1
    whole = table[table["complete"]].iloc[0]
    assert whole.customer_id == "b" and whole.duration == 50 and whole.moves == 2


def test_mean_occupancy_by_hand():
    # a: 0-40, b: 10-60, a: 70-100 over the window [0, 100) -> (40 + 50 + 30) / 100
    assert metrics.mean_occupancy(HAND_MADE, 0, 100) == pytest.approx(1.2)


def test_occupancy_series_per_second_bins():
    series = metrics.occupancy_series(HAND_MADE, 0, 100, freq_seconds=10)
    assert series.tolist() == [1, 2, 2, 2, 1, 1, 0, 1, 1, 1]
    assert str(series.index.tz) == "UTC"


def test_heatmaps_by_hand():
    visits = metrics.visits_per_cell(HAND_MADE, 2, 2)
    assert visits.tolist() == [[4, 2], [0, 1]]  # [y][x]: two enters and two moves at the door
    dwell = metrics.dwell_seconds_per_cell(HAND_MADE, 2, 2, end=100)
    # (1,0): a 0-30 and 80-100; (0,0): b 10-20, a 30-40, b 50-60, a 70-80; (1,1): b 20-50
    assert dwell.tolist() == [[40, 50], [0, 30]]


def test_tally_matches_whole_frame_metrics():
    config = SimConfig(customers_average_in_store=12, hours=30, seed=3)
    frame = simulate(config)
    tally = metrics.OccupancyTally(config.start, config.end)
    for part in np.array_split(np.arange(len(frame)), 7):
        tally.update(frame.iloc[part])
    assert tally.mean_inside() == pytest.approx(metrics.mean_occupancy(frame, config.start, config.end))
    assert tally.visits == len(metrics.visit_table(frame))


def test_stats_and_paths_on_simulated_frame():
    config = SimConfig(hours=24, seed=5)
    frame = simulate(config)
    stats = metrics.journey_stats(frame)
    assert 15 < stats["mean_visit_minutes"] < 25 and stats["mean_moves"] > 5
    visit = metrics.visit_table(frame).query("complete").iloc[0].visit
    path = metrics.visit_path(frame, visit)
    assert path["event"].iloc[0] == "enter" and path["event"].iloc[-1] == "exit"
    assert metrics.arrivals_by_hour(frame).sum() == (frame["event"] == "enter").sum()
    assert metrics.visits_per_cell(frame, 6, 10).sum() == (frame["event"] != "exit").sum()


MONDAY = 1767571200  # 2026-01-05T00:00:00Z


def test_arrivals_by_weekday_hour_averages_each_weekday_over_its_days() -> None:
    # Two Mondays in the window (the 5th and the 12th): three arrivals at 10:00 make 1.5 a Monday.
    week = 7 * 86400
    frame = _frame(
        [
            (MONDAY + 10 * 3600, "enter", "a", 0, 0),
            (MONDAY + 10 * 3600 + 5, "enter", "b", 0, 0),
            (MONDAY + week + 10 * 3600, "enter", "c", 0, 0),
            (MONDAY + 5 * 86400 + 18 * 3600, "enter", "d", 0, 0),  # Saturday 18:00
            (MONDAY + week + 86400 - 1, "exit", "c", 0, 0),
        ]
    )
    table = metrics.arrivals_by_weekday_hour(frame)
    assert table.shape == (7, 24) and list(table.index) == list(metrics.WEEKDAYS)
    assert table.loc["Monday", 10] == 1.5
    assert table.loc["Saturday", 18] == 1.0
    assert table.to_numpy().sum() == 2.5


def test_visits_per_customer_counts_those_who_never_came() -> None:
    counts = metrics.visits_per_customer(HAND_MADE, pd.Index(["a", "b", "z"]))
    assert counts.to_dict() == {"a": 1, "b": 1, "z": 0}
    assert metrics.visits_per_customer(HAND_MADE).sum() == 2
