"""Simulation settings: the table of them, and one frozen :class:`SimConfig` every front end builds.

A store is a ``width`` x ``height`` grid of location sensors with a door. Shoppers arrive at
random moments at a rate that follows Little's law, so that on average
``customers_average_in_store`` of them are inside; each visit lasts a random time (mean
``mean_visit_minutes``), during which the shopper dwells at a cell (``dwell_mean_seconds``,
varying by ``dwell_spread`` from cell to cell and by ``pace_spread`` from shopper to shopper)
and steps to a neighbouring cell, until the time is up and they walk back to the door at
``walk_seconds_per_cell``.

:data:`SETTINGS` holds one row per setting: its environment variable (the names of the service
this package replaces are kept), default, bounds, meaning and command-line flag. Settings are
validated when the config is built, so a wrong value fails early with a message that names the
setting, its environment variable, the value given and what is allowed.
:meth:`SimConfig.from_env` reads the variables; only entry points call it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from customersim.errors import ConfigError
from customersim.floorplan import OPEN, Floorplan, load_floorplan, open_floorplan, resolve_layout_path
from customersim.profiles import HOURS_PER_WEEK, PRESETS
from customersim.segments import DEFAULT_SEGMENTS, segment_text
from customersim.settings_table import NotAllowed, Setting, SettingsTable, number, optional_text, whole

DEFAULT_START = "2026-01-05T00:00:00Z"
FLAT_PROFILE: tuple[float, ...] = (1.0,) * 24
MAX_GRID_SIDE = 4096
MAX_HOURS = 24 * 365 * 100

__all__ = [
    "DEFAULT_START",
    "FLAT_PROFILE",
    "MAX_GRID_SIDE",
    "SETTINGS",
    "ConfigError",
    "SimConfig",
    "format_start",
    "parse_start",
]


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
    if isinstance(value, str) and value.strip().lower() in PRESETS:
        return PRESETS[value.strip().lower()]
    if isinstance(value, str):
        parts = [p for p in value.replace(";", ",").split(",") if p.strip()]
        try:
            weights = tuple(float(p) for p in parts)
        except ValueError:
            raise ValueError(
                f"a preset ({', '.join(PRESETS)}) or 24 or 168 comma-separated numbers"
            ) from None
    else:
        weights = tuple(float(v) for v in value)
    if len(weights) not in (24, HOURS_PER_WEEK):
        raise NotAllowed(f"{len(weights)} weights")
    if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"{len(weights)} weights that are >= 0 and not all 0")
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


def _parse_layout(value: Any) -> str:
    name = OPEN if value is None or str(value).strip() == "" else str(value).strip()
    if name != OPEN:
        resolve_layout_path(name)  # a name that is neither shipped nor a file is refused here
    return name


def _parse_attractions(value: Any) -> tuple[tuple[str, float], ...]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return ()
    if isinstance(value, str):
        pairs = []
        for part in value.split(","):
            name, sep, weight = part.partition("=")
            if not sep or not name.strip():
                raise ValueError("Name=weight pairs separated by commas, e.g. 'Women=3,Men=2'")
            pairs.append((name.strip(), weight))
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        pairs = list(value)
    try:
        parsed = tuple((str(name), float(weight)) for name, weight in pairs)
    except (TypeError, ValueError):
        raise ValueError("Name=weight pairs with weights >= 0, e.g. 'Women=3,Men=2'") from None
    if any(not math.isfinite(w) or w < 0 for _, w in parsed):
        raise ValueError("weights >= 0")
    return parsed


def _attractions_text(pairs: tuple[tuple[str, float], ...]) -> str:
    return ",".join(f"{name}={weight!r}" for name, weight in pairs)


def _door_text(cell: tuple[int, int]) -> str:
    return f"{cell[0]},{cell[1]}"


def _profile_text(weights: tuple[float, ...]) -> str:
    return ",".join(repr(w) for w in weights)


# One row per SimConfig field, in the order the command line and the README list them.
SETTINGS = SettingsTable(
    "simulation",
    [
        Setting(
            name="width",
            env="STORE_WIDTH",
            help="grid width in cells (x)",
            default=6,
            parse=whole,
            low=1,
            high=MAX_GRID_SIDE,
            flag="--width",
            metavar="CELLS",
        ),
        Setting(
            name="height",
            env="STORE_HEIGHT",
            help="grid height in cells (y)",
            default=10,
            parse=whole,
            low=1,
            high=MAX_GRID_SIDE,
            flag="--height",
            metavar="CELLS",
        ),
        Setting(
            name="customers_average_in_store",
            env="CUSTOMERS_AVERAGE_IN_STORE",
            help="target time-average number of customers inside",
            default=6.0,
            parse=number,
            low=0,
            above=True,
            high=1e6,
            input_low=0.1,
            flag="--average-inside",
            metavar="N",
        ),
        Setting(
            name="mean_visit_minutes",
            env="MEAN_VISIT_MINUTES",
            help="mean visit length, door to door",
            default=20.0,
            parse=number,
            low=0.5,
            high=24 * 60,
            unit="minutes",
            flag="--mean-visit-minutes",
            metavar="MIN",
        ),
        Setting(
            name="dwell_mean_seconds",
            env="DWELL_MEAN_SECONDS",
            help="mean time a shopper stays at one cell",
            default=45.0,
            parse=number,
            low=1,
            high=3600,
            unit="seconds",
            flag="--dwell-mean-seconds",
            metavar="S",
        ),
        Setting(
            name="dwell_spread",
            env="DWELL_SPREAD",
            help="coefficient of variation of one dwell",
            default=0.6,
            parse=number,
            low=0.05,
            high=3,
            flag="--dwell-spread",
            metavar="CV",
        ),
        Setting(
            name="pace_spread",
            env="PACE_SPREAD",
            help="spread (log sd) of each customer's pace: lingerers vs rushers",
            default=0.35,
            parse=number,
            low=0,
            high=2,
            flag="--pace-spread",
            metavar="SD",
        ),
        Setting(
            name="walk_seconds_per_cell",
            env="WALK_SECONDS_PER_CELL",
            help="time per cell on the walk back to the door",
            default=3,
            parse=whole,
            low=1,
            high=600,
            unit="seconds",
            flag="--walk-seconds-per-cell",
            metavar="S",
        ),
        Setting(
            name="door",
            env="DOOR",
            help="door cell where visits enter and exit",
            default=(0, 0),
            parse=_parse_door,
            allowed="a cell 'x,y' inside the grid",
            to_text=_door_text,
            flag="--door",
            metavar="X,Y",
        ),
        Setting(
            name="neighbourhood",
            env="NEIGHBOURHOOD",
            help="cells a shopper can step to: 4 (edges) or 8 (with diagonals)",
            default=8,
            parse=whole,
            choices=(4, 8),
            flag="--neighbourhood",
            metavar="4|8",
        ),
        Setting(
            name="layout",
            env="STORE_LAYOUT",
            help="floor plan: a shipped layout's name or a .toml layout file (open: an empty rectangle)",
            default=OPEN,
            parse=_parse_layout,
            allowed="the name of a shipped layout (open, fashion, supermarket) or the path of a layout file",
            flag="--layout",
            metavar="NAME|TOML",
        ),
        Setting(
            name="attractions",
            env="DEPARTMENT_ATTRACTIONS",
            help="departments' attraction as stops, replacing the layout's (unset: the layout's own)",
            default=(),
            parse=_parse_attractions,
            allowed="Name=weight pairs of the layout's departments, e.g. 'Women=3,Men=2'",
            to_text=_attractions_text,
            flag="--attractions",
            metavar="NAME=W,...",
        ),
        Setting(
            name="focus_seconds",
            env="FOCUS_SECONDS",
            help="time in one department after which a shopper's stay is a focus event",
            default=60.0,
            parse=number,
            low=1,
            high=24 * 3600,
            unit="seconds",
            flag="--focus-seconds",
            metavar="S",
        ),
        Setting(
            name="checkout_service_seconds",
            env="CHECKOUT_SERVICE_SECONDS",
            help="mean time a checkout lane takes to serve one shopper (or group): scan and pay",
            # Our estimate, not a measurement: a few seconds of scanning per item and some tens
            # of seconds for paying and packing make 1.5-2 minutes for a basket of 15-30 items.
            default=100.0,
            parse=number,
            low=1,
            high=3600,
            unit="seconds",
            flag="--checkout-service-seconds",
            metavar="S",
        ),
        Setting(
            name="checkout_service_spread",
            env="CHECKOUT_SERVICE_SPREAD",
            help="coefficient of variation of one checkout service time (gamma distributed)",
            # Our assumption: 40 s per customer plus 3 s per item, with an exponential item count
            # of mean 20, gives a mean of 100 s and a coefficient of variation of 0.6.
            default=0.6,
            parse=number,
            low=0.05,
            high=3,
            flag="--checkout-service-spread",
            metavar="CV",
        ),
        Setting(
            name="group_share",
            env="GROUP_SHARE",
            help="share of arrivals that are groups of two or three customers who shop together",
            # Our choice: shoppers with children are a sizeable minority in observational
            # studies of supermarkets, and adults shopping in pairs add to them.
            default=0.2,
            parse=number,
            low=0,
            high=1,
            flag="--group-share",
            metavar="SHARE",
        ),
        Setting(
            name="start",
            env="SIM_START",
            help="start of the simulated window (UTC)",
            default=DEFAULT_START,
            parse=parse_start,
            low=0,
            high=2**37,
            allowed="an ISO 8601 time such as 2026-01-05T00:00:00Z, or epoch seconds >= 0",
            to_text=format_start,
            flag="--start",
            metavar="TIME",
        ),
        Setting(
            name="hours",
            env="SIM_HOURS",
            help="length of the simulated window",
            default=24.0,
            parse=number,
            # The window lasts at least one second.
            low=1 / 3600,
            high=MAX_HOURS,
            allowed=f"a number of hours above 0 (at most {MAX_HOURS})",
            input_low=0.01,
            flag="--hours",
            metavar="H",
        ),
        Setting(
            name="seed",
            env="SIM_SEED",
            help="seed of every random choice",
            default=0,
            parse=whole,
            low=0,
            high=2**63 - 1,
            allowed="a whole number >= 0",
            # A browser's number input holds whole numbers exactly only up to 2**53.
            input_high=2**53 - 1,
            flag="--seed",
            metavar="N",
        ),
        Setting(
            name="customers_file",
            env="CUSTOMERS_LIST_FILE",
            help="customer list (unset: the built-in 1,000 customers)",
            default=None,
            parse=optional_text,
            allowed="a path to a CSV file with a customer_id column",
            flag="--customers",
            metavar="CSV",
        ),
        Setting(
            name="segments",
            env="CUSTOMER_SEGMENTS",
            help="customer segments table: who comes how often, how long, and where (none: everyone alike)",
            default=DEFAULT_SEGMENTS,
            parse=segment_text,
            allowed="default, none, or the path of a segments .toml file",
            flag="--segments",
            metavar="NAME|TOML",
        ),
        Setting(
            name="arrival_profile",
            env="ARRIVAL_PROFILE",
            help="relative arrival rate for each UTC hour of the day or of the week (from Monday 00:00)",
            default=FLAT_PROFILE,
            parse=_parse_profile,
            allowed="a preset (flat, shop-day, supermarket-week), or 24 or 168 weights >= 0, not all 0",
            to_text=_profile_text,
            flag="--arrival-profile",
            metavar="PRESET|W0,...",
        ),
    ],
)


class _EpochSeconds:
    """The ``start`` field: given as any time :func:`parse_start` takes, held as epoch seconds.

    A descriptor-typed dataclass field: type checkers take the constructor's parameter type from
    ``__set__`` (a time in any form) and the attribute's type from ``__get__`` (``int``).
    ``SimConfig.__post_init__`` turns the given value into epoch seconds before anyone reads it.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: object | None, owner: type | None = None) -> int:
        if obj is None:  # the dataclass asks the class for the field's default
            return parse_start(SETTINGS[self.name].default)
        return obj.__dict__[self.name]  # type: ignore[no-any-return]

    def __set__(self, obj: object, value: int | str | datetime) -> None:
        obj.__dict__[self.name] = value


