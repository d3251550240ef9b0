"""customersim in the browser: tune a store, look at its day, publish it live over MQTT.

Run ``streamlit run app.py``. With no settings at all the page simulates a day of the default
store (6 x 10 cells, 6 shoppers inside on average) and draws it; every setting starts from its
environment variable, like the CLI. The script is the page, top to bottom:

1. **Tune**: the sidebar's widgets become a :class:`~customersim.SimConfig`; a value that is not
   allowed becomes a message naming the sidebar field, never a traceback, and the last good
   result stays on screen marked as stale. The settings start from the environment, then from
   the page's URL, which follows every good setting: a link reproduces the store.
2. **See**: the simulated frame (cached, so a redraw after a change is fast), headline numbers,
   occupancy against the expected curve, the store as heatmaps, one visit's journey (it plays),
   the events table.
3. **Publish**: an MQTT panel; Start and Stop drive the session's one
   :class:`~customersim.app.live.LiveSession`, whose status refreshes itself every second. Each
   browser session publishes under its own client id and sees only its own messages.

The environment is read here, once; everything below receives it.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from customersim import plots
from customersim.app.live import BuiltinBroker, LiveSession, feed_table, settings_or_error
from customersim.app.support import (
    FIELD_LABELS,
    SHOP_DAY_PROFILE,
    SPEEDS,
    SUPERMARKET_WEEK_PROFILE,
    UPLOAD_LAYOUT,
    KeyFigures,
    check_app_size,
    config_from_key,
    config_from_query,
    config_key,
    customers_for,
    describe_visit,
    download_name,
    events_file_bytes,
    events_with_time,
    field_message,
    help_text,
    input_bounds,
    journey_choices,
    key_figures,
    layout_choices,
    layout_from_upload,
    mqtt_help_text,
    profile_from_table,
    profile_svg,
    profile_table,
    query_from_config,
    session_client_id,
    typical_visit_index,
)
from customersim.config import FLAT_PROFILE, SETTINGS, ConfigError, SimConfig, format_start
from customersim.customers import CustomerListError
from customersim.engine import CapacityError
from customersim.floorplan import OPEN
from customersim.metrics import department_stats, department_transitions, visit_path
from customersim.mqtt import MqttError, MqttSettings, send_event
from customersim.mqtt.settings import MQTT_SETTINGS
from customersim.segments import DEFAULT_SEGMENTS, NO_SEGMENTS
from customersim.simulation import simulate, simulate_chunks

ENV = dict(os.environ)  # the only place the page reads the environment

st.set_page_config(page_title="customersim", layout="wide")


@st.cache_data(max_entries=16, show_spinner="Simulating…")
def simulated(key: tuple, upload: tuple[bytes, str] | None) -> pd.DataFrame:
    """The events of a config (by its :func:`config_key`) and customer list, cached per setting."""
    config = config_from_key(key)
    return simulate(config, customers_for(config, upload))


# The store tab's pictures of a setting, built once: plotly checks every property of a figure
# as it is built, which takes longer than the numbers behind it. Kept as objects (not pickled);
# the page only serializes them.
STORE_FIGURES = {
    "occupancy": plots.occupancy_figure,
    "visits": plots.visits_heatmap,
    "dwell": plots.dwell_heatmap,
    "arrivals": plots.arrivals_figure,
    "departments": lambda frame, config: plots.department_figure(department_stats(frame, config.end)),
    "transitions": lambda frame, _config: plots.transitions_figure(department_transitions(frame)),
}


@st.cache_resource(max_entries=64, show_spinner=False)
def store_figure(key: tuple, upload: tuple[bytes, str] | None, kind: str) -> go.Figure:
    """One of :data:`STORE_FIGURES` for a config (by its :func:`config_key`) and customer list."""
    return STORE_FIGURES[kind](simulated(key, upload), config_from_key(key))


@st.cache_data(max_entries=16, show_spinner=False)
def headline(key: tuple, upload: tuple[bytes, str] | None) -> KeyFigures:
    """The headline numbers of a config and customer list."""
    return key_figures(simulated(key, upload), config_from_key(key))


@st.cache_data(max_entries=4, show_spinner=False)
def download(key: tuple, upload: tuple[bytes, str] | None, kind: str) -> bytes:
    """The bytes of the CSV or Parquet download (written as ``customersim generate`` writes)."""
    config = config_from_key(key)
    return events_file_bytes(config, kind, customers_for(config, upload))


@st.cache_resource(show_spinner="Starting the built-in MQTT broker…")
def builtin_broker(port: int) -> BuiltinBroker:
    """One embedded broker per server process and port, stopped when the process exits."""
    broker = BuiltinBroker.start(port)
    print(broker.error or broker.announcement, flush=True)  # the one line on the console
    return broker


FEED_SHOWN = 12  # newest messages listed under the publishing status


def show_error(error: Exception) -> None:
    st.error(str(error), icon=":material/error:")


def keep_at_most(key: str, high: int) -> int:
    """Pull a widget's remembered value inside a bound that another field just moved."""
    if key in session and session[key] > high:
        session[key] = high
    return high


