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

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from customersim.config import SimConfig
from customersim.floorplan import Floorplan
from customersim.metrics import (
    arrivals_by_hour,
    dwell_seconds_per_cell,
    occupancy_series,
    visit_path,
    visits_per_cell,
)
from customersim.profiles import profile_hour

# One look for the app's widgets (.streamlit/config.toml) and its figures.
FONT = {"family": '"Source Sans", "Source Sans Pro", sans-serif', "size": 13, "color": "#31333f"}
ACCENT = "#1f6fb4"
_GRID = "#e6e9ef"
# A small template instead of "plotly_white": the same white look, without the defaults for
# every trace type that plotly's named templates carry into each figure's JSON (7 kB each,
# most of a heatmap's bytes, copied and validated on every draw).
TEMPLATE = go.layout.Template(
    layout={
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": FONT,
        "colorway": [ACCENT, "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"],
        "xaxis": {"gridcolor": _GRID, "linecolor": _GRID, "zerolinecolor": _GRID, "automargin": True},
        "yaxis": {"gridcolor": _GRID, "linecolor": _GRID, "zerolinecolor": _GRID, "automargin": True},
        "hoverlabel": {"align": "left"},
        "title": {"x": 0.01, "xanchor": "left", "font": {"size": 16}},
    }
)
DOOR_COLOUR = "#d62728"
ENTRANCE_COLOUR = "#2ca02c"
TARGET_COLOUR = "#d62728"
PATH_COLOUR = ACCENT
WALL_COLOUR = "#6b6b6b"
ZONE_COLOUR = "#262730"
# Above this many cells per side, per-cell tick labels would overlap: let plotly choose ticks.
MAX_LABELLED_CELLS = 40
# Above this many cells across, a store is drawn at a page's full width rather than half of it.
WIDE_STORE = 24


