"""Checkout queues: lanes serve one party at a time, lines form behind them, waits grow with load."""

import numpy as np
import pandas as pd
import pytest

from customersim import SimConfig, simulate
from customersim.cli import main
from customersim.engine import make_plan
from customersim.errors import CapacityError
from customersim.layout import StoreLayout
from customersim.metrics import queue_waits
from customersim.queues import QUEUE_CELLS, CheckoutQueue, checkout_lanes
from customersim.validate import validate_events


def _layout(config: SimConfig) -> StoreLayout:
    return StoreLayout.from_floorplan(config.floorplan, config.neighbourhood)


def _services(frame: pd.DataFrame, config: SimConfig) -> pd.DataFrame:
    """Every stay at a checkout cell longer than one walking step: (cell, begin, end, visit)."""
    layout = _layout(config)
    story = frame[frame["event"] != "focus"].sort_values(["visit", "ts"], kind="stable")
    cell = story["y"].to_numpy(np.int64) * layout.width + story["x"].to_numpy(np.int64)
    visit = story["visit"].to_numpy()
    ts = story["ts"].to_numpy()
    nxt = np.r_[visit[1:] == visit[:-1], False]
    at = np.isin(cell, layout.checkouts) & (story["event"].to_numpy() == "move") & nxt
    rows = np.flatnonzero(at)
    stays = pd.DataFrame({"cell": cell[rows], "begin": ts[rows], "end": ts[rows + 1], "visit": visit[rows]})
    return stays[stays["end"] - stays["begin"] > config.walk_seconds_per_cell]


@pytest.fixture(scope="module")
def busy_day():
    # Long services and no groups: lines form, and every service is one shopper's.
    config = SimConfig(
        layout="supermarket",
        customers_average_in_store=24,
        checkout_service_seconds=300,
        group_share=0,
        hours=24,
        seed=2,
    )
    return config, simulate(config)


def test_a_lane_never_serves_two_at_once(busy_day) -> None:
    config, frame = busy_day
    services = _services(frame, config).sort_values(["cell", "begin"])
    assert len(services) > 1000
    for _, lane in services.groupby("cell"):
        begin, end = lane["begin"].to_numpy(), lane["end"].to_numpy()
        assert (begin[1:] >= end[:-1]).all()
    # Every lane is used.
    assert services["cell"].nunique() == len(_layout(config).checkouts)


def test_shoppers_wait_in_the_cells_behind_the_checkout_and_step_forward(busy_day) -> None:
    config, frame = busy_day
    layout = _layout(config)
    lanes = checkout_lanes(layout)
    back = lanes.cells[:, 1:].ravel()  # the queue cells
    cell = frame["y"].to_numpy(np.int64) * layout.width + frame["x"].to_numpy(np.int64)
    waiting = frame[np.isin(cell, back)]
    # Lines at this load (the lanes 86 % busy): many shoppers stand in them for a while.
    story = frame[frame["event"] != "focus"].sort_values(["visit", "ts"], kind="stable")
    s_cell = story["y"].to_numpy(np.int64) * layout.width + story["x"].to_numpy(np.int64)
    same = np.r_[story["visit"].to_numpy()[1:] == story["visit"].to_numpy()[:-1], False]
    stay = np.r_[story["ts"].to_numpy()[1:] - story["ts"].to_numpy()[:-1], 0]
    long_waits = np.isin(s_cell, back) & same & (stay > 2 * config.walk_seconds_per_cell)
    assert len(waiting) and long_waits.sum() > 100
    # ... then step forward cell by cell onto the checkout: the validator finds no bad step.
    assert validate_events(frame, config, check_occupancy=False).ok


def test_waits_grow_with_load() -> None:
    means = []
    for inside in (10, 20, 30):
        config = SimConfig(
            layout="supermarket",
            customers_average_in_store=inside,
            checkout_service_seconds=300,
            hours=72,
            seed=4,
        )
        means.append(queue_waits(simulate(config), _layout(config)).mean())
    # Service alone is about 300 s; waiting adds to it more and more as the lanes fill.
    assert 280 < means[0] < 340
    assert means[0] < means[1] < means[2]
    assert means[2] > means[0] + 60


