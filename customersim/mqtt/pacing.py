"""When each event goes out: the speed factor, the wall clock and the shift to "now".

A simulated day holds its own timestamps; a live consumer wants to see them arrive as they
happen. :class:`Pacer` maps event time to wall-clock time: the first event (or a given origin)
goes out at once, every later second ``(ts - origin) / speed`` wall seconds after it, and events
of the same second go out together. At ``speed=None`` ("max") nothing waits. :func:`rebased`
shifts a stream of frames so that its first event happens now, for replays of old files.

Nothing here touches the network: the publisher asks the pacer when a group of events is due and
lets its transport wait until then.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def parse_speed(value: Any) -> float | None:
    """A speed factor from a flag or widget: ``None``/``"max"`` mean as fast as possible.

    Raises:
        ValueError: not ``max`` and not a number above 0.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in ("max", "")):
        return None
    try:
        speed = float(value)
    except (TypeError, ValueError):
        speed = math.nan
    if not math.isfinite(speed) or speed <= 0:
        raise ValueError(
            f"speed = {value!r} is not allowed: expected a factor above 0 (1 = wall "
            "clock, 60 = a minute per second) or 'max'"
        )
    return speed


class Pacer:
    """Maps event times to wall-clock due times for one run.

    Args:
        speed: 1 = wall clock, 60 = one simulated minute per second; ``None`` = no waiting.
        origin_ts: the event time that maps to the moment pacing begins (default: the first
            event's ``ts``).
    """

    def __init__(self, speed: float | None, origin_ts: int | None = None) -> None:
        self.speed = speed
        self.origin_ts = origin_ts
        self._origin_wall: float | None = None
        self.lag = 0.0  # how late the last group went out, in seconds

    def groups(self, ts: np.ndarray) -> Iterator[tuple[int, int, float | None]]:
        """``(begin, end, due)`` per run of equal ``ts``; ``due`` on the monotonic clock.

        At ``speed=None`` the whole array is one group with no due time.
        """
        if self.speed is None or len(ts) == 0:
            if len(ts):
                yield 0, len(ts), None
            return
        import numpy as np

        if self.origin_ts is None:
            self.origin_ts = int(ts[0])
        if self._origin_wall is None:
            self._origin_wall = time.monotonic()
        bounds = (np.flatnonzero(np.diff(ts)) + 1).tolist()
        for begin, end in zip([0, *bounds], [*bounds, len(ts)], strict=True):
            yield begin, end, self._origin_wall + (int(ts[begin]) - self.origin_ts) / self.speed

    def note_sent(self, due: float | None) -> None:
        """Record how late a group went out (0 when on time)."""
        self.lag = 0.0 if due is None else max(0.0, time.monotonic() - due)


def rebased(frames: Iterable[pd.DataFrame], now: int | None = None) -> Iterator[pd.DataFrame]:
    """The frames with ``ts`` shifted so that the first event happens ``now`` (default: now)."""
    offset: int | None = None
    for frame in frames:
        if len(frame) == 0:
            continue
        if offset is None:
            offset = int(time.time() if now is None else now) - int(frame["ts"].iat[0])
        shifted = frame.copy()
        shifted["ts"] = shifted["ts"] + offset
        yield shifted
