"""A fidelity report: how believable a dataset of shopper events is, as one HTML file.

An analyst handed a synthetic dataset asks whether it behaves like a store: is the number
inside on target hour by hour and day by day, how long do visits and stays at a cell last,
which departments draw shoppers and in which order, how long the checkout takes, and whether
customers come back. :func:`describe` measures all of that from an events frame (ours or one
read back from a file); :func:`compare` puts two descriptions side by side with distance
figures (Kolmogorov-Smirnov distance of visit length and dwell, difference of hourly
occupancy); :func:`report_html` writes the lot as one self-contained HTML page whose plotly
figures work offline.

A table sets the headline figures beside published figures for real stores, each with its
source, so a reader can judge the data against the world and not only against its settings.
Nothing here reads or writes files: the ``report`` command does that.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from customersim import metrics
from customersim.profiles import WEEKDAYS_SHORT

# Published figures for real stores: (what, value, how ours is measured, source).
REFERENCE_FIGURES: tuple[tuple[str, str, str, str], ...] = (
    (
        "Mean grocery trip length",
        "41 min",
        "mean_visit_minutes",
        "Time Use Institute, 'Grocery Shopping: Who, Where and When' (2008), from the American "
        "Time Use Survey",
    ),
    (
        "Share of the store a trip covers",
        "less than half of the store's area",
        "share_of_cells_visited",
        "Hui, Inman, Huang and Suher, 'The Effect of In-Store Travel Distance on Unplanned "
        "Spending', Journal of Marketing 77(2), 2013",
    ),
    (
        "Share of time spent selecting (in a department) rather than in transit",
        "about 20 %",
        "share_of_time_in_departments",
        "Sorensen, 'Inside the Mind of the Shopper' (2009)",
    ),
    (
        "Where shoppers walk",
        "the perimeter is the main route, with short trips into aisles",
        "share_of_moves_on_perimeter",
        "Larson, Bradlow and Fader, 'An exploratory look at supermarket shopping paths', "
        "International Journal of Research in Marketing 22(4), 2005",
    ),
)


@dataclass
class Description:
    """What :func:`describe` measured in one dataset."""

    name: str
    start: int
    end: int
    target: float | None
    headline: dict[str, float]
    hourly_occupancy: pd.Series  # mean inside per (weekday, hour) present in the window
    visit_minutes: np.ndarray  # lengths of whole visits
    dwell_seconds: np.ndarray  # stays at one cell
    visits_per_customer: pd.Series  # how many customers made 1, 2, 3, ... visits
    department_visits: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    focus_counts: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    transitions: pd.DataFrame = field(default_factory=pd.DataFrame)
    checkout_minutes: np.ndarray = field(default_factory=lambda: np.empty(0))


def describe(
    frame: pd.DataFrame,
    *,
    name: str = "dataset",
    target: float | None = None,
    start: int | None = None,
    end: int | None = None,
    layout=None,
) -> Description:
    """Measure an events frame for the report.

    Args:
        frame: an events frame (columns ``ts``, ``event``, ``customer_id``, ``x``, ``y``;
            ``visit`` and ``dep`` are used when present).
        name: how the report calls this dataset.
        target: the intended time-average number inside, if known.
        start, end: the window in epoch seconds (default: first event to last event).
        layout: the store's :class:`customersim.layout.StoreLayout`, when known: its checkout
            lines give the queue waits (otherwise cells whose ``dep`` is "checkout" do).

    Raises:
        ValueError: the frame has no events.
    """
    if frame.empty:
        raise ValueError(f"{name}: the dataset has no events")
    ts = frame["ts"].to_numpy(dtype=np.int64)
    lo = int(ts.min()) if start is None else int(start)
    hi = int(ts.max()) + 1 if end is None else int(end)
    events = frame["event"].astype("str").to_numpy()
    visits = metrics.visit_table(frame)
    whole = visits[visits["complete"]]
    visit_minutes = whole["duration"].to_numpy(dtype=np.float64) / 60
    keys = metrics.visit_keys(frame)
    dwell, stay_deps = _stays(frame, keys, events, hi)

    per_minute = metrics.occupancy_series(frame, lo, hi, freq_seconds=60)
    hourly = per_minute.groupby([per_minute.index.day_of_week, per_minute.index.hour]).mean()
    hourly.index.names = ["weekday", "hour"]

    counts = visits.groupby("customer_id", observed=True).size()
    visits_per_customer = counts.value_counts().sort_index()
    visits_per_customer.index.name = "visits"

    cells = frame["y"].to_numpy(np.int64) * (int(frame["x"].max()) + 1) + frame["x"].to_numpy(np.int64)
    width, height = int(frame["x"].max()) + 1, int(frame["y"].max()) + 1
    headline = {
        "events": float(len(frame)),
        "visits": float(len(visits)),
        "customers": float(visits["customer_id"].nunique()),
        "mean_inside": metrics.mean_occupancy(frame, lo, hi, visits=visits),
        "mean_visit_minutes": float(visit_minutes.mean()) if len(visit_minutes) else float("nan"),
        "median_dwell_seconds": float(np.median(dwell)) if len(dwell) else float("nan"),
        "share_of_cells_visited": _share_of_cells_visited(keys, cells, len(np.unique(cells))),
        "share_of_moves_on_perimeter": _share_on_perimeter(frame, events, width, height),
        "repeat_customers": float((counts > 1).mean()) if len(counts) else float("nan"),
    }
    description = Description(
        name=name,
        start=lo,
        end=hi,
        target=target,
        headline=headline,
        hourly_occupancy=hourly,
        visit_minutes=visit_minutes,
        dwell_seconds=dwell,
        visits_per_customer=visits_per_customer,
    )
    # Every frame has a dep column now; the open store leaves it empty.
    if "dep" in frame.columns and frame["dep"].notna().any():
        _describe_departments(description, frame, keys, events, dwell, stay_deps)
    if layout is not None and len(layout.checkouts):
        waits = metrics.queue_waits(frame, layout)
        description.checkout_minutes = waits.to_numpy(np.float64) / 60
        if len(waits):
            description.headline["mean_queue_wait_seconds"] = float(waits.mean())
    return description


def _stays(
    frame: pd.DataFrame, keys: np.ndarray, events: np.ndarray, end: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Every stay at one cell: its length in seconds and its department (None without ``dep``).

    A stay runs from the event that brings a shopper to a cell to the visit's next event at
    another cell; focus events happen during a stay and do not end it.
    """
    order = np.lexsort((np.arange(len(frame)), keys))
    kept = order[events[order] != "focus"]
    ts = frame["ts"].to_numpy(np.int64)[kept]
    key = keys[kept]
    x = frame["x"].to_numpy(np.int64)[kept]
    y = frame["y"].to_numpy(np.int64)[kept]
    kinds = events[kept]
    moved = np.r_[True, (x[1:] != x[:-1]) | (y[1:] != y[:-1])]
    new_visit = np.r_[True, key[1:] != key[:-1]]
    # A stay starts at a visit's first row or where the cell changes, and lasts until the
    # visit's next stay starts; a visit's last stay ends at its exit, or at the window's end.
    start_rows = np.flatnonzero(new_visit | moved)
    next_start = np.r_[start_rows[1:], len(ts)]
    last_row = next_start - 1
    continues = next_start < len(ts)
    continues[continues] = ~new_visit[next_start[continues]]
    ends = np.where(kinds[last_row] == "exit", ts[last_row], end)
    ends = np.where(continues, ts[np.minimum(next_start, len(ts) - 1)], ends)
    lengths = np.maximum(ends - ts[start_rows], 0)
    exit_rows = kinds[start_rows] == "exit"
    lengths, start_rows = lengths[~exit_rows], start_rows[~exit_rows]
    deps = frame["dep"].to_numpy(dtype=object)[kept][start_rows] if "dep" in frame.columns else None
    return lengths.astype(np.float64), deps


