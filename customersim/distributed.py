"""Stores and years of events on a Dask cluster: partitions built alone, equal to one machine's.

The engine cuts time into blocks whose length depends only on the settings and draws each
block's walks from the block's own random streams. A *window* is a run of consecutive blocks of
one store; a Dask DataFrame (:func:`events_dataframe`) has one partition per store and window,
made by :func:`dask.dataframe.from_map`, and holds the events whose ``ts`` falls inside the
window. Computed and concatenated, the partitions of a store equal ``simulate()`` of that store
row for row: a visit that crosses a window's edge has its events before the edge in one
partition and the rest in the next, each event exactly once.

Two things tie a window to the past, and each is dealt with once:

* **Who is inside.** Customers are given to visits block after block, so that nobody is inside
  twice at once; the visits of block ``k`` depend on who was still inside when it began. That
  state is small (the visits under way) and cheap to compute: drawing arrivals, visit lengths
  and customers costs 3-20 % of building the walks (measured). So building a frame is two
  steps: one task per store draws the visits of all its blocks in order and records the state at
  each window's start (:func:`assignment_states`); then every partition starts from its state
  and builds its window alone, in parallel with all the others.
* **Visits still under way at the window's start.** A visit lasts at most ``max_visit``, so the
  events inside a window come from its own blocks and from the ``lookback`` blocks before it
  (usually one). A partition builds those too and keeps only their events inside the window.
  This repeats ``lookback`` blocks of work per window, so windows are ``4 x lookback`` blocks
  long by default: at most a quarter more work than one machine, in exchange for windows that
  need nothing from each other.

:func:`dataset_tasks` writes a Parquet dataset laid out hive-style by store and UTC date,
``store_id=<id>/date=<YYYY-MM-DD>/part-<block>.parquet``, each file in the layout of
:class:`customersim.files.EventsWriter` (the same bytes for the same rows). Reading the folder in
path order (pandas, pyarrow, polars, Dask) gives each store's events in time order.

Nothing here starts a cluster: the caller's Dask scheduler (a ``distributed.Client``, or Dask's
local threads without one) runs the tasks.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from customersim.chain import SINGLE_STORE_ID, Chain, single_store, with_store_id
from customersim.config import SimConfig
from customersim.engine import _DTYPES, Plan, VisitDrawer, _visits_per_block, block_events, plan_pace
from customersim.frame import empty_frame
from customersim.simulation import Customers, _to_frame, customer_ids, plan_for_count

# Windows are this many times the lookback long, so that rebuilding the lookback blocks adds
# at most 1/WINDOW_PER_LOOKBACK to the work.
WINDOW_PER_LOOKBACK = 4
SUMMARY_META = pd.DataFrame(
    {
        "store_id": pd.Series([], dtype="object"),
        "first_block": pd.Series([], dtype="int64"),
        "rows": pd.Series([], dtype="int64"),
        "visits": pd.Series([], dtype="int64"),
        "files": pd.Series([], dtype="int64"),
    }
)


@dataclass(frozen=True, eq=False)
class StoreSource:
    """What a worker needs to build any window of one store.

    Attributes:
        store_id: the store's id (a dataset folder name).
        config: its settings, seed included.
        ids: its customer ids (shipped with the task, so workers need no access to the file).
        store_dtype: the ``store_id`` column's dtype for chain frames; ``None`` for a single
            store, whose frames have no ``store_id`` column.
        dep_dtype: the chain's ``dep`` dtype (every store's departments); ``None`` for a single
            store, whose ``dep`` keeps its own layout's departments.
    """

    store_id: str
    config: SimConfig
    ids: pa.Array
    store_dtype: pd.CategoricalDtype | None = None
    dep_dtype: pd.CategoricalDtype | None = None


@dataclass(frozen=True, eq=False)
class AssignmentState:
    """The engine's drawing state just before block ``block`` is drawn: who is inside, who
    waits for the checkout, the lanes, and the next visit number."""

    block: int
    drawer: VisitDrawer

    @property
    def next_visit(self) -> int:
        return self.drawer.next_visit


@dataclass(frozen=True, eq=False)
class Window:
    """One partition: blocks ``first_block`` .. ``first_block + blocks - 1`` of one store."""

    source: StoreSource
    first_block: int
    blocks: int
    state: AssignmentState  # taken at the first block the window needs (lookback included)


@functools.lru_cache(maxsize=64)
def _plan(config: SimConfig, customers: int) -> Plan:
    # Partitions of one store in one worker share the plan (layout tables and rates).
    return plan_for_count(config, customers)


def lookback_blocks(plan: Plan) -> int:
    """How many blocks before a window can still have visits under way inside it."""
    return max(1, math.ceil(plan.max_visit / plan.block_seconds))


def _blocks_in_range(plan: Plan) -> tuple[int, int]:
    """First block with events at or after ``start``, and one past the last block before ``end``."""
    first = (int(plan.config.start) - plan.origin) // plan.block_seconds
    stop = -(-(plan.config.end - plan.origin) // plan.block_seconds)
    return first, stop


def window_bounds(plan: Plan, window_blocks: int | None = None) -> list[tuple[int, int]]:
    """``(first_block, blocks)`` of each window of a store, in time order.

    Args:
        window_blocks: blocks per window; by default ``4 x lookback``.
    """
    size = WINDOW_PER_LOOKBACK * lookback_blocks(plan) if window_blocks is None else window_blocks
    if size < 1:
        raise ValueError(f"window_blocks must be a whole number >= 1, got {window_blocks}")
    first, stop = _blocks_in_range(plan)
    return [(k, min(size, stop - k)) for k in range(first, stop, size)]


def assignment_states(config: SimConfig, customers: int, blocks: list[int]) -> list[AssignmentState]:
    """Draw a store's visits block after block and record the state before each of ``blocks``.

    Only arrivals, visit lengths, checkout turns and customers are drawn (no walks): the cheap,
    sequential part of the engine, exactly as :func:`customersim.engine.iter_event_blocks`
    draws it.
    """
    plan = _plan(config, customers)
    wanted = set(blocks)
    states: dict[int, AssignmentState] = {}
    drawer = VisitDrawer(plan)
    for block in range(max(wanted) + 1 if wanted else 0):
        if block in wanted:
            states[block] = AssignmentState(block, drawer.snapshot())
        drawer.draw()
        drawer.open.clear()  # nobody builds these blocks' walks here
    return [states[block] for block in blocks]


def window_columns(window: Window) -> dict[str, np.ndarray]:
    """The engine's column arrays of one window's events, in stream order.

    The window's own blocks and the lookback blocks before them are built; of each, the events
    inside the window are kept, then merged by time (older blocks first on equal times, as the
    stream does).
    """
    source = window.source
    plan = _plan(source.config, len(source.ids))
    pace = plan_pace(plan)
    _, stop = _blocks_in_range(plan)
    lo = max(plan.origin + window.first_block * plan.block_seconds, int(plan.config.start))
    hi = min(plan.origin + (window.first_block + window.blocks) * plan.block_seconds, plan.config.end)
    last = min(window.first_block + window.blocks, stop)
    parts = []
    drawer = window.state.drawer.snapshot(plan)
    for block, visits in _visits_per_block(plan, plan.origin + last * plan.block_seconds, drawer):
        events = block_events(plan, block, visits, pace)
        a, b = np.searchsorted(events["ts"], [lo, hi], side="left")
        if b > a:
            # A look-back block's few events are copied, so that its whole arrays can go.
            keep = np.copy if block < window.first_block else (lambda values: values)
            parts.append({name: keep(values[a:b]) for name, values in events.items()})
    if not parts:
        return {name: np.empty(0, dtype) for name, dtype in _DTYPES.items()}
    if len(parts) == 1:
        return parts[0]
    merged = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    ends = np.cumsum([len(part["ts"]) for part in parts]).tolist()
    for join, end in itertools.pairwise(ends):
        _merge_at(merged, join, end)
    return merged


def _merge_at(columns: dict[str, np.ndarray], join: int, end: int) -> None:
    """Merge, in place, the sorted rows before ``join`` with the sorted run ``[join, end)``.

    Only the span where the two overlap moves: the rows before the join that are later than the
    run's first row, and the run's rows earlier than the last row before the join. A stable sort
    of that span keeps the older rows first on equal times, as the stream does.
    """
    ts = columns["ts"]
    if ts[join - 1] <= ts[join]:
        return
    lo = int(np.searchsorted(ts[:join], ts[join], side="right"))
    hi = join + int(np.searchsorted(ts[join:end], ts[join - 1], side="left"))
    order = lo + np.argsort(ts[lo:hi], kind="stable")
    for values in columns.values():
        values[lo:hi] = values[order]


def window_frame(window: Window) -> pd.DataFrame:
    """One partition of :func:`events_dataframe`: the window's events frame."""
    frame = _to_frame(window_columns(window), window.source.ids, window.source.config.floorplan.departments)
    if window.source.store_dtype is not None:
        frame = with_store_id(
            frame, window.source.store_id, window.source.store_dtype, window.source.dep_dtype
        )
    return frame


