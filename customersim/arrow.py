"""Arrow arrays from numpy arrays and Python strings, built from their buffers.

``pyarrow.array`` imports pandas the first time it sees a sequence or a numpy array (to check
whether it is a pandas one), and pandas is the heaviest import of all. Writing a dataset needs
only integer columns and a few short lists of strings, which these helpers lay into Arrow's
buffers directly, so that ``customersim generate`` starts and runs without pandas. They give
arrays equal to what ``pyarrow.array`` gives for the same values.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa


def numbers(
    values: np.ndarray, type: pa.DataType | None = None, *, null: np.ndarray | None = None
) -> pa.Array:
    """A numpy array of integers (or floats) as an Arrow array, without copying a contiguous one.

    Args:
        values: the numbers.
        type: the Arrow type; default the one of the numpy dtype. The values are converted to it.
        null: True where the value is missing (the number there is kept but not read).
    """
    if type is None:
        type = pa.from_numpy_dtype(values.dtype)
    values = np.ascontiguousarray(values, dtype=type.to_pandas_dtype())
    validity, nulls = None, 0
    if null is not None and null.any():
        nulls = int(np.count_nonzero(null))
        validity = pa.py_buffer(np.packbits(~np.asarray(null, bool), bitorder="little"))
    return pa.Array.from_buffers(type, len(values), [validity, pa.py_buffer(values)], null_count=nulls)


def strings(texts: Iterable[str], *, large: bool = False) -> pa.Array:
    """Python strings as an Arrow ``string`` (or ``large_string``) array, UTF-8 encoded."""
    data = [text.encode() for text in texts]
    offsets = np.zeros(len(data) + 1, np.int64 if large else np.int32)
    np.cumsum([len(item) for item in data], out=offsets[1:])
    return pa.Array.from_buffers(
        pa.large_string() if large else pa.string(),
        len(data),
        [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))],
    )
