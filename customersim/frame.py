"""The events frame: the one data type every part of customersim passes around.

One row per sensor event, sorted by ``ts`` (ties in visit order, then step order):

======================  ==========  ==============================================
column                  dtype       meaning
======================  ==========  ==============================================
``ts``                  int64       seconds since the epoch (UTC)
``event``               category    ``enter``, ``move``, ``exit`` or ``focus``
``customer_id``         string      id from the customer list
``x``, ``y``            int16       sensor cell; for enter and exit the door cell
``visit``               int64       visit number, in order of arrival
``dep``                 category    department of the cell (missing outside departments)
======================  ==========  ==============================================

A ``focus`` event marks the moment a shopper has stayed ``focus_seconds`` in one department
(once per stay); its ``x``, ``y`` are the cell they are at then and ``dep`` names the
department. The event codes are enter 0, move 1, exit 2, focus 3.

Frames read back from a CSV or Parquet file are brought to these dtypes by
:func:`normalize_frame`, so that metrics and validation see the same thing whatever the source.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from customersim.events import EVENT_TYPES

if TYPE_CHECKING:
    import pandas as pd

ENTER, MOVE, EXIT, FOCUS = 0, 1, 2, 3
REQUIRED_COLUMNS: tuple[str, ...] = ("ts", "event", "customer_id", "x", "y")
COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, "visit", "dep")


@functools.cache
def _dtypes() -> dict[str, Any]:
    import pandas as pd

    return {
        "EVENT_DTYPE": pd.CategoricalDtype(list(EVENT_TYPES), ordered=False),
        "STRING_DTYPE": pd.StringDtype("pyarrow", na_value=np.nan),
    }


def __getattr__(name: str) -> Any:
    # EVENT_DTYPE and STRING_DTYPE are pandas dtypes, made on first use: the engine and the file
    # writers name the event codes above and never build a frame, so ``generate`` starts
    # without importing pandas.
    if name in ("EVENT_DTYPE", "STRING_DTYPE"):
        return _dtypes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_frame(
    ts: np.ndarray,
    event_code: np.ndarray,
    customer_index: np.ndarray | None,
    customer_ids: pa.Array | pa.ChunkedArray,
    x: np.ndarray,
    y: np.ndarray,
    visit: np.ndarray,
    dep: np.ndarray | None = None,
    departments: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Assemble an events frame from column arrays without copying more than needed.

    ``customer_index`` indexes ``customer_ids`` (an Arrow string array of the list's ids); with
    ``customer_index`` None, ``customer_ids`` holds each row's id already (chunks allowed);
    ``dep`` holds indices into ``departments`` (-1: no department; all missing when omitted).
    """
    import pandas as pd

    if dep is None:
        dep = np.full(len(ts), -1, np.int8)
    # large_string: what pandas stores.
    ids = customer_ids if customer_index is None else take_ids(customer_ids, customer_index)
    return pd.DataFrame(
        {
            "ts": pd.Series(ts, dtype="int64", copy=False),
            "event": pd.Categorical.from_codes(event_code, dtype=_dtypes()["EVENT_DTYPE"]),
            "customer_id": pd.Series(ids, dtype=_dtypes()["STRING_DTYPE"], copy=False),
            "x": pd.Series(x, dtype="int16", copy=False),
            "y": pd.Series(y, dtype="int16", copy=False),
            "visit": pd.Series(visit, dtype="int64", copy=False),
            "dep": pd.Categorical.from_codes(dep, dtype=dep_dtype(departments)),
        },
        copy=False,
    )


def take_ids(customer_ids: pa.Array, customer_index: np.ndarray) -> pa.Array:
    """The ids of ``customer_index`` (int32 indices into the list's ``customer_ids``).

    Taken into mimalloc's memory where Arrow has it: a take into its fresh memory is more than
    twice as fast as into the system allocator's (7.8 M ids: 60 ms against 140 ms on a test
    machine), and the ids are the one big buffer a frame gets from Arrow.
    """
    import pyarrow.compute as pc

    try:
        pool = pa.mimalloc_memory_pool()
    except NotImplementedError:
        pool = pa.system_memory_pool()
    return pc.take(customer_ids, pa.array(customer_index, type=pa.int32()), memory_pool=pool)


def dep_dtype(departments: tuple[str, ...] | list[str] = ()) -> pd.CategoricalDtype:
    """The dtype of the ``dep`` column: a category over the layout's department names."""
    import pandas as pd

    # Categories typed as strings even when there are none, so frames of stores with and without
    # departments concatenate (a chain on Dask) without a clash of category dtypes.
    return pd.CategoricalDtype(pd.Index(list(departments), dtype="str"), ordered=False)


