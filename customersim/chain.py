"""A chain of stores: the stores table, and one independent, reproducible stream per store.

A retailer rarely has one shop. A chain is described by a *stores table*, one row per store:
a ``store_id`` and any of the simulation settings (grid size, target occupancy, arrival
profile, customer list, ... -- every :class:`~customersim.config.SimConfig` field may be a
column, under its field name or its environment variable name). An empty cell or a missing
column keeps the normal setting, so the table only says how stores differ.

Each store draws from its own random streams, seeded from the chain's seed and a stable hash of
its ``store_id`` (never Python's salted ``hash()``): adding, removing or reordering stores leaves
every other store's events unchanged, and the same table and seed give the same events on any
machine. A table row may also give a store its own ``seed``, which is then used as it is.

Frames of a chain carry a ``store_id`` column (category); a single store's frames stay exactly
as :func:`customersim.simulation.simulate` makes them.

A table is CSV (a header row naming the columns) or TOML (an array of ``[[stores]]`` tables)::

    store_id,customers_average_in_store,arrival_profile
    north,12,
    harbour,4,0;0;0;0;0;0;0;1;2;3;3;3;3;3;3;3;3;3;2;1;0;0;0;0
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from customersim.config import SETTINGS, SimConfig
from customersim.errors import ConfigError

# Store ids become folder names of a dataset and levels of an MQTT topic: keep them plain.
STORE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
STORE_ID_ALLOWED = "1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"
# The id of a lone store (no stores table) where one is needed, e.g. a dataset's folder.
SINGLE_STORE_ID = "default"


class StoresTableError(ConfigError):
    """The stores table cannot be used; the message names the file, line and column."""


def store_seed(chain_seed: int, store_id: str) -> int:
    """The seed of one store of a chain: a function of the chain's seed and the store's id only.

    The id is hashed with SHA-256 (stable across processes and machines) and mixed with the
    chain's seed by numpy's :class:`~numpy.random.SeedSequence`.

    Returns:
        A whole number from 0 to 2**63 - 1 (a valid ``SimConfig.seed``).
    """
    digest = int.from_bytes(hashlib.sha256(store_id.encode("utf-8")).digest()[:16], "little")
    words = np.random.SeedSequence((int(chain_seed), digest)).generate_state(1, np.uint64)
    return int(words[0] >> np.uint64(1))


@dataclass(frozen=True)
class Store:
    """One store of a chain: its id and its complete settings (seed already derived)."""

    store_id: str
    config: SimConfig


@dataclass(frozen=True)
class Chain:
    """The stores of a chain, in table order, with distinct ids."""

    stores: tuple[Store, ...]

    def __post_init__(self) -> None:
        if not self.stores:
            raise StoresTableError("a chain needs at least one store")
        seen: set[str] = set()
        for store in self.stores:
            if store.store_id in seen:
                raise StoresTableError(f"store_id {store.store_id!r} appears twice: store ids must differ")
            seen.add(store.store_id)

    def __iter__(self) -> Iterator[Store]:
        return iter(self.stores)

    def __len__(self) -> int:
        return len(self.stores)

    @property
    def store_ids(self) -> list[str]:
        return [store.store_id for store in self.stores]

    def store(self, store_id: str) -> Store:
        """The store with this id.

        Raises:
            KeyError: no such store.
        """
        for store in self.stores:
            if store.store_id == store_id:
                return store
        raise KeyError(store_id)

    @property
    def store_dtype(self) -> pd.CategoricalDtype:
        """The dtype of a chain frame's ``store_id`` column: the store ids in table order."""
        return pd.CategoricalDtype(self.store_ids, ordered=False)

    @property
    def dep_dtype(self) -> pd.CategoricalDtype:
        """The dtype of a chain frame's ``dep`` column: every store's departments, first seen first.

        Stores with different floor plans name different departments; one dtype for all of them
        lets their frames concatenate as one categorical column.
        """
        from customersim.frame import dep_dtype

        names: dict[str, None] = {}
        for store in self.stores:
            names.update(dict.fromkeys(store.config.floorplan.departments))
        return dep_dtype(list(names))

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]], base: SimConfig) -> Chain:
        """A chain from rows of settings (a stores table already parsed).

        Args:
            rows: one mapping per store, with ``store_id`` and optional settings; ``None`` or
                ``""`` keeps the setting of ``base``.
            base: the normal settings; its ``seed`` is the chain's seed.

        Raises:
            StoresTableError: a row has no or a bad ``store_id``, an unknown column or a value
                that is not allowed (the message names the row and the setting).
        """
        return cls(tuple(_store_from_row(row, base, f"row {i + 1}") for i, row in enumerate(rows)))


def single_store(config: SimConfig, store_id: str = SINGLE_STORE_ID) -> Chain:
    """A chain of one store with exactly ``config`` (its seed is used as it is)."""
    _check_store_id(store_id, "store_id")
    return Chain((Store(store_id, config),))


def _column_names() -> dict[str, str]:
    """Accepted column name (lower case) -> SimConfig field."""
    names = {}
    for field in dataclasses.fields(SimConfig):
        names[field.name.lower()] = field.name
        setting = SETTINGS.get(field.name)
        env = getattr(setting, "env", None)
        if env:
            names[env.lower()] = field.name
    return names


def _check_store_id(value: Any, where: str) -> str:
    text = "" if value is None else str(value).strip()
    if not STORE_ID_PATTERN.fullmatch(text):
        raise StoresTableError(f"{where}: store_id = {value!r} is not allowed: expected {STORE_ID_ALLOWED}")
    return text


