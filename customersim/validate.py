"""Checks that an events frame keeps the contract and the journey rules.

Any frame can be checked, ours or one read from a file someone else wrote: the columns and
their types, the grid and its floor plan, the doors, and every customer's story in time order.
A customer is outside until an ``enter`` at an entrance door; inside they only ``move`` to a
neighbouring walkable cell (never into a shelf or wall, and a diagonal step never cuts a
shelf's corner); they ``exit`` from an exit door and are outside again. A checkout serves one
party (a shopper or a group) at a time. A ``focus`` event
happens where the shopper stands, exactly ``focus_seconds`` after they stepped into a
department they have not left since, once per such stay, naming that department. A frame is
a window of time, so a customer's first events may belong to a visit that began before it (no
``enter``), and their last visit may still be going on when it ends (no ``exit``).

With a config, the time-average number inside is also compared with the target, allowing for
sampling error (Little's law: arrival rate x mean visit length = average inside).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from customersim.config import SimConfig
from customersim.frame import ENTER, EVENT_TYPES, EXIT, FOCUS, MOVE, REQUIRED_COLUMNS, event_codes
from customersim.layout import StoreLayout

# Occupancy deviations beyond this many standard errors are reported as violations.
OCCUPANCY_SIGMAS = 5.0
MAX_MESSAGES_PER_RULE = 1000


@dataclass
class ValidationReport:
    """What :func:`validate_events` found.

    Attributes:
        violations: one row per problem: ``row`` (0-based position in the frame, -1 for the
            whole frame), ``rule`` and ``message``.
        rows: rows checked.
        mean_inside: measured time-average number of customers inside (None if not computed).
        target_inside: the config's target (None without a config).
    """

    violations: pd.DataFrame
    rows: int
    mean_inside: float | None = None
    target_inside: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.violations.empty

    def summary(self) -> str:
        occupancy = ""
        if self.mean_inside is not None and self.target_inside is not None:
            occupancy = f"; mean inside {self.mean_inside:.3f} vs target {self.target_inside:g}"
        if self.ok:
            return f"ok: {self.rows} rows, no violations{occupancy}"
        by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(self.counts.items()))
        return f"{sum(self.counts.values())} violations in {self.rows} rows ({by_rule}){occupancy}"


class _Collector:
    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []
        self.counts: dict[str, int] = {}

    def add(self, rule: str, rows: np.ndarray, messages) -> None:
        rows = np.asarray(rows)
        if rows.size == 0:
            return
        self.counts[rule] = self.counts.get(rule, 0) + int(rows.size)
        keep = slice(0, MAX_MESSAGES_PER_RULE)
        texts = messages(rows[keep]) if callable(messages) else [messages] * len(rows[keep])
        self.parts.append(
            pd.DataFrame({"row": rows[keep].astype(np.int64), "rule": rule, "message": list(texts)})
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(
                {
                    "row": pd.Series([], dtype="int64"),
                    "rule": pd.Series([], dtype="str"),
                    "message": pd.Series([], dtype="str"),
                }
            )
        return pd.concat(self.parts, ignore_index=True).sort_values(
            ["row", "rule"], kind="stable", ignore_index=True
        )


def validate_events(
    frame: pd.DataFrame, config: SimConfig | None = None, *, check_occupancy: bool = True
) -> ValidationReport:
    """Check an events frame against the contract and the journey rules.

    Args:
        frame: the events (any index; rows are addressed by position).
        config: grid size, layout (doors, walls, departments), neighbourhood and focus
            threshold to check against, and the target occupancy and window. Without one the
            defaults of :class:`SimConfig` are used for the grid and occupancy is not checked.
        check_occupancy: compare the time-average number inside over the config's window
            with its target (needs a config).

    Returns:
        A :class:`ValidationReport`; ``report.ok`` is True when nothing is broken.
    """
    found = _Collector()
    rows = len(frame)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        found.add("columns", np.array([-1]), f"missing column(s): {', '.join(missing)}")
        return ValidationReport(found.frame(), rows, counts=found.counts)
    grid = config or SimConfig()

    ts = _integers(frame["ts"], "ts", found)
    xs = _integers(frame["x"], "x", found)
    ys = _integers(frame["y"], "y", found)
    event = frame["event"].astype("object")
    known = event.isin(EVENT_TYPES).to_numpy()
    found.add(
        "event",
        np.flatnonzero(~known),
        lambda r: [f"event {event.iloc[i]!r} is not one of {', '.join(EVENT_TYPES)}" for i in r],
    )
    ids = frame["customer_id"]
    blank = (ids.isna() | (ids.astype("str").str.strip() == "")).to_numpy()
    found.add("customer_id", np.flatnonzero(blank), "customer_id is missing or blank")
    if found.counts:  # the story checks below need clean columns
        return ValidationReport(found.frame(), rows, counts=found.counts)

    code = event_codes(frame)  # every name is known by now
    found.add(
        "order",
        np.flatnonzero(np.diff(ts) < 0) + 1,
        lambda r: [f"ts {ts[i]} is earlier than the row before ({ts[i - 1]})" for i in r],
    )
    outside = (xs < 0) | (xs >= grid.width) | (ys < 0) | (ys >= grid.height)
    found.add(
        "grid",
        np.flatnonzero(outside),
        lambda r: [f"cell ({xs[i]}, {ys[i]}) is outside the {grid.width} x {grid.height} grid" for i in r],
    )
    layout = StoreLayout.from_floorplan(grid.floorplan, grid.neighbourhood)
    cell = np.where(outside, -1, ys * grid.width + xs)
    safe_cell = np.maximum(cell, 0)
    walkable = layout.walkable.ravel()
    found.add(
        "wall",
        np.flatnonzero(~outside & ~walkable[safe_cell]),
        lambda r: [f"{EVENT_TYPES[code[i]]} at ({xs[i]}, {ys[i]}), a shelf or wall" for i in r],
    )
    for kind, doors, what in ((ENTER, layout.entrances, "an entrance"), (EXIT, layout.doors, "an exit")):
        places = ", ".join(f"({c % grid.width}, {c // grid.width})" for c in doors[:6])
        found.add(
            "door",
            np.flatnonzero((code == kind) & ~np.isin(cell, doors)),
            lambda r, places=places, what=what: [
                f"{EVENT_TYPES[code[i]]} at ({xs[i]}, {ys[i]}), not at {what} door {places}" for i in r
            ],
        )

    # Each customer's events in time order, with the event before it (same customer).
    customer = pd.factorize(ids.astype("str"), sort=False)[0]
    order = np.lexsort((np.arange(rows), ts, customer))
    same = np.zeros(rows, dtype=bool)
    same[1:] = customer[order][1:] == customer[order][:-1]
    prev_pos = np.where(same, np.roll(order, 1), -1)
    has_prev = prev_pos >= 0
    cur = order
    prev = prev_pos
    c_code, p_code = code[cur], np.where(has_prev, code[prev], -1)
    ident = ids.astype("str").to_numpy()

    def where(mask):
        return cur[mask]

    found.add(
        "journey",
        where((c_code == 0) & has_prev & (p_code != 2)),
        lambda r: [f"customer {ident[i]} enters while already inside" for i in r],
    )
    found.add(
        "journey",
        where((c_code != 0) & has_prev & (p_code == 2)),
        lambda r: [f"customer {ident[i]} {EVENT_TYPES[code[i]]}s after leaving, without entering" for i in r],
    )
    inside_before = has_prev & (p_code != 2)
    dx = np.abs(xs[cur] - np.where(has_prev, xs[prev], 0))
    dy = np.abs(ys[cur] - np.where(has_prev, ys[prev], 0))
    # A step is fine when the cell is in the previous cell's row of the neighbour table, which
    # holds only walkable cells and no diagonal past a shelf's corner.
    before = safe_cell[np.where(has_prev, prev, cur)]
    columns = np.arange(layout.neighbours.shape[1])[None, :]
    step_ok = (
        (layout.neighbours[before] == safe_cell[cur][:, None]) & (columns < layout.degree[before][:, None])
    ).any(axis=1) & (cell[cur] >= 0)
    found.add(
        "step",
        where((c_code == MOVE) & inside_before & ~step_ok),
        lambda r: [
            f"customer {ident[i]} moves to ({xs[i]}, {ys[i]}), not a walkable neighbour of the previous "
            f"cell (or past a shelf's corner)"
            for i in r
        ],
    )
    found.add(
        "focus",
        where((c_code == FOCUS) & inside_before & ((dx != 0) | (dy != 0))),
        lambda r: [f"customer {ident[i]} has a focus event away from the cell they are at" for i in r],
    )
    stories = _Stories(code, ts, cell, customer, order, ident, order[code[order] != FOCUS])
    _check_focus(found, frame, layout, grid, stories)
    _check_checkouts(found, layout, grid, stories)
    found.add(
        "step",
        where((c_code == 2) & inside_before & ((dx != 0) | (dy != 0))),
        lambda r: [f"customer {ident[i]} exits without having walked back to the door" for i in r],
    )

    # A story that starts without an enter must have begun before the window opened.
    untold = cur[(c_code != 0) & ~has_prev]
    if config is not None:
        from customersim.engine import MAX_VISIT_FACTOR

        latest = config.start + MAX_VISIT_FACTOR * config.mean_visit_seconds
        found.add(
            "journey",
            untold[ts[untold] > latest],
            lambda r: [
                f"customer {ident[i]} is inside without having entered (first seen at ts "
                f"{ts[i]}, more than a longest visit after the start)"
                for i in r
            ],
        )
    if "visit" in frame.columns:
        visit = frame["visit"].to_numpy()
        owner = pd.Series(customer).groupby(visit).nunique()
        shared = np.flatnonzero(np.isin(visit, owner.index[owner.to_numpy() > 1]))
        found.add("visit", shared, lambda r: [f"visit {visit[i]} has events of several customers" for i in r])
        # Visits are numbered in order of arrival: one already inside at the start cannot be
        # newer than a visit that entered during the window.
        entered = visit[code == 0]
        if entered.size:
            first_entered = int(entered.min())
            found.add(
                "journey",
                untold[visit[untold] > first_entered],
                lambda r: [f"visit {visit[i]} of customer {ident[i]} has no enter" for i in r],
            )

    report = ValidationReport(found.frame(), rows, counts=found.counts)
    if config is not None and check_occupancy and rows:
        _check_occupancy(report, found, frame, config)
        report.violations = found.frame()
        report.counts = found.counts
    return report


@dataclass(frozen=True, eq=False)
class _Stories:
    """The columns the journey checks share, and each customer's rows in time order."""

    code: np.ndarray
    ts: np.ndarray
    cell: np.ndarray
    customer: np.ndarray
    order: np.ndarray  # every row, by customer then time
    ident: np.ndarray  # the customer id of each row, as text
    placing: np.ndarray  # ``order`` without focus rows: the rows that place the shopper