session = st.session_state
session.setdefault("session_tag", uuid.uuid4().hex[:8])

# ------------------------------------------------------------------------------------ Tune
# The starting settings: the environment, then the link's URL on top; fixed for the session so
# that the widgets' defaults never move under the user.
if "initial" not in session:
    notes = []
    try:
        env_config = SimConfig.from_env(ENV)
        base = ENV
    except ConfigError as error:
        notes.append(f"Environment: {error}. The built-in default is used instead.")
        env_config, base = SimConfig(), {}
    try:
        env_config = config_from_query(base, dict(st.query_params))
    except ConfigError as error:
        notes.append(f"Link: {error}. The link's settings are ignored.")
    session["initial"] = (env_config, notes)
env_config, notes = session["initial"]
for note in notes:
    st.error(note, icon=":material/error:")

side = st.sidebar


def setting_input(container: Any, name: str, key: str, value: float | None = None, **options: Any) -> Any:
    """A number input for a SimConfig setting: its sidebar label, bounds and tooltip from the
    settings table, its first value from the environment."""
    if value is None:
        value = float(getattr(env_config, name))
    return container.number_input(
        FIELD_LABELS[name], *input_bounds(name), value, key=key, help=help_text(name), **options
    )


side.header("Store")
choices = layout_choices(env_config.layout)
layout_choice = side.selectbox(
    "Layout", choices, index=choices.index(env_config.layout), key="layout", help=help_text("layout")
)
layout_file = None
if layout_choice == UPLOAD_LAYOUT:
    layout_file = side.file_uploader(
        "Layout file (TOML: a text map and a legend, see the README)", type=["toml"], key="layout_file"
    )
# Only the open rectangle is sized by hand: any other layout's map fixes its size and doors.
is_open = layout_choice == OPEN
if not is_open:
    side.caption(
        "Width, height and door apply to the `open` layout only: this layout's map sets the "
        "store's size and its doors."
    )
width = side.number_input(
    "Width (cells, x)",
    *input_bounds("width"),
    env_config.width if env_config.layout == OPEN else SETTINGS["width"].default,
    key="width",
    help=help_text("width"),
    disabled=not is_open,
)
height = side.number_input(
    "Height (cells, y)",
    *input_bounds("height"),
    env_config.height if env_config.layout == OPEN else SETTINGS["height"].default,
    key="height",
    help=help_text("height"),
    disabled=not is_open,
)
door_x, door_y = side.columns(2)
# The door lies inside the store: its bounds follow the width and height.
door = (
    door_x.number_input(
        "Door x",
        0,
        keep_at_most("door_x", width - 1),
        min(env_config.door[0], width - 1),
        key="door_x",
        help=help_text("door"),
        disabled=not is_open,
    ),
    door_y.number_input(
        "Door y",
        0,
        keep_at_most("door_y", height - 1),
        min(env_config.door[1], height - 1),
        key="door_y",
        help=help_text("door"),
        disabled=not is_open,
    ),
)
neighbourhoods = tuple(sorted(SETTINGS["neighbourhood"].choices, reverse=True))  # 8, the default, first
neighbourhood = side.radio(
    "Neighbourhood",
    neighbourhoods,
    index=neighbourhoods.index(env_config.neighbourhood),
    horizontal=True,
    key="neighbourhood",
    help=help_text("neighbourhood"),
)
side.header("Shoppers")
average = setting_input(side, "customers_average_in_store", "average", step=1.0)
visit_minutes = setting_input(side, "mean_visit_minutes", "visit_minutes")
dwell = setting_input(side, "dwell_mean_seconds", "dwell")
segment_choices = [DEFAULT_SEGMENTS, NO_SEGMENTS]
if env_config.segments not in segment_choices:  # the environment's own table file
    segment_choices.append(env_config.segments)
