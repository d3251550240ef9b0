"""Arrival profiles of a day or a week, and their presets."""

import numpy as np
import pandas as pd
import pytest

from customersim import SimConfig, simulate
from customersim.app.support import profile_from_table, profile_svg, profile_table
from customersim.config import ConfigError
from customersim.metrics import mean_occupancy
from customersim.plots import expected_arrivals_by_hour
from customersim.profiles import PRESETS

WEEK = 24 * 7


@pytest.fixture(scope="module")
def week():
    config = SimConfig(
        customers_average_in_store=8, hours=WEEK, seed=4, arrival_profile="supermarket-week", segments="none"
    )
    return config, simulate(config)


def test_weekend_arrivals_are_above_weekdays(week) -> None:
    _config, frame = week
    enter = pd.to_datetime(frame.loc[frame["event"] == "enter", "ts"].astype("int64"), unit="s", utc=True)
    per_day = enter.dt.day_of_week.value_counts().sort_index()
    assert per_day.index.tolist() == list(range(7))
    assert per_day[5] > per_day[:5].max() and per_day[6] > per_day[:5].mean()
    # Weekday evenings are busier than weekday mornings.
    weekday = enter[enter.dt.day_of_week < 5].dt.hour
    assert (weekday.between(16, 18)).sum() > 1.5 * (weekday.between(8, 10)).sum()


def test_the_week_still_meets_the_target(week) -> None:
    config, frame = week
    assert mean_occupancy(frame, config.start, config.end) == pytest.approx(8, rel=0.02)


def test_168_weights_are_taken_and_other_lengths_refused() -> None:
    weights = ",".join(["1"] * 168)
    assert len(SimConfig.from_env({"ARRIVAL_PROFILE": weights}).arrival_profile) == 168
    assert SimConfig.from_env({"ARRIVAL_PROFILE": "shop-day"}).arrival_profile == PRESETS["shop-day"]
    with pytest.raises(ConfigError, match="ARRIVAL_PROFILE"):
        SimConfig.from_env({"ARRIVAL_PROFILE": ",".join(["1"] * 100)})


def test_monday_is_hour_zero_of_the_week() -> None:
    # Only Monday 10:00 UTC has arrivals: a day starting on Monday 2026-01-05 gets them all.
    weights = [0.0] * 168
    weights[10] = 1.0
    config = SimConfig(
        customers_average_in_store=2, hours=48, arrival_profile=weights, segments="none", seed=1
    )
    frame = simulate(config)
    enter = pd.to_datetime(frame.loc[frame["event"] == "enter", "ts"].astype("int64"), unit="s", utc=True)
    assert len(enter) > 0 and set(enter.dt.day_of_week) == {0} and set(enter.dt.hour) == {10}
    expected = expected_arrivals_by_hour(config)
    assert np.flatnonzero(expected).tolist() == [10]


def test_the_app_table_takes_a_week() -> None:
    table = profile_table(PRESETS["supermarket-week"])
    assert len(table) == 168 and table["hour"].iloc[24] == "Tue 00:00"
    assert profile_from_table(table) == PRESETS["supermarket-week"]
    assert profile_from_table(profile_table(PRESETS["shop-day"])) == PRESETS["shop-day"]
    assert profile_svg(PRESETS["supermarket-week"]).count("<rect") == 168
