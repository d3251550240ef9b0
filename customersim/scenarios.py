"""Scripted customers: the scenario player's format turned into events-frame rows.

A presenter wants customer 3 to walk to the Sports department on cue. The scenario player of
the retail demo describes such a journey as JSON::

    {"customer": {"customer_id": "3"},
     "path": [{"type": "ENTER", "location": {"x": 0, "y": 0}, "timestamp": "2021-04-11T10:01:53.955760"},
              {"type": "MOVE",  "location": {"x": 3, "y": 4}, "timestamp": 1618135320000},
              {"type": "EXIT",  "location": {"x": 0, "y": 0}, "timestamp": "2021-04-11T10:04:00"}]}

Timestamps are ISO 8601 strings (a time without a zone is UTC) or epoch milliseconds, in
non-decreasing order. This module reads that format (from dicts, JSON files or folders of them)
and turns it into rows of the events frame (``ts``, ``event``, ``customer_id``, ``x``, ``y``),
so that the same scripted journeys can be published, mixed with the simulation, or analysed in
a notebook.

The rows keep the journey rules every frame obeys:

- a path is one or more visits: ``ENTER``, any ``MOVE``, ``EXIT``;
- ``ENTER`` and ``EXIT`` happen at the door, as in every frame (their payloads carry no cell, so
  a location given there is not used);
- a ``MOVE`` to a cell that is not next to the previous one is **filled with the shortest walk**
  between them, its steps spread evenly over the time between the two scripted steps; a script
  names where the customer goes, and consumers rely on adjacent steps, so filling keeps both;
  the walk back to the door before ``EXIT`` is filled the same way;
- a ``MOVE`` to a location **outside the store** (or onto a cell nobody can walk) is **refused
  with a reason**: there is no right cell to put the customer on, and guessing one (clamping,
  scaling another coordinate system) would show something the presenter did not script;
- a ``MOVE`` to the cell the customer is already on is dropped (it is no move) and noted.

Everything here is pure: no clock (``now`` is passed in), no network.
"""

from __future__ import annotations

import json
import math
import os
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from customersim.config import SimConfig
from customersim.frame import EVENT_DTYPE, STRING_DTYPE
from customersim.layout import StoreLayout

__all__ = ["Scenario", "ScenarioError", "Step", "load", "parse", "scenario_rows", "store_layout"]

STEP_TYPES = ("ENTER", "MOVE", "EXIT")


class ScenarioError(ValueError):
    """A scenario cannot be used; ``field`` names the place (``path[2].location``), ``reason`` why."""

    def __init__(self, field: str, reason: str, source: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}: {reason}")


@dataclass(frozen=True)
class Step:
    """One scripted step: its type, the cell (None for ENTER/EXIT) and its time in epoch ms."""

    type: str
    x: int | None
    y: int | None
    ms: float


@dataclass(frozen=True)
class Scenario:
    """One customer's scripted path, checked against the store.

    Attributes:
        customer_id: the customer (a string, as in every payload).
        steps: the scripted steps in time order.
        name: where it came from (a file name, or ``"http"``).
        notes: what was adjusted (dropped or filled steps, unused locations), in words.
    """

    customer_id: str
    steps: tuple[Step, ...]
    name: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def first_ms(self) -> float:
        return self.steps[0].ms

    def shifted(self, offset_ms: float) -> Scenario:
        """The same path ``offset_ms`` later."""
        steps = tuple(Step(s.type, s.x, s.y, s.ms + offset_ms) for s in self.steps)
        return Scenario(self.customer_id, steps, self.name, self.notes)


def store_layout(config: SimConfig) -> StoreLayout:
    """The floor the scripted customers walk on: the simulation's own grid, door and neighbours."""
    return StoreLayout.build(config.width, config.height, [config.door], config.neighbourhood)


# --------------------------------------------------------------------------------- parsing