segments = side.selectbox(
    "Customer segments",
    segment_choices,
    index=segment_choices.index(env_config.segments),
    format_func=lambda name: {
        DEFAULT_SEGMENTS: "default (shipped table)",
        NO_SEGMENTS: "none: everyone alike",
    }.get(name, name),
    key="segments",
    help=help_text("segments"),
)
with side.expander("More walking settings"):
    dwell_spread = setting_input(st, "dwell_spread", "dwell_spread")
    pace_spread = setting_input(st, "pace_spread", "pace_spread")
    walk = setting_input(st, "walk_seconds_per_cell", "walk", value=env_config.walk_seconds_per_cell)
with side.expander("Checkout and groups"):
    service = setting_input(st, "checkout_service_seconds", "service")
    service_spread = setting_input(st, "checkout_service_spread", "service_spread")
    group_share = setting_input(st, "group_share", "group_share")
side.header("Time")
start = side.text_input("Start (UTC)", format_start(env_config.start), key="start", help=help_text("start"))
hours = setting_input(side, "hours", "hours")
seed = setting_input(side, "seed", "seed", value=env_config.seed)
presets = {
    "from the environment": env_config.arrival_profile,
    "flat": FLAT_PROFILE,
    "shop day": SHOP_DAY_PROFILE,
    "supermarket week": SUPERMARKET_WEEK_PROFILE,
}
preset = side.selectbox("Arrival profile", list(presets), key="preset", help=help_text("arrival_profile"))
# A key per preset: choosing another preset starts a fresh table instead of keeping old edits.
profile_table_column, profile_chart_column = side.columns([3, 2], vertical_alignment="top")
profile_edit = profile_table_column.data_editor(
    profile_table(presets[preset]),
    key=f"profile-{preset}",
    hide_index=True,
    disabled=["hour"],
    height=250,
    column_config={"weight": st.column_config.NumberColumn(min_value=0.0, step=0.1)},
)
# A table that is not allowed gets no chart; its message comes with the other settings' below.
with contextlib.suppress(ConfigError):
    profile_chart_column.image(profile_svg(profile_from_table(profile_edit)))
upload_file = side.file_uploader(
    "Customer list (CSV with a customer_id column)",
    type=["csv"],
    key="customers",
    help=help_text("customers_file"),
)
upload = (upload_file.getvalue(), upload_file.name) if upload_file is not None else None

st.title("customersim: shoppers in a store")
st.markdown(
    "**What you are looking at:** a simulated day of shoppers walking a store floor, as its "
    "location sensors report it: each event is one MQTT message (enter, move to a cell, exit). "
    "Tune the store in the sidebar, look at the day in the tabs, publish it live from *Publish*."
)
# Messages about the settings go into this container, so that the figures below keep their
# place in the page (and the browser keeps them drawn) whether or not there is a message.
notice = st.container()
stale = False
try:
    if layout_choice != UPLOAD_LAYOUT:
        layout = layout_choice
    elif layout_file is None:
        raise ConfigError("layout: choose a layout file (TOML) to upload, or pick a shipped layout")
    else:
        layout = layout_from_upload(layout_file.getvalue(), layout_file.name)
    config = SimConfig(
        layout=layout,
        width=width if is_open else None,
        height=height if is_open else None,
        door=door if is_open else SETTINGS["door"].default,
        neighbourhood=neighbourhood,
        customers_average_in_store=average,
        mean_visit_minutes=visit_minutes,
        dwell_mean_seconds=dwell,
        dwell_spread=dwell_spread,
        pace_spread=pace_spread,
        walk_seconds_per_cell=walk,
        checkout_service_seconds=service,
        checkout_service_spread=service_spread,
        group_share=group_share,
        start=start,
        hours=hours,
        seed=seed,
        arrival_profile=profile_from_table(profile_edit),
        customers_file=env_config.customers_file,
        segments=segments,
        # Set in the environment (or the URL) only: the sidebar keeps to the settings one tunes.
        attractions=env_config.attractions,
        focus_seconds=env_config.focus_seconds,
    )
    check_app_size(config)
    began = time.perf_counter()
    frame = simulated(config_key(config), upload)
    sim_seconds = time.perf_counter() - began
    session["last_good"] = (config_key(config), upload)