@dataclass(frozen=True)
class FloorPlan:
    """What the store drawings need of a store: its grid, doors, blocked cells and named zones.

    Attributes:
        width, height: grid size in cells.
        doors: door cells as ``(x, y)``.
        walkable: optional ``(height, width)`` bool mask; False cells (walls, shelves) are drawn
            filled. None: every cell is walkable.
        zones: optional ``(height, width)`` array of zone names (departments, ``"checkout"``);
            ``""`` or None outside any zone. Each zone is outlined along its cell edges and
            labelled at its centre.
        entrances, exits: optional one-way door cells as ``(x, y)``: an entrance is framed in
            green, an exit in red with a cross, so a store with separate doors reads at a glance.
    """

    width: int
    height: int
    doors: tuple[tuple[int, int], ...]
    walkable: np.ndarray | None = None
    zones: np.ndarray | None = None
    entrances: tuple[tuple[int, int], ...] = ()
    exits: tuple[tuple[int, int], ...] = ()

    @classmethod
    def from_floorplan(cls, plan: Floorplan) -> FloorPlan:
        """The drawing of a parsed :class:`customersim.floorplan.Floorplan`: shelves and walls,
        departments and the checkout as zones, two-way doors, entrances and exits."""
        from customersim import floorplan as fp

        zones = np.full((plan.height, plan.width), "", dtype=object)
        names = np.asarray((*plan.departments, ""), dtype=object)
        zones[:] = names[np.asarray(plan.department)]  # -1 picks the trailing ""
        zones[np.asarray(plan.kind) == fp.CHECKOUT] = "checkout"
        has_zones = bool((zones != "").any())
        return cls(
            plan.width,
            plan.height,
            tuple(plan.cells_of(fp.TWO_WAY_DOOR)),
            np.asarray(plan.walkable),
            zones if has_zones else None,
            tuple(plan.cells_of(fp.ENTRANCE)),
            tuple(plan.cells_of(fp.EXIT)),
        )

    @classmethod
    def from_layout(cls, layout: object, zones: np.ndarray | None = None) -> FloorPlan:
        """The plan of a :class:`customersim.layout.StoreLayout` (or anything with ``width``,
        ``height``, ``walkable`` and ``doors`` as cell numbers); ``zones`` defaults to the
        layout's own ``zones`` attribute when it has one."""
        width, height = int(layout.width), int(layout.height)
        doors = tuple((int(c) % width, int(c) // width) for c in np.asarray(layout.doors).ravel())
        walkable = getattr(layout, "walkable", None)
        if zones is None:
            zones = getattr(layout, "zones", None)
        return cls(width, height, doors, walkable, zones)


def floor_plan(config: SimConfig) -> FloorPlan:
    """The floor plan a config describes: its layout's map (shelves, walls, doors, checkout and
    departments), or for the ``open`` layout the full ``width`` x ``height`` rectangle with its
    one door."""
    return FloorPlan.from_floorplan(config.floorplan)


def _plan(store: SimConfig | FloorPlan) -> FloorPlan:
    return store if isinstance(store, FloorPlan) else floor_plan(store)


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


def _cell_outline(cells: Sequence[tuple[int, int]]) -> tuple[list, list]:
    """Closed squares around cells, at cell size, as one line trace's x and y (None between)."""
    xs: list = []
    ys: list = []
    for x, y in cells:
        xs += [x - 0.5, x + 0.5, x + 0.5, x - 0.5, x - 0.5, None]
        ys += [y - 0.5, y - 0.5, y + 0.5, y + 0.5, y - 0.5, None]
    return xs, ys


def _zone_edges(zones: np.ndarray) -> tuple[list, list]:
    """The cell edges where the zone changes, as one line trace's x and y (None between)."""
    labels = np.asarray(zones, dtype=object)
    labels = np.where(pd.isna(labels), "", labels).astype(str)
    padded = np.pad(labels, 1, constant_values="")
    xs: list = []
    ys: list = []
    # Vertical edges: entry i compares cell x = i with x = i - 1, so the edge is at x = i - 0.5.
    differs = (padded[1:-1, 1:] != padded[1:-1, :-1]) & ((padded[1:-1, 1:] != "") | (padded[1:-1, :-1] != ""))
    for y, i in zip(*np.nonzero(differs), strict=True):
        xs += [i - 0.5, i - 0.5, None]
        ys += [y - 0.5, y + 0.5, None]
    differs = (padded[1:, 1:-1] != padded[:-1, 1:-1]) & ((padded[1:, 1:-1] != "") | (padded[:-1, 1:-1] != ""))
    for j, x in zip(*np.nonzero(differs), strict=True):
        xs += [x - 0.5, x + 0.5, None]
        ys += [j - 0.5, j - 0.5, None]
    return xs, ys


def _draw_floor(fig: go.Figure, plan: FloorPlan) -> None:
    """Walls and shelves filled, zones outlined and labelled, doors framed: all at cell size.

    Labels never sit on the data in the same colour: the door is named in the legend (outside
    the store), zone names sit on a white box at the zone's centre.
    """
    if plan.walkable is not None and not np.all(plan.walkable):
        blocked = np.where(np.asarray(plan.walkable, dtype=bool), np.nan, 1.0)
        fig.add_trace(
            go.Heatmap(
                z=blocked,
                x=np.arange(plan.width),
                y=np.arange(plan.height),
                colorscale=[[0, WALL_COLOUR], [1, WALL_COLOUR]],
                showscale=False,
                xgap=1,
                ygap=1,
                name="shelf / wall",
                hovertemplate="x=%{x}, y=%{y}: shelf or wall<extra></extra>",
            )
        )
    if plan.zones is not None:
        xs, ys = _zone_edges(plan.zones)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name="department",
                line={"color": ZONE_COLOUR, "width": 2},
                hoverinfo="skip",
                showlegend=True,
            )
        )
        labels = np.asarray(plan.zones, dtype=object)
        for name in sorted({str(v) for v in labels.ravel() if isinstance(v, str) and v}):
            ys_, xs_ = np.nonzero(labels == name)
            # A tall narrow zone (an aisle) reads its name upright, so neighbours' names never
            # overlap; a name that fits across its zone stays horizontal.
            across, along = int(np.ptp(xs_)) + 1, int(np.ptp(ys_)) + 1
            upright = along >= 2 * across and len(name) > 2 * across
            fig.add_annotation(
                x=float(xs_.mean()),
                y=float(ys_.mean()),
                text=name,
                textangle=-90 if upright else 0,
                showarrow=False,
                font={"size": 11, "color": ZONE_COLOUR},
                bgcolor="rgba(255,255,255,0.85)",
                borderpad=2,
            )
    _draw_doors(fig, plan)


