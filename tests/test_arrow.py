"""Arrow arrays built from buffers equal what ``pyarrow.array`` builds from the same values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from customersim.arrow import numbers, strings


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.float64])
def test_numbers_equal_pyarrow_array(dtype) -> None:
    values = np.arange(-5, 20, dtype=dtype)[::2]  # not contiguous: copied
    made = numbers(values)
    assert made.type == pa.from_numpy_dtype(np.dtype(dtype)) and made.equals(pa.array(values))


def test_numbers_with_nulls_and_a_type() -> None:
    codes = np.array([0, -1, 2, -1, 1, 5, -1, 3, 4, -1], np.int64)
    made = numbers(codes, pa.int8(), null=codes < 0)
    expected = pa.array([None if c < 0 else c for c in codes.tolist()], pa.int8())
    assert made.equals(expected) and made.null_count == 4


@pytest.mark.parametrize("large", [False, True])
def test_strings_equal_pyarrow_array(large) -> None:
    texts = ["enter", "", "ünï", "a,b", "007"]
    made = strings(texts, large=large)
    assert made.equals(pa.array(texts, pa.large_string() if large else pa.string()))
    assert strings([], large=large).equals(pa.array([], pa.large_string() if large else pa.string()))
