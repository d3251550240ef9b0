"""Customer segments: who shops how often, for how long, at what pace, and where.

A customer list says each customer's gender, age range, number of children and income bracket.
A *segments table* (TOML, shipped as ``segments_data/default.toml``; another file through
the segments setting) turns those columns into behaviour. Its ``[[segment]]`` rules are tried
in order and the first whose conditions all hold gives the customer's segment; a customer that
no rule matches, or whose list lacks a column a rule asks about, is in the default segment
(every factor 1, no affinity). A segment has:

- ``frequency``: the weight with which the customer is drawn for an arrival, so some customers
  come every few days and most a few times a month;
- ``visit_length`` and ``pace``: factors of the visit length and of the dwell time per cell;
  both are normalised over the arrivals they weigh, so the mean visit length (and with it
  Little's law and the target number inside) and the mean dwell keep their meaning;
- ``[segment.affinity]``: factors of departments' attraction for the segment's stops.

:func:`customer_traits` computes, once per plan, each customer's draw weight, visit and pace
factor and a row of stop probabilities per segment, which the engine and trips use. Nothing
here reads the environment.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from customersim.errors import ConfigError

if TYPE_CHECKING:  # the settings table imports this module; start-up stays free of numpy
    import numpy as np
    import pandas as pd

    from customersim.config import SimConfig

# The name of the shipped table, and the setting's value that turns segments off.
DEFAULT_SEGMENTS = "default"
NO_SEGMENTS = "none"
_CONDITIONS = ("gender", "age_range", "children_min", "children_max", "income_min", "income_max")
_FACTORS = ("frequency", "visit_length", "pace")
_KEYS = {"name", "affinity", *_CONDITIONS, *_FACTORS}


@dataclass(frozen=True)
class Segment:
    """One rule of a segments table."""

    name: str
    conditions: dict
    frequency: float
    visit_length: float
    pace: float
    affinity: dict[str, float]
    affinity_lines: dict[str, int]  # line of each affinity name in the file, for errors


@dataclass(frozen=True)
class Traits:
    """Per-customer behaviour the engine uses (arrays indexed by customer)."""

    weight: np.ndarray  # float64, draw weights summing to 1
    visit_factor: np.ndarray  # float64, mean 1 under ``weight``
    pace_factor: np.ndarray  # float32, mean 1 under ``weight``
    row: np.ndarray  # int32, each customer's row of ``stop_cdf``
    stop_cdf: np.ndarray | None  # float64 (segments + 1, stop cells): cumulative stop choice
    segment: np.ndarray  # int16 segment index (-1: default), for analysis
    names: tuple[str, ...]


def resolve_segments_path(value: str) -> Path | None:
    """The file of a segments setting: a shipped table's name, a path, or None for ``none``.

    Raises:
        ConfigError: neither a shipped table nor an existing file.
    """
    if value == NO_SEGMENTS:
        return None
    if re.fullmatch(r"[A-Za-z0-9_-]+", value):
        shipped = resources.files("customersim") / "segments_data" / f"{value}.toml"
        if shipped.is_file():
            return Path(str(shipped))
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"segments {value!r} is neither a shipped segments table ({DEFAULT_SEGMENTS}, {NO_SEGMENTS}) "
            "nor a segments file"
        )
    return path


def load_segments(value: str) -> tuple[Segment, ...]:
    """Read a segments table by shipped name or path (``none``: no segments).

    Raises:
        ConfigError: the file is missing or wrong; the message names the file and line.
    """
    path = resolve_segments_path(value)
    if path is None:
        return ()
    stat = os.stat(path)
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _load(path: str, _mtime_ns: int, _size: int) -> tuple[Segment, ...]:
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not a segments table: {error}") from None
    rows = data.get("segment", [])
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"{path}: no [[segment]] rules")
    starts = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip() == "[[segment]]"]
    lines = text.splitlines()
    segments = []
    for number, row in enumerate(rows):
        first = starts[number] if number < len(starts) else 1
        last = starts[number + 1] if number + 1 < len(starts) else len(lines) + 1
        where = f"{path}, line {first}"
        unknown = set(row) - _KEYS
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(_KEYS))}"
            )
        factors = {}
        for key in _FACTORS:
            value = row.get(key, 1.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e6:
                raise ConfigError(f"{where}: {key} = {value!r} is not allowed: expected a number above 0")
            factors[key] = float(value)
        affinity = row.get("affinity", {})
        if not isinstance(affinity, dict):
            raise ConfigError(f"{where}: affinity must be a table of department = factor")
        affinity_lines = {}
        for name, value in affinity.items():
            line = next(
                (
                    i + 1
                    for i in range(first - 1, last - 1)
                    if re.match(rf"\s*\"?{re.escape(name)}\"?\s*=", lines[i])
                ),
                first,
            )
            affinity_lines[name] = line
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e6:
                raise ConfigError(
                    f"{path}, line {line}: {name} = {value!r} is not allowed: expected a number >= 0"
                )
        conditions = {k: row[k] for k in _CONDITIONS if k in row}
        segments.append(
            Segment(
                str(row.get("name", f"segment {number + 1}")),
                conditions,
                factors["frequency"],
                factors["visit_length"],
                factors["pace"],
                {k: float(v) for k, v in affinity.items()},
                affinity_lines,
            )
        )
    return tuple(segments)


def _known_departments() -> set[str]:
    from customersim.floorplan import OPEN, load_floorplan, shipped_layouts

    return {
        name for layout in shipped_layouts() if layout != OPEN for name in load_floorplan(layout).departments
    }


def check_departments(segments: tuple[Segment, ...], departments: tuple[str, ...], source: str) -> None:
    """Refuse an affinity name that is a department of neither this layout nor a shipped one.

    Raises:
        ConfigError: naming the table's file and line.
    """
    known = set(departments)
    for segment in segments:
        for name, line in segment.affinity_lines.items():
            if name not in known and name not in _known_departments():
                allowed = ", ".join(departments) or "none: the layout has no departments"
                raise ConfigError(
                    f"{source}, line {line}: unknown department {name!r} (this layout has: {allowed})"
                )


def _numbers(values: np.ndarray) -> np.ndarray:
    """Text as numbers, NaN where it is none (a list has few distinct values: parse those)."""
    import numpy as np

    distinct, position = np.unique(values, return_inverse=True)
    parsed = np.array([_number(text) for text in distinct.tolist()], dtype=np.float64)
    return parsed[position]


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _matches(segment: Segment, columns: Mapping[str, np.ndarray], size: int) -> np.ndarray:
    import numpy as np

    match = np.ones(size, dtype=bool)
    for key, value in segment.conditions.items():
        if key in ("gender", "age_range"):
            column, numeric = key, False
        else:
            column, numeric = ("no_of_children" if key.startswith("children") else "income_bracket"), True
        values = columns.get(column)
        if values is None:
            return np.zeros(size, dtype=bool)
        values = np.char.strip(np.asarray(values, dtype=str))
        if not numeric:
            allowed = [str(v).strip() for v in (value if isinstance(value, list) else [value])]
            match &= np.isin(values, allowed)
            continue
        numbers = _numbers(values)
        with np.errstate(invalid="ignore"):
            match &= (numbers >= float(value)) if key.endswith("_min") else (numbers <= float(value))
    return match


def segment_index(segments: tuple[Segment, ...], columns: Mapping[str, np.ndarray], size: int) -> np.ndarray:
    """Each customer's segment: the index of the first rule whose conditions hold, -1 for none."""
    import numpy as np

    segment = np.full(size, -1, dtype=np.int16)
    for index, rule in enumerate(segments):
        free = segment < 0
        segment[free & _matches(rule, columns, size)] = index
    return segment