def _framed(fig: go.Figure, xs: list, ys: list, name: str, colour: str) -> None:
    """A coloured frame over a white halo: it stands out on dark and on red cells alike."""
    for trace_name, line, legend in (
        (f"{name} halo", {"color": "white", "width": 6}, False),
        (name, {"color": colour, "width": 3}, True),
    ):
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", name=trace_name, line=line, hoverinfo="skip", showlegend=legend
            )
        )


def _draw_doors(fig: go.Figure, plan: FloorPlan) -> None:
    """Doors framed at cell size: two-way doors and exits red, entrances green; exits crossed."""
    for name, cells, colour in (
        ("entrance", plan.entrances, ENTRANCE_COLOUR),
        ("exit", plan.exits, DOOR_COLOUR),
    ):
        if not cells:
            continue
        xs, ys = _cell_outline(cells)
        if name == "exit":
            for x, y in cells:  # a cross tells an exit from an entrance without colour
                xs += [x - 0.5, x + 0.5, None, x - 0.5, x + 0.5, None]
                ys += [y - 0.5, y + 0.5, None, y + 0.5, y - 0.5, None]
        _framed(fig, xs, ys, name, colour)
    if plan.doors:
        xs, ys = _cell_outline(plan.doors)
        _framed(fig, xs, ys, "door", DOOR_COLOUR)


def _store_layout(fig: go.Figure, title: str) -> None:
    fig.update_layout(
        template=TEMPLATE,
        font=FONT,
        title={"text": title, "y": 0.98, "yanchor": "top"},
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
        legend={"orientation": "h", "x": 0, "y": 1.0, "xanchor": "left", "yanchor": "bottom"},
    )


def store_heatmap(
    grid: np.ndarray,
    store: SimConfig | FloorPlan | tuple[int, int],
    *,
    title: str,
    value_label: str,
    colorscale: str = "YlOrRd",
    value_format: str = ",.0f",
) -> go.Figure:
    """A per-cell grid drawn as the store floor: doors, shelves and departments at cell size.

    Args:
        grid: a ``(height, width)`` array indexed ``[y, x]`` (as :mod:`customersim.metrics`
            returns them).
        store: the config or :class:`FloorPlan` to draw; a bare ``(x, y)`` is the door of a
            plain rectangle.
        title: the figure title.
        value_label: what a cell's number means (colour bar title and hover text).
        colorscale: any plotly colour scale name.
        value_format: d3 format of the value in the hover text.
    """
    height, width = grid.shape
    if isinstance(store, tuple):
        store = FloorPlan(width, height, (store,))
    plan = _plan(store)
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(grid),
            x=np.arange(width),
            y=np.arange(height),
            colorscale=colorscale,
            xgap=1,
            ygap=1,
            # Under the store, not at the page's right edge: it stays beside its own heatmap
            # whatever the store's shape leaves free.
            colorbar={
                "title": {"text": value_label, "side": "right"},
                "orientation": "h",
                "x": 0.5,
                "xanchor": "center",
                "y": -0.2,
                "yanchor": "top",
                "len": 0.6,
                "thickness": 12,
            },
            hovertemplate=f"x=%{{x}}, y=%{{y}}<br>{value_label}: %{{z:{value_format}}}<extra></extra>",
            name=value_label,
        )
    )
    _draw_floor(fig, plan)
    _store_axes(fig, width, height)
    _store_layout(fig, title)
    fig.update_layout(margin={"b": 90})
    if width > WIDE_STORE:
        # Drawn at a page's full width (the app stacks wide stores): tall enough for square
        # cells of about 26 pixels, so aisles and department names stay legible.
        fig.update_layout(height=170 + 26 * height)
    return fig


def visits_heatmap(frame: pd.DataFrame, config: SimConfig) -> go.Figure:
    """Cell entries: how often each cell's sensor saw a shopper step onto it (enter or move)."""
    grid = visits_per_cell(frame, config.width, config.height)
    return store_heatmap(
        grid, config, title="Cell entries: shoppers stepping onto each cell", value_label="cell entries"
    )


def dwell_heatmap(frame: pd.DataFrame, config: SimConfig) -> go.Figure:
    """Minutes shoppers spent at each cell over the window, summed over all shoppers."""
    seconds = dwell_seconds_per_cell(frame, config.width, config.height, end=config.end)
    return store_heatmap(
        seconds / 60.0,
        config,
        title="Dwell: total minutes over all shoppers per cell",
        value_label="total minutes",
        colorscale="Blues",
        value_format=",.1f",
    )