def event_codes(frame: pd.DataFrame, *, strict: bool = True) -> np.ndarray:
    """Event codes 0 (enter), 1 (move), 2 (exit), 3 (focus) of each row, whatever the ``event`` dtype.

    Args:
        strict: raise on an unknown event name; otherwise its code is -1.

    Raises:
        ValueError: (strict) an event is not enter, move or exit; the message shows some.
    """
    import pandas as pd

    events = frame["event"]
    if isinstance(events.dtype, pd.CategoricalDtype) and list(events.cat.categories) == list(EVENT_TYPES):
        codes = events.cat.codes.to_numpy()
    else:
        codes = pd.Categorical(events.astype("object"), categories=list(EVENT_TYPES)).codes
    if strict and (codes < 0).any():
        bad = sorted(set(events[codes < 0].astype(str)))[:3]
        raise ValueError(f"column 'event' has values {bad}: expected enter, move, exit or focus")
    return codes.astype(np.int8, copy=False)


def empty_frame() -> pd.DataFrame:
    """An events frame with no rows and the right dtypes."""
    empty = np.empty(0, dtype=np.int64)
    return build_frame(
        empty,
        np.empty(0, np.int8),
        np.empty(0, np.int32),
        pa.array([], pa.large_string()),
        empty.astype(np.int16),
        empty.astype(np.int16),
        empty,
        np.empty(0, np.int8),
    )


def normalize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Bring a frame read from a file (or built by hand) to the events-frame dtypes.

    Only the columns present are converted, and ``event`` only when every name is known;
    checking that the required columns exist and hold valid values is
    :mod:`customersim.contract`'s job (for files) and :mod:`customersim.validate`'s. A number
    is converted only when it stays what it was: never wrapped into 16 bits or cut to a whole.

    Raises:
        FrameValueError: a column cannot be converted exactly; the message names it and the
            first row at fault.
    """
    import pandas as pd

    out = frame.copy()
    conversions = {
        "ts": "int64",
        "event": _dtypes()["EVENT_DTYPE"],
        "customer_id": _dtypes()["STRING_DTYPE"],
        "x": "int16",
        "y": "int16",
        "visit": "int64",
    }
    for column, dtype in conversions.items():
        if column not in out.columns or out[column].dtype == dtype:
            continue
        if column == "event" and not out[column].isin(EVENT_TYPES).all():
            continue  # keep unknown event names as they are, for the validator to report
        if isinstance(dtype, str) and dtype.startswith("int"):
            _require_exact(out[column], column, dtype)  # astype would wrap or truncate silently
        try:
            if column == "customer_id":
                out[column] = out[column].astype(_dtypes()["STRING_DTYPE"])
            else:
                out[column] = out[column].astype(dtype)
        except (TypeError, ValueError) as error:
            raise FrameValueError(column, _first_bad_row(out[column], dtype), dtype, error) from None
    if "dep" in out.columns and not isinstance(out["dep"].dtype, pd.CategoricalDtype):
        names = out["dep"].astype("object")
        names = names.where(names.notna() & (names.astype(str) != ""), None)
        out["dep"] = pd.Categorical(names, dtype=dep_dtype(sorted(set(names.dropna().astype(str)))))
    elif "dep" in out.columns:
        # Parquet gives back an empty category list typed as objects: the events frame's are strings.
        out["dep"] = out["dep"].astype(dep_dtype([str(name) for name in out["dep"].cat.categories]))
    return out


class FrameValueError(ValueError):
    """A column holds a value of the wrong type; ``row`` is its 0-based position (or None)."""

    def __init__(self, column: str, row: int | None, dtype, error: Exception):
        self.column, self.row = column, row
        where = f"row {row}, " if row is not None else ""
        super().__init__(f"{where}column {column!r}: cannot be read as {dtype}: {error}")


def _require_exact(values: pd.Series, column: str, dtype: str) -> None:
    """Raise unless every value is a whole number that ``dtype`` holds as it is."""
    import pandas as pd

    if pd.api.types.is_integer_dtype(values.dtype) and not values.hasnans:
        if np.can_cast(values.dtype, dtype):
            return
        numbers = values.to_numpy()
        low, high = np.iinfo(dtype).min, np.iinfo(dtype).max
        bad = (numbers < low) | (numbers > high)
    else:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        low, high = np.iinfo(dtype).min, np.iinfo(dtype).max
        with np.errstate(invalid="ignore"):
            # float(high) + 1: the int64 maximum is not a float; 2**63 is.
            bad = ~np.isfinite(numbers) | (numbers % 1 != 0) | (numbers < low) | (numbers >= float(high) + 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = values.iloc[row]
        value = value.item() if isinstance(value, np.generic) else value
        reason = ValueError(f"{value!r} is not a whole number from {low} to {high}")
        raise FrameValueError(column, row, dtype, reason)


def _first_bad_row(values: pd.Series, dtype) -> int | None:
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | (numbers % 1 != 0)
    positions = np.flatnonzero(bad.to_numpy())
    return int(positions[0]) if positions.size else None
