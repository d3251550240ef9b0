"""A progress bar in simulated time, for long batch runs (tqdm, on stderr, only on a terminal)."""

from __future__ import annotations

from tqdm import tqdm


class SimulatedTimeBar:
    """Shows how many simulated hours of ``[start, end)`` are done."""

    def __init__(self, start: int, end: int, *, disable: bool = False):
        self.start, self.end = start, end
        self._done = 0.0
        # disable=None lets tqdm switch itself off when stderr is not a terminal.
        self._bar = tqdm(
            total=round((end - start) / 3600, 2),
            unit="h",
            desc="simulated",
            disable=True if disable else None,
            leave=False,
            dynamic_ncols=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} h [{elapsed}<{remaining}]",
        )

    def advance_to(self, moment: int) -> None:
        done = round(min(max(moment - self.start, 0), self.end - self.start) / 3600, 2)
        if done > self._done:
            self._bar.update(done - self._done)
            self._done = done

    def __enter__(self) -> SimulatedTimeBar:
        return self

    def __exit__(self, *exc) -> None:
        self._bar.close()
