"""What one event may hold: the contract's rules for values, checked where events come in.

Frames that customersim simulates keep the contract by construction. Events from outside do
not have to: a CSV or Parquet file someone else wrote, or an event made by hand for ``send``.
Before such events are used they pass these checks, and a value that does not fit is refused
with the row and column, never cut or wrapped to fit (a file with ``x = 65536`` read into 16
bits would otherwise become ``x = 0``, and ``ts = 1767571213.9`` would lose its fraction):

- ``ts`` is whole epoch seconds from 0 to :data:`MAX_TS`;
- ``event`` is one of :data:`~customersim.frame.EVENT_TYPES`;
- ``customer_id`` is there and not blank;
- ``x`` and ``y`` are cells: whole numbers from 0 to :data:`MAX_CELL`, and inside the store when
  its size is known;
- ``visit``, where present, is a whole number from 0 to :data:`MAX_TS`.

:mod:`customersim.validate` goes further on frames that fit: the grid, the door and every
customer's story in time order.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

from customersim.errors import excerpt
from customersim.events import EVENT_TYPES

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# The largest integer every JSON consumer reads exactly (JavaScript numbers are doubles).
MAX_TS = 2**53
# Cells are stored in 16 bits.
MAX_CELL = 2**15 - 1
# column -> (lowest, highest) whole number allowed.
WHOLE_NUMBERS: dict[str, tuple[int, int]] = {
    "ts": (0, MAX_TS),
    "x": (0, MAX_CELL),
    "y": (0, MAX_CELL),
    "visit": (0, MAX_TS),
}


class EventValueError(ValueError):
    """An event breaks the contract.

    Attributes:
        column: the column (or argument) at fault, None for the file as a whole.
        row: 0-based position of the first row at fault, None when no single row is.
        reason: what is wrong and what is allowed, without the place.
    """

    def __init__(self, column: str | None, row: int | None, reason: str):
        self.column, self.row, self.reason = column, row, reason
        if row is not None:
            message = f"row {row}, column {column}: {reason}"
        else:
            message = f"{column} = {reason}" if column else reason
        super().__init__(message)


def check_events(frame: pd.DataFrame) -> None:
    """Refuse a frame of events (as read from a file) that does not fit the contract.

    Every row is checked; the error names the first row at fault (the first column, when one
    row breaks several rules) and how many rows break the same rule.

    Raises:
        EventValueError: a required column is missing, or a value is not allowed.
    """
    import numpy as np  # here: checking one hand-made event (send) needs neither

    from customersim.frame import REQUIRED_COLUMNS

    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        found = ", ".join(excerpt(name, 20) for name in frame.columns[:10]) or "none"
        raise EventValueError(
            None,
            None,
            f"missing column(s) {', '.join(missing)}: expected the columns "
            f"{', '.join(REQUIRED_COLUMNS)} (found {found})",
        )
    first: tuple[int, str, str, int] | None = None  # row, column, reason, rows at fault
    for column in frame.columns:
        bad, expected = _bad_rows(frame, column)
        if bad is None or not bad.any():
            continue
        positions = np.flatnonzero(bad)
        row = int(positions[0])
        if first is None or row < first[0]:  # ties: the column further left
            value = frame[column].iloc[row]
            shown = "a missing value" if _missing(value) else _show(value)
            first = (row, str(column), f"{shown} is not allowed: expected {expected}", positions.size)
    if first is not None:
        row, column, reason, count = first
        more = f" ({count - 1} more {'row' if count == 2 else 'rows'} like it)" if count > 1 else ""
        raise EventValueError(column, row, reason + more)


def check_event(
    event: str,
    customer_id: Any,
    ts: Any,
    x: Any = None,
    y: Any = None,
    *,
    width: int | None = None,
    height: int | None = None,
) -> None:
    """Refuse one hand-made event that does not fit the contract.

    Args:
        event, customer_id, ts, x, y: the event's values (x and y only on a move).
        width, height: the store's size in cells, when known: x and y must then be inside.

    Raises:
        EventValueError: a value is not allowed; ``column`` names the argument.
    """
    if event not in EVENT_TYPES:
        raise EventValueError("event", None, f"{_show(event)} is not allowed: expected {_event_names()}")
    if customer_id is None or not str(customer_id).strip():
        raise EventValueError(
            "customer_id", None, f"{_show(customer_id)} is not allowed: expected a non-blank id"
        )
    _check_whole("ts", ts, 0, MAX_TS)
    for name, value, size, extent in (("x", x, width, "wide"), ("y", y, height, "high")):
        if value is not None:
            high = MAX_CELL if size is None else size - 1
            where = "" if size is None else f" (the store is {size} cells {extent})"
            _check_whole(name, value, 0, high, where)


def _check_whole(name: str, value: Any, low: int, high: int, where: str = "") -> None:
    whole = isinstance(value, Integral) and not isinstance(value, bool)
    whole = whole or (isinstance(value, Real) and float(value).is_integer())
    if not whole or not low <= int(value) <= high:
        raise EventValueError(
            name, None, f"{_show(value)} is not allowed: expected a whole number from {low} to {high}{where}"
        )


def _event_names() -> str:
    return f"one of {', '.join(EVENT_TYPES)}"


def _bad_rows(frame: pd.DataFrame, column: str) -> tuple[np.ndarray | None, str]:
    """Rows of ``column`` that break the contract (None: a column the contract leaves free)."""
    import pandas as pd

    values = frame[column]
    if column in WHOLE_NUMBERS:
        low, high = WHOLE_NUMBERS[column]
        return _not_whole(values, low, high), f"a whole number from {low} to {high}"
    if column == "event":
        return _unknown_events(values), _event_names()
    if column == "customer_id":
        missing = values.isna().to_numpy()
        if pd.api.types.is_numeric_dtype(values.dtype):
            return missing, "a non-blank id"
        blank = values.astype("str").str.strip().eq("").to_numpy(dtype=bool, na_value=True)
        return missing | blank, "a non-blank id"
    return None, ""


def _unknown_events(values: pd.Series) -> np.ndarray:
    """Rows whose event is not one of the names (numbers and missing values included)."""
    import numpy as np
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):  # check each category once, not each row
        known = np.append(values.cat.categories.isin(EVENT_TYPES), False)  # code -1: missing
        return ~known[values.cat.codes.to_numpy()]
    return ~values.isin(EVENT_TYPES).to_numpy()


def _not_whole(values: pd.Series, low: int, high: int) -> np.ndarray:
    """Rows that are not a whole number from ``low`` to ``high`` (missing ones included)."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(values.dtype):
        return np.ones(len(values), dtype=bool)
    if pd.api.types.is_integer_dtype(values.dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan) if values.hasnans else None
        if numbers is None:
            integers = values.to_numpy()
            return (integers < low) | (integers > high)
    else:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(numbers) | (numbers % 1 != 0) | (numbers < low) | (numbers > high)


def _missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _show(value: Any) -> str:
    """A value as an error message quotes it: numbers as they are, text in quotes, short."""
    if value is None or (isinstance(value, (Integral, Real)) and not isinstance(value, bool)):
        return excerpt(value).strip("'")
    return excerpt(value)


__all__: Sequence[str] = ["MAX_CELL", "MAX_TS", "EventValueError", "check_event", "check_events"]
