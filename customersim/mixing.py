"""Scripted customers among simulated ones: who may be inside, event by event.

A scripted customer (see :mod:`customersim.scenarios`) walks through a store full of simulated
shoppers, and the simulation draws its shoppers from the same customer list. The rule that keeps
the stream believable is that **nobody is inside twice**:

- while a customer is scripted (from the moment the script is taken on until its last event),
  the simulation does not let them in: a simulated visit of theirs that begins then is left out
  whole, from its enter to its exit;
- if they are inside on a simulated visit when their script enters them, that visit is cut
  short: they walk the shortest way to the door and leave (all in the second the script starts),
  and the rest of the simulated visit is left out;
- everyone else passes untouched.

:class:`Mixer` applies the rule to rows in time order; the live service and ``customersim
publish --scenario`` both use it. :func:`mix` does it for whole frames. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from customersim.frame import EVENT_DTYPE, STRING_DTYPE
from customersim.layout import StoreLayout
from customersim.scenarios import shortest_walk

# One event as the mixer sees it: (ts, event, customer_id, x, y, visit).
Row = tuple[int, str, str, int, int, int]


@dataclass
class Presence:
    """A customer inside: on a simulated or a scripted visit, and where they stand."""

    scripted: bool
    visit: int
    x: int
    y: int


class Mixer:
    """Decides, row by row in time order, which simulated events go out, and adds the walks
    of simulated visits cut short by a script.

    Args:
        layout: the store floor (for the walk to the door).
    """

    def __init__(self, layout: StoreLayout) -> None:
        self.layout = layout
        self.inside: dict[str, Presence] = {}
        self._active: dict[int, str] = {}  # simulated visits being published -> customer
        self._skipped: set[int] = set()  # simulated visits left out
        self._windows: dict[str, list[tuple[int, int]]] = {}  # customer -> scripted [from, to]

    # ----------------------------------------------------------------------- reservations

    def reserve(self, customer_id: str, first_ts: int, last_ts: int) -> None:
        """Keep ``customer_id`` out of the simulation from ``first_ts`` to ``last_ts``."""
        self._windows.setdefault(customer_id, []).append((int(first_ts), int(last_ts)))

    def release(self, customer_id: str, first_ts: int, last_ts: int) -> None:
        """Give a reservation back (the script is over or was withdrawn)."""
        windows = self._windows.get(customer_id, [])
        if (first_ts, last_ts) in windows:
            windows.remove((first_ts, last_ts))
        if not windows:
            self._windows.pop(customer_id, None)

    def reserved(self, customer_id: str, ts: int) -> bool:
        return any(lo <= ts <= hi for lo, hi in self._windows.get(customer_id, ()))

    def windows(self, customer_id: str) -> list[tuple[int, int]]:
        return list(self._windows.get(customer_id, ()))

    # ------------------------------------------------------------------------------ rows

    def simulated(self, row: Row) -> bool:
        """Whether a simulated row goes out (and note its effect on who is inside)."""
        ts, event, customer, x, y, visit = row
        if visit in self._skipped:
            if event == "exit":
                self._skipped.discard(visit)
            return False
        if visit not in self._active:
            # A new visit, or one already going on when the stream began (no enter seen).
            if customer in self.inside or self.reserved(customer, ts):
                if event != "exit":
                    self._skipped.add(visit)
                return False
            self._active[visit] = customer
        if event == "exit":
            del self._active[visit]
            self.inside.pop(customer, None)
        else:
            self.inside[customer] = Presence(False, visit, x, y)
        return True

    def scripted(self, row: Row) -> list[Row]:
        """The rows that go out for a scripted row: a cut-short simulated visit's walk out first."""
        ts, event, customer, x, y, visit = row
        out: list[Row] = []
        if event == "enter":
            present = self.inside.get(customer)
            if present is not None and not present.scripted:
                out.extend(self._walk_out(customer, present, ts))
            self.inside[customer] = Presence(True, visit, x, y)
        elif event == "exit":
            self.inside.pop(customer, None)
        else:
            self.inside[customer] = Presence(True, visit, x, y)
        out.append(row)
        return out

    def _walk_out(self, customer: str, present: Presence, ts: int) -> list[Row]:
        layout = self.layout
        door = int(layout.doors[0])
        here = present.y * layout.width + present.x
        rows: list[Row] = [
            (ts, "move", customer, int(c % layout.width), int(c // layout.width), present.visit)
            for c in shortest_walk(layout, here, door)
        ]
        rows.append(
            (ts, "exit", customer, int(door % layout.width), int(door // layout.width), present.visit)
        )
        self._active.pop(present.visit, None)
        self._skipped.add(present.visit)
        del self.inside[customer]
        return rows


def rows_to_frame(rows: Sequence[Row]) -> pd.DataFrame:
    """An events frame (``ts``, ``event``, ``customer_id``, ``x``, ``y``, ``visit``) from rows."""
    if rows:
        ts, event, customer, x, y, visit = zip(*rows, strict=True)
    else:
        ts = event = customer = x = y = visit = ()
    return pd.DataFrame(
        {
            "ts": pd.Series(ts, dtype="int64"),
            "event": pd.Categorical(event, dtype=EVENT_DTYPE),
            "customer_id": pd.Series(customer, dtype=STRING_DTYPE),
            "x": pd.Series(x, dtype="int16"),
            "y": pd.Series(y, dtype="int16"),
            "visit": pd.Series(visit, dtype="int64"),
        }
    )


def frame_rows(frame: pd.DataFrame) -> list[Row]:
    """The rows of an events frame as tuples (``visit`` -1 where the frame has none)."""
    n = len(frame)
    visit = frame["visit"].to_numpy(dtype=np.int64) if "visit" in frame.columns else np.full(n, -1)
    return list(
        zip(
            frame["ts"].to_numpy(dtype=np.int64).tolist(),
            frame["event"].astype(str).tolist(),
            frame["customer_id"].astype(str).tolist(),
            frame["x"].to_numpy(dtype=np.int64).tolist(),
            frame["y"].to_numpy(dtype=np.int64).tolist(),
            visit.tolist(),
            strict=True,
        )
    )


def mix(
    simulated: Iterable[pd.DataFrame], scripted: pd.DataFrame, layout: StoreLayout
) -> Iterator[pd.DataFrame]:
    """Simulated frames and scripted rows merged in ``ts`` order, nobody inside twice.

    Each scripted customer is kept out of the simulation from their first scripted event to their
    last (see the module docstring). Simulated rows of other customers pass unchanged.

    Args:
        simulated: events frames in ``ts`` order (the chunks of ``simulate_chunks``).
        scripted: rows of :func:`customersim.scenarios.load` (sorted by ``ts``).
        layout: the store floor.

    Yields:
        Events frames (``ts``, ``event``, ``customer_id``, ``x``, ``y``, and ``dep`` when the
        simulated frames have it) in ``ts`` order. They carry no ``visit``: simulated and
        scripted visits are numbered apart, not in one order of arrival.
    """
    mixer = Mixer(layout)
    script = frame_rows(scripted)
    for customer, group in scripted.groupby("customer_id", observed=True, sort=False):
        for _, visit_rows in group.groupby("visit", sort=False):
            mixer.reserve(str(customer), int(visit_rows["ts"].min()), int(visit_rows["ts"].max()))
    watched = set(scripted["customer_id"].astype(str))
    position = 0
    dep_dtype = None  # simulated rows keep their department; scripted rows have none
    for frame in simulated:
        if len(frame) == 0:
            continue
        deps = frame["dep"].astype(object).tolist() if "dep" in frame.columns else None
        dep_dtype = frame["dep"].dtype if deps is not None else dep_dtype
        merged: list[Row] = []
        merged_deps: list = []
        for index, row in enumerate(frame_rows(frame)):
            # Scripted rows due before this one go first (on equal times the simulated row does).
            while position < len(script) and script[position][0] < row[0]:
                out = mixer.scripted(script[position])
                merged.extend(out)
                merged_deps.extend([None] * len(out))
                position += 1
            # Only scripted customers' rows need the rule; the others pass as they are.
            if row[2] not in watched or mixer.simulated(row):
                merged.append(row)
                merged_deps.append(deps[index] if deps is not None else None)
        yield _with_deps(rows_to_frame(merged).drop(columns="visit"), merged_deps, dep_dtype)
    if position < len(script):
        rest = [r for row in script[position:] for r in mixer.scripted(row)]
        yield _with_deps(rows_to_frame(rest).drop(columns="visit"), [None] * len(rest), dep_dtype)


def _with_deps(frame: pd.DataFrame, deps: list, dtype) -> pd.DataFrame:
    """The frame with the simulated rows' departments (a focus event needs its ``dep``)."""
    if dtype is not None:
        frame["dep"] = pd.Categorical(deps, dtype=dtype)
    return frame