except (ConfigError, CustomerListError, CapacityError) as error:
    notice.error(field_message(error), icon=":material/error:")
    if "last_good" not in session:
        st.stop()
    # Keep the picture: the last good result stays, marked as not matching the sidebar.
    stale = True
    key, upload = session["last_good"]
    config = config_from_key(key)
    began = time.perf_counter()
    frame = simulated(key, upload)
    sim_seconds = time.perf_counter() - began
    notice.warning(
        "**Stale:** the figures below are the last good result, not the sidebar's settings; "
        "they update once the field named above is fixed.",
        icon=":material/history:",
    )
else:
    # The URL follows the settings, so that a copied link reproduces this store and day.
    wanted = query_from_config(config)
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)

# ------------------------------------------------------------------------------------- See
shown = config_key(config)  # the settings of what the page shows (the last good ones if stale)
figures = headline(shown, upload)
st.caption(
    f"{'Stale · ' if stale else ''}{config.width} x {config.height} cells, "
    f"{'door at ' + str(config.door) if config.layout == OPEN else 'layout ' + config.floorplan.name}, "
    f"{config.hours:g} h from {format_start(config.start)}, seed {config.seed}; "
    f"{'uploaded list ' + upload[1] if upload else 'customer list: ' + (config.customers_file or 'built-in')}"
    f" · simulated in {sim_seconds:.2f} s"
)
cols = st.columns(4)
cols[0].metric("Events", f"{figures.events:,}", help="Messages in the window: enters, moves and exits")
cols[1].metric(
    "Store visits",
    f"{figures.visits:,}",
    help=f"Trips into the store, door to door ({figures.complete_visits:,} whole inside the window)",
)
cols[2].metric("Customers", f"{figures.customers:,}")
cols[3].metric(
    "Mean inside",
    f"{figures.mean_inside:.2f}",
    f"{figures.occupancy_error:+.1%} vs target {figures.target_inside:g}",
    delta_color="off",
    help=f"Time-average number inside over the window, the figure the target sets; with an "
    f"arrival profile the number inside follows the day (the dashed line below). Arrivals "
    f"are random, so over "
    f"{config.hours:g} h it strays from the target by about ±{figures.standard_error:.2f} "
    f"(one standard error) from seed to seed; longer windows come closer.",
)

# Lazy tabs: only the open tab is built and sent, so the first view carries the store's
# figures alone (a tab that does not track its state says None: build it then too).
overview, journeys, events, publish = st.tabs(
    ["Store", "Journeys", "Events", "Publish"], key="tab", on_change="rerun"
)
# Figures carry their own look (customersim.plots.TEMPLATE, the theme's font and accent):
# theme=None spares the browser restyling each one before drawing it.
if overview.open is not False:
    with overview:
        st.plotly_chart(store_figure(shown, upload, "occupancy"), key="fig_occupancy", theme=None)
        # A wide store gets the page's full width per heatmap, so its aisles and names stay legible.
        left, right = st.columns(2) if config.width <= plots.WIDE_STORE else (st.container(), st.container())
        left.plotly_chart(store_figure(shown, upload, "visits"), key="fig_visits", theme=None)
        right.plotly_chart(store_figure(shown, upload, "dwell"), key="fig_dwell", theme=None)
        st.caption(
            "The store as the sensors see it: x to the right, y upwards, the door framed in red at "
            "the size of a cell (a separate entrance in green, an exit in red with a cross); shelves "
            "and walls grey, departments and checkout lanes outlined and named. A move payload's x "
            "and y are the numbers under the square it lights up. *Cell entries* count steps onto a "
            "cell; *store visits* count trips through the door."
        )
        st.plotly_chart(store_figure(shown, upload, "arrivals"), key="fig_arrivals", theme=None)
        if config.floorplan.departments:
            st.subheader("Departments")
            st.plotly_chart(store_figure(shown, upload, "departments"), key="fig_departments", theme=None)
            st.plotly_chart(store_figure(shown, upload, "transitions"), key="fig_transitions", theme=None)
            st.caption(
                "*Visits* count shoppers who stepped into a department, *dwell* the time they spent "
                "there, *focus* the stays long enough to send a focus event "
                f"({config.focus_seconds:g} s). The matrix counts a visit's moves from one "
                "department's stay to the next one's."
            )

