"""File sinks: events frames to CSV or Parquet and back.

Writers take a stream of frames (one frame is a stream of one), so a dataset of any length is
written in constant memory; the format follows the file's extension. CSV files have a header
row with the events-frame column names and plain values (``ts`` in epoch seconds, ``event`` as
its name). Parquet files keep the dtypes, in row groups of about a million rows, compressed
with zstd.

:func:`read_events` reads either format back into an events frame with the contract's dtypes,
customer ids as text (so ``"007"`` stays ``"007"``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from customersim.frame import COLUMNS, EVENT_TYPES, normalize_frame

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
PARQUET_ROW_GROUP = 1 << 20
PARQUET_COMPRESSION = "zstd"


def file_format(path: str | os.PathLike[str]) -> str:
    """``csv`` or ``parquet`` from the extension.

    Raises:
        ValueError: any other extension; the message lists the allowed ones.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unknown file type {suffix or '(none)'!r}: use .csv or .parquet")
    return FORMATS[suffix]


_ARROW_SCHEMA = pa.schema([
    ("ts", pa.int64()),
    ("event", pa.dictionary(pa.int8(), pa.string())),
    ("customer_id", pa.large_string()),
    ("x", pa.int16()),
    ("y", pa.int16()),
    ("visit", pa.int64()),
])


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """An events frame as an Arrow table with the file schema (no copies of big columns)."""
    columns = [c for c in COLUMNS if c in frame.columns]
    schema = pa.schema([_ARROW_SCHEMA.field(c) for c in columns])
    return pa.Table.from_pandas(frame[columns], schema=schema, preserve_index=False)


class EventsWriter:
    """Append events frames to a CSV or Parquet file; use as a context manager.

    Example:
        >>> with EventsWriter("week.parquet") as writer:      # doctest: +SKIP
        ...     for chunk in simulate_chunks(config):
        ...         writer.write(chunk)
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.format = file_format(self.path)
        self.rows = 0
        self._writer: pa_csv.CSVWriter | pq.ParquetWriter | None = None
        self._tmp = self.path.with_name(self.path.name + ".partial")

    def write(self, frame: pd.DataFrame) -> None:
        table = to_arrow(frame)
        if self.format == "csv":
            # CSV has no dictionary type: write the event names as plain text.
            table = table.set_column(table.schema.get_field_index("event"), "event",
                                     table["event"].cast(pa.string()))
        if self._writer is None:
            self._tmp.parent.mkdir(parents=True, exist_ok=True)
            if self.format == "csv":
                options = pa_csv.WriteOptions(include_header=True, quoting_style="needed")
                self._writer = pa_csv.CSVWriter(self._tmp, table.schema, write_options=options)
            else:
                self._writer = pq.ParquetWriter(self._tmp, table.schema, compression=PARQUET_COMPRESSION)
        if self.format == "parquet":
            self._writer.write_table(table, row_group_size=PARQUET_ROW_GROUP)
        else:
            self._writer.write_table(table)
        self.rows += len(frame)

    def close(self, *, keep: bool = True) -> None:
        """Finish the file; with ``keep=False`` (an error happened) the partial file is removed.

        The file is written under a temporary name and renamed when complete, so a reader never
        sees half a dataset under the real name.
        """
        writer, self._writer = self._writer, None
        if writer is None:
            if keep:  # nothing written: still leave a valid, empty file
                self.write(_empty())
                return self.close()
            return
        writer.close()
        if keep:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> EventsWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(keep=exc_type is None)


def _empty() -> pd.DataFrame:
    from customersim.frame import empty_frame

    return empty_frame()


def write_events(frames: pd.DataFrame | Iterable[pd.DataFrame], path: str | os.PathLike[str]) -> int:
    """Write a frame or a stream of frames to ``path`` (.csv or .parquet); returns the rows."""
    if isinstance(frames, pd.DataFrame):
        frames = [frames]
    with EventsWriter(path) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.rows


def read_events(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an events file (CSV or Parquet) into an events frame with the contract's dtypes.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file cannot be parsed or a column has the wrong type; the message names
            the file (and for CSV the line and column where pyarrow reports them).
    """
    kind = file_format(path)
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        if kind == "parquet":
            frame = pq.read_table(path).to_pandas()
        else:
            convert = pa_csv.ConvertOptions(column_types={"customer_id": pa.large_string(),
                                                          "event": pa.string()})
            frame = pa_csv.read_csv(path, convert_options=convert).to_pandas()
    except (pa.ArrowInvalid, OSError) as error:
        raise ValueError(f"{path}: cannot read events: {error}") from None
    try:
        return normalize_frame(frame)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


__all__ = ["EVENT_TYPES", "EventsWriter", "file_format", "read_events", "to_arrow", "write_events"]