def test_too_few_lanes_is_an_error_before_simulating(capsys, tmp_path) -> None:
    config = SimConfig(layout="supermarket", customers_average_in_store=40, checkout_service_seconds=300)
    with pytest.raises(CapacityError) as caught:
        make_plan(config, 1000)
    message = str(caught.value)
    assert "7 checkout lane(s)" in message and "CHECKOUT_SERVICE_SECONDS" in message
    assert "CUSTOMERS_AVERAGE_IN_STORE" in message
    args = [
        "generate",
        "--layout",
        "supermarket",
        "--average-inside",
        "40",
        "--checkout-service-seconds",
        "300",
    ]
    code = main([*args, "--hours", "1", "--out", str(tmp_path / "week.csv")])
    err = capsys.readouterr().err
    assert (
        code == 1 and "checkout lane" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    )


def test_a_layout_without_checkouts_has_no_queue() -> None:
    config = SimConfig(hours=1)
    assert checkout_lanes(_layout(config)) is None
    assert make_plan(config, 1000).lanes is None


def test_the_queue_serves_in_arrival_order_on_the_lane_that_frees_first() -> None:
    config = SimConfig(layout="fashion")
    lanes = checkout_lanes(_layout(config))
    queue = CheckoutQueue(lanes)
    arrive = np.array([0, 0, 10, 20, 30], dtype=np.int64)
    service = np.array([100, 50, 40, 40, 40], dtype=np.int64)
    served = queue.serve(arrive, np.zeros(5, np.int64), service, np.array([0.0, 0.0, 0.5, 0.5, 0.5]))
    # Two lanes: the first two start at once; each later one takes the lane that frees first
    # (at 50, then the same lane again at 90, then the other at 100).
    assert served["start"].tolist() == [0, 0, 50, 90, 100]
    assert served["done"].tolist() == [100, 50, 90, 130, 140]
    assert served["lane"][2] == served["lane"][1] and served["lane"][3] == served["lane"][1]
    assert served["lane"][4] == served["lane"][0]
    # The third joins behind one party and steps onto the checkout when it leaves.
    assert served["position"].tolist() == [0, 0, 1, 1, 1]
    assert served["steps"][2, 0] == 50 and served["steps"][3, 0] == 90 and served["steps"][4, 0] == 100
    assert (served["steps"][:, 1:] == -1).all()
    assert lanes.depth.max() <= QUEUE_CELLS


def test_the_line_is_remembered_from_block_to_block() -> None:
    config = SimConfig(layout="fashion")
    lanes = checkout_lanes(_layout(config))
    whole = CheckoutQueue(lanes)
    arrive = np.arange(0, 200, 10, dtype=np.int64)
    service = np.full(20, 45, dtype=np.int64)
    pick = np.linspace(0, 0.99, 20)
    at_once = whole.serve(arrive, np.zeros(20, np.int64), service, pick)
    parts = CheckoutQueue(lanes)
    first = parts.serve(arrive[:7], np.zeros(7, np.int64), service[:7], pick[:7])
    rest = parts.copy().serve(arrive[7:], np.zeros(13, np.int64), service[7:], pick[7:])
    for name in ("lane", "start", "position"):
        assert np.concatenate([first[name], rest[name]]).tolist() == at_once[name].tolist()


def test_a_shorter_window_is_the_start_of_a_longer_one() -> None:
    # Parties still shopping at a block's end are served once the next block is drawn: a window
    # that ends there must wait for that draw, so that it shows the same queue as a longer one.
    config = SimConfig(layout="supermarket", customers_average_in_store=25, hours=100, seed=5)
    longer = simulate(config)
    shorter = simulate(config.replace(hours=40))
    assert make_plan(config, 1000).block_seconds < 40 * 3600
    head = longer[longer["ts"] < shorter["ts"].max() + 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(shorter, head.iloc[: len(shorter)])
    assert len(head) == len(shorter)
