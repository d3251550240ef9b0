"""Groups shop together; with segments, queues and groups a week still meets the target inside."""

import numpy as np
import pandas as pd
import pytest

from customersim import SimConfig, engine, simulate
from customersim.groups import MAX_LAG
from customersim.metrics import mean_occupancy
from customersim.validate import validate_events

WEEK = 24 * 7


def _parties(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole visits grouped into parties: visits whose every event is on the same cell as
    another's, a constant few seconds apart. Returns one row per visit: visit, customer, enter,
    party (the first member's visit), lag (seconds behind it)."""
    story = frame[frame["event"] != "focus"].sort_values(["visit", "ts"], kind="stable")
    whole = story.groupby("visit")["event"].agg(lambda e: e.iloc[0] == "enter" and e.iloc[-1] == "exit")
    story = story[story["visit"].isin(whole.index[whole])]
    grouped = story.groupby("visit", sort=True)
    ts0 = grouped["ts"].transform("first")
    rel = (story["ts"] - ts0).astype(str)
    path = (
        (story["event"].astype(str) + story["x"].astype(str) + "," + story["y"].astype(str) + "@" + rel)
        .groupby(story["visit"])
        .agg(" ".join)
    )
    table = pd.DataFrame(
        {"path": path, "enter": grouped["ts"].first(), "customer": grouped["customer_id"].first().astype(str)}
    ).reset_index()
    table = table.sort_values(["path", "enter"], kind="stable")
    # Members share the whole path (cells and times since entering) and enter a few seconds apart.
    new = (table["path"] != table["path"].shift()) | (table["enter"] - table["enter"].shift() > MAX_LAG)
    table["party"] = table["visit"].where(new).ffill().astype(np.int64)
    table["lag"] = table["enter"] - table.groupby("party")["enter"].transform("first")
    return table.drop(columns="path")


@pytest.fixture(scope="module")
def grouped_day():
    config = SimConfig(layout="supermarket", customers_average_in_store=15, group_share=0.3, hours=24, seed=8)
    return config, simulate(config)


def test_group_members_enter_together_walk_the_same_cells_and_are_different_customers(grouped_day) -> None:
    config, frame = grouped_day
    parties = _parties(frame)
    size = parties.groupby("party").size()
    groups = parties[parties["party"].isin(size.index[size > 1])]
    assert len(groups) > 300
    # Two or three members, a few seconds apart, each a different customer.
    assert set(size.unique()) <= {1, 2, 3}
    assert (
        groups["lag"].max() <= MAX_LAG and (groups.groupby("party")["lag"].nunique() == size[size > 1]).all()
    )
    assert (groups.groupby("party")["customer"].nunique() == size[size > 1]).all()
    # The share of arrivals that are groups is near the setting.
    share = (size > 1).mean()
    assert abs(share - config.group_share) < 0.04
    # And they keep every journey rule, the checkout's one party at a time included.
    assert validate_events(frame, config, check_occupancy=False).ok


def test_no_groups_when_the_share_is_zero() -> None:
    config = SimConfig(layout="supermarket", customers_average_in_store=15, group_share=0, hours=12, seed=8)
    size = _parties(simulate(config)).groupby("party").size()
    assert (size == 1).all()


def test_the_validator_catches_two_parties_at_one_checkout(grouped_day) -> None:
    config, frame = grouped_day
    story = frame.sort_values(["visit", "ts"], kind="stable")
    at_till = (story["x"] == 9) & (story["y"] == 4) & (story["event"] == "move")
    first, second = story[at_till].drop_duplicates("visit").index[[0, 40]]
    # Move the second visit's whole life onto the moment the first is served.
    shift = int(frame.loc[first, "ts"] - frame.loc[second, "ts"]) + 1
    visit = frame.loc[second, "visit"]
    tampered = frame.copy()
    rows = tampered["visit"] == visit
    tampered.loc[rows, "ts"] += shift
    tampered = tampered.sort_values("ts", kind="stable", ignore_index=True)
    report = validate_events(tampered, config, check_occupancy=False)
    assert "checkout" in report.counts


@pytest.mark.parametrize(
    "settings",
    [
        dict(seed=1),
        dict(seed=2, customers_average_in_store=25, arrival_profile="supermarket-week"),
        dict(seed=3, customers_average_in_store=12, group_share=0.5, checkout_service_seconds=200),
    ],
    ids=["defaults", "busy-week", "many-groups"],
)
def test_a_week_with_segments_queues_and_groups_meets_the_target(settings) -> None:
    config = SimConfig(layout="supermarket", hours=WEEK, **settings)
    frame = simulate(config)
    mean = mean_occupancy(frame, config.start, config.end)
    assert abs(mean / config.customers_average_in_store - 1) < 0.02
    report = validate_events(frame, config)
    assert report.ok, report.summary()


def test_workers_do_not_change_the_frame() -> None:
    config = SimConfig(layout="supermarket", customers_average_in_store=25, hours=80, seed=6)
    one = simulate(config, workers=1)
    two = simulate(config, workers=2)
    pd.testing.assert_frame_equal(one, two)
    assert one["visit"].nunique() > 1000


def test_a_crowded_segment_lends_its_visits_to_other_customers() -> None:
    from customersim.engine import _assign, _Occupants, _Picker

    # Segment 0 has one customer; three visits of that segment overlap in time.
    picker = _Picker(
        order=np.array([0, 1, 2, 3], dtype=np.int32),
        cdf=np.cumsum([0.7, 0.1, 0.1, 0.1]),
        start=np.array([0, 1, 0]),
        stop=np.array([1, 4, 4]),
        factor=np.ones(2),
        segment_cdf=np.array([0.7, 1.0]),
    )
    enter = np.array([0, 10, 20], dtype=np.int64)
    chosen = _assign(
        np.random.default_rng(1), picker, enter, enter + 100, np.zeros(3, np.int64), _Occupants(), 0
    )
    assert len(set(chosen.tolist())) == 3 and 0 in chosen


@pytest.mark.parametrize(
    "config",
    [
        SimConfig(layout="fashion", customers_average_in_store=12, hours=12, seed=4),
        # No departments: rows rank by themselves, not by twice their number.
        SimConfig(width=20, height=15, customers_average_in_store=25, hours=30, seed=5),
    ],
    ids=["fashion", "open"],
)
def test_a_block_too_big_for_one_key_sorts_its_events_the_same_way(monkeypatch, config) -> None:
    """A block whose events' time, visit and rank (or whose visits' customer, entry and row,
    when customers are drawn) do not fit in one 64-bit key is sorted by columns instead; here
    the key is made small so every block takes both ways."""
    packed = simulate(config)
    monkeypatch.setattr(engine, "KEY_BITS", 20)
    apart = simulate(config)
    assert packed["visit"].nunique() > 100
    assert (packed["event"] == "focus").any() == (config.layout == "fashion")
    pd.testing.assert_frame_equal(apart, packed)
