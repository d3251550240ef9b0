"""What an events frame says about the store: occupancy, busy cells, visits.

Every function takes an events frame (ours, or one read back from a file) and returns numbers,
arrays or frames; nothing here draws or writes. Grids come back as ``(height, width)`` arrays
indexed ``[y, x]``, the same ``x`` and ``y`` as the events and the MQTT payloads.

A frame is a window of time: visits already going on at its start have no ``enter`` and visits
still going on at its end have no ``exit``. Occupancy counts them inside for the part of the
window they cover, which is why these functions take the window's ``start`` and ``end``
(default: the first and last event).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from customersim.frame import ENTER, EXIT, FOCUS, MOVE, event_codes
from customersim.profiles import HOURS_PER_WEEK, WEEKDAYS, profile_hour
from customersim.tally import OccupancyTally  # noqa: F401  (defined apart, without pandas)

if TYPE_CHECKING:
    from customersim.config import SimConfig
    from customersim.floorplan import Floorplan
    from customersim.layout import StoreLayout


def visit_keys(frame: pd.DataFrame) -> np.ndarray:
    """A number per row that identifies its visit.

    Uses the ``visit`` column when there is one; otherwise a visit is a customer's run of events
    from one ``enter`` to the next.
    """
    if "visit" in frame.columns:
        return frame["visit"].to_numpy(dtype=np.int64)
    customer = pd.factorize(frame["customer_id"].astype("str"))[0].astype(np.int64)
    enters = (frame["event"].to_numpy() == "enter").astype(np.int64)
    order = np.lexsort((np.arange(len(frame)), customer))
    run = np.empty(len(frame), dtype=np.int64)
    counts = np.cumsum(enters[order])
    first = np.r_[True, customer[order][1:] != customer[order][:-1]]
    counts -= np.maximum.accumulate(np.where(first, counts - enters[order], 0))
    run[order] = counts
    return customer * (len(frame) + 1) + run


def _window(frame: pd.DataFrame, start: int | None, end: int | None) -> tuple[int, int]:
    ts = frame["ts"].to_numpy()
    lo = int(ts.min()) if start is None and len(ts) else int(start or 0)
    hi = int(ts.max()) + 1 if end is None and len(ts) else int(end or lo + 1)
    return lo, max(hi, lo + 1)


def visit_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per visit: customer, entry and exit time, length and path length.

    Columns: ``visit``, ``customer_id``, ``first_ts``, ``last_ts``, ``enter_ts`` and
    ``exit_ts`` (missing when the visit began before or ends after the window), ``duration``
    (seconds, only for whole visits), ``moves`` (cells stepped into) and ``complete``.
    """
    keys = visit_keys(frame)
    codes = event_codes(frame, strict=True)
    ts = frame["ts"].to_numpy()
    grouped = pd.DataFrame(
        {"visit": keys, "ts": ts, "code": codes, "customer_id": frame["customer_id"].to_numpy()}
    ).groupby("visit", sort=True)
    first = grouped.first()
    last = grouped.last()
    table = pd.DataFrame(
        {
            "customer_id": first["customer_id"],
            "first_ts": first["ts"],
            "last_ts": last["ts"],
            "enter_ts": first["ts"].where(first["code"] == ENTER).astype("Int64"),
            "exit_ts": last["ts"].where(last["code"] == EXIT).astype("Int64"),
            "moves": pd.Series(codes == MOVE).groupby(keys).sum().astype("int64"),
        }
    )
    table["duration"] = (table["exit_ts"] - table["enter_ts"]).astype("Int64")
    table["complete"] = table["duration"].notna().to_numpy(dtype=bool)
    table.index.name = "visit"
    return table.reset_index()