def _timestamp_ms(value: Any, where: str) -> float:
    if isinstance(value, bool) or value is None:
        raise ScenarioError(where, "expected an ISO 8601 time or epoch milliseconds")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ScenarioError(where, f"{value!r} is not a time: expected epoch milliseconds")
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return float(text)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ScenarioError(
                where,
                f"{value!r} is not a time: expected ISO 8601 (2021-04-11T10:01:53.955760) or "
                "epoch milliseconds",
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp() * 1000.0
    raise ScenarioError(where, f"{value!r} is not a time: expected an ISO 8601 string or epoch milliseconds")


def _cell(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        raise ScenarioError(where, f"{value!r} is not allowed: expected a whole number (a sensor cell)")
    return int(value)


def parse(data: Any, layout: StoreLayout, *, name: str = "") -> Scenario:
    """Check one scenario (the parsed JSON object) against the store.

    Args:
        data: ``{"customer": {"customer_id": ...}, "path": [...]}``.
        layout: the store floor (see :func:`store_layout`).
        name: where the scenario came from, for messages and the ``scenario`` column.

    Raises:
        ScenarioError: the field at fault and why, e.g. ``path[3].location``: ``(200, 10) is
            outside the 6 x 10 store``.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError("body", "expected a JSON object with 'customer' and 'path'", name or None)
    try:
        return _parse(data, layout, name)
    except ScenarioError as error:
        if name and error.source is None:
            raise ScenarioError(error.field, error.reason, name) from None
        raise


def _parse(data: Mapping[str, Any], layout: StoreLayout, name: str) -> Scenario:
    customer = data.get("customer")
    if not isinstance(customer, Mapping):
        raise ScenarioError("customer", 'expected an object with a customer_id, e.g. {"customer_id": "3"}')
    raw_id = customer.get("customer_id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or str(raw_id).strip() == "":
        raise ScenarioError("customer.customer_id", f"{raw_id!r} is not allowed: expected a non-empty id")
    customer_id = str(raw_id).strip()
    path = data.get("path")
    if not isinstance(path, list) or not path:
        raise ScenarioError("path", "expected a non-empty list of steps (ENTER, MOVE..., EXIT)")
    door_x, door_y = int(layout.cell_x[layout.doors[0]]), int(layout.cell_y[layout.doors[0]])
    steps: list[Step] = []
    notes: list[str] = []
    inside = False
    previous_ms = -math.inf
    for index, raw in enumerate(path):
        where = f"path[{index}]"
        if not isinstance(raw, Mapping):
            raise ScenarioError(where, "expected an object with type, location and timestamp")
        kind = raw.get("type")
        if not isinstance(kind, str) or kind.strip().upper() not in STEP_TYPES:
            raise ScenarioError(f"{where}.type", f"{kind!r} is not allowed: expected ENTER, MOVE or EXIT")
        kind = kind.strip().upper()
        if "timestamp" not in raw:
            raise ScenarioError(f"{where}.timestamp", "missing: every step needs its time")
        ms = _timestamp_ms(raw["timestamp"], f"{where}.timestamp")
        if ms < previous_ms:
            raise ScenarioError(
                f"{where}.timestamp", "is earlier than the step before: steps go in time order"
            )
        previous_ms = ms
        if kind == "ENTER" and inside:
            raise ScenarioError(f"{where}.type", "ENTER while the customer is inside: EXIT first")
        if kind != "ENTER" and not inside:
            raise ScenarioError(
                f"{where}.type", f"{kind} while the customer is outside: a visit begins with ENTER"
            )
        location = raw.get("location")
        if kind == "MOVE":
            if not isinstance(location, Mapping) or "x" not in location or "y" not in location:
                raise ScenarioError(f"{where}.location", 'a MOVE needs a location {"x": ..., "y": ...}')
            x = _cell(location["x"], f"{where}.location.x")
            y = _cell(location["y"], f"{where}.location.y")
            if not (0 <= x < layout.width and 0 <= y < layout.height):
                raise ScenarioError(
                    f"{where}.location",
                    f"({x}, {y}) is outside the {layout.width} x {layout.height} store: x goes from 0 "
                    f"to {layout.width - 1} and y from 0 to {layout.height - 1} (sensor cells)",
                )
            if not layout.walkable[y, x]:
                raise ScenarioError(f"{where}.location", f"({x}, {y}) is not a cell a customer can walk on")
            steps.append(Step(kind, x, y, ms))
        else:
            if isinstance(location, Mapping) and (location.get("x"), location.get("y")) != (door_x, door_y):
                notes.append(
                    f"{where}: {kind} happens at the door ({door_x}, {door_y}); location "
                    f"({location.get('x')}, {location.get('y')}) not used"
                )
            steps.append(Step(kind, None, None, ms))
            inside = kind == "ENTER"
    if inside:
        raise ScenarioError(
            f"path[{len(path) - 1}].type", "the path ends with the customer inside: finish it with EXIT"
        )
    return Scenario(customer_id, tuple(steps), name, tuple(notes))


# ------------------------------------------------------------------------------ walking


def shortest_walk(layout: StoreLayout, start: int, goal: int) -> list[int]:
    """The cells after ``start`` up to and including ``goal`` on a shortest walk (breadth first).

    Ties go to the neighbour listed first (edge steps before diagonals), so the walk is the same
    every time.

    Raises:
        ValueError: ``goal`` cannot be reached from ``start``.
    """
    if start == goal:
        return []
    parent = {start: start}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        for k in range(int(layout.degree[cell])):
            nxt = int(layout.neighbours[cell, k])
            if nxt in parent:
                continue
            parent[nxt] = cell
            if nxt == goal:
                walk = [goal]
                while parent[walk[-1]] != start:
                    walk.append(parent[walk[-1]])
                return walk[::-1]
            queue.append(nxt)
    raise ValueError(f"cell {goal} cannot be reached from cell {start}")


def scenario_rows(scenario: Scenario, layout: StoreLayout, *, first_visit: int = -1) -> pd.DataFrame:
    """The events-frame rows of a scenario, walks filled in.

    Args:
        scenario: a parsed scenario.
        layout: the store floor.
        first_visit: visit number of its first visit; further visits count down from it
            (negative numbers tell scripted visits from simulated ones).

    Returns:
        A frame with ``ts`` (int64 epoch seconds, the scripted millisecond time rounded down),
        ``event``, ``customer_id``, ``x``, ``y`` (the door for enter and exit), ``visit`` and
        ``scenario`` (its name), in time order.
    """
    width = layout.width
    door = int(layout.doors[0])
    ts: list[int] = []
    events: list[str] = []
    cells: list[int] = []
    visits: list[int] = []
    visit = first_visit + 1
    here = door
    last_ms = 0.0

    def add(event: str, cell: int, ms: float) -> None:
        ts.append(math.floor(ms / 1000.0))
        events.append(event)
        cells.append(cell)
        visits.append(visit)

    def walk_to(goal: int, ms: float) -> None:
        nonlocal here
        walk = shortest_walk(layout, here, goal)
        for i, cell in enumerate(walk, start=1):
            # Filled steps are spread evenly between the two scripted times.
            add("move", cell, last_ms + (ms - last_ms) * i / len(walk))
        here = goal

    for step in scenario.steps:
        if step.type == "ENTER":
            visit -= 1
            here = door
            add("enter", door, step.ms)
        elif step.type == "MOVE":
            assert step.x is not None and step.y is not None
            walk_to(step.y * width + step.x, step.ms)
        else:
            walk_to(door, step.ms)
            add("exit", door, step.ms)
        last_ms = step.ms
    cell_array = np.asarray(cells, dtype=np.int64)
    return pd.DataFrame(
        {
            "ts": pd.Series(ts, dtype="int64"),
            "event": pd.Categorical(events, dtype=EVENT_DTYPE),
            "customer_id": pd.Series([scenario.customer_id] * len(ts), dtype=STRING_DTYPE),
            "x": pd.Series(cell_array % width, dtype="int16"),
            "y": pd.Series(cell_array // width, dtype="int16"),
            "visit": pd.Series(visits, dtype="int64"),
            "scenario": pd.Series([scenario.name] * len(ts), dtype=STRING_DTYPE),
        }
    )


# ------------------------------------------------------------------------------ loading

Source = str | os.PathLike | Mapping[str, Any] | Sequence[Mapping[str, Any]]


def _scenario_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json" and p.is_file())
        if not files:
            raise ScenarioError("folder", "holds no .json scenario files", str(path))
        return files
    if not path.exists():
        raise ScenarioError("file", "does not exist", str(path))
    return [path]


def read_scenarios(source: Source | Iterable[Source], layout: StoreLayout) -> list[Scenario]:
    """Parse scenarios from files, folders (every ``*.json`` in name order) or JSON objects.

    A file holds one scenario object or a list of them.

    Raises:
        ScenarioError: a file cannot be read or a scenario is wrong (the message names the file,
            the field and the reason).
    """
    sources: list[Any]
    sources = [source] if isinstance(source, (str, os.PathLike, Mapping)) else list(source)
    found: list[Scenario] = []
    for item in sources:
        if isinstance(item, Mapping):
            found.append(parse(item, layout, name="scenario"))
            continue
        if not isinstance(item, (str, os.PathLike)):
            # A list of scenario objects given directly.
            found.extend(read_scenarios(item, layout))
            continue
        for path in _scenario_files(Path(item)):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except OSError as error:
                raise ScenarioError("file", f"cannot be read: {error.strerror or error}", str(path)) from None
            except json.JSONDecodeError as error:
                raise ScenarioError(
                    f"line {error.lineno} column {error.colno}", f"not valid JSON: {error.msg}", str(path)
                ) from None
            objects = data if isinstance(data, list) else [data]
            for index, obj in enumerate(objects):
                label = path.name if len(objects) == 1 else f"{path.name}[{index}]"
                found.append(parse(obj, layout, name=label))
    return found


def rebase(scenarios: Sequence[Scenario], now_ms: float) -> list[Scenario]:
    """Shift scenarios together so that the earliest starts at ``now_ms`` (epoch milliseconds);
    the others keep their distance to it."""
    if not scenarios:
        return []
    offset = now_ms - min(s.first_ms for s in scenarios)
    return [s.shifted(offset) for s in scenarios]


def load(
    source: Source | Iterable[Source],
    config: SimConfig | None = None,
    *,
    recalculate_time: bool = False,
    now: float | None = None,
) -> pd.DataFrame:
    """Scenario files (or objects) as one events frame, for notebooks and publishing.

    Example:
        >>> rows = load({"customer": {"customer_id": "3"}, "path": [
        ...     {"type": "ENTER", "timestamp": 1618135313000},
        ...     {"type": "MOVE", "location": {"x": 2, "y": 2}, "timestamp": 1618135333000},
        ...     {"type": "EXIT", "timestamp": 1618135373000}]})
        >>> rows["event"].astype(str).tolist()
        ['enter', 'move', 'move', 'move', 'move', 'exit']

    Args:
        source: a file, a folder, a scenario object, or a list of any of these.
        config: the store (grid, door, neighbourhood); the defaults of :class:`SimConfig`
            when omitted.
        recalculate_time: shift the scenarios so that the earliest starts at ``now`` and the
            others keep their distance to it.
        now: epoch seconds for ``recalculate_time`` (default: the current time).

    Returns:
        An events frame (``ts``, ``event``, ``customer_id``, ``x``, ``y``) with ``visit``
        (negative: scripted visits) and ``scenario`` (the file it came from), sorted by ``ts``.

    Raises:
        ScenarioError: the file, field and reason of the first problem.
    """
    layout = store_layout(config or SimConfig())
    scenarios = read_scenarios(source, layout)
    if recalculate_time:
        import time

        scenarios = rebase(scenarios, (time.time() if now is None else now) * 1000.0)
    return rows_of(scenarios, layout)


def rows_of(scenarios: Sequence[Scenario], layout: StoreLayout, *, first_visit: int = -1) -> pd.DataFrame:
    """The rows of several scenarios as one frame sorted by ``ts`` (stable: file order on ties)."""
    _check_overlaps(scenarios)
    parts = []
    visit = first_visit
    for scenario in scenarios:
        rows = scenario_rows(scenario, layout, first_visit=visit)
        visit = int(rows["visit"].min()) - 1
        parts.append(rows)
    if not parts:
        return scenario_rows(Scenario("", ()), layout).iloc[0:0]
    frame = pd.concat(parts, ignore_index=True)
    return frame.sort_values("ts", kind="stable", ignore_index=True)


def _check_overlaps(scenarios: Sequence[Scenario]) -> None:
    """One customer cannot follow two scripts at once (they would be inside twice)."""
    spans: dict[str, tuple[float, float, str]] = {}
    for scenario in sorted(scenarios, key=lambda s: s.first_ms):
        if not scenario.steps:
            continue
        first, last = scenario.first_ms, scenario.steps[-1].ms
        earlier = spans.get(scenario.customer_id)
        if earlier is not None and first <= earlier[1]:
            raise ScenarioError(
                "customer.customer_id",
                f"customer {scenario.customer_id} is scripted twice at the same time ({earlier[2]} and "
                "this one): one customer cannot be inside twice",
                scenario.name or None,
            )
        spans[scenario.customer_id] = (first, last, scenario.name or "another scenario")
