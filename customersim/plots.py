"""Pictures of a simulated day: plotly figures built from :mod:`customersim.metrics`.

Every function takes an events frame (or numbers derived from one) and *returns* a
``plotly.graph_objects.Figure``; nothing here shows, saves or prints, so the Streamlit app,
the notebooks and the tests draw the same pictures.

The store is drawn the way the sensors count it: one square per cell, ``x`` along the
horizontal axis from 0 to ``width - 1`` and ``y`` along the vertical axis from 0 (bottom) to
``height - 1`` (top), with the door marked. The ``x`` and ``y`` of a move payload are the
numbers on the axes under the square that lit up, and hovering a square shows them.

Plotly is imported only here (and by the front ends); :mod:`customersim` itself never imports
this module, so the core library stays free of drawing dependencies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from customersim.config import SimConfig
from customersim.metrics import (
    arrivals_by_hour,
    dwell_seconds_per_cell,
    occupancy_series,
    visit_path,
    visits_per_cell,
)

TEMPLATE = "plotly_white"
DOOR_COLOUR = "#d62728"
TARGET_COLOUR = "#d62728"
PATH_COLOUR = "#1f77b4"
# Above this many cells per side, per-cell tick labels would overlap: let plotly choose ticks.
MAX_LABELLED_CELLS = 40


def _store_axes(fig: go.Figure, width: int, height: int) -> None:
    """Square cells, one tick per cell, y growing upwards: the sensor grid as drawn."""
    per_cell = max(width, height) <= MAX_LABELLED_CELLS
    fig.update_xaxes(
        title_text="x (sensor cell)",
        range=[-0.5, width - 0.5],
        constrain="domain",
        dtick=1 if per_cell else None,
        showgrid=False,
        zeroline=False,
    )
    fig.update_yaxes(
        title_text="y (sensor cell)",
        range=[-0.5, height - 0.5],
        constrain="domain",
        scaleanchor="x",
        scaleratio=1,
        dtick=1 if per_cell else None,
        showgrid=False,
        zeroline=False,
    )


def _door_trace(door: tuple[int, int]) -> go.Scatter:
    return go.Scatter(
        x=[door[0]],
        y=[door[1]],
        mode="markers+text",
        name="door",
        marker={
            "symbol": "square-open",
            "size": 22,
            "line": {"width": 3, "color": DOOR_COLOUR},
            "color": DOOR_COLOUR,
        },
        text=["door"],
        textposition="top center",
        textfont={"color": DOOR_COLOUR},
        hovertemplate="door at x=%{x}, y=%{y}<extra></extra>",
        showlegend=False,
    )


def store_heatmap(
    grid: np.ndarray,
    door: tuple[int, int],
    *,
    title: str,
    value_label: str,
    colorscale: str = "YlOrRd",
    value_format: str = ",.0f",
) -> go.Figure:
    """A per-cell grid drawn as the store floor, with the door marked.

    Args:
        grid: a ``(height, width)`` array indexed ``[y, x]`` (as :mod:`customersim.metrics`
            returns them).
        door: the door cell ``(x, y)``.
        title: the figure title.
        value_label: what a cell's number means (colour bar title and hover text).
        colorscale: any plotly colour scale name.
        value_format: d3 format of the value in the hover text.
    """
    height, width = grid.shape
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(grid),
            x=np.arange(width),
            y=np.arange(height),
            colorscale=colorscale,
            xgap=1,
            ygap=1,
            colorbar={"title": {"text": value_label}},
            hovertemplate=f"x=%{{x}}, y=%{{y}}<br>{value_label}: %{{z:{value_format}}}<extra></extra>",
        )
    )
    fig.add_trace(_door_trace(door))
    _store_axes(fig, width, height)
    fig.update_layout(template=TEMPLATE, title=title, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def visits_heatmap(frame: pd.DataFrame, config: SimConfig) -> go.Figure:
    """How often each cell's sensor saw a shopper arrive (enter or move)."""
    grid = visits_per_cell(frame, config.width, config.height)
    return store_heatmap(grid, config.door, title="Visits per cell", value_label="visits")


