"""Counting a window's visits and mean occupancy chunk by chunk, from the engine's arrays.

A dataset too long to hold at once is written block after block; :class:`OccupancyTally`
follows along and says at the end how many visits began and how many were inside on average.
It needs numpy only (``generate`` counts with it without importing pandas);
:mod:`customersim.metrics` offers it beside the frame-based measures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from customersim.frame import ENTER, EXIT, event_codes

if TYPE_CHECKING:
    import pandas as pd


class OccupancyTally:
    """Counts visits and the time-average number inside over a stream of chunks.

    For datasets too long to hold at once: feed every chunk of a window in order to
    :meth:`update`, then ask :meth:`mean_inside`. Uses ``inside(t) = inside_at_start + enters
    - exits``; the customers inside at the start are the visits seen without an ``enter``
    (they have the smallest visit numbers, since visits are numbered in order of arrival).
    """

    def __init__(self, start: int, end: int):
        self.start, self.end = int(start), int(end)
        self.events = 0
        self.enters = 0
        self.exits = 0
        self._integral = 0  # sum over enters of (end - ts) minus the same over exits
        self._first_enter_visit: int | None = None
        self._early_visits: set[int] = set()

    def update(self, frame: pd.DataFrame) -> None:
        """Count the events of the next frame of the window."""
        from customersim.metrics import visit_keys

        self.update_arrays(frame["ts"].to_numpy(), event_codes(frame, strict=True), visit_keys(frame))

    def update_arrays(self, ts: np.ndarray, codes: np.ndarray, visits: np.ndarray) -> None:
        """Like :meth:`update`, from column arrays (event codes 0 enter, 1 move, 2 exit)."""
        entering, leaving = codes == ENTER, codes == EXIT
        self.events += len(ts)
        self.enters += int(entering.sum())
        self.exits += int(leaving.sum())
        self._integral += int((self.end - ts[entering]).sum() - (self.end - ts[leaving]).sum())
        if self._first_enter_visit is None and entering.any():
            self._first_enter_visit = int(visits[entering][0])
        if self._first_enter_visit is None:
            self._early_visits.update(np.unique(visits).tolist())
        elif len(visits) and visits.min() < self._first_enter_visit:  # only near the start
            self._early_visits.update(np.unique(visits[visits < self._first_enter_visit]).tolist())

    @property
    def inside_at_start(self) -> int:
        return len(self._early_visits)

    @property
    def visits(self) -> int:
        return self.enters + self.inside_at_start

    def mean_inside(self) -> float:
        span = max(self.end - self.start, 1)
        return (self.inside_at_start * span + self._integral) / span
