"""The figures draw what the metrics say, with the store in sensor coordinates."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from customersim import SimConfig, plots, simulate
from customersim.metrics import arrivals_by_hour, dwell_seconds_per_cell, visits_per_cell


@pytest.fixture(scope="module")
def day() -> tuple[SimConfig, pd.DataFrame]:
    config = SimConfig(width=5, height=7, door=(4, 0), hours=6, seed=3)
    return config, simulate(config)


def test_plots_stay_out_of_the_core_import_graph() -> None:
    import subprocess

    code = (
        "import customersim, customersim.simulation, customersim.metrics, sys; print('plotly' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_visits_heatmap_is_indexed_y_then_x_with_door_marked(day) -> None:
    config, frame = day
    fig = plots.visits_heatmap(frame, config)
    heat, door = fig.data[0], next(t for t in fig.data if t.name == "door")
    z = np.asarray(heat.z)
    assert z.shape == (config.height, config.width)
    np.testing.assert_array_equal(z, visits_per_cell(frame, config.width, config.height))
    # The door is where enters and exits happen, framed at cell size.
    x, y = config.door
    assert list(door.x) == [x - 0.5, x + 0.5, x + 0.5, x - 0.5, x - 0.5, None]
    assert list(door.y) == [y - 0.5, y - 0.5, y + 0.5, y + 0.5, y - 0.5, None]
    assert heat.colorbar.orientation == "h"  # under its own heatmap, not at the page's edge
    # Every visit that enters or leaves in the window is counted at the door's square.
    passing = frame.loc[frame["event"].isin(["enter", "exit"]), "visit"].nunique()
    assert z[config.door[1], config.door[0]] >= passing > 0
    # Axes run over cell numbers with y upwards, so payload x/y are the numbers under a square.
    assert tuple(fig.layout.xaxis.range) == (-0.5, config.width - 0.5)
    assert tuple(fig.layout.yaxis.range) == (-0.5, config.height - 0.5)
    assert fig.layout.yaxis.scaleanchor == "x"
    assert list(heat.x) == list(range(config.width)) and list(heat.y) == list(range(config.height))


def test_a_single_move_lights_the_square_under_its_coordinates() -> None:
    config = SimConfig(width=4, height=3, door=(0, 0))
    frame = pd.DataFrame(
        {
            "ts": [0, 10, 20, 30],
            "event": ["enter", "move", "move", "exit"],
            "customer_id": "1",
            "x": [0, 1, 0, 0],
            "y": [0, 1, 0, 0],
            "visit": 0,
        }
    )
    z = np.asarray(plots.visits_heatmap(frame, config).data[0].z)
    assert z[1, 1] == 1 and z[1].sum() == 1  # row y=1, column x=1
    assert z[0, 0] == 2  # enter and the move back to the door


def test_dwell_heatmap_in_minutes(day) -> None:
    config, frame = day
    z = np.asarray(plots.dwell_heatmap(frame, config).data[0].z)
    seconds = dwell_seconds_per_cell(frame, config.width, config.height, end=config.end)
    np.testing.assert_allclose(z, seconds / 60)


def test_occupancy_figure_has_series_and_expected(day) -> None:
    config, frame = day
    fig = plots.occupancy_figure(frame, config, freq_seconds=300)
    inside, expected = fig.data
    assert inside.name == "inside" and expected.name == "expected"
    np.testing.assert_allclose(np.asarray(expected.y), config.customers_average_in_store, rtol=1e-3)
    values = np.asarray(inside.y, dtype=float)
    assert len(values) == 6 * 60 // 5  # 6 hours at 5-minute steps
    assert abs(values.mean() - config.customers_average_in_store) < 3
    assert f"mean {values.mean():.2f}" in fig.layout.title.text
    assert len(plots.occupancy_figure(frame, config).data[0].x) <= plots.OCCUPANCY_POINTS


def test_expected_occupancy_is_the_profile_delayed_by_the_visit() -> None:
    profile = [0.0] * 8 + [1.0] * 4 + [3.0] * 4 + [0.0] * 8
    config = SimConfig(
        customers_average_in_store=10, mean_visit_minutes=30, arrival_profile=profile, hours=72
    )
    expected = plots.expected_occupancy(config, 600)
    assert expected.mean() == pytest.approx(10, rel=1e-3)  # the target is the mean over whole days
    day = expected.iloc[144:288].to_numpy()  # the second day, 10-minute steps
    # Nobody inside before the first arrivals; the crowd lags the busy hours by about a visit.
    assert day[: 8 * 6].max() < 1e-9
    # It builds up through the busy hours, peaks as they end, and the shoppers inside then
    # leave over about a visit's length (30 min), not at once.
    assert 15 * 6 <= int(np.argmax(day)) < 16 * 6
    assert day[15 * 6] > day[12 * 6 + 1] > day[11 * 6] > 0
    assert 0.2 * day.max() < day[16 * 6 + 3] < 0.8 * day.max() and day[18 * 6] < 0.05 * day.max()
    # Simulated days agree with it.
    from customersim.metrics import occupancy_series

    measured = occupancy_series(simulate(config), int(config.start), config.end, freq_seconds=3600)
    hourly = plots.expected_occupancy(config, 3600).to_numpy()
    assert np.corrcoef(measured.to_numpy(), hourly)[0, 1] > 0.9


def test_floor_plan_draws_shelves_departments_and_doors_at_cell_size() -> None:
    walkable = np.ones((15, 20), dtype=bool)
    walkable[5:7, 4:16] = False  # a shelf
    zones = np.full((15, 20), "", dtype=object)
    zones[9:12, 2:6] = "dairy"
    zones[0:2, 17:20] = "checkout"
    plan = plots.FloorPlan(20, 15, ((0, 0), (19, 7)), walkable, zones)
    fig = plots.store_heatmap(np.ones((15, 20)), plan, title="t", value_label="v")
    names = [t.name for t in fig.data]
    assert names == ["v", "shelf / wall", "department", "door halo", "door"]
    shelf = np.asarray(fig.data[1].z, dtype=float)
    assert np.isnan(shelf[walkable]).all() and (shelf[~walkable] == 1).all()
    edges = fig.data[2]
    xs = [x for x in edges.x if x is not None]
    ys = [y for y in edges.y if y is not None]
    # Outlines run along cell edges (half-integers) and around both zones, nowhere else.
    assert all(v % 1 == 0.5 for v in xs + ys)
    assert min(xs) == 1.5 and max(xs) == 19.5 and min(ys) == -0.5 and max(ys) == 11.5
    assert len([x for x in edges.x if x is None]) == 2 * (4 + 3) + 2 * (3 + 2)  # unit edges
    assert {a.text for a in fig.layout.annotations} == {"dairy", "checkout"}
    assert fig.layout.annotations[0].bgcolor  # labels sit on a contrasting box
    door = fig.data[4]
    assert list(door.x).count(None) == 2 and max(x for x in door.x if x is not None) == 19.5


def test_floor_plan_from_a_store_layout() -> None:
    from customersim.layout import StoreLayout

    layout = StoreLayout.build(20, 15, [(0, 0), (19, 14)])
    plan = plots.FloorPlan.from_layout(layout)
    assert plan.doors == ((0, 0), (19, 14)) and plan.walkable.shape == (15, 20)


def test_floor_plan_of_a_shipped_layout_draws_its_map() -> None:
    config = SimConfig(layout="supermarket")
    shipped = config.floorplan
    plan = plots.floor_plan(config)
    assert (plan.width, plan.height) == (shipped.width, shipped.height)
    assert plan.entrances and plan.exits and not set(plan.entrances) & set(plan.exits)
    fig = plots.store_heatmap(np.ones((shipped.height, shipped.width)), config, title="t", value_label="v")
    names = [t.name for t in fig.data]
    assert names == ["v", "shelf / wall", "department", "entrance halo", "entrance", "exit halo", "exit"]
    shelf = np.asarray(fig.data[1].z, dtype=float)
    assert (np.isnan(shelf) == np.asarray(shipped.walkable)).all()
    (ex, ey) = plan.entrances[0]
    entrance = [(x, y) for x, y in zip(fig.data[4].x, fig.data[4].y, strict=True) if x is not None]
    assert {(x, y) for x, y in entrance} == {(ex + dx, ey + dy) for dx in (-0.5, 0.5) for dy in (-0.5, 0.5)}
    labels = {a.text for a in fig.layout.annotations}
    assert set(shipped.departments) | {"checkout"} == labels
    fashion = plots.floor_plan(SimConfig(layout="fashion"))
    assert {str(v) for v in fashion.zones.ravel()} - {""} == {
        "Women",
        "Men",
        "Boys",
        "Girls",
        "Sports",
        "checkout",
    }


def test_expected_arrivals_follow_littles_law_and_the_profile() -> None:
    profile = [1.0] * 12 + [3.0] * 12
    config = SimConfig(
        customers_average_in_store=10, mean_visit_minutes=20, arrival_profile=profile, hours=48
    )
    expected = plots.expected_arrivals_by_hour(config)
    assert expected.sum() == pytest.approx(10 / 1200 * 48 * 3600)
    assert expected[12] == pytest.approx(3 * expected[0])
    partial = plots.expected_arrivals_by_hour(config.replace(start="2026-01-05T10:30:00Z", hours=2.5))
    assert partial[10] == pytest.approx(partial[11] / 2) and partial[13] == 0 and partial[:10].sum() == 0


def test_arrivals_figure_matches_the_metric(day) -> None:
    config, frame = day
    fig = plots.arrivals_figure(frame, config)
    np.testing.assert_array_equal(np.asarray(fig.data[0].y), arrivals_by_hour(frame).to_numpy())
    assert fig.data[1].name == "expected"


def test_journey_figure_steps_through_one_visit(day) -> None:
    config, frame = day
    visit = int(frame.loc[frame["event"] == "enter", "visit"].iloc[0])
    path = frame[frame["visit"] == visit]
    whole = plots.journey_figure(frame, visit, config)

    def named(fig, name):
        return next(t for t in fig.data if t.name == name)

    drawn = named(whole, "path")
    assert list(drawn.x) == path["x"].tolist() and list(drawn.y) == path["y"].tolist()
    # Early to late in colour, each arrow turned the way the shopper walked.
    assert list(drawn.marker.color) == list(range(len(path))) and drawn.marker.angleref == "previous"
    assert f"position {len(path)} of {len(path)} (exit" in whole.layout.title.text
    first = plots.journey_figure(frame, visit, config, step=0)
    assert (named(first, "now").x[0], named(first, "now").y[0]) == config.door
    assert "position 1 of" in first.layout.title.text and "enter" in first.layout.title.text
    assert len(named(plots.journey_figure(frame, visit, config, step=2), "path").x) == 3


def test_profile_figure_is_relative_to_the_mean() -> None:
    fig = plots.profile_figure([1.0] * 12 + [3.0] * 12)
    assert np.asarray(fig.data[0].y).mean() == pytest.approx(1.0)
