"""customersim in the browser: tune a store, look at its day, publish it live over MQTT.

Run ``streamlit run app.py``. With no settings at all the page simulates a day of the default
store (6 x 10 cells, 6 shoppers inside on average) and draws it; every setting starts from its
environment variable, like the CLI. The script is the page, top to bottom:

1. **Tune**: the sidebar's widgets become a :class:`~customersim.SimConfig`; a value that is not
   allowed becomes a message naming the setting, never a traceback.
2. **See**: the simulated frame (cached, so a redraw after a change is fast), headline numbers,
   occupancy against the target, the store as heatmaps, one visit's journey, the events table.
3. **Publish**: an MQTT panel; Start and Stop drive the session's one
   :class:`~customersim.app.live.LiveSession`, whose status refreshes itself every second.

The environment is read here, once; everything below receives it.
"""

from __future__ import annotations

import os
import time

import pandas as pd
import streamlit as st

from customersim import plots
from customersim.app.live import BuiltinBroker, LiveSession, feed_table, settings_or_error
from customersim.app.support import (
    SHOP_DAY_PROFILE,
    SPEEDS,
    check_app_size,
    config_from_key,
    config_key,
    customers_for,
    describe_visit,
    events_file_bytes,
    help_text,
    input_bounds,
    journey_choices,
    key_figures,
    mqtt_help_text,
    profile_from_table,
    profile_table,
)
from customersim.config import FLAT_PROFILE, SETTINGS, ConfigError, SimConfig, format_start
from customersim.customers import CustomerListError
from customersim.engine import CapacityError
from customersim.metrics import visit_path
from customersim.mqtt import MqttError, MqttSettings, send_event
from customersim.mqtt.settings import MQTT_SETTINGS
from customersim.simulation import simulate, simulate_chunks

ENV = dict(os.environ)  # the only place the page reads the environment

st.set_page_config(page_title="customersim", layout="wide")


@st.cache_data(max_entries=16, show_spinner="Simulating…")
def simulated(key: tuple, upload: tuple[bytes, str] | None) -> pd.DataFrame:
    """The events of a config (by its :func:`config_key`) and customer list, cached per setting."""
    config = config_from_key(key)
    return simulate(config, customers_for(config, upload))


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


def show_error(error: Exception) -> None:
    st.error(str(error), icon=":material/error:")


# ------------------------------------------------------------------------------------ Tune
try:
    env_config = SimConfig.from_env(ENV)
except ConfigError as error:
    st.error(f"Environment: {error}. The built-in default is used instead.", icon=":material/error:")
    env_config = SimConfig()