TIDY_INTERVALS = tuple(m * 60 for m in (1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440))
# Points of the occupancy line: enough for the day's shape (a day draws as 10-minute steps),
# few enough that the browser draws it at once.
OCCUPANCY_POINTS = 150


def expected_occupancy(config: SimConfig, freq_seconds: int) -> pd.Series:
    """The expected number inside per interval: the target shaped by the profile, delayed by the visits.

    Shoppers arrive at ``target / mean visit x weight / mean weight`` per second (the profile
    shape), and one who arrived ``t`` seconds ago is still inside with the probability that a
    visit lasts longer than ``t`` (gamma visit lengths, as the engine draws them). So the number
    inside is the arrival rate convolved with that survival function: it follows the profile a
    visit length late, and its mean over whole days is the target.

    Args:
        config: the window, target, mean visit and profile.
        freq_seconds: the interval of the returned series (as :func:`occupancy_figure` draws).

    Returns:
        Mean expected number inside per interval, indexed by the interval's UTC start.
    """
    from customersim.engine import MAX_VISIT_FACTOR, VISIT_SHAPE

    start, end = config.start, config.end
    mean_visit = config.mean_visit_seconds
    # A fine grid for the convolution: a minute, or coarser for very long windows.
    step = 60 if (end - start) / 60 <= 2_000_000 else freq_seconds
    reach = math.ceil(MAX_VISIT_FACTOR * mean_visit / step) + 1
    grid = start + (np.arange(-reach, -(-(end - start) // step)) + 0.5) * step
    weights = np.asarray(config.arrival_profile, dtype=np.float64)
    hours = profile_hour(np.floor(grid / 3600).astype(np.int64), len(weights))
    rate = config.customers_average_in_store / mean_visit * weights[hours] / weights.mean()
    scale = mean_visit / VISIT_SHAPE
    ages = np.arange(reach) * step + step / 2
    # Survival of a gamma(shape 2) visit length: P(length > t) = (1 + t/scale) exp(-t/scale).
    survival = (1 + ages / scale) * np.exp(-ages / scale)
    inside = np.convolve(rate * step, survival)[reach : reach + len(grid) - reach]
    times = grid[reach:]
    bins = ((times - start) // freq_seconds).astype(np.int64)
    values = np.bincount(bins, weights=inside) / np.maximum(np.bincount(bins), 1)
    index = pd.to_datetime(start + np.arange(len(values), dtype=np.int64) * freq_seconds, unit="s", utc=True)
    return pd.Series(values, index=index, name="expected")


def occupancy_figure(frame: pd.DataFrame, config: SimConfig, *, freq_seconds: int | None = None) -> go.Figure:
    """Mean number of shoppers inside per interval, against the number the settings lead to expect.

    The expected line is the target shaped by the arrival profile and delayed by the visit
    length (:func:`expected_occupancy`); with a flat profile it is the target itself. The title
    carries the headline: the mean over the window against the target.

    Args:
        frame: the events of the config's window.
        config: gives the window, the target ``customers_average_in_store`` and the profile.
        freq_seconds: interval length; default the tidy interval (1, 5, 10, 15, 30 minutes, 1,
            2, 3, 6, 12 hours or a day) that gives at most about 150 points over the window, so
            a day draws as 10-minute steps and a week as 1-hour ones.
    """
    span = config.end - config.start
    if freq_seconds is None:
        freq_seconds = next(
            (step for step in TIDY_INTERVALS if span / step <= OCCUPANCY_POINTS), TIDY_INTERVALS[-1]
        )
    series = occupancy_series(frame, config.start, config.end, freq_seconds=freq_seconds)
    expected = expected_occupancy(config, freq_seconds)
    seconds = np.full(len(series), float(freq_seconds))
    seconds[-1] = span - (len(series) - 1) * freq_seconds
    mean = float(np.average(series.to_numpy(), weights=seconds)) if len(series) else 0.0
    target = float(config.customers_average_in_store)
    # Times as epoch milliseconds on a date axis: sent as one compact typed array, not as text.
    when = series.index.as_unit("ms").asi8.astype(np.float64)
    fig = go.Figure(
        go.Scatter(
            x=when,
            y=np.round(series.to_numpy(), 3),
            mode="lines",
            name="inside",
            line={"shape": "hv", "color": ACCENT},
            hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>%{y:.2f} inside<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=when,
            y=np.round(expected.to_numpy(), 3),
            mode="lines",
            name="expected",
            line={"color": TARGET_COLOUR, "dash": "dash", "shape": "hv"},
            hovertemplate="%{x|%H:%M} UTC<br>%{y:.2f} expected<extra></extra>",
        )
    )
    interval = f"{freq_seconds // 3600} h" if freq_seconds % 3600 == 0 else f"{freq_seconds // 60} min"
    fig.update_layout(
        template=TEMPLATE,
        font=FONT,
        title=f"Shoppers inside: mean {mean:.2f} over the window, target {target:g} "
        f"<span style='font-size:12px'>(line: mean per {interval}; dashed: expected from "
        "target x profile)</span>",
        xaxis_title="time (UTC)",
        yaxis_title="shoppers inside",
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        height=340,
    )
    fig.update_xaxes(type="date")
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
    # Seconds of the window in each hour of the profile (of the day or the week).
    length = len(weights)
    seconds = np.zeros(length)
    first_hour, last_hour = -(-start // 3600), end // 3600
    if first_hour <= last_hour:
        whole = np.arange(first_hour, last_hour)
        rounds, rest = divmod(len(whole), length)
        seconds += rounds * 3600
        seconds[profile_hour(first_hour + np.arange(rest), length)] += 3600
        seconds[profile_hour(start // 3600, length)] += first_hour * 3600 - start
        seconds[profile_hour(last_hour, length)] += end - last_hour * 3600
    else:  # the window lies inside one hour
        seconds[profile_hour(start // 3600, length)] += end - start
    arrivals = rate * seconds
    # By hour of the day: the profile's hours 0, 24, 48, ... are midnight of successive days.
    return arrivals.reshape(-1, 24).sum(axis=0)


def arrivals_figure(frame: pd.DataFrame, config: SimConfig | None = None) -> go.Figure:
    """Arrivals (``enter`` events) per UTC hour of the day, 0 to 23; with a config, the expected ones too."""
    counts = arrivals_by_hour(frame).reindex(range(24), fill_value=0)
    fig = go.Figure(
        go.Bar(
            x=np.arange(24),
            y=counts.to_numpy(),
            name="arrivals",
            marker={"color": ACCENT},
            hovertemplate="%{x}:00 UTC<br>%{y} arrivals<extra></extra>",
        )
    )
    if config is not None:
        fig.add_trace(
            go.Scatter(
                x=np.arange(24),
                y=np.round(expected_arrivals_by_hour(config), 2),
                mode="lines+markers",
                name="expected",
                line={"color": TARGET_COLOUR, "dash": "dash"},
                hovertemplate="%{x}:00 UTC<br>%{y:.1f} expected<extra></extra>",
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        font=FONT,
        title="Store visits begun per hour of day",
        xaxis_title="hour (UTC)",
        yaxis_title="arrivals",
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        height=320,
    )
    fig.update_xaxes(tickmode="array", tickvals=list(range(24)), range=[-0.5, 23.5])
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
        font=FONT,
        title="Arrival profile",
        xaxis_title="hour (UTC)",
        yaxis_title="rate / mean rate",
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    fig.update_xaxes(tickmode="array", tickvals=list(range(24)), range=[-0.5, 23.5])
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
    path: pd.DataFrame,
    store: SimConfig | FloorPlan,
    *,
    step: int | None = None,
    title: str = "Journey",
) -> go.Figure:
    """A path (the events of one visit, in time order) drawn on the store grid.

    The walk so far is a grey line with arrows coloured from early (light) to late (dark), each
    pointing the way the shopper went; the large marker is where the shopper is at ``step``
    (0 is the enter). The title counts positions from 1: "position 5 of 12".
    """
    plan = _plan(store)
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
            z=np.zeros((plan.height, plan.width)),
            x=np.arange(plan.width),
            y=np.arange(plan.height),
            colorscale=[[0, "#f2f2f2"], [1, "#f2f2f2"]],
            showscale=False,
            xgap=1,
            ygap=1,
            hoverinfo="skip",
            name="floor",
        )
    )
    _draw_floor(fig, plan)
    fig.add_trace(
        go.Scatter(
            x=xs[shown],
            y=ys[shown],
            mode="lines",
            name="walked",
            line={"color": "#b0b0b0", "width": 2},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs[shown],
            y=ys[shown],
            mode="markers",
            name="path",
            marker={
                # An arrow per position, turned the way the shopper came from the one before.
                "symbol": "arrow",
                "angleref": "previous",
                "size": 11,
                "color": np.arange(len(path))[shown],
                "colorscale": "Viridis",
                "reversescale": True,
                "cmin": 0,
                "cmax": max(len(path) - 1, 1),
                "colorbar": {
                    "title": {"text": "position", "side": "right"},
                    "orientation": "h",
                    "x": 0.5,
                    "xanchor": "center",
                    "y": -0.2,
                    "yanchor": "top",
                    "len": 0.7,
                    "thickness": 10,
                    "tickvals": [0, max(len(path) - 1, 1)],
                    "ticktext": ["early", "late"],
                },
            },
            customdata=np.column_stack([np.arange(len(path))[shown] + 1, since[shown], events[shown]]),
            hovertemplate="position %{customdata[0]}: %{customdata[2]} at x=%{x}, y=%{y}<br>"
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
                marker={"size": 18, "color": DOOR_COLOUR, "line": {"width": 2, "color": "white"}},
                hovertemplate=f"position {last + 1}: {events[last]} at x=%{{x}}, y=%{{y}}<extra></extra>",
                showlegend=False,
            )
        )
        title = f"{title}: position {last + 1} of {len(path)} ({events[last]}, +{int(since[last])} s)"
    _store_axes(fig, plan.width, plan.height)
    _store_layout(fig, title)
    fig.update_layout(margin={"b": 90})
    return fig


def path_counts(path: pd.DataFrame) -> dict[str, int]:
    """Events of each type in a path (handy for captions): ``{"enter": 1, "move": n, "exit": 1}``."""
    events = path["event"].astype("str")
    return {name: int((events == name).sum()) for name in ("enter", "move", "exit")}


def department_figure(stats: pd.DataFrame) -> go.Figure:
    """Visits, dwell and focus events per department, side by side on one shared department axis.

    Args:
        stats: :func:`customersim.metrics.department_stats` of a frame.
    """
    from plotly.subplots import make_subplots

    names = [str(n) for n in stats.index]
    fig = make_subplots(
        rows=1,
        cols=3,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=("visits that reached it", "dwell (minutes)", "focus events"),
    )
    columns = (("visits", 1.0, ",.0f"), ("dwell_seconds", 1 / 60, ",.1f"), ("focus", 1.0, ",.0f"))
    for col, (column, scale, fmt) in enumerate(columns, start=1):
        fig.add_trace(
            go.Bar(
                x=stats[column].to_numpy(dtype=float) * scale,
                y=names,
                orientation="h",
                name=column,
                marker_color=ACCENT,
                hovertemplate=f"%{{y}}: %{{x:{fmt}}}<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(
        template=TEMPLATE,
        font=FONT,
        title={"text": "Departments: visits, dwell and focus"},
        height=max(260, 60 + 24 * len(names)),
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
    )
    return fig


def transitions_figure(matrix: pd.DataFrame) -> go.Figure:
    """The department-to-department transition counts as a heatmap: rows left, columns next.

    Args:
        matrix: :func:`customersim.metrics.department_transitions` of a frame.
    """
    names = [str(n) for n in matrix.index]
    fig = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(),
            x=[str(n) for n in matrix.columns],
            y=names,
            colorscale="Blues",
            xgap=1,
            ygap=1,
            colorbar={"title": {"text": "moves", "side": "right"}, "thickness": 12},
            hovertemplate="from %{y} to %{x}: %{z:,.0f}<extra></extra>",
            name="transitions",
        )
    )
    fig.update_xaxes(title_text="next department", type="category", tickangle=-45)
    fig.update_yaxes(title_text="department left", type="category", autorange="reversed")
    fig.update_layout(
        template=TEMPLATE,
        font=FONT,
        title={"text": "From department to department (stays in a row of one visit)"},
        height=max(320, 140 + 22 * len(names)),
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    return fig


__all__ = [
    "FloorPlan",
    "arrivals_figure",
    "department_figure",
    "dwell_heatmap",
    "expected_arrivals_by_hour",
    "expected_occupancy",
    "floor_plan",
    "journey_figure",
    "occupancy_figure",
    "path_counts",
    "path_figure",
    "profile_figure",
    "store_heatmap",
    "transitions_figure",
    "visits_heatmap",
]