def store_sources(source: SimConfig | Chain, customers: Customers = None) -> list[StoreSource]:
    """One :class:`StoreSource` per store, customer lists loaded and capacity checked here.

    Raises:
        customersim.errors.CapacityError: a store's customer list is too small (the message
            names the store).
        customersim.errors.CustomerListError: a customer list cannot be used.
    """
    from customersim.errors import CapacityError

    if isinstance(source, SimConfig):
        chain, dtype, deps = single_store(source), None, None
    else:
        chain, dtype, deps = source, source.store_dtype, source.dep_dtype
    sources = []
    for store in chain:
        ids = customer_ids(store.config, customers)
        try:
            _plan(store.config, len(ids))
        except CapacityError as error:
            if dtype is None:
                raise
            raise CapacityError(f"store {store.store_id}: {error}") from None
        sources.append(StoreSource(store.store_id, store.config, ids, dtype, deps))
    return sources


def windows(sources: list[StoreSource], window_blocks: int | None = None) -> list[Window]:
    """Every window of every store, store after store, each with its starting state.

    The states are computed here, one Dask task per store on the current scheduler (the
    cluster of an active ``distributed.Client``).
    """
    import dask

    bounds = []
    for source in sources:
        plan = _plan(source.config, len(source.ids))
        back = lookback_blocks(plan)
        bounds.append([(k, n, max(0, k - back)) for k, n in window_bounds(plan, window_blocks)])
    tasks = [
        dask.delayed(assignment_states, pure=True)(s.config, len(s.ids), [start for _, _, start in b])
        for s, b in zip(sources, bounds, strict=True)
    ]
    states = dask.compute(*tasks)
    return [
        Window(source, k, n, state)
        for source, store_bounds, store_states in zip(sources, bounds, states, strict=True)
        for (k, n, _), state in zip(store_bounds, store_states, strict=True)
    ]


