"""File sinks: events frames to CSV or Parquet and back.

Writers take a stream of frames (one frame is a stream of one), so a dataset of any length is
written in constant memory; the format follows the file's extension. CSV files have a header
row with the events-frame column names and plain, unquoted values (``ts`` in epoch seconds,
``event`` as its name, ``dep`` as the department's name or empty). Parquet files keep the dtypes
(``event`` and ``dep`` dictionary-encoded, ``dep`` over all of the layout's departments), in row
groups of 2^20 rows, compressed with zstd (see :data:`PARQUET_OPTIONS`).

:func:`read_events` reads either format back into an events frame with the contract's dtypes,
customer ids as text (so ``"007"`` stays ``"007"``).
"""

from __future__ import annotations

import csv
import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from customersim.arrow import numbers, strings
from customersim.contract import EventValueError, check_events
from customersim.errors import excerpt
from customersim.frame import COLUMNS, EVENT_TYPES, FrameValueError, event_codes, normalize_frame

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow.parquet as pq

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
PARQUET_ROW_GROUP = 1 << 20
CSV_BATCH = 1 << 20
"""Rows handed to the CSV encoder at a time: each call has a cost of its own."""
PARQUET_COMPRESSION = "zstd"
PARQUET_OPTIONS: dict[str, Any] = {
    # zstd at its default level and version 1 data pages with PLAIN and dictionary encodings:
    # files every Parquet reader opens.
    "compression": PARQUET_COMPRESSION,
    # ts is nearly unique row by row: a dictionary of it would be built only to be given up at
    # the dictionary page limit, and plain values compress smaller. The other columns repeat.
    "use_dictionary": ["event", "customer_id", "x", "y", "visit", "dep"],
    # Minimum and maximum of each row group, for readers that skip row groups: useful for the
    # time-ordered ts and visit and the small codes; customer ids are spread over every row
    # group, so theirs would span the whole list and skip nothing.
    "write_statistics": ["ts", "event", "x", "y", "visit", "dep"],
    # Values handed to the encoders at a time: bigger batches than the default 1024 spare a
    # per-batch cost in every column.
    "write_batch_size": 1 << 16,
}