_DEFAULT = SETTINGS.defaults()


@dataclass(frozen=True)
class SimConfig:
    """Every setting of one simulation, validated on construction.

    ``start`` takes epoch seconds, an ISO 8601 string or a :class:`datetime` and holds epoch
    seconds (``int``) after construction. Defaults and bounds are the rows of :data:`SETTINGS`.

    Example:
        >>> SimConfig(width=6, height=10, customers_average_in_store=6, hours=24,
        ...           start="2026-01-05T00:00:00Z", seed=1).start
        1767571200

    Raises:
        ConfigError: a value is not allowed; the message names the setting, its environment
            variable, the value given and what is allowed.
    """

    # None: from the layout's map, or the rows' defaults (6 x 10) for the open layout.
    width: int | None = None
    height: int | None = None
    customers_average_in_store: float = _DEFAULT["customers_average_in_store"]
    mean_visit_minutes: float = _DEFAULT["mean_visit_minutes"]
    dwell_mean_seconds: float = _DEFAULT["dwell_mean_seconds"]
    dwell_spread: float = _DEFAULT["dwell_spread"]
    pace_spread: float = _DEFAULT["pace_spread"]
    walk_seconds_per_cell: int = _DEFAULT["walk_seconds_per_cell"]
    door: tuple[int, int] = _DEFAULT["door"]
    neighbourhood: int = _DEFAULT["neighbourhood"]
    layout: str = _DEFAULT["layout"]
    attractions: tuple[tuple[str, float], ...] = _DEFAULT["attractions"]
    # A minute in one department: longer than walking through one (a few cells at a few
    # seconds each) or a glance at one shelf (about 25 s per category in store studies), about
    # the time of a first browse of a department's racks.
    focus_seconds: float = _DEFAULT["focus_seconds"]
    checkout_service_seconds: float = _DEFAULT["checkout_service_seconds"]
    checkout_service_spread: float = _DEFAULT["checkout_service_spread"]
    group_share: float = _DEFAULT["group_share"]
    start: _EpochSeconds = _EpochSeconds()
    hours: float = _DEFAULT["hours"]
    seed: int = _DEFAULT["seed"]
    customers_file: str | None = _DEFAULT["customers_file"]
    segments: str = _DEFAULT["segments"]
    arrival_profile: tuple[float, ...] = _DEFAULT["arrival_profile"]

    def __post_init__(self) -> None:
        for name in SETTINGS:
            if getattr(self, name) is None and name in ("width", "height"):
                continue  # settled by the layout below
            object.__setattr__(self, name, SETTINGS.convert(name, getattr(self, name)))
        if self.layout != OPEN:
            self._take_size_from_map()
            return
        for name in ("width", "height"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, SETTINGS[name].default)
        x, y = self.door
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise ConfigError(
                f"{SETTINGS['door'].label} = '{x},{y}' is not allowed: expected a cell inside the "
                f"{self.width} x {self.height} grid, x from 0 to {self.width - 1} and y from 0 to "
                f"{self.height - 1}"
            )

    def _take_size_from_map(self) -> None:
        plan = load_floorplan(self.layout)
        for name, size in (("width", plan.width), ("height", plan.height)):
            given = getattr(self, name)
            if given is not None and given != size:
                raise ConfigError(
                    f"{SETTINGS[name].label} = {given} conflicts with {SETTINGS['layout'].label} = "
                    f"{self.layout!r}, whose map is {plan.width} x {plan.height}: leave "
                    f"{SETTINGS.env(name)} unset or set it to {size}"
                )
            object.__setattr__(self, name, size)

    @property
    def floorplan(self) -> Floorplan:
        """The store's floor plan: the layout file's map, or the open rectangle."""
        if self.layout == OPEN:
            return open_floorplan(self.width, self.height, self.door)
        plan = load_floorplan(self.layout)
        if not self.attractions:
            return plan
        attraction = list(plan.attraction)
        for name, weight in self.attractions:
            if name not in plan.departments:
                raise ConfigError(
                    f"{SETTINGS['attractions'].label}: {name!r} is not a department of {self.layout!r} "
                    f"(its departments: {', '.join(plan.departments)})"
                )
            attraction[plan.departments.index(name)] = weight
        if sum(attraction) <= 0:
            raise ConfigError(f"{SETTINGS['attractions'].label}: every department's attraction is 0")
        return dataclasses.replace(plan, attraction=tuple(attraction))

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> SimConfig:
        """Build a config from environment variables, then apply keyword overrides.

        The variables are those of :data:`SETTINGS`. Unset or empty variables keep their
        defaults; overrides whose value is ``None`` are ignored, so front ends can pass optional
        flags straight through.
        """
        values: dict[str, Any] = SETTINGS.read_env(environ)
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - set(SETTINGS)
        if unknown:
            raise TypeError(f"unknown SimConfig settings: {sorted(unknown)}")
        return cls(**values)

    def replace(self, **changes: Any) -> SimConfig:
        """A copy with some settings changed (validated again).

        Changing the layout lets the new map set the grid size unless a size is given too.
        """
        if changes.get("layout", self.layout) != self.layout:
            changes.setdefault("width", None)
            changes.setdefault("height", None)
        return dataclasses.replace(self, **changes)

    @property
    def end(self) -> int:
        """End of the simulated window, exclusive, in epoch seconds."""
        return self.start + max(1, round(self.hours * 3600))

    @property
    def mean_visit_seconds(self) -> float:
        return self.mean_visit_minutes * 60.0

    def to_env(self) -> dict[str, str]:
        """The environment variables that rebuild this config with :meth:`from_env`."""
        env = {}
        for name, setting in SETTINGS.items():
            value = getattr(self, name)
            if value is not None and setting.env:
                env[setting.env] = setting.to_text(value)
        return env