def _store_from_row(row: Mapping[str, Any], base: SimConfig, where: str) -> Store:
    names = _column_names()
    store_id = None
    changes: dict[str, Any] = {}
    for column, value in row.items():
        key = str(column).strip().lower()
        if key == "store_id":
            store_id = _check_store_id(value, where)
            continue
        if key not in names:
            allowed = ", ".join(f.name for f in dataclasses.fields(SimConfig))
            raise StoresTableError(
                f"{where}: column {column!r} is not a store setting: expected store_id and any of {allowed}"
            )
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        changes[names[key]] = value
    if store_id is None:
        raise StoresTableError(f"{where}: no store_id: every store needs one ({STORE_ID_ALLOWED})")
    if "seed" not in changes:
        changes["seed"] = store_seed(base.seed, store_id)
    try:
        config = base.replace(**changes)
    except ConfigError as error:
        raise StoresTableError(f"{where} (store {store_id}): {error}") from None
    return Store(store_id, config)


def read_stores_table(path: str | os.PathLike[str], base: SimConfig) -> Chain:
    """Read a stores table (.csv or .toml) into a chain.

    Relative ``customers_file`` paths in the table are taken relative to the table's folder, so
    a table and its customer lists can move together.

    Args:
        path: the table.
        base: the normal settings (environment and flags): the defaults of every store, and
            the chain's seed.

    Raises:
        StoresTableError: the file is missing or unreadable, or a row is wrong; the message
            names the file, the line (CSV) or store number (TOML), and the column.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".toml"):
        raise StoresTableError(f"{path}: unknown stores table type {suffix or '(none)'!r}: use .csv or .toml")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise StoresTableError(f"{path}: cannot read the stores table: {error.strerror or error}") from None
    if suffix == ".csv":
        rows, places = _csv_rows(path, text)
    else:
        rows, places = _toml_rows(path, text)
    if not rows:
        raise StoresTableError(f"{path}: no stores: the table needs at least one row with a store_id")
    stores = []
    for raw, place in zip(rows, places, strict=True):
        row = dict(raw)
        for key in list(row):
            if str(key).strip().lower() in ("customers_file", "customers_list_file"):
                row[key] = _relative_to(path.parent, row[key])
        stores.append(_store_from_row(row, base, f"{path}, {place}"))
    try:
        return Chain(tuple(stores))
    except StoresTableError as error:
        raise StoresTableError(f"{path}: {error}") from None


def _relative_to(folder: Path, value: Any) -> Any:
    if not isinstance(value, str) or value.strip() == "" or Path(value).is_absolute():
        return value
    return str(folder / value.strip())


def _csv_rows(path: Path, text: str) -> tuple[list[dict[str, Any]], list[str]]:
    reader = csv.reader(text.splitlines())
    try:
        header = next(reader)
    except StopIteration:
        raise StoresTableError(f"{path}: empty file: expected a header row with store_id") from None
    header = [h.strip() for h in header]
    if "store_id" not in [h.lower() for h in header]:
        raise StoresTableError(f"{path}, line 1: no store_id column in the header {header}")
    rows, places = [], []
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise StoresTableError(
                f"{path}, line {line}: {len(values)} values for {len(header)} columns "
                "(a value with a comma needs quotes, or use ';' between numbers)"
            )
        rows.append(dict(zip(header, values, strict=True)))
        places.append(f"line {line}")
    return rows, places


def _toml_rows(path: Path, text: str) -> tuple[list[dict[str, Any]], list[str]]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise StoresTableError(f"{path}: not valid TOML: {error}") from None
    stores = document.get("stores")
    unknown = set(document) - {"stores"}
    if unknown or not isinstance(stores, list) or not all(isinstance(s, dict) for s in stores):
        raise StoresTableError(
            f"{path}: expected an array of [[stores]] tables, one per store, and nothing else "
            f"(found {sorted(document)})"
        )
    return stores, [f"store {i + 1}" for i in range(len(stores))]


def simulate_store(store: Store, customers: Any = None) -> pd.DataFrame:
    """One store's events frame (exactly ``simulate(store.config)``), without ``store_id``."""
    from customersim.simulation import simulate

    return simulate(store.config, customers)


def with_store_id(
    frame: pd.DataFrame,
    store_id: str,
    dtype: pd.CategoricalDtype,
    dep_dtype: pd.CategoricalDtype | None = None,
) -> pd.DataFrame:
    """``frame`` with a ``store_id`` category column in front (and ``dep`` in the chain's dtype)."""
    column = pd.Categorical.from_codes(
        np.full(len(frame), dtype.categories.get_loc(store_id), dtype=np.int32), dtype=dtype
    )
    out = frame.copy(deep=False)
    out.insert(0, "store_id", column)
    if dep_dtype is not None and "dep" in out.columns:
        out["dep"] = out["dep"].astype(dep_dtype)
    return out


def simulate_chain(chain: Chain) -> pd.DataFrame:
    """Every store's events, store after store in table order, with a ``store_id`` column.

    The single-process reference of the distributed path: row for row what
    :func:`customersim.distributed.events_dataframe` computes for the same chain.
    """
    dtype, deps = chain.store_dtype, chain.dep_dtype
    frames = [with_store_id(simulate_store(store), store.store_id, dtype, deps) for store in chain]
    return pd.concat(frames, ignore_index=True)