def events_meta(chain: Chain | None = None) -> pd.DataFrame:
    """The empty frame that describes a partition (with ``store_id`` for a chain)."""
    frame = empty_frame()
    if chain is not None:
        frame = with_store_id(frame, chain.store_ids[0], chain.store_dtype, chain.dep_dtype)
    return frame


def events_dataframe(
    source: SimConfig | Chain, customers: Customers = None, *, window_blocks: int | None = None
):
    """A Dask DataFrame of the events of one store or a chain, one partition per store x window.

    Example:
        >>> frame = events_dataframe(SimConfig(hours=48, seed=3))     # doctest: +SKIP
        >>> frame.compute().equals(simulate(SimConfig(hours=48, seed=3)))  # doctest: +SKIP
        True

    Args:
        source: a config (one store: frames as :func:`~customersim.simulation.simulate`
            makes them) or a :class:`~customersim.chain.Chain` (frames with ``store_id``).
        customers: the customer list of every store; by default each store's
            ``customers_file``.
        window_blocks: engine blocks per partition; by default four times the lookback.

    Returns:
        A ``dask.dataframe.DataFrame``; computed, it equals ``simulate()`` of a single store, or
        :func:`customersim.chain.simulate_chain` of a chain, row for row.
    """
    import dask
    import dask.dataframe as dd

    parts = windows(store_sources(source, customers), window_blocks)
    meta = events_meta(None if isinstance(source, SimConfig) else source)
    # Keep the events frame's own string dtype for customer_id (Dask would convert it).
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_map(window_frame, parts, meta=meta, label="customersim-window", enforce_metadata=False)