def dwell_heatmap(frame: pd.DataFrame, config: SimConfig) -> go.Figure:
    """Minutes shoppers spent at each cell over the window (summed over all shoppers)."""
    seconds = dwell_seconds_per_cell(frame, config.width, config.height, end=config.end)
    return store_heatmap(
        seconds / 60.0,
        config.door,
        title="Dwell time per cell",
        value_label="minutes",
        colorscale="Blues",
        value_format=",.1f",
    )


TIDY_INTERVALS = tuple(m * 60 for m in (1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440))


def occupancy_figure(frame: pd.DataFrame, config: SimConfig, *, freq_seconds: int | None = None) -> go.Figure:
    """Average number of shoppers inside per interval, with the configured target as a line.

    Args:
        frame: the events of the config's window.
        config: gives the window and the target ``customers_average_in_store``.
        freq_seconds: interval length; default the tidy interval (1, 5, 10, 15, 30 minutes, 1,
            2, 3, 6, 12 hours or a day) that gives at most about 300 points over the window, so
            a day draws as 5-minute steps and a week as 30-minute ones.
    """
    span = config.end - config.start
    if freq_seconds is None:
        freq_seconds = next((step for step in TIDY_INTERVALS if span / step <= 300), TIDY_INTERVALS[-1])
    series = occupancy_series(frame, config.start, config.end, freq_seconds=freq_seconds)
    fig = go.Figure(
        go.Scatter(
            x=series.index,
            y=series.to_numpy(),
            mode="lines",
            name="inside",
            line={"shape": "hv"},
            hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>%{y:.2f} inside<extra></extra>",
        )
    )
    target = float(config.customers_average_in_store)
    fig.add_trace(
        go.Scatter(
            x=[series.index[0], series.index[-1]],
            y=[target, target],
            mode="lines",
            name="target",
            line={"color": TARGET_COLOUR, "dash": "dash"},
            hovertemplate=f"target {target:g}<extra></extra>",
        )
    )
    interval = f"{freq_seconds // 3600} h" if freq_seconds % 3600 == 0 else f"{freq_seconds // 60} min"
    fig.update_layout(
        template=TEMPLATE,
        title=f"Shoppers inside (mean per {interval})",
        xaxis_title="time (UTC)",
        yaxis_title="shoppers inside",
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    fig.update_yaxes(rangemode="tozero")
    return fig


def expected_arrivals_by_hour(config: SimConfig) -> np.ndarray:
    """Expected arrivals per UTC hour of the day over the config's window (Little's law).

    The arrival rate is ``target inside / mean visit length`` shaped by the hourly profile
    (weights relative to their mean), counted over the seconds of the window in each hour.
    """
    weights = np.asarray(config.arrival_profile, dtype=np.float64)
    rate = config.customers_average_in_store / config.mean_visit_seconds * weights / weights.mean()
    start, end = config.start, config.end
    seconds = np.zeros(24)
    # Whole hours at once, then the ragged ends: cheap for a window of any length.
    first_hour, last_hour = -(-start // 3600), end // 3600
    if first_hour <= last_hour:
        whole = np.arange(first_hour, last_hour)
        days, rest = divmod(len(whole), 24)
        seconds += days * 3600
        seconds[(first_hour + np.arange(rest)) % 24] += 3600
        seconds[(start // 3600) % 24] += first_hour * 3600 - start
        seconds[last_hour % 24] += end - last_hour * 3600
    else:  # the window lies inside one hour
        seconds[(start // 3600) % 24] += end - start
    return rate * seconds


def arrivals_figure(frame: pd.DataFrame, config: SimConfig | None = None) -> go.Figure:
    """Arrivals (``enter`` events) per UTC hour of the day; with a config, the expected ones too."""
    counts = arrivals_by_hour(frame)
    fig = go.Figure(
        go.Bar(
            x=counts.index,
            y=counts.to_numpy(),
            name="arrivals",
            hovertemplate="%{x}:00 UTC<br>%{y} arrivals<extra></extra>",
        )
    )
    if config is not None:
        fig.add_trace(
            go.Scatter(
                x=np.arange(24),
                y=expected_arrivals_by_hour(config),
                mode="lines+markers",
                name="expected",
                line={"color": TARGET_COLOUR, "dash": "dash"},
                hovertemplate="%{x}:00 UTC<br>%{y:.1f} expected<extra></extra>",
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        title="Arrivals per hour of day",
        xaxis_title="hour (UTC)",
        yaxis_title="arrivals",
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )
    fig.update_xaxes(dtick=1)
    return fig


def profile_figure(weights: Sequence[float]) -> go.Figure:
    """The 24 hourly arrival weights as bars (relative to their mean, 1 = an average hour)."""
    values = np.asarray(weights, dtype=np.float64)
    relative = values / values.mean() if values.sum() > 0 else values
    fig = go.Figure(
        go.Bar(x=np.arange(24), y=relative, hovertemplate="%{x}:00 UTC<br>x%{y:.2f}<extra></extra>")
    )
    fig.update_layout(
        template=TEMPLATE,
        title="Arrival profile",
        xaxis_title="hour (UTC)",
        yaxis_title="rate / mean rate",
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    fig.update_xaxes(dtick=1)
    return fig


def journey_figure(
    frame: pd.DataFrame, visit: int, config: SimConfig, *, step: int | None = None
) -> go.Figure:
    """One visit's path on the store grid, from ``enter`` up to ``step``.

    Args:
        frame: events containing the visit (the whole window is fine).
        visit: the visit number (the ``visit`` column).
        config: gives the grid and the door.
        step: show events ``0..step`` of the visit (0 is the ``enter``); None shows them all.
            The shopper's position at ``step`` is the large marker.
    """
    path = visit_path(frame, visit)
    return path_figure(path, config, step=step, title=f"Visit {visit}")


def path_figure(
    path: pd.DataFrame, config: SimConfig, *, step: int | None = None, title: str = "Journey"
) -> go.Figure:
    """A path (the events of one visit, in time order) drawn on the store grid."""
    xs = path["x"].to_numpy(dtype=np.int64)
    ys = path["y"].to_numpy(dtype=np.int64)
    ts = path["ts"].to_numpy(dtype=np.int64)
    events = path["event"].astype("str").to_numpy()
    last = len(path) - 1 if step is None else int(np.clip(step, 0, max(len(path) - 1, 0)))
    shown = slice(0, last + 1)
    # Seconds since the visit began: easier to read than epoch seconds in the hover text.
    since = ts - ts[0] if len(ts) else ts
    fig = go.Figure(
        go.Heatmap(
            z=np.zeros((config.height, config.width)),
            x=np.arange(config.width),
            y=np.arange(config.height),
            colorscale=[[0, "#f2f2f2"], [1, "#f2f2f2"]],
            showscale=False,
            xgap=1,
            ygap=1,
            hoverinfo="skip",
        )
    )
    fig.add_trace(_door_trace(config.door))
    fig.add_trace(
        go.Scatter(
            x=xs[shown],
            y=ys[shown],
            mode="lines+markers",
            name="path",
            line={"color": PATH_COLOUR, "width": 2},
            marker={"size": 7, "color": PATH_COLOUR},
            customdata=np.column_stack([np.arange(len(path))[shown], since[shown], events[shown]]),
            hovertemplate="step %{customdata[0]}: %{customdata[2]} at x=%{x}, y=%{y}<br>"
            "+%{customdata[1]} s<extra></extra>",
            showlegend=False,
        )
    )
    if len(path):
        fig.add_trace(
            go.Scatter(
                x=[xs[last]],
                y=[ys[last]],
                mode="markers",
                name="now",
                marker={"size": 18, "color": PATH_COLOUR, "line": {"width": 2, "color": "white"}},
                hovertemplate=f"step {last}: {events[last]} at x=%{{x}}, y=%{{y}}<extra></extra>",
                showlegend=False,
            )
        )
        title = f"{title}: step {last} of {len(path) - 1} ({events[last]}, +{int(since[last])} s)"
    _store_axes(fig, config.width, config.height)
    fig.update_layout(template=TEMPLATE, title=title, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def path_counts(path: pd.DataFrame) -> dict[str, int]:
    """Events of each type in a path (handy for captions): ``{"enter": 1, "move": n, "exit": 1}``."""
    events = path["event"].astype("str")
    return {name: int((events == name).sum()) for name in ("enter", "move", "exit")}


__all__ = [
    "arrivals_figure",
    "dwell_heatmap",
    "expected_arrivals_by_hour",
    "journey_figure",
    "occupancy_figure",
    "path_counts",
    "path_figure",
    "profile_figure",
    "store_heatmap",
    "visits_heatmap",
]
