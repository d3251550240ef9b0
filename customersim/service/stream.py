"""What the live service publishes next: simulated shoppers, scripted ones and hand-made events.

The publisher reads a :class:`LiveStream` as an endless iterator of small events frames. Each
time it asks, the stream hands over what is due by the store's clock:

- **hand-made events** (``POST /produce_*``) at once, with the ``ts`` they were given;
- **simulated events** when the simulated clock reaches their ``ts`` (wall clock times
  ``speed``). ``pause()`` stops that clock: the simulated crowd stands still and nobody enters or
  leaves; ``resume()`` lets it go on, with timestamps moved on by the pause, so each shopper's
  journey stays whole and in time order;
- **scripted events** (scenarios) when the store's clock, which never pauses, reaches their
  ``ts``, interleaved with the simulated ones by the rule of :mod:`customersim.mixing`.

When nothing is due it hands over an empty frame, and the publisher serves its connection for a
moment before asking again, so a hand-made event waits at most that moment.

Every method is thread-safe: the publisher's thread iterates, the HTTP threads schedule, inject,
pause and read the counters.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from customersim.frame import EVENT_TYPES
from customersim.layout import StoreLayout
from customersim.mixing import Mixer, Row, frame_rows, rows_to_frame
from customersim.scenarios import Scenario, ScenarioError, scenario_rows

MAX_ROWS_PER_FRAME = 5_000  # bounds one hand-over when far behind (or at speed max)
MAX_QUEUED_EVENTS = 100_000  # hand-made events waiting for the publisher (it is reconnecting)

SIMULATION, SCENARIO, API = "simulation", "scenario", "api"


def iso(ts: float) -> str:
    """ISO 8601 UTC text of epoch seconds."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ScenarioConflict(ValueError):
    """The customer already has a scripted path at that time (HTTP 409)."""


class QueueFull(RuntimeError):
    """Too many hand-made events wait for the publisher (HTTP 503)."""


@dataclass
class ScheduledScenario:
    """A scenario taken on by the live service."""

    id: int
    customer_id: str
    name: str
    first_ts: int
    last_ts: int
    events: int
    accepted_ts: int
    notes: tuple[str, ...]
    published: int = 0

    def describe(self, store_now: float) -> dict[str, Any]:
        state = "scheduled" if self.published == 0 else "playing"
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "name": self.name,
            "state": state,
            "start": iso(self.first_ts),
            "end": iso(self.last_ts),
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "events": self.events,
            "published": self.published,
            "starts_in_seconds": max(0.0, round(self.first_ts - store_now, 1)),
            "notes": list(self.notes),
        }


@dataclass(order=True)
class _Pending:
    ts: int
    seq: int
    row: Row = field(compare=False)
    scenario: ScheduledScenario = field(compare=False)