def customer_traits(
    segments: tuple[Segment, ...],
    columns: Mapping[str, np.ndarray] | None,
    customers: int,
    departments: tuple[str, ...],
    department: np.ndarray,
    stop_cells: tuple[np.ndarray, np.ndarray],
    loyalty: np.ndarray | None = None,
) -> Traits | None:
    """Each customer's segment and what follows from it; None when segments change nothing.

    Args:
        segments: the table's rules.
        columns: the customer list's columns as text (None: ids only, so everyone is in the
            default segment).
        customers: how many customers the list has.
        departments: the layout's department names.
        department: the layout's department index per cell (-1: none).
        stop_cells: the layout's stop cells and their base probabilities.
        loyalty: each customer's visit-rate factor within the segment (None: all alike).
    """
    import numpy as np

    if not segments or columns is None or len(columns.get("customer_id", ())) != customers:
        return None
    segment = segment_index(segments, columns, customers)
    if (segment < 0).all():
        return None
    factor = np.array([[s.frequency, s.visit_length, s.pace] for s in segments] + [[1.0, 1.0, 1.0]])
    own = factor[segment]  # -1 picks the default row, the last
    rate = own[:, 0] if loyalty is None else own[:, 0] * loyalty
    weight = rate / rate.sum()
    visit = own[:, 1] / float(weight @ own[:, 1])
    pace = (own[:, 2] / float(weight @ own[:, 2])).astype(np.float32)
    cells, base = stop_cells
    stop_cdf = None
    if len(departments):
        zone = department.ravel()[cells]
        table = np.ones((len(segments) + 1, len(departments)))
        for index, rule in enumerate(segments):
            for name, value in rule.affinity.items():
                if name in departments:
                    table[index, departments.index(name)] = value
        probability = base[None, :] * table[:, zone]
        total = probability.sum(axis=1, keepdims=True)
        probability = np.where(total > 0, probability / np.where(total > 0, total, 1), base[None, :])
        stop_cdf = np.cumsum(probability, axis=1)
        stop_cdf[:, -1] = 1.0
    row = np.where(segment < 0, len(segments), segment).astype(np.int32)
    return Traits(weight, visit, pace, row, stop_cdf, segment, tuple(s.name for s in segments))