def file_format(path: str | os.PathLike[str]) -> str:
    """``csv`` or ``parquet`` from the extension.

    Raises:
        ValueError: any other extension; the message lists the allowed ones.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unknown file type {suffix or '(none)'!r}: use .csv or .parquet")
    return FORMATS[suffix]


EVENT_NAMES = strings(EVENT_TYPES)


def table_from_frame(frame: pd.DataFrame) -> pa.Table:
    """An events frame as an Arrow table in the file layout (no pandas metadata)."""
    import pandas as pd

    columns = {}
    for name in COLUMNS:
        if name not in frame.columns:
            continue
        values = frame[name]
        if name == "event":
            columns[name] = pa.DictionaryArray.from_arrays(
                pa.array(event_codes(frame), pa.int8()), EVENT_NAMES
            )
        elif name == "customer_id":
            columns[name] = pa.array(values, pa.large_string())
        elif name == "dep":
            if not isinstance(values.dtype, pd.CategoricalDtype):
                values = values.astype("category")
            columns[name] = _dep_array(values.cat.codes.to_numpy(), tuple(values.cat.categories))
        else:
            columns[name] = pa.array(
                values.to_numpy(),
                {"ts": pa.int64(), "x": pa.int16(), "y": pa.int16(), "visit": pa.int64()}[name],
            )
    return pa.table(columns)


def _dep_array(codes: np.ndarray, departments: tuple[str, ...]) -> pa.DictionaryArray:
    codes = np.asarray(codes, dtype=np.int8)
    return pa.DictionaryArray.from_arrays(
        numbers(codes, pa.int8(), null=codes < 0), strings(str(d) for d in departments)
    )


def table_from_columns(
    columns: dict[str, np.ndarray], customer_ids: pa.Array, departments: tuple[str, ...] = ()
) -> pa.Table:
    """The engine's column arrays as an Arrow table in the file layout.

    ``customer_id`` stays dictionary-encoded over the customer list (the writer decodes it
    where the format needs it), which spares building a string per row. ``departments`` are
    the layout's department names, which the ``dep`` codes index.
    """
    return pa.table(
        {
            "ts": numbers(columns["ts"]),
            "event": pa.DictionaryArray.from_arrays(numbers(columns["event"], pa.int8()), EVENT_NAMES),
            "customer_id": pa.DictionaryArray.from_arrays(
                numbers(columns["customer"], pa.int32()), customer_ids
            ),
            "x": numbers(columns["x"]),
            "y": numbers(columns["y"]),
            "visit": numbers(columns["visit"]),
            "dep": _dep_array(columns["dep"], departments),
        }
    )


class EventsWriter:
    """Append events to a CSV or Parquet file in constant memory; use as a context manager.

    The bytes written depend only on the rows, never on how they were split into chunks:
    Parquet row groups are always :data:`PARQUET_ROW_GROUP` rows (the last may be shorter),
    and CSV has one header line.

    The file appears under its name only when it is complete. Until then the rows go to a
    temporary file of its own in the same folder (so two writers of one path never share one),
    which is renamed over the path at the end, atomically, and removed on every way of failing:
    an exception, SIGTERM or SIGHUP while writing, a failed final flush or rename.

    Example:
        >>> with EventsWriter("week.parquet") as writer:      # doctest: +SKIP
        ...     for chunk in simulate_chunks(config):
        ...         writer.write(chunk)
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.format = file_format(self.path)
        self.rows = 0
        self._tmp: Path | None = None
        self._handle = None
        self._parquet: pq.ParquetWriter | None = None
        self._buffered: list[pa.Table] = []
        self._buffered_rows = 0
        self._csv: _CsvRows | None = None
        self._signals = _EndOnSignal()

    def write(self, frame: pd.DataFrame) -> None:
        """Append an events frame."""
        self.write_table(table_from_frame(frame))

    def write_table(self, table: pa.Table) -> None:
        """Append an Arrow table in the file layout (see :func:`table_from_columns`)."""
        if self._handle is None and self._parquet is None:
            self._open(table)
        self.rows += table.num_rows
        if self.format == "csv":
            self._csv.write(table)
            return
        self._buffered.append(table)
        self._buffered_rows += table.num_rows
        if self._buffered_rows >= PARQUET_ROW_GROUP:
            self._flush_row_groups(final=False)

    def _open(self, table: pa.Table) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._signals.install()  # before the file exists (a no-op after __enter__)
        handle, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
        self._tmp = Path(name)
        if self.format == "parquet":
            import pyarrow.parquet as pq  # here: writing CSV does without it

            os.close(handle)
            self._parquet = pq.ParquetWriter(self._tmp, _parquet_schema(table.schema), **PARQUET_OPTIONS)
        else:
            self._handle = os.fdopen(handle, "wb")
            self._handle.write((",".join(table.column_names) + "\n").encode())
            self._handle.flush()  # before polars writes to the descriptor itself
            self._csv = _CsvRows(self._handle)

    def _flush_row_groups(self, *, final: bool) -> None:
        pending = _concat(self._buffered)
        whole = pending.num_rows if final else pending.num_rows - pending.num_rows % PARQUET_ROW_GROUP
        for offset in range(0, whole, PARQUET_ROW_GROUP):
            group = _row_group(
                pending.slice(offset, min(PARQUET_ROW_GROUP, whole - offset)), self._parquet.schema
            )
            self._parquet.write_table(group, row_group_size=PARQUET_ROW_GROUP)
        rest = pending.slice(whole)
        self._buffered = [rest] if rest.num_rows else []
        self._buffered_rows = rest.num_rows

    def close(self, *, keep: bool = True) -> None:
        """Finish the file; with ``keep=False`` (an error happened) the partial file is removed.

        Raises:
            OSError: the last rows could not be written or the file not renamed; the
                temporary file is removed all the same.
        """
        try:
            if keep:
                if self._handle is None and self._parquet is None:
                    self.write(_empty())  # nothing written: still leave a valid file with a header
                if self._parquet is not None and self._buffered:
                    self._flush_row_groups(final=True)
                if self._csv is not None:
                    self._csv.flush()
            self._close_files()
            if keep and self._tmp is not None:
                os.chmod(self._tmp, _permissions())  # private while written, like any file once done
                os.replace(self._tmp, self.path)
                self._tmp = None
        finally:
            self._close_files()  # after a failure above; a no-op otherwise
            self._discard()
            self._signals.restore()

    def _close_files(self) -> None:
        parquet, handle = self._parquet, self._handle
        self._parquet = self._handle = None
        try:
            if parquet is not None:
                parquet.close()
        finally:
            if handle is not None:
                handle.close()

    def _discard(self) -> None:
        """Remove the temporary file, if any (it was not renamed over the path)."""
        tmp, self._tmp = self._tmp, None
        if tmp is not None:
            tmp.unlink(missing_ok=True)

    def __enter__(self) -> EventsWriter:
        # Here, in the caller's thread: the rows may be written from another one later
        # (customersim.dataset writes in a thread of its own), where no handler can be installed.
        self._signals.install()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(keep=exc_type is None)


