"""What the Streamlit page needs besides widgets: plain functions, easy to test without a browser.

``app.py`` is a linear script: read the environment once, draw the sidebar, build a
:class:`~customersim.config.SimConfig`, simulate, draw, publish. The parts of that story that are
not drawing live here: turning widget values into a config (and its mistakes into messages that
name the setting), reading an uploaded customer list, guarding the page against a window too big
to draw, the headline numbers, the bytes behind the download buttons, and the words of the
publishing status. Nothing here imports Streamlit.
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from customersim.config import SETTINGS, ConfigError, SimConfig, format_start
from customersim.customers import CustomerListError, load_customers, parse_customer_bytes
from customersim.errors import CapacityError, CheckoutCapacityError, LayoutError
from customersim.floorplan import OPEN, parse_floorplan, shipped_layouts
from customersim.metrics import mean_occupancy, visit_table
from customersim.mqtt.settings import MQTT_SETTINGS
from customersim.profiles import PRESETS, WEEKDAYS_SHORT
from customersim.validate import occupancy_standard_error

# The page draws every event of the window; beyond this many it would take seconds per redraw
# and hundreds of MB in the browser. The CLI writes windows of any size.
MAX_APP_EVENTS = 3_000_000
# Speeds offered by the publish panel: real time x1 ... x1000, or as fast as the broker takes them.
SPEEDS: tuple[str, ...] = ("1", "2", "5", "10", "30", "60", "100", "300", "1000", "max")
# Hours of a typical shop day and a supermarket's week, one-click alternatives to the flat profile.
SHOP_DAY_PROFILE: tuple[float, ...] = PRESETS["shop-day"]
SUPERMARKET_WEEK_PROFILE: tuple[float, ...] = PRESETS["supermarket-week"]


def help_text(name: str) -> str:
    """Tooltip of a SimConfig setting: what it means, its environment variable, what is allowed."""
    return SETTINGS[name].tooltip


def input_bounds(name: str) -> tuple[Any, Any]:
    """``(min, max)`` of a SimConfig setting's number input, from its row of the settings table."""
    return SETTINGS[name].input_bounds


def mqtt_help_text(name: str) -> str:
    """Tooltip of an MQTT setting (``host``, ``topics.enter``, ...), like :func:`help_text`."""
    return MQTT_SETTINGS[name].tooltip


def _hour_label(hour: int, hours: int) -> str:
    return f"{hour:02d}:00" if hours == 24 else f"{WEEKDAYS_SHORT[hour // 24]} {hour % 24:02d}:00"


