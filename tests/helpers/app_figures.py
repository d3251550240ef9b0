"""Reading the app's plotly figures back in tests.

Streamlit sends a figure as plotly JSON, in which numeric arrays are base64-encoded
(``{"dtype": "i2", "bdata": "...", "shape": "10, 6"}``); :func:`decode` turns them back into
numpy arrays so that tests can compare what is drawn with what the metrics say.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np


def decode(value: Any) -> Any:
    """A plotly JSON value with every typed array (``bdata``) turned into a numpy array."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
            shape = value.get("shape")
            if shape:
                array = array.reshape([int(s) for s in str(shape).split(",")])
            return array
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def chart(at: Any, key: str) -> dict:
    """The decoded figure of the ``st.plotly_chart`` with widget key ``key`` in an AppTest."""
    for element in at.get("plotly_chart"):
        if element.proto.id.endswith(f"-{key}"):
            return decode(json.loads(element.proto.spec))
    raise KeyError(
        f"no plotly chart with key {key!r}; the page has "
        f"{[e.proto.id.rsplit('-', 1)[-1] for e in at.get('plotly_chart')]}"
    )


def trace(figure: dict, name: str) -> dict:
    """The trace called ``name`` in a decoded figure."""
    for item in figure["data"]:
        if item.get("name") == name:
            return item
    raise KeyError(f"no trace {name!r}: {[item.get('name') for item in figure['data']]}")


def outlined_cells(figure: dict, name: str) -> list[tuple[float, float, float, float]]:
    """The squares a line trace (``door``) outlines: ``(x0, x1, y0, y1)`` per square, in cells."""
    data = trace(figure, name)
    squares, xs, ys = [], [], []
    for x, y in zip([*data["x"], None], [*data["y"], None], strict=True):
        if x is None:
            if xs:
                squares.append((min(xs), max(xs), min(ys), max(ys)))
            xs, ys = [], []
        else:
            xs.append(float(x))
            ys.append(float(y))
    return squares