side = st.sidebar
side.header("Store")
width = side.number_input(
    "Width (cells, x)", *input_bounds("width"), env_config.width, key="width", help=help_text("width")
)
height = side.number_input(
    "Height (cells, y)", *input_bounds("height"), env_config.height, key="height", help=help_text("height")
)
door_x, door_y = side.columns(2)
# A door cell lies inside the largest grid; SimConfig checks it against this grid.
door = (
    door_x.number_input(
        "Door x", 0, input_bounds("width")[1] - 1, env_config.door[0], key="door_x", help=help_text("door")
    ),
    door_y.number_input(
        "Door y", 0, input_bounds("height")[1] - 1, env_config.door[1], key="door_y", help=help_text("door")
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
average = side.number_input(
    "Target average inside",
    *input_bounds("customers_average_in_store"),
    float(env_config.customers_average_in_store),
    step=1.0,
    key="average",
    help=help_text("customers_average_in_store"),
)
visit_minutes = side.number_input(
    "Mean visit (minutes)",
    *input_bounds("mean_visit_minutes"),
    float(env_config.mean_visit_minutes),
    key="visit_minutes",
    help=help_text("mean_visit_minutes"),
)
dwell = side.number_input(
    "Mean dwell per cell (seconds)",
    *input_bounds("dwell_mean_seconds"),
    float(env_config.dwell_mean_seconds),
    key="dwell",
    help=help_text("dwell_mean_seconds"),
)
with side.expander("More walking settings"):
    dwell_spread = st.number_input(
        "Dwell spread",
        *input_bounds("dwell_spread"),
        float(env_config.dwell_spread),
        key="dwell_spread",
        help=help_text("dwell_spread"),
    )
    pace_spread = st.number_input(
        "Pace spread",
        *input_bounds("pace_spread"),
        float(env_config.pace_spread),
        key="pace_spread",
        help=help_text("pace_spread"),
    )
    walk = st.number_input(
        "Walk home (seconds per cell)",
        *input_bounds("walk_seconds_per_cell"),
        env_config.walk_seconds_per_cell,
        key="walk",
        help=help_text("walk_seconds_per_cell"),
    )
side.header("Time")
start = side.text_input("Start (UTC)", format_start(env_config.start), key="start", help=help_text("start"))
hours = side.number_input(
    "Hours", *input_bounds("hours"), float(env_config.hours), key="hours", help=help_text("hours")
)
seed = side.number_input("Seed", *input_bounds("seed"), env_config.seed, key="seed", help=help_text("seed"))
presets = {
    "from the environment": env_config.arrival_profile,
    "flat": FLAT_PROFILE,
    "shop day": SHOP_DAY_PROFILE,
}
preset = side.selectbox("Arrival profile", list(presets), key="preset", help=help_text("arrival_profile"))
# A key per preset: choosing another preset starts a fresh table instead of keeping old edits.
profile_edit = side.data_editor(
    profile_table(presets[preset]),
    key=f"profile-{preset}",
    hide_index=True,
    disabled=["hour"],
    height=250,
    column_config={"weight": st.column_config.NumberColumn(min_value=0.0, step=0.1)},
)
upload_file = side.file_uploader(
    "Customer list (CSV with a customer_id column)",
    type=["csv"],
    key="customers",
    help=help_text("customers_file"),
)
upload = (upload_file.getvalue(), upload_file.name) if upload_file is not None else None

st.title("customersim: shoppers in a store")
try:
    config = SimConfig(
        width=width,
        height=height,
        door=door,
        neighbourhood=neighbourhood,
        customers_average_in_store=average,
        mean_visit_minutes=visit_minutes,
        dwell_mean_seconds=dwell,
        dwell_spread=dwell_spread,
        pace_spread=pace_spread,
        walk_seconds_per_cell=walk,
        start=start,
        hours=hours,
        seed=seed,
        arrival_profile=profile_from_table(profile_edit),
        customers_file=env_config.customers_file,
    )
    check_app_size(config)
    began = time.perf_counter()
    frame = simulated(config_key(config), upload)
    sim_seconds = time.perf_counter() - began
except (ConfigError, CustomerListError, CapacityError) as error:
    show_error(error)
    st.stop()

# ------------------------------------------------------------------------------------- See
figures = key_figures(frame, config)
st.caption(
    f"{config.width} x {config.height} cells, door at {config.door}, {config.hours:g} h from "
    f"{format_start(config.start)}, seed {config.seed}; "
    f"{'uploaded list ' + upload[1] if upload else 'customer list: ' + (config.customers_file or 'built-in')}"
    f" · simulated in {sim_seconds:.2f} s"
)
cols = st.columns(4)
cols[0].metric("Events", f"{figures.events:,}")
cols[1].metric(
    "Visits", f"{figures.visits:,}", help=f"{figures.complete_visits:,} whole visits (enter and exit)"
)
cols[2].metric("Customers", f"{figures.customers:,}")
cols[3].metric(
    "Mean inside",
    f"{figures.mean_inside:.2f}",
    f"{figures.occupancy_error:+.1%} vs target {figures.target_inside:g}",
    delta_color="off",
    help=f"Time-average number inside over the window. Arrivals are random, so over "
    f"{config.hours:g} h it strays from the target by about ±{figures.standard_error:.2f} "
    f"(one standard error) from seed to seed; longer windows come closer.",
)

overview, journeys, events, publish = st.tabs(["Store", "Journeys", "Events", "Publish"])
with overview:
    st.plotly_chart(plots.occupancy_figure(frame, config), key="fig_occupancy")
    left, right = st.columns(2)
    left.plotly_chart(plots.visits_heatmap(frame, config), key="fig_visits")
    right.plotly_chart(plots.dwell_heatmap(frame, config), key="fig_dwell")
    st.caption(
        "The store as the sensors see it: x to the right, y upwards, the door framed in red. "
        "A move payload's x and y are the numbers under the square it lights up."
    )
    st.plotly_chart(plots.arrivals_figure(frame, config), key="fig_arrivals")

with journeys:
    choices = journey_choices(frame)
    if choices.empty:
        st.info("No whole visit (enter to exit) in this window: make it longer.")
    else:
        row = st.selectbox(
            "Visit",
            choices.to_dict("records"),
            format_func=describe_visit,
            key="visit",
            help="Whole visits in the window, most moves first",
        )
        path = visit_path(frame, int(row["visit"]))
        step = st.slider(
            "Step",
            0,
            len(path) - 1,
            len(path) - 1,
            key=f"step-{int(row['visit'])}",
            help="0 is the enter at the door; the last step is the exit",
        )
        st.plotly_chart(
            plots.path_figure(path, config, step=step, title=f"Visit {int(row['visit'])}"), key="fig_path"
        )
        st.dataframe(
            path.iloc[: step + 1].assign(time=pd.to_datetime(path["ts"].iloc[: step + 1], unit="s")),
            hide_index=True,
            height=220,
        )

with events:
    shown = min(len(frame), 1000)
    st.caption(f"The first {shown:,} of {len(frame):,} events (ts in epoch seconds, UTC).")
    st.dataframe(frame.head(shown), hide_index=True, height=320)
    down_csv, down_parquet = st.columns(2)
    down_csv.download_button(
        "Download CSV",
        download(config_key(config), upload, "csv"),
        "events.csv",
        "text/csv",
        key="download_csv",
    )
    down_parquet.download_button(
        "Download Parquet",
        download(config_key(config), upload, "parquet"),
        "events.parquet",
        "application/octet-stream",
        key="download_parquet",
    )

# ---------------------------------------------------------------------------------- Publish
with publish:
    try:
        env_mqtt = MqttSettings.from_env(ENV)
    except ConfigError as error:
        st.error(f"Environment: {error}. The built-in default is used instead.", icon=":material/error:")
        env_mqtt = MqttSettings()
    live: LiveSession = st.session_state.setdefault("live", LiveSession())
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
        "Client id", env_mqtt.client_id, key="client_id", help=mqtt_help_text("client_id")
    )
    t1, t2, t3, q = st.columns([2, 2, 2, 1])
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
        help="1 = wall clock, 60 = a simulated minute per second, max = as fast as the broker acknowledges",
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
        "Start publishing", type="primary", key="start_publishing", disabled=settings is None or live.running
    ):
        frames = simulate_chunks(config, customers_for(config, upload), endless=True) if endless else frame
        try:
            live.start(settings, frames, speed=speed, origin_ts=config.start)
            st.session_state.pop("publish_error", None)
        except (MqttError, ValueError) as error:
            st.session_state["publish_error"] = str(error)
        st.rerun()  # redraw the buttons and the status with the publisher running
    if halt.button("Stop", key="stop_publishing", disabled=not live.running):
        live.stop()
        st.rerun()
    if "publish_error" in st.session_state:
        st.error(st.session_state["publish_error"], icon=":material/error:")

    @st.fragment(run_every=1.0 if live.running else None)
    def live_status() -> None:
        """Refreshes itself every second while publishing, without rerunning the whole page."""
        status = live.status()
        shown = {"failed": st.error, "publishing": st.success, "connecting": st.warning}.get(
            status.state, st.info
        )
        shown(f"**{status.state}**: {status.message}", icon=":material/sensors:")
        if status.stats is not None:
            numbers = st.columns(6)
            numbers[0].metric("Connected", "yes" if status.stats.connected else "no")
            numbers[1].metric("Published", f"{status.stats.published:,}")
            numbers[2].metric("Acknowledged", f"{status.stats.acknowledged:,}")
            numbers[3].metric("Failed", f"{status.stats.failed:,}")
            numbers[4].metric("Rate", f"{status.stats.rate:,.0f}/s")
            numbers[5].metric("Lag", f"{status.stats.lag_seconds:.1f} s")
            source = "logged (mock mode)" if live.mock else "received by a subscriber on the same broker"
            st.caption(
                f"Last messages {source}: {status.feed_received:,} so far"
                + (f" · subscriber: {status.feed_error}" if status.feed_error else "")
            )
            st.dataframe(feed_table(status.feed), hide_index=True, height=240)
        if status.state != "idle" and not live.running and st.session_state.get("was_running"):
            st.session_state["was_running"] = False
            st.rerun()  # the run ended by itself: redraw the buttons and stop refreshing
        st.session_state["was_running"] = live.running

    live_status()

    with st.form("send_one", border=True):
        st.markdown("**Send one event** (what `customersim send` does)")
        e1, e2, e3, e4, e5 = st.columns([1, 1, 2, 1, 1])
        kind = e1.selectbox("Event", ("enter", "move", "exit"), key="send_event")
        customer = e2.text_input("Customer id", "997", key="send_customer")
        ts_text = e3.text_input("ts (epoch s, empty = now)", "", key="send_ts")
        x = e4.number_input("x (move)", 0, 4095, 0, key="send_x")
        y = e5.number_input("y (move)", 0, 4095, 0, key="send_y")
        if st.form_submit_button("Send", disabled=settings is None):
            try:
                ts = int(ts_text) if ts_text.strip() else None
            except ValueError:
                st.error(f"ts = {ts_text!r} is not allowed: expected whole epoch seconds, or empty for now")
            else:
                try:
                    payload = send_event(
                        settings,
                        kind,
                        customer,
                        ts,
                        *((x, y) if kind == "move" else (None, None)),
                        timeout=5.0,
                    )
                    st.success(f"sent on {settings.topics.for_event(kind)}: `{payload.decode()}`")
                except (MqttError, ValueError) as error:
                    show_error(error)
