"""A dataset on disk: simulate a window of the store and write its events to a file, streaming.

This is the one way a dataset gets written, whoever asks: ``customersim generate``, the app's
CSV and Parquet downloads and the tests all call :func:`write_dataset`, so the same settings
give the same bytes everywhere. The engine's column blocks go straight to the file sink (no
DataFrame in between), memory stays flat however long the window, and the file appears under
its name only once it is complete.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from customersim.config import SimConfig


WAITING_ROWS = 1 << 21
"""Rows of simulated blocks that may wait for the writer: two Parquet row groups or CSV batches."""


@dataclass(frozen=True)
class DatasetSummary:
    """What was written.

    Attributes:
        path: the file.
        events: rows written.
        visits: visits that began in the window.
        mean_inside: time-average number of customers inside over the window.
    """

    path: Path
    events: int
    visits: int
    mean_inside: float


def write_dataset(
    config: SimConfig,
    path: str | os.PathLike[str],
    customers: pd.DataFrame | Sequence[str] | str | os.PathLike[str] | None = None,
    *,
    workers: int = 1,
    on_progress: Callable[[int], None] | None = None,
) -> DatasetSummary:
    """Simulate the window of ``config`` and write its events to ``path`` (.csv or .parquet).

    Example:
        >>> write_dataset(SimConfig(hours=24, seed=7), "day.parquet").events  # doctest: +SKIP
        48210

    Args:
        config: the store and the window (``start``, ``hours``) and the seed.
        path: the file to write; its extension picks the format.
        customers: the customer list (as :func:`customersim.simulate` takes it); default the
            file of ``config``.
        workers: processes that build the walks (the file is the same for any number).
        on_progress: called with the simulated time (epoch seconds) reached after each block.

    Returns:
        A :class:`DatasetSummary`.

    Raises:
        ValueError: an unknown file extension, or ``workers`` below 1.
        CapacityError, CustomerListError: the customer list does not fit the settings.
        OSError: the file cannot be written (no partial file is left).
    """
    from customersim.files import EventsWriter, file_format, table_from_columns
    from customersim.simulation import simulate_blocks
    from customersim.tally import OccupancyTally

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers = {workers!r} is not allowed: expected a whole number >= 1")
    file_format(path)
    start = config.start
    tally = OccupancyTally(start, config.end)
    ids, blocks = simulate_blocks(config, customers, workers=workers)
    departments = config.floorplan.departments
    with EventsWriter(path) as writer, _Pipeline(writer.write_table) as pipeline:
        for block in blocks:
            pipeline.put(table_from_columns(block, ids, departments), len(block["ts"]))
            tally.update_arrays(block["ts"], block["event"], block["visit"])
            if on_progress is not None:
                on_progress(int(block["ts"][-1]))
    return DatasetSummary(Path(path), tally.events, tally.visits, tally.mean_inside())


class _Pipeline:
    """Writes tables in a thread of its own while the next block is simulated.

    The file encoders (polars for CSV, Arrow for Parquet) let go of the GIL while they work, so
    on a machine with a second core the writing hides behind the simulation. They work in
    bursts, a Parquet row group or a CSV batch (2^20 rows) at a time, while the engine's blocks
    come some 10^5 rows at a time: so that the simulation goes on during a burst, up to
    ``rows`` rows may wait, which bounds the memory. The order of the rows is kept. An error in
    the writer is raised again in the caller's thread, at the next ``put`` or at the end.
    """

    def __init__(self, write: Callable[[Any], None], rows: int = WAITING_ROWS) -> None:
        self._write = write
        self._limit = rows
        self._waiting: collections.deque[tuple[Any, int]] = collections.deque()
        self._waiting_rows = 0
        self._changed = threading.Condition()
        self._error: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._drain, name="customersim-writer", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._waiting)
                item, rows = self._waiting[0]
            if item is _DONE:
                return
            if self._error is None and not self._abandoned:
                try:
                    self._write(item)
                except BaseException as error:  # handed to the caller's thread
                    self._error = error
            with self._changed:
                self._waiting.popleft()
                self._waiting_rows -= rows
                self._changed.notify_all()

    def put(self, item: Any, rows: int) -> None:
        """Hand ``item`` (``rows`` rows) to the writer; waits while too many rows wait already."""
        with self._changed:
            # One item is always let through, however large, or it would wait forever.
            self._changed.wait_for(
                lambda: (
                    self._error is not None or not self._waiting or self._waiting_rows + rows <= self._limit
                )
            )
            if self._error is not None:
                raise self._error
            self._waiting.append((item, rows))
            self._waiting_rows += rows
            self._changed.notify_all()

    def __enter__(self) -> _Pipeline:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        # After an error in the caller the file is thrown away: write no more of it.
        self._abandoned = exc is not None
        with self._changed:
            self._waiting.append((_DONE, 0))
            self._changed.notify_all()
        self._thread.join()
        if self._error is not None and exc is None:
            raise self._error


_DONE = object()
