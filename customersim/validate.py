"""Checks that an events frame keeps the contract and the journey rules.

Any frame can be checked, ours or one read from a file someone else wrote: the columns and
their types, the grid, the door, and every customer's story in time order. A customer is
outside until an ``enter`` at the door; inside they only ``move`` to a neighbouring cell of the
grid; they ``exit`` from the door and are outside again. A frame is a window of time, so a
customer's first events may belong to a visit that began before it (no ``enter``), and their
last visit may still be going on when it ends (no ``exit``).

With a config, the time-average number inside is also compared with the target, allowing for
sampling error (Little's law: arrival rate x mean visit length = average inside).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from customersim.config import SimConfig
from customersim.frame import EVENT_TYPES, REQUIRED_COLUMNS, event_codes

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
        config: grid size, door and neighbourhood to check against, and the target occupancy
            and window. Without one the defaults of :class:`SimConfig` are used for the grid
            and occupancy is not checked.
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
    door_x, door_y = grid.door
    at_door = (xs == door_x) & (ys == door_y)
    found.add(
        "door",
        np.flatnonzero((code != 1) & ~at_door),
        lambda r: [
            f"{EVENT_TYPES[code[i]]} at ({xs[i]}, {ys[i]}), not at the door ({door_x}, {door_y})" for i in r
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
    step_ok = (np.maximum(dx, dy) == 1) if grid.neighbourhood == 8 else (dx + dy == 1)
    found.add(
        "step",
        where((c_code == 1) & inside_before & ~step_ok),
        lambda r: [
            f"customer {ident[i]} moves to ({xs[i]}, {ys[i]}), not a neighbouring cell of the previous one"
            for i in r
        ],
    )
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
