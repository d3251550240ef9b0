"""The public entry points: a config (and optionally a customer list) in, events frames out.

:func:`simulate` gives the whole window as one frame; :func:`simulate_chunks` gives the same
rows as a stream of bounded frames, for long horizons and live publishing. The pure engine
works on customer *indices*; this module resolves the customer list (reading the configured
file, or the built-in list) and turns the arrays into events frames.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from numbers import Integral
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pyarrow as pa

from customersim.arrow import strings
from customersim.config import SimConfig
from customersim.customers import frame_columns, load_customer_columns, load_customer_ids
from customersim.engine import Plan, customer_loyalty, iter_event_blocks, make_plan, simulate_columns
from customersim.errors import CustomerListError, excerpt
from customersim.frame import build_frame
from customersim.segments import NO_SEGMENTS, check_departments, customer_traits, load_segments

if TYPE_CHECKING:
    import pandas as pd

Customers: TypeAlias = "pd.DataFrame | Sequence[str] | None"


def customer_ids(config: SimConfig, customers: Customers = None) -> pa.Array:
    """The customer ids to simulate with, as an Arrow string array.

    Args:
        config: its ``customers_file`` is read when ``customers`` is None.
        customers: a customer-list frame (with ``customer_id``), a sequence of ids, or None.

    Raises:
        TypeError: ``config`` is not a :class:`SimConfig`, or ``customers`` is not a frame or a
            sequence of ids.
        CustomerListError: an id is missing, blank or given twice (a customer cannot be inside
            twice at once), or the frame has no ``customer_id`` column.
    """
    if not isinstance(config, SimConfig):
        raise TypeError(f"config must be a SimConfig, not {type(config).__name__}")
    # pandas is looked up, not imported: when it is not loaded, ``customers`` is no frame of it
    # (and ``generate`` starts without it).
    pd = sys.modules.get("pandas")
    if customers is None:
        ids = load_customer_ids(config.customers_file)  # checked as it is read
    elif pd is not None and isinstance(customers, pd.DataFrame):
        if "customer_id" not in customers.columns:
            raise CustomerListError("customers: the frame has no customer_id column")
        ids = _checked_ids(customers["customer_id"].tolist())
    elif isinstance(customers, (Sequence, np.ndarray, *_series(pd))) and not isinstance(
        customers, (str, bytes)
    ):
        ids = _checked_ids(list(customers))
    else:
        raise TypeError(
            f"customers must be a customer-list frame or a sequence of ids, not {type(customers).__name__}"
        )
    return strings(ids, large=True)


def _checked_ids(ids: list) -> list[str]:
    """The ids as text; refuses missing, blank and duplicate ones, naming the first."""
    seen: dict[str, int] = {}
    texts = []
    pd = sys.modules.get("pandas")
    missing = (None, pd.NA) if pd is not None else (None,)
    for position, value in enumerate(ids):
        if any(value is m for m in missing) or (isinstance(value, float) and math.isnan(value)):
            raise CustomerListError(
                f"customers[{position}]: missing id ({value!r}); every customer needs one"
            )
        text = str(value)
        if not text.strip():
            raise CustomerListError(f"customers[{position}]: blank id {excerpt(text)}")
        if text in seen:
            raise CustomerListError(
                f"customers[{position}]: duplicate id {excerpt(text)} (first at position {seen[text]}); "
                "a customer cannot be inside twice at once"
            )
        seen[text] = position
        texts.append(text)
    return texts


def _series(pd: object) -> tuple[type, ...]:
    return (pd.Series,) if pd is not None else ()


def _check_workers(workers: object) -> None:
    if isinstance(workers, bool) or not isinstance(workers, Integral):
        raise TypeError(f"workers must be a whole number >= 1, not {type(workers).__name__}")
    if workers < 1:
        raise ValueError(f"workers = {workers} is not allowed: expected a whole number >= 1")


def simulate(config: SimConfig, customers: Customers = None, *, workers: int = 1) -> pd.DataFrame:
    """Simulate the window ``[config.start, config.end)`` and return its events frame.

    Example:
        >>> frame = simulate(SimConfig(width=6, height=10, customers_average_in_store=6,
        ...                            hours=24, start="2026-01-05T00:00:00Z", seed=1))
        >>> frame["event"].value_counts()["enter"] > 0
        True

    Args:
        config: the settings.
        customers: the customer list (frame or ids); by default ``config.customers_file``.
        workers: processes that build the walks; the result is the same for any number.

    Raises:
        customersim.engine.CapacityError: the customer list is too small for the occupancy.
        customersim.customers.CustomerListError: the customer list cannot be used (a missing,
            blank or duplicate id; a file that cannot be read).
        TypeError, ValueError: an argument of the wrong type or value; the message names it.
    """
    _check_workers(workers)
    ids = customer_ids(config, customers)
    plan = plan_for(config, customers, len(ids))
    columns = simulate_columns(plan, workers=workers, ids=ids)
    return _to_frame(columns, ids, plan.layout.departments)


def simulate_chunks(
    config: SimConfig,
    customers: Customers = None,
    *,
    chunk_rows: int = 1_000_000,
    endless: bool = False,
    workers: int = 1,
) -> Iterator[pd.DataFrame]:
    """The rows of :func:`simulate` as time-ordered frames of at most ``chunk_rows`` rows.

    Concatenating the chunks gives exactly ``simulate(config, customers)``, whatever
    ``chunk_rows``; memory stays flat however long the window. With ``endless`` the window
    has no end (``config.hours`` is ignored), for live services.
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, Integral):
        raise TypeError(f"chunk_rows must be a whole number >= 1, not {type(chunk_rows).__name__}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a whole number >= 1, got {chunk_rows}")
    # Resolve the customer list and check capacity now, not at the first next(): a front end
    # that hands the chunks to a background thread still gets these errors where it can say them.
    ids, blocks = simulate_blocks(config, customers, endless=endless, workers=workers)
    return _rechunk(ids, blocks, chunk_rows, config.floorplan.departments)


