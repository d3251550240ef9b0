"""What the downstream systems receive: the MQTT payload contract.

Each event of the store becomes one message on the topic of its type, with a compact JSON
payload that consumers of the old service already parse::

    customer/enter  {"id":"997","ts":192326400}
    customer/move   {"id":"997","ts":192326400,"x":2,"y":3}
    customer/exit   {"id":"997","ts":192326400}
    customer/focus  {"id":"997","ts":192326400,"dep":"Boys"}

``id`` is always a string, ``ts`` integer epoch seconds, ``x``/``y`` integers and only on moves,
``dep`` the department's name and only on focus events. Nothing else is sent unless the caller
names extra columns to append; the extra field ``dep`` goes on moves only (``null`` outside
departments), for consumers that read a move's department.

A frame is encoded column by column with Arrow string kernels (millions of rows a second) rather
than one ``json.dumps`` per row, so that encoding never limits the publishing rate. Customer ids
are JSON-escaped once per distinct id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from customersim.events import EVENT_TYPES

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["encode_frame", "encode_payload"]


def encode_payload(
    event: str,
    customer_id: Any,
    ts: int,
    x: int | None = None,
    y: int | None = None,
    extra: dict[str, Any] | None = None,
    *,
    dep: str | None = None,
) -> bytes:
    """The payload of one event (the same bytes :func:`encode_frame` makes for its row).

    Raises:
        ValueError: ``event`` is not enter, move, exit or focus, a move lacks ``x``/``y``, or a
            focus lacks ``dep``.
    """
    if event not in EVENT_TYPES:
        raise ValueError(f"event {event!r} is not allowed: expected one of {', '.join(EVENT_TYPES)}")
    body: dict[str, Any] = {"id": str(customer_id), "ts": int(ts)}
    if event == "move":
        if x is None or y is None:
            raise ValueError("a move event needs both x and y")
        body["x"], body["y"] = int(x), int(y)
    if event == "focus":
        if dep is None:
            dep = (extra or {}).get("dep")  # a focus's department may come as an extra field too
        if dep is None or not str(dep).strip():
            raise ValueError("a focus event needs the department's name (dep)")
        body["dep"] = str(dep)
    body.update(extra or {})
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def _as_strings(column: pd.Series, name: str) -> pa.Array:
    """JSON text of each value of an integer or string column."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.isna().any():
        raise ValueError(f"column {name!r} has missing values; every event needs one")
    if pd.api.types.is_integer_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        values = column.to_numpy()
        if values.dtype == bool:
            return pa.array(np.where(values, "true", "false"), pa.string())
        return pc.cast(pa.array(values), pa.string())
    if pd.api.types.is_float_dtype(column.dtype):
        return pa.array([json.dumps(float(v)) for v in column.to_numpy()], pa.string())
    # Strings: escape each distinct value once, then spread the escaped text over the rows.
    text = pa.array(column.astype(str), pa.string())
    if isinstance(text, pa.ChunkedArray):
        # An Arrow-backed column may hold its values in pieces (a frame from pd.concat, or
        # simulate()'s ids, taken block by block): one dictionary for all of them.
        text = text.combine_chunks()
    encoded = pc.dictionary_encode(text)
    escaped = pa.array([json.dumps(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return escaped.take(encoded.indices)


def encode_frame(frame: pd.DataFrame, extra_fields: Sequence[str] = ()) -> list[bytes]:
    """The payload of every row of an events frame, in row order.

    Args:
        frame: an events frame (``event``, ``customer_id``, ``ts``, ``x``, ``y``).
        extra_fields: further columns to append to every payload, in this order (an opt-in
            beyond the contract, e.g. ``("visit",)``).

    Raises:
        ValueError: a needed column is missing or has missing values (the message names it).
    """
    # Imported here: a one-off send encodes one payload without loading the frame stack.
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from customersim.frame import event_codes

    for name in ("event", "customer_id", "ts", "x", "y", *extra_fields):
        if name not in frame.columns:
            raise ValueError(f"the events frame has no column {name!r}")
    if len(frame) == 0:
        return []
    codes = event_codes(frame)
    parts: list[Any] = [
        '{"id":',
        _as_strings(frame["customer_id"], "customer_id"),
        ',"ts":',
        _as_strings(frame["ts"], "ts"),
    ]
    is_move = codes == EVENT_TYPES.index("move")
    if is_move.any():
        moves = frame.loc[is_move]
        for axis in ("x", "y"):
            if moves[axis].isna().any():
                raise ValueError(f"column {axis!r} has missing values on move events")
        x = pc.cast(pa.array(frame["x"].fillna(0).to_numpy().astype(np.int64)), pa.string())
        y = pc.cast(pa.array(frame["y"].fillna(0).to_numpy().astype(np.int64)), pa.string())
        xy = pc.binary_join_element_wise(',"x":', x, ',"y":', y, "")
        parts.append(pc.if_else(pa.array(is_move), xy, pa.scalar("", pa.string())))
    is_focus = codes == EVENT_TYPES.index("focus")
    if is_focus.any():
        if "dep" not in frame.columns or frame.loc[is_focus, "dep"].isna().any():
            raise ValueError("focus events need a department in column 'dep'")
        parts.append(
            pc.if_else(
                pa.array(is_focus),
                pc.binary_join_element_wise(
                    ',"dep":', _as_strings(frame["dep"].astype("object").fillna(""), "dep"), ""
                ),
                pa.scalar("", pa.string()),
            )
        )
    for name in extra_fields:
        if name == "dep":  # a move's department, for consumers that read it; null outside one
            names = frame["dep"].astype("object")
            text = _as_strings(names.fillna(""), "dep")
            text = pc.if_else(pa.array(names.isna().to_numpy()), pa.scalar("null"), text)
            parts.append(
                pc.if_else(pa.array(is_move), pc.binary_join_element_wise(',"dep":', text, ""), pa.scalar(""))
            )
            continue
        parts.extend([f",{json.dumps(name)}:", _as_strings(frame[name], name)])
    parts.append("}")
    joined = pc.binary_join_element_wise(*parts, "")
    return joined.cast(pa.large_binary()).to_pylist()