def _share_of_cells_visited(keys: np.ndarray, cells: np.ndarray, cells_seen: int) -> float:
    """Mean share of the store's seen cells that one visit steps into."""
    if cells_seen == 0:
        return float("nan")
    per_visit = pd.DataFrame({"visit": keys, "cell": cells}).drop_duplicates().groupby("visit").size()
    return float(per_visit.mean() / cells_seen)


def _share_on_perimeter(frame: pd.DataFrame, events: np.ndarray, width: int, height: int) -> float:
    """Share of moves onto cells within one cell of the store's outer edge."""
    moves = events == "move"
    if not moves.any():
        return float("nan")
    x = frame["x"].to_numpy(np.int64)[moves]
    y = frame["y"].to_numpy(np.int64)[moves]
    edge = (x <= 1) | (y <= 1) | (x >= width - 2) | (y >= height - 2)
    return float(edge.mean())


def _describe_departments(
    description: Description,
    frame: pd.DataFrame,
    keys: np.ndarray,
    events: np.ndarray,
    dwell: np.ndarray,
    stay_deps: np.ndarray | None,
) -> None:
    dep = frame["dep"].astype("object")
    has_dep = dep.notna().to_numpy()
    pairs = pd.DataFrame({"visit": keys[has_dep], "dep": dep[has_dep].astype(str).to_numpy()})
    description.department_visits = pairs.drop_duplicates().groupby("dep").size().sort_values(ascending=False)
    focus = events == "focus"
    description.focus_counts = (
        dep[focus & has_dep].astype(str).value_counts().reindex(description.department_visits.index).fillna(0)
    ).astype("int64")
    # Department to department: consecutive different departments within one visit.
    order = np.lexsort((frame["ts"].to_numpy()[has_dep], keys[has_dep]))
    seq = pairs.iloc[order].reset_index(drop=True)
    changed = np.r_[True, (seq["dep"].to_numpy()[1:] != seq["dep"].to_numpy()[:-1])]
    changed |= np.r_[True, seq["visit"].to_numpy()[1:] != seq["visit"].to_numpy()[:-1]]
    runs = seq[changed].reset_index(drop=True)
    same_visit = runs["visit"].to_numpy()[1:] == runs["visit"].to_numpy()[:-1]
    moves = pd.DataFrame(
        {"from": runs["dep"].to_numpy()[:-1][same_visit], "to": runs["dep"].to_numpy()[1:][same_visit]}
    )
    description.transitions = moves.groupby(["from", "to"]).size().unstack(fill_value=0)
    if stay_deps is not None and len(dwell):
        total = dwell.sum()
        in_dep = dwell[pd.notna(stay_deps) & (pd.Series(stay_deps).astype(str).str.lower() != "checkout")]
        description.headline["share_of_time_in_departments"] = (
            float(in_dep.sum() / total) if total else np.nan
        )
    checkout = dep.astype(str).str.lower().eq("checkout").to_numpy()
    if checkout.any():
        table = pd.DataFrame(
            {"visit": keys, "ts": frame["ts"].to_numpy(), "checkout": checkout, "event": events}
        )
        first = table[table["checkout"]].groupby("visit")["ts"].min()
        leave = table[table["event"] == "exit"].groupby("visit")["ts"].max()
        both = pd.concat([first, leave], axis=1, keys=["first", "exit"]).dropna()
        description.checkout_minutes = ((both["exit"] - both["first"]) / 60).to_numpy(np.float64)


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance: the largest gap between the two empirical CDFs."""
    a, b = np.sort(np.asarray(a, np.float64)), np.sort(np.asarray(b, np.float64))
    if not len(a) or not len(b):
        return float("nan")
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / len(a)
    cdf_b = np.searchsorted(b, points, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


def compare(first: Description, second: Description) -> dict[str, float]:
    """Distances between two datasets; small numbers mean they look alike.

    Returns:
        ``ks_visit_minutes`` and ``ks_dwell_seconds`` (0 to 1), ``hourly_occupancy_mae`` and
        ``hourly_occupancy_max`` (customers, over the (weekday, hour) slots both cover), and
        ``mean_inside_difference``.
    """
    shared = first.hourly_occupancy.index.intersection(second.hourly_occupancy.index)
    gap = (first.hourly_occupancy.loc[shared] - second.hourly_occupancy.loc[shared]).abs()
    return {
        "ks_visit_minutes": ks_distance(first.visit_minutes, second.visit_minutes),
        "ks_dwell_seconds": ks_distance(first.dwell_seconds, second.dwell_seconds),
        "hourly_occupancy_mae": float(gap.mean()) if len(gap) else float("nan"),
        "hourly_occupancy_max": float(gap.max()) if len(gap) else float("nan"),
        "mean_inside_difference": first.headline["mean_inside"] - second.headline["mean_inside"],
    }


def report_html(first: Description, second: Description | None = None) -> str:
    """The report as one self-contained HTML page (plotly.js inline, opens offline)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    datasets = [first] if second is None else [first, second]
    figures: list[tuple[str, go.Figure]] = []

    occupancy = go.Figure()
    for d in datasets:
        labels = [f"{WEEKDAYS_SHORT[w]} {h:02d}:00" for w, h in d.hourly_occupancy.index]
        occupancy.add_trace(go.Scatter(x=labels, y=d.hourly_occupancy.to_numpy(), mode="lines", name=d.name))
        if d.target is not None:
            occupancy.add_hline(y=d.target, line_dash="dot", annotation_text=f"target {d.target:g}")
    occupancy.update_layout(title="Mean number inside by weekday and hour (UTC)", yaxis_title="inside")
    figures.append(("occupancy", occupancy))

    for title, attribute, unit in (
        ("Visit length, door to door", "visit_minutes", "minutes"),
        ("Stay at one cell (dwell)", "dwell_seconds", "seconds"),
    ):
        fig = go.Figure()
        for d in datasets:
            fig.add_trace(go.Histogram(x=getattr(d, attribute), name=d.name, histnorm="percent", opacity=0.6))
        fig.update_layout(title=title, barmode="overlay", xaxis_title=unit, yaxis_title="% of all")
        figures.append((attribute, fig))

    repeat = go.Figure()
    for d in datasets:
        share = 100 * d.visits_per_customer / max(d.visits_per_customer.sum(), 1)
        repeat.add_trace(go.Bar(x=share.index.astype(str), y=share.to_numpy(), name=d.name))
    repeat.update_layout(title="Visits per customer", xaxis_title="visits", yaxis_title="% of customers")
    figures.append(("repeat", repeat))

    if any(len(d.department_visits) for d in datasets):
        deps = go.Figure()
        for d in datasets:
            deps.add_trace(
                go.Bar(
                    x=d.department_visits.index, y=d.department_visits.to_numpy(), name=f"{d.name}: visits"
                )
            )
            deps.add_trace(
                go.Bar(x=d.focus_counts.index, y=d.focus_counts.to_numpy(), name=f"{d.name}: focus")
            )
        deps.update_layout(title="Visits and focus events per department", barmode="group")
        figures.append(("departments", deps))
        for d in datasets:
            if not d.transitions.empty:
                matrix = go.Figure(
                    go.Heatmap(
                        z=d.transitions.to_numpy(),
                        x=list(d.transitions.columns),
                        y=list(d.transitions.index),
                        colorscale="Blues",
                        colorbar_title="walks",
                    )
                )
                matrix.update_layout(
                    title=f"{d.name}: department to department", xaxis_title="to", yaxis_title="from"
                )
                figures.append((f"transitions-{d.name}", matrix))
    if any(len(d.checkout_minutes) for d in datasets):
        queue = go.Figure()
        for d in datasets:
            queue.add_trace(go.Histogram(x=d.checkout_minutes, name=d.name, histnorm="percent", opacity=0.6))
        queue.update_layout(title="Checkout: from joining the lane to leaving", xaxis_title="minutes")
        figures.append(("checkout", queue))

    parts = []
    for index, (_, fig) in enumerate(figures):
        fig.update_layout(template="plotly_white", height=380, margin={"t": 50, "b": 40})
        parts.append(
            pio.to_html(fig, full_html=False, include_plotlyjs=index == 0, config={"displaylogo": False})
        )

    names = " vs ".join(html.escape(d.name) for d in datasets)
    body = [f"<h1>Fidelity report: {names}</h1>", _headline_table(datasets), _reference_table(datasets)]
    if second is not None:
        body.append(_distance_table(compare(first, second)))
    body.extend(f'<div class="figure">{part}</div>' for part in parts)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>customersim report: {names}</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left}th{background:#f3f3f3}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


_HEADLINE_LABELS = {
    "events": ("Events", "{:,.0f}"),
    "visits": ("Visits", "{:,.0f}"),
    "customers": ("Customers", "{:,.0f}"),
    "mean_inside": ("Mean number inside", "{:.2f}"),
    "mean_visit_minutes": ("Mean visit length (min)", "{:.1f}"),
    "median_dwell_seconds": ("Median stay at a cell (s)", "{:.0f}"),
    "share_of_cells_visited": ("Share of the store one visit steps into", "{:.0%}"),
    "share_of_moves_on_perimeter": ("Share of moves on the perimeter", "{:.0%}"),
    "share_of_time_in_departments": ("Share of time in departments", "{:.0%}"),
    "repeat_customers": ("Customers who came more than once", "{:.0%}"),
    "mean_queue_wait_seconds": ("Mean time at the checkout, queue and service (s)", "{:.0f}"),
}


def _format(key: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    return _HEADLINE_LABELS[key][1].format(value)


def _headline_table(datasets: list[Description]) -> str:
    head = "".join(f"<th>{html.escape(d.name)}</th>" for d in datasets)
    rows = []
    for key, (label, _) in _HEADLINE_LABELS.items():
        cells = "".join(f"<td>{_format(key, d.headline.get(key))}</td>" for d in datasets)
        rows.append(f"<tr><td>{label}</td>{cells}</tr>")
    targets = "".join(f"<td>{'n/a' if d.target is None else f'{d.target:g}'}</td>" for d in datasets)
    rows.append(f"<tr><td>Target number inside</td>{targets}</tr>")
    return f"<h2>Headline figures</h2><table><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def _reference_table(datasets: list[Description]) -> str:
    head = "".join(f"<th>{html.escape(d.name)}</th>" for d in datasets)
    rows = []
    for what, value, key, source in REFERENCE_FIGURES:
        ours = "".join(f"<td>{_format(key, d.headline.get(key))}</td>" for d in datasets)
        rows.append(
            f"<tr><td>{html.escape(what)}</td><td>{html.escape(value)}</td>{ours}<td>{html.escape(source)}</td></tr>"
        )
    return (
        "<h2>Against real stores</h2><table><tr><th>figure</th><th>published</th>"
        f"{head}<th>source</th></tr>{''.join(rows)}</table>"
    )


def _distance_table(distances: dict[str, float]) -> str:
    labels = {
        "ks_visit_minutes": "KS distance of visit length (0 = same, 1 = disjoint)",
        "ks_dwell_seconds": "KS distance of stays at a cell",
        "hourly_occupancy_mae": "Mean absolute difference of hourly occupancy (customers)",
        "hourly_occupancy_max": "Largest difference of hourly occupancy (customers)",
        "mean_inside_difference": "Difference of mean number inside (first minus second)",
    }
    rows = "".join(f"<tr><td>{labels[k]}</td><td>{v:.3f}</td></tr>" for k, v in distances.items())
    return f"<h2>Distances</h2><table>{rows}</table>"