def visit_intervals(
    frame: pd.DataFrame,
    start: int | None = None,
    end: int | None = None,
    *,
    visits: pd.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each visit's time inside, clipped to the window: (from, until) arrays in epoch seconds.

    ``visits`` is the frame's :func:`visit_table`, when the caller has it already.
    """
    lo, hi = _window(frame, start, end)
    if frame.empty:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    table = visit_table(frame) if visits is None else visits
    since = table["enter_ts"].fillna(lo).to_numpy(dtype=np.int64)
    until = table["exit_ts"].fillna(hi).to_numpy(dtype=np.int64)
    return np.clip(since, lo, hi), np.clip(until, lo, hi)


def mean_occupancy(
    frame: pd.DataFrame,
    start: int | None = None,
    end: int | None = None,
    *,
    visits: pd.DataFrame | None = None,
) -> float:
    """Time-average number of customers inside over the window ``[start, end)``.

    ``visits`` is the frame's :func:`visit_table`, when the caller has it already.
    """
    lo, hi = _window(frame, start, end)
    since, until = visit_intervals(frame, lo, hi, visits=visits)
    return float((until - since).sum() / (hi - lo))


def occupancy_series(
    frame: pd.DataFrame, start: int | None = None, end: int | None = None, freq_seconds: int = 60
) -> pd.Series:
    """Average number inside per interval (default: per minute), indexed by UTC time.

    The count is exact to the second: each interval's value is the mean of the per-second
    number of customers inside.
    """
    lo, hi = _window(frame, start, end)
    since, until = visit_intervals(frame, lo, hi)
    span = hi - lo
    change = np.zeros(span + 1, dtype=np.int32)
    np.add.at(change, since - lo, 1)
    np.add.at(change, until - lo, -1)
    inside = np.cumsum(change[:-1], dtype=np.int32)
    bins = -(-span // freq_seconds)
    padded = np.zeros(bins * freq_seconds, dtype=np.float64)
    padded[:span] = inside
    seconds = np.full(bins, freq_seconds, dtype=np.float64)
    seconds[-1] = span - (bins - 1) * freq_seconds
    values = padded.reshape(bins, freq_seconds).sum(axis=1) / seconds
    index = pd.to_datetime(lo + np.arange(bins, dtype=np.int64) * freq_seconds, unit="s", utc=True)
    return pd.Series(values, index=index, name="inside")


def visits_per_cell(frame: pd.DataFrame, width: int, height: int) -> np.ndarray:
    """How often each cell's sensor saw a customer arrive (enter or move): (height, width) ints."""
    codes = event_codes(frame, strict=True)
    arriving = (codes == ENTER) | (codes == MOVE)
    cells = frame["y"].to_numpy()[arriving].astype(np.int64) * width + frame["x"].to_numpy()[arriving]
    return np.bincount(cells, minlength=width * height)[: width * height].reshape(height, width)


def dwell_seconds_per_cell(
    frame: pd.DataFrame, width: int, height: int, end: int | None = None
) -> np.ndarray:
    """Seconds customers spent at each cell: (height, width) floats.

    A stay lasts from the event that brought a customer to a cell to their next event; a stay
    still going on at the end of the window counts up to ``end`` (default: the last event).
    """
    if frame.empty:
        return np.zeros((height, width))
    _, hi = _window(frame, None, end)
    keys = visit_keys(frame)
    order = np.argsort(keys, kind="stable")
    ts = frame["ts"].to_numpy()[order]
    codes = event_codes(frame, strict=True)[order]
    same_visit_next = np.r_[keys[order][1:] == keys[order][:-1], False]
    next_ts = np.r_[ts[1:], hi]
    stay = np.where(same_visit_next, next_ts, hi) - ts
    stay = np.where(codes == EXIT, 0, np.maximum(stay, 0))
    cells = frame["y"].to_numpy()[order].astype(np.int64) * width + frame["x"].to_numpy()[order]
    totals = np.bincount(cells, weights=stay, minlength=width * height)[: width * height]
    return totals.reshape(height, width)


def _stays(frame: pd.DataFrame, end: int | None = None) -> pd.DataFrame:
    """Every event that places a shopper in a cell, with how long they stay: visit, dep, seconds.

    Rows are in visit order, then time order; focus events (which do not move anyone) and exits
    are left out, so a stay lasts until the shopper's next move or exit.
    """
    _, hi = _window(frame, None, end)
    codes = event_codes(frame, strict=True)
    keep = codes != FOCUS
    keys = visit_keys(frame)[keep]
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    ts = frame["ts"].to_numpy()[keep][order]
    codes = codes[keep][order]
    if "dep" in frame.columns:
        dep = frame["dep"].astype("object").to_numpy()[keep][order]
    else:
        dep = np.full(len(ts), None, dtype=object)
    same_next = np.r_[keys[1:] == keys[:-1], False]
    seconds = np.where(same_next, np.r_[ts[1:], hi], hi) - ts
    placed = codes != EXIT
    return pd.DataFrame(
        {
            "visit": keys[placed],
            "dep": dep[placed],
            "ts": ts[placed],
            "seconds": np.maximum(seconds, 0)[placed],
        }
    )


def department_stats(frame: pd.DataFrame, end: int | None = None) -> pd.DataFrame:
    """Per department: visits that reached it, stays, dwell seconds and focus events.

    A stay is an unbroken run of a visit's moves inside one department. Departments come from
    the frame's ``dep`` column (in its category order when it is a category), so a frame of the
    open store (no departments) gives an empty table.

    Returns:
        A frame indexed by department with ``visits``, ``stays``, ``dwell_seconds``,
        ``mean_stay_seconds`` and ``focus``.
    """
    names = _department_names(frame)
    stays = _stays(frame, end)
    inside = stays[stays["dep"].notna()]
    new_run = (inside["dep"].to_numpy()[1:] != inside["dep"].to_numpy()[:-1]) | (
        inside["visit"].to_numpy()[1:] != inside["visit"].to_numpy()[:-1]
    )
    runs = inside.assign(run=np.cumsum(np.r_[True, new_run]) if len(inside) else [])
    grouped = runs.groupby("dep", sort=False)
    codes = event_codes(frame, strict=True) if len(frame) else np.empty(0, np.int8)
    focus = (
        frame.loc[codes == FOCUS, "dep"].astype("object").value_counts()
        if "dep" in frame.columns
        else pd.Series(dtype="int64")
    )
    table = pd.DataFrame(
        {
            "visits": grouped["visit"].nunique(),
            "stays": grouped["run"].nunique(),
            "dwell_seconds": grouped["seconds"].sum(),
        }
    ).reindex(names)
    table = table.fillna(0).astype({"visits": "int64", "stays": "int64", "dwell_seconds": "float64"})
    table["mean_stay_seconds"] = table["dwell_seconds"] / table["stays"].where(table["stays"] > 0)
    table["focus"] = focus.reindex(names).fillna(0).astype("int64").to_numpy()
    table.index.name = "dep"
    return table


def department_transitions(frame: pd.DataFrame) -> pd.DataFrame:
    """How often shoppers went from one department's stay to another's: a square count frame.

    Rows are the department left, columns the next department a visit stayed in (whatever
    floor lay between); a visit's stays in order make one transition per consecutive pair.
    """
    names = _department_names(frame)
    stays = _stays(frame)
    inside = stays[stays["dep"].notna()]
    dep, visit = inside["dep"].to_numpy(), inside["visit"].to_numpy()
    change = np.r_[True, (dep[1:] != dep[:-1]) | (visit[1:] != visit[:-1])] if len(dep) else []
    dep, visit = dep[change], visit[change]
    same = visit[1:] == visit[:-1]
    pairs = pd.DataFrame({"from": dep[:-1][same], "to": dep[1:][same]})
    matrix = pd.crosstab(pairs["from"], pairs["to"]).reindex(index=names, columns=names, fill_value=0)
    matrix.index.name, matrix.columns.name = "from", "to"
    return matrix.astype("int64")


def path_lengths(frame: pd.DataFrame) -> pd.Series:
    """Cells walked (moves) per visit, indexed by visit."""
    table = visit_table(frame)
    return table.set_index("visit")["moves"].rename("path_length")


def _department_names(frame: pd.DataFrame) -> list[str]:
    if "dep" not in frame.columns:
        return []
    column = frame["dep"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        return [str(c) for c in column.cat.categories]
    return sorted(set(column.dropna().astype(str)))


def visit_path(frame: pd.DataFrame, visit: int) -> pd.DataFrame:
    """The events of one visit in time order (by the ``visit`` column or inferred visits)."""
    return frame[visit_keys(frame) == visit].sort_values("ts", kind="stable")


def journey_stats(frame: pd.DataFrame) -> dict[str, float]:
    """Headline numbers of the whole visits in a frame: counts, lengths and path lengths."""
    table = visit_table(frame)
    whole = table[table["complete"]]
    minutes = whole["duration"].astype("float64") / 60
    return {
        "visits": len(table),
        "complete_visits": len(whole),
        "mean_visit_minutes": float(minutes.mean()) if len(whole) else float("nan"),
        "median_visit_minutes": float(minutes.median()) if len(whole) else float("nan"),
        "mean_moves": float(whole["moves"].mean()) if len(whole) else float("nan"),
        "median_moves": float(whole["moves"].median()) if len(whole) else float("nan"),
        "customers": int(table["customer_id"].nunique()),
    }


def arrivals_by_hour(frame: pd.DataFrame) -> pd.Series:
    """Number of ``enter`` events per UTC hour of the day (0-23)."""
    enters = frame.loc[event_codes(frame, strict=True) == ENTER, "ts"].to_numpy()
    counts = np.bincount((enters // 3600) % 24, minlength=24)
    return pd.Series(counts, index=pd.RangeIndex(24, name="hour"), name="arrivals")


def arrivals_by_weekday_hour(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean number of ``enter`` events per UTC weekday (rows) and hour (columns).

    Each weekday is averaged over the days of it the frame's window covers, so a window of
    eight days does not make its first weekday look twice as busy.
    """
    codes = event_codes(frame, strict=True)
    enters = frame.loc[codes == ENTER, "ts"].to_numpy()
    ts = frame["ts"].to_numpy()
    counts = np.zeros((7, 24))
    if len(enters):
        np.add.at(counts, np.divmod(profile_hour(enters // 3600, HOURS_PER_WEEK), 24), 1)
    days = np.zeros(7)
    if len(ts):
        covered = np.arange(ts.min() // 86400, ts.max() // 86400 + 1)
        days = np.bincount(profile_hour(covered * 24, HOURS_PER_WEEK) // 24, minlength=7).astype(np.float64)
    mean = counts / np.where(days > 0, days, np.nan)[:, None]
    return pd.DataFrame(
        mean, index=pd.Index(WEEKDAYS, name="weekday"), columns=pd.RangeIndex(24, name="hour")
    )


def visits_per_customer(frame: pd.DataFrame, customers: pd.Index | None = None) -> pd.Series:
    """How many visits each customer makes in the frame (``enter`` events), most first.

    Args:
        customers: the whole list's ids; customers who never come are then counted with 0.
    """
    ids = frame.loc[event_codes(frame, strict=True) == ENTER, "customer_id"].astype(str)
    counts = ids.value_counts().rename("visits")
    if customers is not None:
        counts = counts.reindex(pd.Index(customers, dtype=str), fill_value=0).sort_values(ascending=False)
    counts.index.name = "customer_id"
    return counts


def queue_waits(frame: pd.DataFrame, layout: StoreLayout | Floorplan | SimConfig) -> pd.Series:
    """Each visit's time at the checkout: from reaching the line to leaving the checkout.

    The service is the visit's longest stay at a checkout cell (walking past a till is one
    step); the wait begins where the visit's unbroken run of steps on checkout-line cells (any
    lane's checkout and queue cells) that ends with the service begins, and ends with the
    first step off the checkout. Visits whose line or service is cut by the window are left
    out.

    Args:
        frame: an events frame.
        layout: the store: its config, its floor plan (``config.floorplan``) or its tables.

    Returns:
        Seconds per visit (int64), indexed by visit key; empty when the layout has no checkout.
    """
    from customersim.config import SimConfig
    from customersim.floorplan import Floorplan
    from customersim.layout import StoreLayout
    from customersim.queues import checkout_lanes

    if isinstance(layout, SimConfig):
        layout = StoreLayout.from_floorplan(layout.floorplan, layout.neighbourhood)
    elif isinstance(layout, Floorplan):
        layout = StoreLayout.from_floorplan(layout)

    lanes = checkout_lanes(layout)
    empty = pd.Series([], dtype="int64", name="queue_wait_seconds")
    if lanes is None or frame.empty:
        return empty
    keys = visit_keys(frame)
    codes = event_codes(frame, strict=True)
    story = np.flatnonzero(codes != FOCUS)
    ts, visit = frame["ts"].to_numpy(np.int64)[story], keys[story]
    cell = (frame["y"].to_numpy(np.int64) * layout.width + frame["x"].to_numpy(np.int64))[story]
    order = np.lexsort((np.arange(len(story)), ts, visit))
    ts, visit, cell, code = ts[order], visit[order], cell[order], codes[story][order]
    line_cells = np.unique(
        np.concatenate([lanes.cells[k, : d + 1] for k, d in enumerate(lanes.depth.tolist())])
    )
    on_line = np.isin(cell, line_cells) & (code == MOVE)
    at_till = np.isin(cell, layout.checkouts) & (code == MOVE)
    same_next = np.r_[visit[1:] == visit[:-1], False]
    stay = np.where(at_till & same_next, np.r_[ts[1:], 0] - ts, -1)
    if not (stay > 0).any():
        return empty
    # The visit's longest stay at a till, and the run of line cells it ends.
    rows = np.flatnonzero(stay >= 0)
    best = pd.Series(stay[rows], index=rows).groupby(visit[rows]).idxmax().to_numpy()
    breaks = ~on_line | np.r_[True, visit[1:] != visit[:-1]]
    run = np.cumsum(np.r_[True, breaks[1:] | ~on_line[:-1]])
    first_row = pd.Series(np.arange(len(ts))).groupby(run).min().to_numpy()
    begin_row = first_row[run[best] - 1]
    # A run that opens the visit's story began before the window: its start is unknown.
    whole = (begin_row > 0) & (visit[np.maximum(begin_row - 1, 0)] == visit[begin_row])
    best, begin_row = best[whole], begin_row[whole]
    waits = ts[best + 1] - ts[begin_row]
    return pd.Series(
        waits, index=pd.Index(visit[best], name="visit"), dtype="int64", name="queue_wait_seconds"
    )
