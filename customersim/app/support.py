"""What the Streamlit page needs besides widgets: plain functions, easy to test without a browser.

``app.py`` is a linear script: read the environment once, draw the sidebar, build a
:class:`~customersim.config.SimConfig`, simulate, draw, publish. The parts of that story that are
not drawing live here: turning widget values into a config (and its mistakes into messages that
name the setting), reading an uploaded customer list, guarding the page against a window too big
to draw, the headline numbers, the bytes behind the download buttons, and the words of the
publishing status. Nothing here imports Streamlit.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from customersim.config import SETTINGS, ConfigError, SimConfig
from customersim.customers import CustomerListError, load_customers, parse_customers
from customersim.metrics import mean_occupancy, visit_table
from customersim.mqtt.settings import MQTT_SETTINGS
from customersim.validate import occupancy_standard_error

# The page draws every event of the window; beyond this many it would take seconds per redraw
# and hundreds of MB in the browser. The CLI writes windows of any size.
MAX_APP_EVENTS = 3_000_000
# Speeds offered by the publish panel: real time x1 ... x1000, or as fast as the broker takes them.
SPEEDS: tuple[str, ...] = ("1", "2", "5", "10", "30", "60", "100", "300", "1000", "max")
# Hours of a typical shop day, a one-click alternative to the flat profile.
SHOP_DAY_PROFILE: tuple[float, ...] = (
    0,
    0,
    0,
    0,
    0,
    0,
    0.2,
    0.6,
    1,
    1.2,
    1.4,
    1.6,
    1.8,
    1.6,
    1.4,
    1.4,
    1.6,
    1.9,
    2,
    1.6,
    1,
    0.5,
    0.2,
    0,
)


def help_text(name: str) -> str:
    """Tooltip of a SimConfig setting: what it means, its environment variable, what is allowed."""
    return SETTINGS[name].tooltip


def input_bounds(name: str) -> tuple[Any, Any]:
    """``(min, max)`` of a SimConfig setting's number input, from its row of the settings table."""
    return SETTINGS[name].input_bounds


def mqtt_help_text(name: str) -> str:
    """Tooltip of an MQTT setting (``host``, ``topics.enter``, ...), like :func:`help_text`."""
    return MQTT_SETTINGS[name].tooltip


def profile_table(weights: Sequence[float]) -> pd.DataFrame:
    """The 24 hourly arrival weights as an editable table (one row per UTC hour)."""
    return pd.DataFrame(
        {"hour": [f"{h:02d}:00" for h in range(24)], "weight": np.asarray(weights, dtype=np.float64)}
    )


def profile_from_table(table: pd.DataFrame) -> tuple[float, ...]:
    """Read the weights back from the edited table.

    Raises:
        ConfigError: a cell is empty or not a number >= 0, or all are 0; the message names the
            hour's row.
    """
    weights = []
    for position, value in enumerate(table["weight"].tolist()):
        hour = table["hour"].iloc[position] if "hour" in table.columns else f"{position:02d}:00"
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number < 0:
            raise ConfigError(
                f"{SETTINGS['arrival_profile'].label}, hour {hour}: {value!r} is not "
                "allowed: expected a weight >= 0"
            )
        weights.append(number)
    if len(weights) != 24:
        raise ConfigError(
            f"{SETTINGS['arrival_profile'].label}: expected 24 hourly weights, got {len(weights)}"
        )
    if sum(weights) <= 0:
        raise ConfigError(
            f"{SETTINGS['arrival_profile'].label}: all 24 weights are 0, so nobody "
            "would ever arrive: give at least one hour a weight above 0"
        )
    return tuple(weights)


def estimated_events(config: SimConfig) -> float:
    """About how many events the window holds (Little's law and the mean visit's steps)."""
    visits = config.customers_average_in_store / config.mean_visit_seconds * (config.end - config.start)
    steps = 2 + config.mean_visit_seconds / config.dwell_mean_seconds
    return visits * steps