if journeys.open is not False:
    with journeys:

        @st.fragment(run_every=0.6 if session.get("playing") is not None else None)
        def journey_explorer() -> None:
            """One visit on the floor; Play steps through it, and only this part of the page reruns."""
            choices = journey_choices(frame)
            if choices.empty:
                st.info("No whole visit (enter to exit) in this window: make it longer.")
                return
            row = st.selectbox(
                "Visit",
                choices.to_dict("records"),
                index=typical_visit_index(choices),
                format_func=describe_visit,
                key="visit",
                help="Whole visits in the window, most moves first; a visit of typical length is chosen",
            )
            visit = int(row["visit"])
            path = visit_path(frame, visit)
            positions = len(path)
            key = f"step-{visit}"
            session.setdefault(key, positions)  # the whole walk at first
            if session.get("playing") not in (None, visit) or session.pop("play_ended", False):
                session["play"] = False  # another visit was chosen, or the walk ended
            play, slider = st.columns([1, 7], vertical_alignment="bottom")
            # A toggle, not a button: its state survives a click that lands during a timer rerun.
            playing = play.toggle("Play", key="play", help="Walk through the visit, about 60 frames")
            if playing != (session.get("playing") is not None):
                session["playing"] = visit if playing else None
                if playing and session[key] >= positions:
                    session[key] = 1
                st.rerun()  # the whole page: the fragment's timer starts or stops with it
            if playing:
                session[key] = min(positions, session[key] + max(1, positions // 60))
            step = slider.slider(
                "Position",
                1,
                positions,
                key=key,
                help="1 is the enter at the door; the last position is the exit",
            )
            st.plotly_chart(
                plots.path_figure(path, config, step=step - 1, title=f"Visit {visit}"),
                key="fig_path",
                theme=None,
            )
            shown = events_with_time(path).iloc[max(0, step - 8) : step]
            st.caption(f"Positions {max(1, step - 7)} to {step} of {positions}, the current one last")
            st.dataframe(shown, hide_index=True)
            if playing and step >= positions:
                session["playing"], session["play_ended"] = None, True
                st.rerun()  # the end of the walk: stop the timer

        journey_explorer()

if events.open is not False:
    with events:
        shown = min(len(frame), 1000)
        st.caption(
            f"The first {shown:,} of {len(frame):,} events (time in UTC; ts in epoch seconds, as sent)."
        )
        st.dataframe(events_with_time(frame.head(shown)), hide_index=True, height=320)
        down_csv, down_parquet = st.columns(2)
        down_csv.download_button(
            "Download CSV",
            download(config_key(config), upload, "csv"),
            download_name(config, "csv"),
            "text/csv",
            key="download_csv",
        )
        down_parquet.download_button(
            "Download Parquet",
            download(config_key(config), upload, "parquet"),
            download_name(config, "parquet"),
            "application/octet-stream",
            key="download_parquet",
        )

# ---------------------------------------------------------------------------------- Publish
if publish.open is not False:
    with publish:
        try:
            env_mqtt = MqttSettings.from_env(ENV)
        except ConfigError as error:
            st.error(f"Environment: {error}. The built-in default is used instead.", icon=":material/error:")
            env_mqtt = MqttSettings()
        live: LiveSession = session.setdefault("live", LiveSession())
        mock = st.toggle("Mock mode (log messages instead of sending them)", env_mqtt.mock, key="mock")
        a, b, c = st.columns([3, 1, 2])
        host = a.text_input(
            "Broker host",
            env_mqtt.host or "",
            key="host",
            disabled=mock,
            placeholder="empty: the built-in broker on 127.0.0.1",
            help=mqtt_help_text("host"),
        )
        port = b.number_input(
            "Port",
            *MQTT_SETTINGS["port"].input_bounds,
            env_mqtt.port,
            key="port",
            disabled=mock,
            help=mqtt_help_text("port"),
        )
        client_id = c.text_input(
            "Client id",
            session_client_id(env_mqtt.client_id, session["session_tag"]),
            key="client_id",
            help=mqtt_help_text("client_id")
            + " This browser session adds its own tag: two tabs never share a client id (the broker "
            "would drop one for the other, over and over).",
        )
        t1, t2, t3, t4, q = st.columns([2, 2, 2, 2, 1])
        topics = (
            t1.text_input(
                "Enter topic", env_mqtt.topics.enter, key="topic_enter", help=mqtt_help_text("topics.enter")
            ),
            t2.text_input(
                "Move topic", env_mqtt.topics.move, key="topic_move", help=mqtt_help_text("topics.move")
            ),
            t3.text_input(
                "Exit topic", env_mqtt.topics.exit, key="topic_exit", help=mqtt_help_text("topics.exit")
            ),
            t4.text_input(
                "Focus topic", env_mqtt.topics.focus, key="topic_focus", help=mqtt_help_text("topics.focus")
            ),
        )
        qos_choices = MQTT_SETTINGS["qos"].choices
        qos = q.selectbox(
            "QoS", qos_choices, index=qos_choices.index(env_mqtt.qos), key="qos", help=mqtt_help_text("qos")
        )
        with st.expander("User, password and TLS"):
            u, p = st.columns(2)
            username = u.text_input(
                "User", env_mqtt.username or "", key="username", help=mqtt_help_text("username")
            )
            password = p.text_input(
                "Password",
                env_mqtt.password or "",
                type="password",
                key="password",
                help=mqtt_help_text("password"),
            )
            f1, f2, f3 = st.columns(3)
            ca_file = f1.text_input(
                "CA file", env_mqtt.ca_file or "", key="ca_file", help=mqtt_help_text("ca_file")
            )
            cert_file = f2.text_input(
                "Client certificate",
                env_mqtt.client_cert_file or "",
                key="cert_file",
                help=mqtt_help_text("client_cert_file"),
            )
            key_file = f3.text_input(
                "Client key",
                env_mqtt.client_key_file or "",
                key="key_file",
                help=mqtt_help_text("client_key_file"),
            )
            insecure = st.checkbox(
                "Skip the broker certificate's host name check (tests only)",
                env_mqtt.tls_insecure,
                key="tls_insecure",
                help=mqtt_help_text("tls_insecure"),
            )
            use_tls = st.checkbox(
                "TLS with the system's CA store (no CA file needed)",
                env_mqtt.use_tls,
                key="use_tls",
                help=mqtt_help_text("use_tls"),
            )
        s1, s2 = st.columns([3, 1])
        speed = s1.select_slider(
            "Speed (x real time)",
            SPEEDS,
            "60",
            key="speed",
            help="1 = wall clock, 60 = a simulated minute per second, "
            "max = as fast as the broker acknowledges",
        )
        endless = s2.checkbox(
            "Endless", False, key="endless", help="Keep simulating past the window (same seed), until Stop"
        )

        broker_note = broker_error = None
        if not mock and not host.strip():
            broker = builtin_broker(int(port))
            broker_note, broker_error = broker.announcement, broker.error
        settings, settings_error = settings_or_error(
            dict(
                host=host.strip() or ("127.0.0.1" if broker_note else None),
                port=port,
                client_id=client_id,
                topics=topics,
                qos=qos,
                username=username or None,
                password=password or None,
                ca_file=ca_file or None,
                client_cert_file=cert_file or None,
                client_key_file=key_file or None,
                tls_insecure=insecure,
                use_tls=use_tls,
                mock=mock,
            )
        )
        if settings_error or broker_error:
            st.error(settings_error or broker_error, icon=":material/error:")
            settings = None  # nothing to publish to: Start and Send stay disabled
        elif broker_note:
            st.info(broker_note, icon=":material/sensors:")

        go, halt, _ = st.columns([1, 1, 4])
        # Plain buttons, acted on below with this run's settings; a rerun never starts anything,
        # only a click does, and LiveSession.start stops the session's previous publisher first.
        if go.button(
            "Start publishing",
            type="primary",
            key="start_publishing",
            disabled=settings is None or live.running,
        ):
            frames = (
                simulate_chunks(config, customers_for(config, upload), endless=True) if endless else frame
            )
            try:
                live.start(settings, frames, speed=speed, origin_ts=config.start)
                session.pop("publish_error", None)
            except (MqttError, ValueError) as error:
                session["publish_error"] = str(error)
            st.rerun()  # redraw the buttons and the status with the publisher running
        if halt.button("Stop", key="stop_publishing", disabled=not live.running):
            live.stop()
            st.rerun()
        if "publish_error" in session:
            st.error(session["publish_error"], icon=":material/error:")

        @st.fragment(run_every=1.0 if live.running else None)
        def live_status() -> None:
            """Refreshes itself every second while publishing, without rerunning the whole page."""
            status = live.status()
            if status.state == "idle":
                st.caption("Not started: Start publishing sends the window above, paced by the speed.")
                return
            shown = {"failed": st.error, "publishing": st.success, "connecting": st.warning}.get(
                status.state, st.info
            )
            shown(f"**{status.state}**: {status.message}", icon=":material/sensors:")
            if status.stats is not None:
                clock = (
                    f"simulated clock {pd.Timestamp(status.clock, unit='s'):%Y-%m-%d %H:%M:%S} UTC"
                    if status.clock is not None
                    else "simulated clock not started"
                )
                eta = f" · about {status.eta_seconds:,.0f} s left" if status.eta_seconds is not None else ""
                if status.progress is not None:
                    st.progress(
                        status.progress,
                        text=f"{status.stats.published:,} of {status.total:,} messages · {clock}{eta}",
                    )
                else:
                    st.caption(f"{status.stats.published:,} messages (endless) · {clock}")
                numbers = st.columns(6)
                numbers[0].metric("Connected", "yes" if status.stats.connected else "no")
                numbers[1].metric("Published", f"{status.stats.published:,}")
                numbers[2].metric("Acknowledged", f"{status.stats.acknowledged:,}")
                numbers[3].metric("Failed", f"{status.stats.failed:,}")
                numbers[4].metric("Rate", f"{status.stats.rate:,.0f}/s")
                numbers[5].metric("Lag", f"{status.stats.lag_seconds:.1f} s")
                source = "logged (mock mode)" if live.mock else "received by a subscriber on the same broker"
                st.caption(
                    f"Last messages of this session {source}: {status.feed_received:,} so far"
                    f" · {status.stats.reconnects} reconnects"
                    + (f" · subscriber: {status.feed_error}" if status.feed_error else "")
                )
                # A plain table: a dozen short rows read better as text than in a scrolling grid.
                st.table(feed_table(status.feed).head(FEED_SHOWN))
            if status.state != "idle" and not live.running and session.get("was_running"):
                session["was_running"] = False
                st.rerun()  # the run ended by itself: redraw the buttons and stop refreshing
            session["was_running"] = live.running

        live_status()

        with st.container(border=True):
            st.markdown("**Send one event** (what `customersim send` does)")
            e1, e2, e3, e4, e5 = st.columns([1, 1, 2, 1, 1])
            kind = e1.selectbox("Event", ("enter", "move", "exit", "focus"), key="send_event")
            customer = e2.text_input("Customer id", "997", key="send_customer")
            ts_text = e3.text_input("ts (epoch s, empty = now)", "", key="send_ts")
            # A move lights up a cell of the store; enter and exit carry no cell at all.
            x = e4.number_input(
                "x (move)",
                0,
                keep_at_most("send_x", config.width - 1),
                0,
                key="send_x",
                disabled=kind != "move",
            )
            y = e5.number_input(
                "y (move)",
                0,
                keep_at_most("send_y", config.height - 1),
                0,
                key="send_y",
                disabled=kind != "move",
            )
            departments = config.floorplan.departments
            dep = st.selectbox(
                "Department (focus)",
                departments,
                key="send_dep",
                disabled=kind != "focus" or not departments,
                help="A focus event names a department of the layout; the open layout has none.",
            )
            if st.button("Send", key="send", disabled=settings is None):
                try:
                    ts = int(ts_text) if ts_text.strip() else None
                except ValueError:
                    st.error(
                        f"ts = {ts_text!r} is not allowed: expected whole epoch seconds, or empty for now"
                    )
                else:
                    try:
                        payload = send_event(
                            settings,
                            kind,
                            customer,
                            ts,
                            *((x, y) if kind == "move" else (None, None)),
                            dep=dep if kind == "focus" else None,
                            timeout=5.0,
                        )
                        st.success(f"sent on {settings.topics.for_event(kind)}: `{payload.decode()}`")
                    except (MqttError, ValueError) as error:
                        show_error(error)