def profile_table(weights: Sequence[float]) -> pd.DataFrame:
    """The arrival weights as an editable table: one row per UTC hour of the day (24) or week (168)."""
    hours = len(weights)
    return pd.DataFrame(
        {
            "hour": [_hour_label(h, hours) for h in range(hours)],
            "weight": np.asarray(weights, dtype=np.float64),
        }
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
    if len(weights) not in (24, 168):
        raise ConfigError(
            f"{SETTINGS['arrival_profile'].label}: expected 24 or 168 hourly weights, got {len(weights)}"
        )
    if sum(weights) <= 0:
        raise ConfigError(
            f"{SETTINGS['arrival_profile'].label}: all {len(weights)} weights are 0, so nobody "
            "would ever arrive: give at least one hour a weight above 0"
        )
    return tuple(weights)


def estimated_events(config: SimConfig) -> float:
    """About how many events the window holds (Little's law and the mean visit's steps)."""
    from customersim.engine import events_per_visit

    visits = config.customers_average_in_store / config.mean_visit_seconds * (config.end - config.start)
    return visits * events_per_visit(config)


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
    return parse_customer_bytes(data, name)


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


# ------------------------------------------------------------------ the sidebar's own words

# The sidebar label of each SimConfig setting, so that a message can point at the field to fix.
FIELD_LABELS: dict[str, str] = {
    "width": "Width (cells, x)",
    "height": "Height (cells, y)",
    "door": "Door x / Door y",
    "neighbourhood": "Neighbourhood",
    "customers_average_in_store": "Target average inside",
    "mean_visit_minutes": "Mean visit (minutes)",
    "dwell_mean_seconds": "Mean dwell per cell (seconds)",
    "dwell_spread": "Dwell spread",
    "pace_spread": "Pace spread",
    "walk_seconds_per_cell": "Walk home (seconds per cell)",
    "start": "Start (UTC)",
    "hours": "Hours",
    "seed": "Seed",
    "arrival_profile": "Arrival profile",
    "customers_file": "Customer list",
    "layout": "Layout",
    "segments": "Customer segments",
    "checkout_service_seconds": "Checkout service (seconds)",
    "checkout_service_spread": "Service spread",
    "group_share": "Share of arrivals in groups",
}

# ------------------------------------------------------------------------- store layouts

UPLOAD_LAYOUT = "upload a layout file…"


def layout_choices(current: str) -> list[str]:
    """The layout picker's options: the shipped layouts, the environment's own file if it names
    one, and the upload."""
    shipped = shipped_layouts()
    return [*shipped, *([current] if current not in shipped else []), UPLOAD_LAYOUT]


def layout_from_upload(data: bytes, name: str) -> str:
    """Check an uploaded layout file and keep it where the simulation can read it by path.

    The file is parsed under its own name first, so a mistake is reported with the uploaded
    file's name, line and column; a good file is stored under a name made of its content's hash,
    so the same upload is the same setting (and the same cached day) on every rerun.

    Raises:
        LayoutError: the file is not a layout; the message names the file, line and column.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LayoutError(f"{name}: cannot read the layout file: expected UTF-8 text") from None
    parse_floorplan(text, source=name)
    folder = Path(tempfile.gettempdir()) / "customersim-layouts"
    folder.mkdir(exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.toml"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def field_message(error: Exception) -> str:
    """An error's message led by the sidebar field to change, e.g. ``Start (UTC): start (...) = ...``.

    Setting errors start with the setting's name; a customer list that is too small is
    explained in one sentence and points at the two fields that fix it; checkout lanes that
    cannot keep up point at the fields that change their load.
    """
    text = str(error)
    if isinstance(error, CheckoutCapacityError):
        fields = ("customers_average_in_store", "checkout_service_seconds", "layout")
        return f"{' / '.join(FIELD_LABELS[name] for name in fields)}: {text}"
    if isinstance(error, CapacityError):
        return (
            f"{FIELD_LABELS['customers_average_in_store']} / {FIELD_LABELS['customers_file']}: "
            "every shopper inside at the same moment is a different customer from the list, so "
            f"the list must be longer than the busiest hour's crowd; here {text}"
        )
    if isinstance(error, CustomerListError):
        return f"{FIELD_LABELS['customers_file']}: {text}"
    name = text.split(" ", 1)[0]
    label = FIELD_LABELS.get(name)
    return f"{label}: {text}" if label else text


def session_client_id(base: str, session: str) -> str:
    """The MQTT client id of one browser session: the configured client id and a short session tag.

    Two clients with one id throw each other off the broker in a loop, so two tabs must never
    share one.
    """
    return f"{base}-{session[:8]}"


# ---------------------------------------------------------------- the setup in the page's URL


def query_from_config(config: SimConfig) -> dict[str, str]:
    """The settings that differ from the built-in defaults, named as their environment variables.

    Put into the page's URL, they make a link that reproduces the same store and day.
    """
    defaults = SimConfig().to_env()
    # The customer list file is a path on the server: not the URL's business; nor is an
    # uploaded layout's. A layout's map sets the size and door, so they follow its name.
    private = {SETTINGS["customers_file"].env}
    if config.layout != OPEN:
        private |= {SETTINGS[name].env for name in ("width", "height", "door")}
        if config.layout not in shipped_layouts():
            private.add(SETTINGS["layout"].env)
    return {
        name: value
        for name, value in config.to_env().items()
        if defaults.get(name) != value and name not in private
    }


def config_from_query(environ: Mapping[str, str], query: Mapping[str, str]) -> SimConfig:
    """The environment's config with the URL's settings on top (same names, same checks).

    Raises:
        ConfigError: a URL setting is not allowed (the message names it).
    """
    known = {setting.env for setting in SETTINGS.values()} - {SETTINGS["customers_file"].env}
    return SimConfig.from_env({**environ, **{k: v for k, v in query.items() if k in known}})


def download_name(config: SimConfig, kind: str) -> str:
    """A download's file name that says which settings made it, e.g. ``events_6x10_avg6_24h_seed0.csv``."""
    start = format_start(config.start).replace(":", "").replace("-", "")
    profile = "" if len(set(config.arrival_profile)) == 1 else "_profile"
    return (
        f"events_{config.width}x{config.height}_door{config.door[0]}-{config.door[1]}"
        f"_avg{config.customers_average_in_store:g}_{config.hours:g}h_{start}_seed{config.seed}"
        f"{profile}.{kind}"
    )


def typical_visit_index(choices: pd.DataFrame) -> int:
    """Position in ``choices`` of a visit of typical length (the median duration), 0 if empty."""
    if choices.empty:
        return 0
    durations = choices["duration"].to_numpy(dtype=np.float64)
    return int(np.argmin(np.abs(durations - np.median(durations))))


def events_with_time(frame: pd.DataFrame) -> pd.DataFrame:
    """Events with a readable UTC ``time`` column first (``ts`` stays, as sent)."""
    time_text = pd.to_datetime(frame["ts"].to_numpy(dtype=np.int64), unit="s").strftime("%Y-%m-%d %H:%M:%S")
    return frame.assign(time=time_text)[["time", *frame.columns]]


def profile_svg(
    weights: Sequence[float], width: int = 110, height: int = 250, colour: str = "#1f6fb4"
) -> str:
    """The hourly weights (24 or 168) as a small SVG bar chart: hour 0 on top, like the table beside it.

    A picture, not a plotly figure: it stands in the sidebar on every page view, and a plotly
    figure there costs the browser about as much as one of the store's heatmaps.
    """
    values = np.asarray(weights, dtype=np.float64)
    top = values.max() if len(values) and values.max() > 0 else 1.0
    label, row = 18, height / max(len(values), 1)
    tick = 6 if len(values) <= 24 else 24
    bars = []
    for hour, value in enumerate(values):
        length = (width - label - 2) * value / top
        bars.append(
            f'<rect x="{label}" y="{hour * row + 1:.1f}" width="{length:.1f}" '
            f'height="{max(row - 2, 0.5):.1f}" fill="{colour}"><title>{_hour_label(hour, len(values))} '
            f"weight {value:g}</title></rect>"
        )
        if hour % tick == 0:
            mark = f"{hour:02d}" if tick == 6 else WEEKDAYS_SHORT[hour // 24][:2]
            bars.append(
                f'<text x="{label - 3}" y="{hour * row + row - 1:.1f}" font-size="9" '
                f'text-anchor="end" fill="#808495" font-family="sans-serif">'
                f"{mark}</text>"
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(bars)}</svg>'
    )
