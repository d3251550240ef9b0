"""Simulation settings: one frozen :class:`SimConfig` that every front end builds.

A store is a ``width`` x ``height`` grid of location sensors with a door. Shoppers arrive as a
Poisson process whose rate follows Little's law, so that on average
``customers_average_in_store`` of them are inside; each visit lasts a random time (mean
``mean_visit_minutes``), during which the shopper dwells at a cell (``dwell_mean_seconds``,
varying by ``dwell_spread`` from cell to cell and by ``pace_spread`` from shopper to shopper)
and steps to a neighbouring cell, until the time is up and they walk back to the door at
``walk_seconds_per_cell``.

Settings are validated when the config is built, so a wrong value fails early with a message
that names the setting, its environment variable, the value given and what is allowed.
:meth:`SimConfig.from_env` reads the environment variables of the service this package
replaces (``STORE_WIDTH``, ``STORE_HEIGHT``, ``CUSTOMERS_AVERAGE_IN_STORE``,
``CUSTOMERS_LIST_FILE``) and one variable per newer setting; only entry points call it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from customersim.errors import ConfigError

DEFAULT_START = "2026-01-05T00:00:00Z"
FLAT_PROFILE: tuple[float, ...] = (1.0,) * 24
MAX_GRID_SIDE = 4096


def parse_start(value: Any) -> int:
    """Turn a start time into integer seconds since the epoch (UTC).

    Accepts epoch seconds (int or digit string), an ISO 8601 string (``Z`` or an offset; a
    naive time is taken as UTC), or a :class:`datetime`.

    Raises:
        ValueError: the value is none of these.
    """
    if isinstance(value, bool):
        raise ValueError("a time, not a boolean")
    if isinstance(value, (int,)) or (isinstance(value, float) and value.is_integer()):
        return int(value)
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError("an ISO 8601 time such as 2026-01-05T00:00:00Z, or epoch seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def format_start(epoch_seconds: int) -> str:
    """ISO 8601 UTC text of epoch seconds, e.g. ``2026-01-05T00:00:00Z``."""
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_profile(value: Any) -> tuple[float, ...]:
    if isinstance(value, str):
        parts = [p for p in value.replace(";", ",").split(",") if p.strip()]
        try:
            weights = tuple(float(p) for p in parts)
        except ValueError:
            raise ValueError("24 comma-separated numbers") from None
    else:
        weights = tuple(float(v) for v in value)
    if len(weights) != 24:
        raise ValueError(f"24 hourly weights (got {len(weights)})")
    if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("24 weights that are >= 0 and not all 0")
    return weights


def _parse_door(value: Any) -> tuple[int, int]:
    if isinstance(value, str):
        parts = value.replace(";", ",").split(",")
        if len(parts) != 2:
            raise ValueError("two whole numbers 'x,y'")
        value = parts
    try:
        x, y = (int(str(v).strip()) for v in value)
    except (TypeError, ValueError):
        raise ValueError("two whole numbers 'x,y'") from None
    return (x, y)


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        return int(value)
    return int(str(value).strip())


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError
    number = float(str(value).strip()) if isinstance(value, str) else float(value)
    if not math.isfinite(number):
        raise ValueError
    return number


@dataclass(frozen=True)
class _Setting:
    env: str
    parse: Callable[[Any], Any]
    check: Callable[[Any], bool]
    allowed: str
    help: str


def _range(low: float, high: float, *, low_open: bool = False) -> Callable[[Any], bool]:
    return lambda v: (v > low if low_open else v >= low) and v <= high


# One row per SimConfig field: the environment variable, how to parse and check a value, and
# the words an error message uses for what is allowed.
SETTINGS: dict[str, _Setting] = {
    "width": _Setting(
        "STORE_WIDTH",
        _int,
        _range(1, MAX_GRID_SIDE),
        f"a whole number from 1 to {MAX_GRID_SIDE}",
        "grid width in cells (x)",
    ),
    "height": _Setting(
        "STORE_HEIGHT",
        _int,
        _range(1, MAX_GRID_SIDE),
        f"a whole number from 1 to {MAX_GRID_SIDE}",
        "grid height in cells (y)",
    ),
    "customers_average_in_store": _Setting(
        "CUSTOMERS_AVERAGE_IN_STORE",
        _float,
        _range(0, 1e6, low_open=True),
        "a number above 0 and at most 1000000",
        "target time-average number of customers inside",
    ),
    "mean_visit_minutes": _Setting(
        "MEAN_VISIT_MINUTES",
        _float,
        _range(0.5, 24 * 60),
        "a number of minutes from 0.5 to 1440",
        "mean visit length, door to door",
    ),
    "dwell_mean_seconds": _Setting(
        "DWELL_MEAN_SECONDS",
        _float,
        _range(1, 3600),
        "a number of seconds from 1 to 3600",
        "mean time a shopper stays at one cell",
    ),
    "dwell_spread": _Setting(
        "DWELL_SPREAD",
        _float,
        _range(0.05, 3),
        "a number from 0.05 to 3",
        "coefficient of variation of one dwell",
    ),
    "pace_spread": _Setting(
        "PACE_SPREAD",
        _float,
        _range(0, 2),
        "a number from 0 to 2",
        "spread (log sd) of each customer's pace: lingerers vs rushers",
    ),
    "walk_seconds_per_cell": _Setting(
        "WALK_SECONDS_PER_CELL",
        _int,
        _range(1, 600),
        "a whole number of seconds from 1 to 600",
        "time per cell on the walk back to the door",
    ),
    "door": _Setting(
        "DOOR",
        _parse_door,
        lambda v: True,
        "a cell 'x,y' inside the grid",
        "door cell where visits enter and exit",
    ),
    "neighbourhood": _Setting(
        "NEIGHBOURHOOD",
        _int,
        lambda v: v in (4, 8),
        "4 or 8",
        "cells a shopper can step to: 4 (edges) or 8 (with diagonals)",
    ),
    "start": _Setting(
        "SIM_START",
        parse_start,
        _range(0, 2**37),
        "an ISO 8601 time such as 2026-01-05T00:00:00Z, or epoch seconds >= 0",
        "start of the simulated window (UTC)",
    ),
    "hours": _Setting(
        "SIM_HOURS",
        _float,
        _range(1 / 3600, 24 * 365 * 100),
        "a number of hours above 0 (at most 876000)",
        "length of the simulated window",
    ),
    "seed": _Setting(
        "SIM_SEED", _int, _range(0, 2**63 - 1), "a whole number >= 0", "seed of every random choice"
    ),
    "customers_file": _Setting(
        "CUSTOMERS_LIST_FILE",
        lambda v: None if v in (None, "") else str(v),
        lambda v: True,
        "a path to a CSV file with a customer_id column",
        "customer list (unset: the built-in 1,000 customers)",
    ),
    "arrival_profile": _Setting(
        "ARRIVAL_PROFILE",
        _parse_profile,
        lambda v: True,
        "24 comma-separated weights >= 0, not all 0",
        "relative arrival rate for each UTC hour of the day",
    ),
}


@dataclass(frozen=True)
class SimConfig:
    """Every setting of one simulation, validated on construction.

    Example:
        >>> SimConfig(width=6, height=10, customers_average_in_store=6, hours=24,
        ...           start="2026-01-05T00:00:00Z", seed=1).start
        1767571200

    Raises:
        ConfigError: a value is not allowed; the message names the setting, its environment
            variable, the value given and what is allowed.
    """

    width: int = 6
    height: int = 10
    customers_average_in_store: float = 6.0
    mean_visit_minutes: float = 20.0
    dwell_mean_seconds: float = 45.0
    dwell_spread: float = 0.6
    pace_spread: float = 0.35
    walk_seconds_per_cell: int = 3
    door: tuple[int, int] = (0, 0)
    neighbourhood: int = 8
    start: int | str = DEFAULT_START
    hours: float = 24.0
    seed: int = 0
    customers_file: str | None = None
    arrival_profile: tuple[float, ...] = field(default=FLAT_PROFILE)

    def __post_init__(self) -> None:
        for name, setting in SETTINGS.items():
            raw = getattr(self, name)
            try:
                value = setting.parse(raw)
            except (TypeError, ValueError):
                value = None
                ok = False
            else:
                ok = setting.check(value)
            if not ok:
                raise ConfigError(
                    f"{name} ({setting.env}) = {raw!r} is not allowed: expected {setting.allowed}"
                )
            object.__setattr__(self, name, value)
        x, y = self.door
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise ConfigError(
                f"door (DOOR) = '{x},{y}' is not allowed: expected a cell inside the "
                f"{self.width} x {self.height} grid, x from 0 to {self.width - 1} and y from 0 to "
                f"{self.height - 1}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> SimConfig:
        """Build a config from environment variables, then apply keyword overrides.

        Unset or empty variables keep their defaults; overrides whose value is ``None`` are
        ignored, so front ends can pass optional flags straight through.
        """
        values: dict[str, Any] = {}
        for name, setting in SETTINGS.items():
            raw = environ.get(setting.env)
            if raw is not None and raw.strip() != "":
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - set(SETTINGS)
        if unknown:
            raise TypeError(f"unknown SimConfig settings: {sorted(unknown)}")
        return cls(**values)

    def replace(self, **changes: Any) -> SimConfig:
        """A copy with some settings changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def end(self) -> int:
        """End of the simulated window, exclusive, in epoch seconds."""
        return int(self.start) + max(1, round(self.hours * 3600))

    @property
    def mean_visit_seconds(self) -> float:
        return self.mean_visit_minutes * 60.0

    def to_env(self) -> dict[str, str]:
        """The environment variables that rebuild this config with :meth:`from_env`."""
        env = {}
        for name, setting in SETTINGS.items():
            value = getattr(self, name)
            if value is None:
                continue
            if name == "door":
                text = f"{value[0]},{value[1]}"
            elif name == "arrival_profile":
                text = ",".join(repr(w) for w in value)
            elif name == "start":
                text = format_start(value)
            else:
                text = str(value)
            env[setting.env] = text
        return env