def _rechunk(
    ids: pa.Array, blocks: Iterator[dict[str, np.ndarray]], chunk_rows: int, departments: tuple[str, ...]
) -> Iterator[pd.DataFrame]:
    pending: list[dict[str, np.ndarray]] = []
    pending_rows = 0
    for block in blocks:
        pending.append(block)
        pending_rows += len(block["ts"])
        while pending_rows >= chunk_rows:
            chunk, pending = _take_rows(pending, chunk_rows)
            pending_rows -= chunk_rows
            yield _to_frame(chunk, ids, departments)
    if pending_rows:
        yield _to_frame(_take_rows(pending, pending_rows)[0], ids, departments)


def simulate_blocks(
    config: SimConfig, customers: Customers = None, *, endless: bool = False, workers: int = 1
) -> tuple[pa.Array, Iterator[dict[str, np.ndarray]]]:
    """The engine's own output: the customer ids, and time-ordered blocks of column arrays.

    The fastest way to a file (no DataFrame in between); see
    :func:`customersim.engine.iter_event_blocks` for the columns. ``customer`` indexes the ids.
    """
    _check_workers(workers)
    ids = customer_ids(config, customers)
    return ids, iter_event_blocks(plan_for(config, customers, len(ids)), endless=endless, workers=workers)


def plan_for(config: SimConfig, customers: Customers, count: int) -> Plan:
    """The engine's plan, with the segments of the customer list (a frame or the configured file).

    A list given as bare ids has no columns to place customers in segments: everyone is alike.
    """
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(customers, pd.DataFrame):
        return _plan_with(config, frame_columns(customers), count)
    if customers is None:
        return plan_for_count(config, count)
    return make_plan(config, count)


def plan_for_count(config: SimConfig, count: int) -> Plan:
    """The plan of ``count`` customers of the configured list (its segments when it has them)."""
    columns = load_customer_columns(config.customers_file) if config.segments != NO_SEGMENTS else None
    return _plan_with(config, columns, count)


def _plan_with(config: SimConfig, columns: Mapping[str, np.ndarray] | None, count: int) -> Plan:
    plan = make_plan(config, count)
    segments = load_segments(config.segments)
    if not segments or columns is None:
        return plan
    layout = plan.layout
    check_departments(segments, layout.departments, str(config.segments))
    traits = customer_traits(
        segments,
        columns,
        count,
        layout.departments,
        layout.department,
        layout.stop_cells,
        loyalty=customer_loyalty(config, count),
    )
    return dataclasses.replace(plan, traits=traits)


def _take_rows(parts: list[dict[str, np.ndarray]], rows: int) -> tuple[dict[str, np.ndarray], list]:
    """Split the first ``rows`` rows off a list of column dicts."""
    taken: list[dict[str, np.ndarray]] = []
    needed = rows
    while needed:
        head = parts[0]
        size = len(head["ts"])
        if size <= needed:
            taken.append(parts.pop(0))
            needed -= size
        else:
            taken.append({k: v[:needed] for k, v in head.items()})
            parts[0] = {k: v[needed:] for k, v in head.items()}
            needed = 0
    chunk = {k: np.concatenate([t[k] for t in taken]) for k in taken[0]}
    return chunk, parts


def _to_frame(columns: dict[str, Any], ids: pa.Array, departments: tuple[str, ...]) -> pd.DataFrame:
    """The frame of ``columns``: their ``customer`` indices into ``ids``, or the rows' own
    ``customer_id`` (see :func:`customersim.engine.simulate_columns`)."""
    taken = "customer_id" in columns
    return build_frame(
        columns["ts"],
        columns["event"],
        None if taken else columns["customer"],
        columns["customer_id"] if taken else ids,
        columns["x"],
        columns["y"],
        columns["visit"],
        columns["dep"],
        departments,
    )