def _check_focus(
    found: _Collector, frame: pd.DataFrame, layout: StoreLayout, config: SimConfig, stories: _Stories
) -> None:
    """Focus events against the stays in departments, in each customer's time order.

    A stay is a run of a customer's moves into cells of one department; it began before the
    window when the customer's story opens inside it, and it is still going on when the frame
    ends inside it. Stays cut by the window are not held to the threshold's exact moment.
    """
    code, ts, cell, customer, order, ident = (
        stories.code,
        stories.ts,
        stories.cell,
        stories.customer,
        stories.order,
        stories.ident,
    )
    story = stories.placing
    threshold = math.ceil(config.focus_seconds)
    names = layout.departments
    place = np.where(cell >= 0, layout.department[np.maximum(cell, 0)], -1).astype(np.int64)
    place[code != MOVE] = -1
    s_dep, s_who, s_ts = place[story], customer[story], ts[story]
    first = np.r_[True, s_who[1:] != s_who[:-1]] if len(story) else np.empty(0, bool)
    last = np.r_[s_who[1:] != s_who[:-1], True] if len(story) else np.empty(0, bool)
    starts = (s_dep >= 0) & (first | (s_dep != np.r_[-1, s_dep[:-1]]))
    ends = (s_dep >= 0) & (last | (s_dep != np.r_[s_dep[1:], -1]))
    run = np.where(s_dep >= 0, np.cumsum(starts) - 1, -1)
    run_start = s_ts[starts]
    run_dep = s_dep[starts]
    cut_open = first[starts] & (code[story[starts]] != ENTER)  # began before the window
    end_rows = np.flatnonzero(ends)
    still_going = last[end_rows]
    run_leave = np.where(still_going, -1, s_ts[np.minimum(end_rows + 1, len(s_ts) - 1)])

    focus_at = np.flatnonzero(code[order] == FOCUS)
    rows = order[focus_at]
    # The story row just before each focus event, and the stay it is part of.
    seen = np.cumsum(code[order] != FOCUS) - 1
    before = seen[focus_at]
    valid = (before >= 0) & (s_who[np.maximum(before, 0)] == customer[rows]) if len(story) else before < 0
    stay = np.where(valid, run[np.maximum(before, 0)] if len(story) else -1, -1)
    # A focus before anything else of a customer's story belongs to a stay that began before the
    # window: nothing to check it against.
    rows, stay = rows[valid], stay[valid]
    found.add(
        "focus",
        rows[stay < 0],
        lambda r: [f"customer {ident[i]} has a focus event outside any department" for i in r],
    )
    rows, stay = rows[stay >= 0], stay[stay >= 0]
    if "dep" in frame.columns:
        given = frame["dep"].astype("object").to_numpy()[rows]
        expected = np.array([names[d] for d in run_dep[stay]], dtype=object)
        wrong = given != expected
        found.add(
            "focus",
            rows[wrong],
            lambda r: [f"focus of customer {ident[i]} names dep {frame['dep'].iloc[i]!r}" for i in r],
        )
    timed = ~cut_open[stay]
    late = timed & (ts[rows] != run_start[stay] + threshold)
    found.add(
        "focus",
        rows[late],
        lambda r: [
            f"focus of customer {ident[i]} at ts {ts[i]} is not {threshold} s after they entered the "
            f"department"
            for i in r
        ],
    )
    count = np.bincount(stay, minlength=len(run_start))
    repeated = rows[np.r_[False, stay[1:] == stay[:-1]]] if len(stay) else rows
    found.add(
        "focus",
        repeated,
        lambda r: [f"customer {ident[i]} has a second focus event in one stay" for i in r],
    )
    missing = np.flatnonzero(
        ~cut_open & ~still_going & (run_leave - run_start > threshold) & (count[: len(run_start)] == 0)
    )
    found.add(
        "focus",
        story[np.flatnonzero(starts)[missing]],
        lambda r: [
            f"customer {ident[i]} stays over {threshold} s in {names[place[i]]!r} without a focus event"
            for i in r
        ],
    )


