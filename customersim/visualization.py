"""The customer list as the retail demo's visualization app reads it: a JSON list by position.

The demo's visualization app draws the shoppers of the MQTT stream on a store map and shows
who they are from a customer list it loads as JSON. It does not search that list: for the
event of customer ``id`` it takes the object at position ``id - 1``. So the list must hold the
customers with ids 1 to N, each once, customer ``i`` at position ``i - 1``. A customer list
whose ids are anything else (text ids, a gap, an id counted from 0) would show every shopper
with somebody else's details, or none, so it is refused with the reason rather than written.

Each object holds the row of the customer list: ``customer_id`` as a JSON integer, then every
other column under its name. A column whose values are all numbers is written as numbers (the
customer list's ``family_size``, ``income_bracket``, ``total_price_paid_by_cust``...); any other
column stays text, and an empty value is ``null``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from customersim.errors import CustomerListError

__all__ = ["check_positional_ids", "visualization_records", "write_visualization_json"]

WHY = (
    "the visualization app shows customer i from position i-1 of its list, "
    "so the ids must be the whole numbers 1 to N, each once"
)
_WHOLE = re.compile(r"[1-9][0-9]*")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
SHOWN = 5  # ids named in a refusal; the rest are counted


def check_positional_ids(customers: pd.DataFrame, source: str = "<customers>") -> list[int]:
    """The customer ids as integers, after checking they are exactly 1..N.

    Args:
        customers: A customer list as :func:`customersim.customers.load_customers` returns it
            (string ``customer_id`` column, rows in file order, ids already unique).
        source: The list's name for messages (a file path, or "the built-in list").

    Returns:
        The ids as integers, in the frame's row order.

    Raises:
        CustomerListError: An id is not a plain whole number from 1 (named with its line), or
            the ids are not 1..N (the missing and the too-large ones named); the message says
            why the visualization needs them so.
    """
    ids = customers["customer_id"].astype(str).tolist()
    for row, text in enumerate(ids):
        if not _WHOLE.fullmatch(text):
            raise CustomerListError(
                f"{source}, line {row + 2}, column customer_id: id {text!r} is not a whole number "
                f"written plainly from 1; {WHY}"
            )
    numbers = [int(text) for text in ids]
    count = len(numbers)
    present = set(numbers)
    if len(present) != count:  # load_customers refuses duplicates; a hand-made frame may not
        raise CustomerListError(f"{source}: some ids appear twice; {WHY}")
    above = sorted(n for n in present if n > count)
    if above:
        missing = [n for n in range(1, count + 1) if n not in present]
        raise CustomerListError(
            f"{source}: the {count:,} ids are not 1 to {count:,} "
            f"(missing {_some(missing)}; above {count:,}: {_some(above)}); {WHY}"
        )
    return numbers


def _some(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:SHOWN])
    return shown if len(numbers) <= SHOWN else f"{shown} and {len(numbers) - SHOWN:,} more"


def _column_values(values: pd.Series) -> list[Any]:
    # A column becomes numbers only when every value is one, and none has a leading zero
    # ("007" is a code, not seven); otherwise every value keeps its text.
    texts = [None if pd.isna(v) or str(v).strip() == "" else str(v).strip() for v in values]
    filled = [t for t in texts if t is not None]
    if filled and all(_INTEGER.fullmatch(t) for t in filled):
        return [None if t is None else int(t) for t in texts]
    if filled and all(_NUMBER.fullmatch(t) for t in filled):
        return [None if t is None else float(t) for t in texts]
    return texts


def visualization_records(customers: pd.DataFrame, source: str = "<customers>") -> list[dict[str, Any]]:
    """The customer objects of the visualization app's list, customer ``i`` at index ``i - 1``.

    Raises:
        CustomerListError: The ids are not exactly 1..N (see :func:`check_positional_ids`).
    """
    ids = check_positional_ids(customers, source)
    others = [c for c in customers.columns if c != "customer_id"]
    columns = {name: _column_values(customers[name]) for name in others}
    records: list[dict[str, Any]] = [{} for _ in ids]
    for row, customer_id in enumerate(ids):
        record = {"customer_id": customer_id}
        record.update({name: columns[name][row] for name in others})
        records[customer_id - 1] = record
    return records


def write_visualization_json(
    customers: pd.DataFrame, path: str | os.PathLike[str], source: str = "<customers>"
) -> int:
    """Write the visualization app's customer list to ``path`` ("-" for stdout).

    The file appears whole or not at all: it is written under a temporary name in the same
    folder and moved into place.

    Returns:
        The number of customers written.

    Raises:
        CustomerListError: The ids are not exactly 1..N.
        OSError: The file cannot be written.
    """
    records = visualization_records(customers, source)
    text = json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    if str(path) == "-":
        sys.stdout.write(text)
        return len(records)
    target = Path(path)
    # A name of this call's own ("x": never an existing file) keeps two runs apart, and
    # open() applies the user's umask as for any file they write.
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    try:
        with open(temporary, "x", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return len(records)