def customer_segments(config: SimConfig, customers: pd.DataFrame | None = None) -> pd.Series:
    """Each customer's segment name under ``config.segments``, indexed by customer id.

    What the engine places customers by, for analysis: join it to an events frame's
    ``customer_id`` to see who stops where. Customers that no rule matches are ``"default"``.

    Args:
        config: its ``segments`` and, when ``customers`` is None, its ``customers_file``.
        customers: a customer-list frame instead of the configured file.

    Raises:
        ConfigError: the segments table cannot be used.
        CustomerListError: the customer list cannot be used.
    """
    import numpy as np
    import pandas as pd

    from customersim.customers import frame_columns, load_customer_columns

    columns = load_customer_columns(config.customers_file) if customers is None else frame_columns(customers)
    ids = np.asarray(columns["customer_id"], dtype=str)
    segments = load_segments(config.segments)
    names = np.array([*(s.name for s in segments), "default"], dtype=object)
    segment = segment_index(segments, columns, len(ids))  # -1, the default, picks the last name
    return pd.Series(names[segment], index=pd.Index(ids, name="customer_id"), name="segment")


def segment_text(value: str) -> str:
    """A segments setting as given: a shipped name or a path (checked to exist)."""
    text = str(value).strip() or DEFAULT_SEGMENTS
    resolve_segments_path(text)
    return text


__all__ = [
    "DEFAULT_SEGMENTS",
    "NO_SEGMENTS",
    "Segment",
    "Traits",
    "check_departments",
    "customer_segments",
    "customer_traits",
    "load_segments",
    "segment_index",
    "segment_text",
]