def _check_checkouts(found: _Collector, layout: StoreLayout, config: SimConfig, stories: _Stories) -> None:
    """A checkout serves one party at a time.

    A service is a stay at a checkout cell longer than one walking step (a shopper walking
    past a till is not served). Two services at one checkout must not overlap, unless they
    are companions of one group: the same length, the later one starting at most
    ``MAX_STEP_LAG`` seconds after the one before.
    """
    from customersim.groups import MAX_STEP_LAG

    code, ts, cell, customer, ident = stories.code, stories.ts, stories.cell, stories.customer, stories.ident
    story = stories.placing
    if not len(layout.checkouts) or not len(story):
        return
    who = customer[story]
    at = cell[story]
    on = np.isin(at, layout.checkouts) & (code[story] == MOVE)
    has_next = np.r_[who[1:] == who[:-1], False]
    rows = np.flatnonzero(on & has_next)
    begin, end = ts[story[rows]], ts[story[rows + 1]]
    served = end - begin > config.walk_seconds_per_cell
    rows, begin, end = rows[served], begin[served], end[served]
    if not rows.size:
        return
    till = at[rows]
    by = np.lexsort((end, begin, till))
    rows, begin, end, till = rows[by], begin[by], end[by], till[by]
    length = end - begin
    same_till = np.r_[False, till[1:] == till[:-1]]
    # The latest end of the services before each one at the same checkout.
    runs = np.cumsum(~same_till) - 1
    offset = runs.astype(np.int64) * (int(end.max()) - int(begin.min()) + 1)
    latest = np.r_[np.iinfo(np.int64).min, np.maximum.accumulate(end + offset)[:-1]] - offset
    overlap = same_till & (begin < latest)
    companion = (
        same_till
        & (np.r_[0, length[:-1]] == length)
        & (begin - np.r_[0, begin[:-1]] <= MAX_STEP_LAG)
        & (latest == np.r_[0, end[:-1]])
    )
    bad = story[rows[overlap & ~companion]]
    found.add(
        "checkout",
        bad,
        lambda r: [
            f"customer {ident[i]} is served at the checkout ({cell[i] % config.width}, "
            f"{cell[i] // config.width}) while another party is"
            for i in r
        ],
    )


