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
    heat, door = fig.data[0], fig.data[1]
    z = np.asarray(heat.z)
    assert z.shape == (config.height, config.width)
    np.testing.assert_array_equal(z, visits_per_cell(frame, config.width, config.height))
    # The door is where enters and exits happen: the busiest square, drawn at its (x, y).
    assert (door.x[0], door.y[0]) == config.door
    assert z[config.door[1], config.door[0]] == z.max()
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


def test_occupancy_figure_has_series_and_target(day) -> None:
    config, frame = day
    fig = plots.occupancy_figure(frame, config, freq_seconds=300)
    inside, target = fig.data
    assert inside.name == "inside" and target.name == "target"
    assert set(np.asarray(target.y)) == {config.customers_average_in_store}
    values = np.asarray(inside.y, dtype=float)
    assert len(values) == 6 * 60 // 5  # 6 hours at 5-minute steps
    assert abs(values.mean() - config.customers_average_in_store) < 3


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
    drawn = whole.data[2]
    assert list(drawn.x) == path["x"].tolist() and list(drawn.y) == path["y"].tolist()
    first = plots.journey_figure(frame, visit, config, step=0)
    assert (first.data[3].x[0], first.data[3].y[0]) == config.door
    assert "step 0 of" in first.layout.title.text and "enter" in first.layout.title.text
    assert len(plots.journey_figure(frame, visit, config, step=2).data[2].x) == 3


def test_profile_figure_is_relative_to_the_mean() -> None:
    fig = plots.profile_figure([1.0] * 12 + [3.0] * 12)
    assert np.asarray(fig.data[0].y).mean() == pytest.approx(1.0)