def check_app_size(config: SimConfig, limit: int = MAX_APP_EVENTS) -> None:
    """Refuse a window too big to draw in the page, naming the settings to change.

    Raises:
        ConfigError: the window would hold more than ``limit`` events.
    """
    events = estimated_events(config)
    if events > limit:
        raise ConfigError(
            f"{SETTINGS['hours'].label} = {config.hours:g} with {config.customers_average_in_store:g} "
            f"customers inside makes about {events:,.0f} events, more than the {limit:,} the page "
            "draws: shorten hours or lower the average inside, or write the dataset with "
            "`python -m customersim generate`"
        )


def read_upload(data: bytes, name: str) -> pd.DataFrame:
    """Parse an uploaded customer list; errors name the upload, the line and the column.

    Raises:
        CustomerListError: the list cannot be used.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # Count the line of the first bad byte so the message points at it.
        line = data[: error.start].count(b"\n") + 1
        raise CustomerListError(f"{name}, line {line}: not UTF-8 text (byte {error.start})") from None
    return parse_customers(text, name)


def customers_for(config: SimConfig, upload: tuple[bytes, str] | None) -> pd.DataFrame:
    """The customer list to simulate with: the upload if any, else the config's file or built-in list.

    Raises:
        CustomerListError: the upload or the configured file cannot be used.
    """
    if upload is not None:
        return read_upload(*upload)
    return load_customers(config.customers_file)


@dataclass(frozen=True)
class KeyFigures:
    """Headline numbers of a simulated window."""

    events: int
    visits: int
    complete_visits: int
    customers: int
    mean_inside: float
    target_inside: float
    standard_error: float = 0.0

    @property
    def occupancy_error(self) -> float:
        """Relative difference of the measured mean inside from the target."""
        return self.mean_inside / self.target_inside - 1.0


def key_figures(frame: pd.DataFrame, config: SimConfig) -> KeyFigures:
    """Events, visits and the time-average number inside against the target."""
    table = visit_table(frame) if len(frame) else pd.DataFrame({"complete": [], "customer_id": []})
    return KeyFigures(
        events=len(frame),
        visits=len(table),
        complete_visits=int(table["complete"].sum()),
        customers=int(table["customer_id"].nunique()),
        mean_inside=mean_occupancy(frame, config.start, config.end, visits=table) if len(frame) else 0.0,
        target_inside=float(config.customers_average_in_store),
        standard_error=occupancy_standard_error(config),
    )


def journey_choices(frame: pd.DataFrame, limit: int = 500) -> pd.DataFrame:
    """Whole visits (enter to exit) to offer in the journey explorer, longest paths first.

    Returns the first ``limit`` rows of :func:`customersim.metrics.visit_table` for complete
    visits, ordered by number of moves (an interesting walk first), then visit number.
    """
    if frame.empty:
        return pd.DataFrame(columns=["visit", "customer_id", "enter_ts", "moves", "duration", "complete"])
    table = visit_table(frame)
    whole = table[table["complete"]]
    return whole.sort_values(["moves", "visit"], ascending=[False, True], kind="stable").head(limit)


def describe_visit(row: Mapping[str, Any]) -> str:
    """Label of a visit in the journey explorer's list."""
    enter = pd.Timestamp(int(row["enter_ts"]), unit="s", tz="UTC").strftime("%H:%M:%S")
    return (
        f"visit {int(row['visit'])}: customer {row['customer_id']}, in at {enter} UTC, "
        f"{int(row['moves'])} moves, {int(row['duration']) // 60} min"
    )


def events_file_bytes(config: SimConfig, kind: str, customers: pd.DataFrame | None = None) -> bytes:
    """The events of ``config`` as the bytes of a ``csv`` or ``parquet`` file.

    Written by :func:`customersim.dataset.write_dataset`, the same function as
    ``customersim generate``: a download and the command give the same file.
    """
    from customersim.dataset import write_dataset

    if kind not in ("csv", "parquet"):
        raise ValueError(f"kind = {kind!r}: expected csv or parquet")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"events.{kind}"
        write_dataset(config, path, customers)
        return path.read_bytes()


def config_key(config: SimConfig) -> tuple[tuple[str, str], ...]:
    """A hashable, exact description of a config (its environment form), for caches."""
    return tuple(sorted(config.to_env().items()))


def config_from_key(key: tuple[tuple[str, str], ...]) -> SimConfig:
    """The config a :func:`config_key` describes."""
    return SimConfig.from_env(dict(key))