def _integers(column: pd.Series, name: str, found: _Collector) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna().to_numpy() | (values.to_numpy(dtype="float64", na_value=np.nan) % 1 != 0)
    found.add("type", np.flatnonzero(bad), f"{name} is not a whole number")
    return values.fillna(0).to_numpy().astype(np.int64)


def _check_occupancy(
    report: ValidationReport, found: _Collector, frame: pd.DataFrame, config: SimConfig
) -> None:
    from customersim.metrics import mean_occupancy

    start, end = config.start, config.end
    report.mean_inside = mean_occupancy(frame, start, end)
    report.target_inside = config.customers_average_in_store
    error = occupancy_standard_error(config)
    deviation = report.mean_inside - report.target_inside
    if abs(deviation) > OCCUPANCY_SIGMAS * error:
        found.add(
            "occupancy",
            np.array([-1]),
            f"time-average inside is {report.mean_inside:.3f}, target {report.target_inside:g}: "
            f"{deviation / error:+.1f} standard errors off",
        )


def occupancy_standard_error(config: SimConfig) -> float:
    """Standard error of the time-average number inside over the config's window.

    For arrivals at rate ``r`` and visit lengths ``D`` (an M/G/infinity queue) the variance of
    the average over a window ``T`` much longer than a visit is ``r * E[D^2] / T``; the visit
    lengths are gamma distributed with shape 2, so ``E[D^2] = 1.5 * mean^2``. A window
    shorter than that is no better than one look at a Poisson count (variance = mean).
    """
    from customersim.engine import VISIT_SHAPE

    mean = config.mean_visit_seconds
    rate = config.customers_average_in_store / mean
    second_moment = mean * mean * (1 + 1 / VISIT_SHAPE)
    window = max(config.end - config.start, 1)
    return math.sqrt(min(rate * second_moment / window, config.customers_average_in_store))
