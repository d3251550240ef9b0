"""The engine: journey rules, Little's law, reproducibility and streaming equivalence."""

import numpy as np
import pandas as pd
import pytest

from customersim import SimConfig, simulate, simulate_chunks, validate_events
from customersim.engine import CapacityError, make_plan, required_customers
from customersim.frame import EVENT_DTYPE
from customersim.layout import StoreLayout
from customersim.metrics import mean_occupancy, visit_table
from customersim.validate import occupancy_standard_error

WEEK = 168.0

GRIDS = [(6, 10), (1, 1), (1, 7), (9, 1), (60, 40)]
TARGETS = [0.5, 6, 50]


@pytest.mark.parametrize("width, height", GRIDS)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("seed", [1, 2])
def test_journey_rules_hold(width, height, target, seed):
    config = SimConfig(
        width=width,
        height=height,
        customers_average_in_store=target,
        hours=24,
        seed=seed,
        door=(width // 2, 0),
    )
    frame = simulate(config)
    report = validate_events(frame, config)
    assert report.ok, report.violations.head(10).to_string()
    assert len(frame) > 0
    assert frame["x"].between(0, width - 1).all() and frame["y"].between(0, height - 1).all()


@pytest.mark.parametrize("neighbourhood", [4, 8])
def test_moves_go_to_neighbouring_cells(neighbourhood):
    config = SimConfig(width=12, height=9, neighbourhood=neighbourhood, hours=12, seed=4)
    frame = simulate(config)
    table = frame.sort_values(["visit", "ts"], kind="stable")
    same = table["visit"].to_numpy()[1:] == table["visit"].to_numpy()[:-1]
    moving = (table["event"].to_numpy()[1:] == "move") & same
    dx = np.abs(np.diff(table["x"].to_numpy().astype(int)))[moving]
    dy = np.abs(np.diff(table["y"].to_numpy().astype(int)))[moving]
    if neighbourhood == 4:
        assert ((dx + dy) == 1).all()
    else:
        assert (np.maximum(dx, dy) == 1).all()
        assert ((dx == 1) & (dy == 1)).any()  # diagonals are used


def test_frame_dtypes_and_order():
    frame = simulate(SimConfig(hours=6, seed=3))
    assert list(frame.columns) == ["ts", "event", "customer_id", "x", "y", "visit", "dep"]
    assert frame["ts"].dtype == np.int64 and frame["event"].dtype == EVENT_DTYPE
    assert frame["x"].dtype == np.int16 and frame["y"].dtype == np.int16
    assert pd.api.types.is_string_dtype(frame["customer_id"])
    assert frame["ts"].is_monotonic_increasing
    # Ties are in visit order, then step order.
    key = frame[["ts", "visit"]].to_numpy()
    assert (np.lexsort((key[:, 1], key[:, 0])) == np.arange(len(frame))).all()


@pytest.mark.parametrize(
    "config",
    [
        SimConfig(hours=WEEK, seed=11),
        SimConfig(width=20, height=15, customers_average_in_store=25, hours=WEEK, seed=11),
    ],
    ids=["default", "20x15-25"],
)
def test_week_occupancy_within_five_percent(config):
    frame = simulate(config)
    mean = mean_occupancy(frame, config.start, config.end)
    assert abs(mean - config.customers_average_in_store) <= 0.05 * config.customers_average_in_store


@pytest.mark.parametrize("target", TARGETS)
def test_occupancy_matches_littles_law_within_sampling_error(target):
    """Over many independent weeks the average inside is unbiased, and it spreads far less than
    with Poisson arrivals: the number of arrivals follows the drawn visit lengths."""
    config = SimConfig(customers_average_in_store=target, hours=WEEK)
    means = np.array(
        [mean_occupancy(simulate(config.replace(seed=s)), config.start, config.end) for s in range(12)]
    )
    error = occupancy_standard_error(config)
    assert abs(means.mean() - target) < 4 * error / np.sqrt(len(means))
    assert means.std(ddof=1) < 0.4 * error


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_week_mean_inside_within_two_percent_for_every_seed(seed):
    """A week at 6 inside has a Poisson standard error of about 2 %: arrivals that honour their
    realised visit lengths keep every seed within 2 % of the target."""
    config = SimConfig(hours=WEEK, seed=seed)
    mean = mean_occupancy(simulate(config), config.start, config.end)
    assert abs(mean / config.customers_average_in_store - 1) < 0.02


def test_profile_shapes_arrivals_but_keeps_the_daily_average():
    profile = tuple([0.2] * 8 + [1.0] * 4 + [3.0] * 4 + [1.0] * 8)
    config = SimConfig(customers_average_in_store=10, hours=WEEK, seed=5, arrival_profile=profile)
    frame = simulate(config)
    enters = frame.loc[frame["event"] == "enter", "ts"]
    by_hour = np.bincount((enters // 3600) % 24, minlength=24)
    assert by_hour[12:16].mean() > 8 * by_hour[0:8].mean()
    mean = mean_occupancy(frame, config.start, config.end)
    assert abs(mean - 10) < 5 * occupancy_standard_error(config) * 1.5


def test_store_is_in_steady_state_at_start():
    config = SimConfig(customers_average_in_store=20, hours=1, seed=8)
    frame = simulate(config)
    visits = visit_table(frame)
    already_inside = visits["enter_ts"].isna().sum()
    assert already_inside > 5  # about 20 are inside when the window opens
    first_events = frame.groupby("visit", sort=False)["event"].first()
    assert set(first_events[visits.set_index("visit")["enter_ts"].isna()]) <= {"move", "exit"}


def test_visits_last_their_drawn_length_and_cover_the_target_mean():
    config = SimConfig(hours=WEEK, seed=2, mean_visit_minutes=15)
    visits = visit_table(simulate(config))
    whole = visits[visits["complete"]]
    assert abs(whole["duration"].mean() / 60 - 15) < 1.0
    assert (whole["duration"] <= 8 * 15 * 60).all()


def test_nobody_is_inside_twice():
    config = SimConfig(customers_average_in_store=50, hours=48, seed=9)
    visits = visit_table(simulate(config, customers=[str(i) for i in range(required_customers(50))]))
    visits = visits.assign(since=visits["enter_ts"].fillna(0), until=visits["exit_ts"].fillna(2**40))
    visits = visits.sort_values(["customer_id", "since"])
    same = visits["customer_id"].to_numpy()[1:] == visits["customer_id"].to_numpy()[:-1]
    assert (visits["since"].to_numpy()[1:][same] > visits["until"].to_numpy()[:-1][same]).all()


def test_ids_come_from_the_customer_list():
    ids = [f"c{i:03d}" for i in range(100)]
    frame = simulate(SimConfig(hours=24, seed=1), customers=ids)
    assert set(frame["customer_id"].unique()) <= set(ids)


def test_too_small_a_list_says_both_numbers():
    with pytest.raises(CapacityError, match=r"has 10 customers.*average of 50 inside.*at least \d+"):
        simulate(SimConfig(customers_average_in_store=50, hours=1), customers=[str(i) for i in range(10)])


@pytest.mark.parametrize("seed", [0, 1, 123456789])
def test_same_config_and_seed_give_the_same_frame(seed):
    config = SimConfig(width=8, height=5, customers_average_in_store=7, hours=30, seed=seed)
    first, second = simulate(config), simulate(config)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    other = simulate(config.replace(seed=seed + 1))
    assert not first.equals(other)


def test_longer_window_extends_a_shorter_one():
    short = simulate(SimConfig(hours=10, seed=4))
    long = simulate(SimConfig(hours=30, seed=4))
    pd.testing.assert_frame_equal(short, long.iloc[: len(short)].reset_index(drop=True))
    assert long["ts"].iloc[len(short)] >= SimConfig(hours=10).end


@pytest.mark.parametrize("chunk_rows", [1, 997, 50_000, 10**9])
def test_chunks_concatenate_to_the_whole_frame(chunk_rows):
    # Small blocks make journeys cross block boundaries many times.
    config = SimConfig(customers_average_in_store=30, hours=48 if chunk_rows > 1 else 3, seed=6)
    whole = simulate(config)
    chunks = list(simulate_chunks(config, chunk_rows=chunk_rows))
    assert all(len(c) <= chunk_rows for c in chunks)
    pd.testing.assert_frame_equal(
        pd.concat(chunks, ignore_index=True), whole, check_exact=True, check_categorical=True
    )


def test_journeys_cross_block_boundaries_seamlessly():
    config = SimConfig(customers_average_in_store=300, hours=30, seed=2)
    plan = make_plan(config, 1000)
    boundaries = plan.origin + plan.block_seconds * np.arange(1, 10)
    boundaries = boundaries[(boundaries > config.start) & (boundaries < config.end)]
    assert len(boundaries) >= 2
    frame = simulate(config)
    assert validate_events(frame, config).ok
    visits = visit_table(frame)
    crossing = (
        (visits["first_ts"].to_numpy()[:, None] < boundaries)
        & (visits["last_ts"].to_numpy()[:, None] >= boundaries)
    ).sum()
    assert crossing > 100


def test_endless_stream_goes_past_the_configured_hours():
    config = SimConfig(hours=1, seed=3, customers_average_in_store=10)
    stream = simulate_chunks(config, chunk_rows=5_000, endless=True)
    seen = pd.concat([next(stream) for _ in range(20)], ignore_index=True)
    assert seen["ts"].iloc[-1] > config.end
    assert seen["ts"].is_monotonic_increasing


def test_layout_distances_and_paths_home():
    layout = StoreLayout.build(5, 4, [(0, 0)], neighbourhood=4)
    assert layout.door_distance.reshape(4, 5)[3, 4] == 7
    paths = layout.home_paths(np.array([19], dtype=np.int32))
    assert paths[0, -1] == 0 and len(paths[0]) == 7
    diagonal = StoreLayout.build(5, 4, [(0, 0)], neighbourhood=8)
    assert diagonal.door_distance.reshape(4, 5)[3, 4] == 4
    walls = np.ones((4, 5), bool)
    walls[:3, 1] = False  # a shelf: the way round goes through row 3
    shelved = StoreLayout.build(5, 4, [(0, 0)], neighbourhood=4, walkable=walls)
    assert shelved.door_distance.reshape(4, 5)[0, 2] == 3 + 2 + 3
    assert (shelved.neighbours[~walls.ravel()][:, 0] == np.flatnonzero(~walls.ravel())).all()


def test_arrivals_spread_over_hours_vary_by_hour_but_not_over_runs_of_hours() -> None:
    from customersim.engine import spread_over_hours

    expected = np.tile(np.r_[np.zeros(6), np.full(18, 40.0)], 7)  # a week, closed at night
    count = int(expected.sum())
    draws = np.array([spread_over_hours(np.random.default_rng(seed), expected, count) for seed in range(200)])
    assert (draws.sum(axis=1) == count).all() and (draws >= 0).all()
    assert (draws[:, expected == 0] == 0).all()  # a closed hour stays closed
    # An open hour varies about as a Poisson count of 40 would (variance near 40) ...
    open_hours = draws[:, expected > 0]
    assert 20 < open_hours.var(axis=0).mean() < 60
    # ... but a day, or three, keeps its expected arrivals within about one hour's noise.
    for days in (1, 3):
        run = draws[:, : 24 * days].sum(axis=1)
        assert np.abs(run - 720 * days).max() < 40