def local_cluster(workers: int, **options):
    """A ``distributed.LocalCluster`` of ``workers`` processes of one thread each, for this run.

    Dask's workers ask glibc by default to hand every freed block over 64 KiB back to the system
    (MALLOC_TRIM_THRESHOLD_). The engine allocates and frees block-sized arrays all the time, so
    that costs page faults on every block: measured 13 times as many and about a third more CPU.
    A worker's memory stays bounded by its largest partition without it, so it is left unset.
    """
    import logging

    import dask
    from distributed import LocalCluster

    settings = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
    options = {
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": ":0",
        "silence_logs": logging.ERROR,
        **options,
    }
    with dask.config.set(settings):
        return LocalCluster(n_workers=workers, **options)


def _date(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%d")


def write_window(window: Window, out: str) -> pd.DataFrame:
    """Write one window's events into the dataset at ``out``; one summary row.

    The window is split by UTC date into ``store_id=<id>/date=<day>/part-<block>.parquet``
    files (the block number, zero-padded, keeps path order equal to time order).
    """
    from customersim.files import EventsWriter, table_from_columns
    from customersim.frame import ENTER

    columns = window_columns(window)
    ts = columns["ts"]
    files = 0
    if len(ts):
        departments = window.source.config.floorplan.departments
        if window.source.dep_dtype is not None:
            # One dictionary for the whole chain, so that every file of the dataset reads back
            # with the same dep categories (pandas, polars and Dask alike).
            chain_departments = tuple(window.source.dep_dtype.categories)
            recode = np.array([chain_departments.index(name) for name in departments] + [-1], np.int8)
            columns = {**columns, "dep": recode[columns["dep"]]}
            departments = chain_departments
        table = table_from_columns(columns, window.source.ids, departments)
        days = ts // 86400
        cuts = np.flatnonzero(np.diff(days)) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(ts)], strict=True):
            folder = Path(out) / f"store_id={window.source.store_id}" / f"date={_date(int(days[lo]))}"
            with EventsWriter(folder / f"part-{window.first_block:06d}.parquet") as writer:
                writer.write_table(table.slice(int(lo), int(hi - lo)))
            files += 1
    return pd.DataFrame(
        {
            "store_id": [window.source.store_id],
            "first_block": [window.first_block],
            "rows": [len(ts)],
            "visits": [int(np.count_nonzero(columns["event"] == ENTER))],
            "files": [files],
        }
    ).astype(SUMMARY_META.dtypes.to_dict())


def dataset_tasks(
    source: SimConfig | Chain,
    out: str | os.PathLike[str],
    customers: Customers = None,
    *,
    window_blocks: int | None = None,
):
    """A lazy Dask DataFrame whose computation writes the Parquet dataset at ``out``.

    One partition per store x window, as in :func:`events_dataframe`; each writes its files and
    becomes one summary row (``store_id``, ``first_block``, ``rows``, ``visits``, ``files``).
    A single config is written as the store ``default``. ``out`` must be a folder every worker
    can write to under the same path (a shared file system on a real cluster).
    """
    import dask.dataframe as dd

    chain = single_store(source, SINGLE_STORE_ID) if isinstance(source, SimConfig) else source
    parts = windows(store_sources(chain, customers), window_blocks)
    return dd.from_map(
        write_window, parts, args=[os.fspath(out)], meta=SUMMARY_META, label="customersim-write"
    )


__all__ = [
    "AssignmentState",
    "StoreSource",
    "Window",
    "assignment_states",
    "dataset_tasks",
    "events_dataframe",
    "local_cluster",
    "lookback_blocks",
    "store_sources",
    "window_bounds",
    "window_columns",
    "window_frame",
    "windows",
    "write_window",
]