REQUIRED_IN_PARQUET = frozenset(COLUMNS) - {"dep"}


def _parquet_schema(schema: pa.Schema) -> pa.Schema:
    """The schema of a Parquet file, whichever way the rows came.

    Customer ids are plain strings (Parquet dictionary-encodes them on disk all the same).
    Every column but ``dep`` is required, as the events contract has it: a required column
    needs no definition levels, which spares their encoding in every row.
    """
    fields = [
        field.with_type(pa.large_string())
        if field.name == "customer_id" and pa.types.is_dictionary(field.type)
        else field
        for field in schema
    ]
    fields = [field.with_nullable(field.name not in REQUIRED_IN_PARQUET) for field in fields]
    return pa.schema(fields, metadata=schema.metadata)


def _row_group(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A row group as written: one contiguous chunk per column, in the file's ``schema``.

    Where the Parquet writer ends a page depends on where its input chunks end, so rows that
    came in other blocks would give other bytes; one chunk per column gives the same bytes
    however the rows were split. Customer ids are decoded here, once per row group.

    Raises:
        ValueError: a required column holds a missing value.
    """
    table = _decode_ids(table.combine_chunks())
    if table.schema.equals(schema):
        return table
    try:
        return table.cast(schema)
    except pa.ArrowInvalid as error:
        raise ValueError(f"cannot write events: {error}") from None


def _concat(tables: list[pa.Table]) -> pa.Table:
    """``tables`` as one table; when frames and engine blocks were mixed (ids as plain strings
    in the ones, dictionary-encoded in the others), with every table's ids decoded first."""
    if any(not table.schema.equals(tables[0].schema) for table in tables[1:]):
        tables = [_decode_ids(table) for table in tables]
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def _decode_ids(table: pa.Table) -> pa.Table:
    """``table`` with dictionary-encoded customer ids as plain strings."""
    index = table.schema.get_field_index("customer_id")
    if index < 0 or not pa.types.is_dictionary(table.schema.field(index).type):
        return table
    return table.set_column(index, "customer_id", table.column(index).cast(pa.large_string()))


def _permissions() -> int:
    """The mode a new file gets under the process's umask (mkstemp makes it 0600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


class _EndOnSignal:
    """While a file is written: SIGTERM and SIGHUP end the process without leaving it behind.

    Their default action would kill the process on the spot, before any ``finally`` could
    remove the temporary file. Instead the signal raises :class:`SystemExit` (status 128 +
    signal number, as a shell reports a killed process), which unwinds through the writer's
    ``with`` block and removes the file. A handler someone else installed keeps its say: it is
    called instead, and decides. Only the main thread can install handlers: the writer does so
    when its ``with`` block is entered, wherever the rows are written from later.
    """

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}  # while installed
        self._original: dict[int, Any] = {}  # what a signal gets once the writing is over
        self._pid = os.getpid()

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread() or self._previous:
            return
        self._pid = os.getpid()
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        self._original = dict(self._previous)

    def restore(self) -> None:
        previous, self._previous = self._previous, {}
        if os.getpid() != self._pid or threading.current_thread() is not threading.main_thread():
            return  # cannot put the handlers back from here: _handle hands the signals back
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if os.getpid() != self._pid or not self._previous:
            # Not writing any more, or a worker process forked meanwhile (it has no file to
            # remove): the signal gets the handling it had before.
            signal.signal(signum, self._original.get(signum, signal.SIG_DFL))
            os.kill(os.getpid(), signum)
            return
        previous = self._previous[signum]
        if previous == signal.SIG_IGN:
            return
        if callable(previous):
            previous(signum, frame)
            return
        raise SystemExit(128 + signum)


_NEEDS_QUOTES = re.compile(r'[",\r\n]')


class _CsvRows:
    """Writes a table's rows to an open CSV file, without the header.

    polars writes plain CSV several times faster than pandas or pyarrow, and writes to the
    file's descriptor itself, without holding the GIL.
    """

    def __init__(self, handle) -> None:
        self.handle = handle
        self._checked: list[pa.Array] = []  # the dictionaries last found to need no quotes
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._quotes = False

    def write(self, table: pa.Table) -> None:
        """Append rows; they reach the file in batches of :data:`CSV_BATCH` rows or at :meth:`flush`."""
        if not table.num_rows:
            return
        self._quotes = self._quotes or not self._no_quotes(table)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= CSV_BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the rows held back."""
        import polars as pl

        if not self._pending:
            return
        table = _concat(self._pending)
        self._pending, self._pending_rows = [], 0
        frame = pl.from_arrow(table, rechunk=False)
        frame.write_csv(
            self.handle, include_header=False, quote_style="necessary" if self._quotes else "never"
        )
        self._quotes = False

    def _no_quotes(self, table: pa.Table) -> bool:
        """Whether no value of ``table`` needs quotes, known without looking at every row.

        Only a text with a comma, quote or line break needs them, and only ids and department
        names are free text; when both come as dictionaries, their values tell, and "never"
        writes faster. The engine's blocks share their dictionaries, which are checked once.
        """
        dictionaries = []
        for name in ("customer_id", "dep"):
            if name not in table.column_names:
                continue
            column = table[name]
            if not pa.types.is_dictionary(column.type):
                return False
            dictionaries.extend(chunk.dictionary for chunk in column.chunks)
        if len(dictionaries) == len(self._checked) and all(
            new.equals(old) for new, old in zip(dictionaries, self._checked, strict=True)
        ):
            return True
        if any(_NEEDS_QUOTES.search(text) for values in dictionaries for text in values.to_pylist() if text):
            return False
        self._checked = dictionaries
        return True


def _empty() -> pd.DataFrame:
    from customersim.frame import empty_frame

    return empty_frame()


def write_events(frames: pd.DataFrame | Iterable[pd.DataFrame], path: str | os.PathLike[str]) -> int:
    """Write a frame or a stream of frames to ``path`` (.csv or .parquet); returns the rows."""
    import pandas as pd

    if isinstance(frames, pd.DataFrame):
        frames = [frames]
    with EventsWriter(path) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.rows


def read_events(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an events file (CSV or Parquet) into an events frame with the contract's dtypes.

    The file must keep the contract (see :mod:`customersim.contract`): a value that does not
    fit is refused, never cut or wrapped to fit the frame's dtypes.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a regular file, cannot be parsed, lacks a required column
            or holds a value the contract does not allow; the message names the file, the line
            (CSV; the header is line 1) or the row (Parquet, from 0) and the column.
    """
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    kind = file_format(path)
    _require_regular_file(path)
    try:
        if kind == "parquet":
            frame = pq.read_table(path).to_pandas()
        else:
            convert = pa_csv.ConvertOptions(
                column_types={"customer_id": pa.large_string(), "event": pa.string(), "dep": pa.string()}
            )
            frame = pa_csv.read_csv(path, convert_options=convert).to_pandas()
    except (pa.ArrowInvalid, OSError) as error:
        raise ValueError(f"{path}: cannot read events: {_arrow_message(error, path, kind)}") from None
    try:
        check_events(frame)
        return normalize_frame(frame)
    except (EventValueError, FrameValueError) as error:
        reason = error.reason if isinstance(error, EventValueError) else str(error).split(": ", 1)[-1]
        where = [str(path)]
        if error.row is not None:
            where.append(f"line {error.row + 2}" if kind == "csv" else f"row {error.row}")
        if error.column is not None:
            where.append(f"column {error.column}")
        raise ValueError(f"{', '.join(where)}: {reason}") from None


def _require_regular_file(path: str | os.PathLike[str]) -> None:
    # A directory would fail late with an odd message, and a FIFO would block the reader forever.
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    if stat.S_ISDIR(mode):
        raise ValueError(f"{path}: is a directory, not an events file")
    if not stat.S_ISREG(mode):
        raise ValueError(f"{path}: is not a regular file (a pipe or a device?): expected an events file")


_ROW_TEXT = re.compile(r"^(CSV parse error: .*?got \d+): (.*)$", re.DOTALL)
_SCAN_LINES = 1_000_000  # how far a parse error's line is looked for


def _arrow_message(error: Exception, path: str | os.PathLike[str], kind: str) -> str:
    """pyarrow's reason in one short line, with the line number it leaves out where it is found."""
    text = str(error).strip()
    found = _ROW_TEXT.match(text)
    if not found:
        return text if text.isprintable() and len(text) <= 200 else excerpt(text, 200)
    line = _first_ragged_line(path) if kind == "csv" else None
    where = f"line {line}: " if line else ""
    return f"{where}{found.group(1)}: {excerpt(found.group(2))}"


def _first_ragged_line(path: str | os.PathLike[str]) -> int | None:
    """The first line whose number of fields differs from the header's (None: not found)."""
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, [])
            for row in reader:
                if row and len(row) != len(header):  # pyarrow skips blank lines too
                    return reader.line_num
                if reader.line_num > _SCAN_LINES:
                    return None
        except csv.Error:
            return None
    return None


__all__ = [
    "EventsWriter",
    "file_format",
    "read_events",
    "table_from_columns",
    "table_from_frame",
    "write_events",
]