class LiveStream:
    """The endless source of events frames for the live service's publisher.

    Args:
        simulated: the endless simulation (``simulate_chunks(..., endless=True)``), or None to
            publish only scripted and hand-made events.
        layout: the store floor (walks of scripted customers).
        origin_ts: the store time when the stream is made (epoch seconds, fractions welcome:
            the live service passes ``time.time()``, so that at speed 1 the store clock is the
            wall clock and an event goes out as its second begins).
        speed: store seconds per wall second; None = the simulation as fast as the publisher
            takes it (scripts then follow the wall clock).
        clock: monotonic seconds (for tests of pacing).
    """

    def __init__(
        self,
        simulated: Iterator[pd.DataFrame] | None,
        layout: StoreLayout,
        *,
        origin_ts: float,
        speed: float | None = 1.0,
        clock: Any = time.monotonic,
    ) -> None:
        self.layout = layout
        self.speed = speed
        self._simulated = simulated
        self._clock = clock
        self._origin_ts = float(origin_ts)
        self._origin_wall = clock()
        self._lock = threading.Lock()
        self._mixer = Mixer(layout)
        self._sim_rows: list[Row] = []
        self._sim_extra: list[dict[str, Any]] | None = None  # further columns (a focus's "dep")
        self._sim_cursor = 0
        self._sim_done = simulated is None
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self._immediate: deque[tuple[Row, dict[str, Any] | None]] = deque()
        self._pending: list[_Pending] = []
        self._scripts: dict[int, ScheduledScenario] = {}
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._next_visit = -1
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lag = 0.0
        self._closed = False

    # --------------------------------------------------------------------------- the clocks

    def store_now(self) -> float:
        """The store's time now (epoch seconds): it runs at ``speed`` and never pauses."""
        elapsed = self._clock() - self._origin_wall
        if self.speed is None:
            return self._origin_ts + elapsed
        return self._origin_ts + elapsed * self.speed

    def _sim_now(self) -> float:
        """The simulated crowd's time: the store's time less the pauses."""
        if self.speed is None:
            return math.inf
        now = self._clock()
        paused = self._paused_total + (now - self._paused_at if self._paused_at is not None else 0.0)
        return self._origin_ts + (now - self._origin_wall - paused) * self.speed

    def _shift(self) -> int:
        """Seconds added to simulated timestamps: how far pauses put the crowd behind."""
        return 0 if self.speed is None else round(self._paused_total * self.speed)

    # ------------------------------------------------------------------- control (any thread)

    @property
    def has_simulation(self) -> bool:
        return self._simulated is not None

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def pause(self) -> bool:
        """Stop the simulated crowd where it stands; returns False if it already was."""
        with self._lock:
            if self._paused_at is not None:
                return False
            self._paused_at = self._clock()
            return True

    def resume(self) -> bool:
        """Let the simulated crowd go on; returns False if it was not paused."""
        with self._lock:
            if self._paused_at is None:
                return False
            self._paused_total += self._clock() - self._paused_at
            self._paused_at = None
            return True

    def close(self) -> None:
        """End the iteration (the publisher then flushes and stops)."""
        with self._lock:
            self._closed = True

    def inject(
        self,
        event: str,
        customer_id: str,
        ts: int,
        x: int = 0,
        y: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Queue a hand-made event to go out at once, exactly as given.

        Raises:
            QueueFull: the publisher is far behind (for example reconnecting).
        """
        with self._lock:
            if len(self._immediate) >= MAX_QUEUED_EVENTS:
                raise QueueFull(f"{MAX_QUEUED_EVENTS:,} events already wait for the broker")
            self._immediate.append(((int(ts), event, str(customer_id), int(x), int(y), -1), extra))

    def schedule(self, scenario: Scenario, *, recalculate_time: bool = False) -> ScheduledScenario:
        """Take on a scenario: its events go out on time, the customer is kept out of the crowd.

        Args:
            scenario: a parsed scenario (:func:`customersim.scenarios.parse`).
            recalculate_time: shift the path to start now.

        Raises:
            ScenarioError: the path starts before now (field ``path[0].timestamp``).
            ScenarioConflict: the customer already has a script overlapping this one.
        """
        with self._lock:
            now = self.store_now()
            if recalculate_time:
                scenario = scenario.shifted(now * 1000.0 - scenario.first_ms)
            return self._schedule(scenario, now)

    def schedule_from_now(self, scenarios: list[Scenario]) -> list[ScheduledScenario]:
        """Take on several scenarios shifted together, so that the earliest starts now.

        Raises:
            ScenarioConflict: one customer is scripted twice at the same time.
        """
        if not scenarios:
            return []
        with self._lock:
            now = self.store_now()
            offset = now * 1000.0 - min(s.first_ms for s in scenarios)
            return [self._schedule(s.shifted(offset), now) for s in scenarios]

    def _schedule(self, scenario: Scenario, now: float) -> ScheduledScenario:
        """Schedule one scenario at the store time ``now`` (lock held)."""
        rows = scenario_rows(scenario, self.layout, first_visit=self._next_visit)
        first, last = int(rows["ts"].iat[0]), int(rows["ts"].iat[-1])
        today = math.floor(now)
        if first < today:
            raise ScenarioError(
                "path[0].timestamp",
                f"{iso(first)} is in the past of the live store (now {iso(today)}): post with "
                "?recalculate_time=true to start the path now, or give times from now on",
            )
        for other in self._scripts.values():
            if (
                other.customer_id == scenario.customer_id
                and first <= other.last_ts
                and other.first_ts <= last
            ):
                raise ScenarioConflict(
                    f"customer {scenario.customer_id} already has a scripted path from "
                    f"{iso(other.first_ts)} to {iso(other.last_ts)} (scenario {other.id}): one "
                    "customer cannot be in the store twice"
                )
        self._next_visit = int(rows["visit"].min()) - 1
        script = ScheduledScenario(
            id=next(self._ids),
            customer_id=scenario.customer_id,
            name=scenario.name,
            first_ts=first,
            last_ts=last,
            events=len(rows),
            accepted_ts=today,
            notes=scenario.notes,
        )
        self._scripts[script.id] = script
        self._mixer.reserve(script.customer_id, today, last)
        for row in frame_rows(rows):
            heapq.heappush(self._pending, _Pending(row[0], next(self._seq), row, script))
        return script

    def scheduled(self) -> list[dict[str, Any]]:
        """The scenarios not yet played to the end, in start order."""
        with self._lock:
            now = self.store_now()
            scripts = sorted(self._scripts.values(), key=lambda s: (s.first_ts, s.id))
            return [s.describe(now) for s in scripts]

    def counts(self) -> dict[tuple[str, str], int]:
        """Events handed to the publisher so far, by (event type, source)."""
        with self._lock:
            return dict(self._counts)

    def customers_inside(self) -> int:
        """Simulated and scripted customers inside now (hand-made events are not counted)."""
        with self._lock:
            return len(self._mixer.inside)

    def lag_seconds(self) -> float:
        """How late (wall seconds) the events went out, or the oldest due one would now."""
        with self._lock:
            lag = self._lag
            speed = self.speed or 1.0
            if self._pending:
                lag = max(lag, (self.store_now() - self._pending[0].ts) / speed)
            if self.speed is not None and self._paused_at is None and self._sim_cursor < len(self._sim_rows):
                lag = max(lag, (self._sim_now() - self._sim_rows[self._sim_cursor][0]) / speed)
            if self._immediate:
                lag = max(lag, 0.0)
            return max(0.0, lag)

    def state(self) -> dict[str, Any]:
        """The stream's state, for ``GET /state``."""
        with self._lock:
            now = self.store_now()
            simulation = (
                "off" if self._simulated is None else ("paused" if self._paused_at is not None else "running")
            )
            return {
                "simulation": simulation,
                "speed": self.speed,
                "store_time": iso(now),
                "store_ts": int(now),
                "customers_inside": len(self._mixer.inside),
                "scenarios_scheduled": len(self._scripts),
                "published_by_event": {
                    event: sum(n for (e, _), n in self._counts.items() if e == event) for event in EVENT_TYPES
                },
            }

    # --------------------------------------------------------------- iteration (publisher)

    def __iter__(self) -> LiveStream:
        return self

    def __next__(self) -> pd.DataFrame:
        self._refill()
        with self._lock:
            if self._closed:
                raise StopIteration
            rows, extras, lag = self._release()
            self._lag = lag
        if extras and any(extras):
            frame = rows_to_frame(rows)
            for name in sorted({k for e in extras if e for k in e}):
                frame[name] = [e.get(name) if e else None for e in extras]
            return frame
        return rows_to_frame(rows)

    def _refill(self) -> None:
        """Simulate the next chunk when the buffer runs out (outside the lock: it takes a while)."""
        if self._sim_done or self._sim_cursor < len(self._sim_rows):
            return
        assert self._simulated is not None
        try:
            chunk = next(self._simulated)
        except StopIteration:
            self._sim_done = True
            return
        rows = frame_rows(chunk)
        # Columns beyond the mixer's (for example a focus event's department) travel along.
        names = [c for c in chunk.columns if c not in ("ts", "event", "customer_id", "x", "y", "visit")]
        extra = chunk[names].to_dict("records") if names else None
        with self._lock:
            self._sim_rows, self._sim_extra, self._sim_cursor = rows, extra, 0

    def _release(self) -> tuple[list[Row], list[dict[str, Any] | None], float]:
        """Everything due now, in time order, through the mixing rule (lock held)."""
        out: list[Row] = []
        extras: list[dict[str, Any] | None] = []
        while self._immediate and len(out) < MAX_ROWS_PER_FRAME:
            row, extra = self._immediate.popleft()
            out.append(row)
            extras.append(extra)
            self._counts[(row[1], API)] += 1
        store_now = self.store_now()
        speed = self.speed or 1.0
        lag = 0.0
        # Simulated rows due (none while paused), shifted by the pauses so far.
        sim_due: list[Row] = []
        sim_extra: list[dict[str, Any] | None] = []
        if self._paused_at is None:
            sim_now, shift = self._sim_now(), self._shift()
            rows, cursor = self._sim_rows, self._sim_cursor
            while cursor < len(rows) and rows[cursor][0] <= sim_now and len(sim_due) < MAX_ROWS_PER_FRAME:
                ts, event, customer, x, y, visit = rows[cursor]
                sim_due.append((ts + shift, event, customer, x, y, visit))
                sim_extra.append(self._sim_extra[cursor] if self._sim_extra is not None else None)
                if self.speed is not None:
                    lag = max(lag, (sim_now - ts) / speed)
                cursor += 1
            self._sim_cursor = cursor
            if self.speed is None and sim_due:
                store_now = max(store_now, sim_due[-1][0])
        script_due: list[_Pending] = []
        while self._pending and self._pending[0].ts <= store_now:
            script_due.append(heapq.heappop(self._pending))
            lag = max(lag, (store_now - script_due[-1].ts) / speed)
        # Merge by time; on equal times the simulated row goes first.
        i = 0
        for pending in script_due:
            while i < len(sim_due) and sim_due[i][0] <= pending.ts:
                self._simulated_row(sim_due[i], sim_extra[i], out, extras)
                i += 1
            for row in self._mixer.scripted(pending.row):
                out.append(row)
                extras.append(None)
                source = SCENARIO if row[2] == pending.scenario.customer_id and row[5] < 0 else SIMULATION
                self._counts[(row[1], source)] += 1
            script = pending.scenario
            script.published += 1
            if script.published == script.events:
                self._mixer.release(script.customer_id, script.accepted_ts, script.last_ts)
                self._scripts.pop(script.id, None)
        for row, extra in zip(sim_due[i:], sim_extra[i:], strict=True):
            self._simulated_row(row, extra, out, extras)
        return out, extras, lag

    def _simulated_row(
        self, row: Row, extra: dict[str, Any] | None, out: list[Row], extras: list[dict[str, Any] | None]
    ) -> None:
        if self._mixer.simulated(row):
            out.append(row)
            extras.append(extra)
            self._counts[(row[1], SIMULATION)] += 1
