# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Datasets and streaming: files on disk and events on MQTT
#
# The same events frame feeds two kinds of consumers: batch analysis, which wants files, and
# live systems, which want a stream of messages. In this notebook we
#
# 1. write a week of events to CSV and to Parquet,
# 2. read them back with pandas and compare file sizes and load times,
# 3. replay a slice of the week to MQTT and read the delivery statistics.
#
# Files go to a temporary folder that is removed at the end. The MQTT part publishes to a
# real broker only if the `MQTT_HOST` environment variable is set; otherwise it runs in mock
# mode, which logs messages instead of sending them and needs no broker.

# %%
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import plotly.express as px

from customersim import SimConfig, simulate, simulate_chunks, validate_events
from customersim.files import read_events, write_events

config = SimConfig(
    width=6, height=10, customers_average_in_store=6, start="2026-01-05T00:00:00Z", hours=24 * 7, seed=21
)
workdir = tempfile.TemporaryDirectory(prefix="customersim-notebook-")
folder = Path(workdir.name)

# %% [markdown]
# ## 1. Write a week to CSV and Parquet
#
# `write_events` takes one frame or a stream of frames and picks the format from the file's
# extension. Giving it `simulate_chunks(...)` writes the dataset piece by piece, so memory
# stays flat however long the window; here the chunks are small on purpose to show that the
# result is the same as writing the whole frame.

# %%
paths = {"csv": folder / "week.csv", "parquet": folder / "week.parquet"}
for kind, path in paths.items():
    began = time.perf_counter()
    rows = write_events(simulate_chunks(config, chunk_rows=20_000), path)
    print(f"{kind:8s} {rows:,} rows written in {time.perf_counter() - began:.2f} s")

# %%
print(paths["csv"].read_text().splitlines()[:4])


# %% [markdown]
# ## 2. Read it back with pandas
#
# Three ways to load: plain `pd.read_csv`, plain `pd.read_parquet`, and the library's
# `read_events`, which reads either format into an events frame with the contract's dtypes.
#
# Look at the dtypes of the plain CSV read: pandas guesses `customer_id` is a number (an id
# such as `"007"` would lose its zeros) and `event` a plain string. Parquet stores the types,
# so it comes back right. `read_events` gives the same frame from both, equal to the one the
# simulation produced.


# %%
def timed(read, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        frame = read()
        best = min(best, time.perf_counter() - began)
    return frame, best


loads = {
    "pd.read_csv": lambda: pd.read_csv(paths["csv"]),
    "pd.read_parquet": lambda: pd.read_parquet(paths["parquet"]),
    "read_events(csv)": lambda: read_events(paths["csv"]),
    "read_events(parquet)": lambda: read_events(paths["parquet"]),
}
frames, seconds = {}, {}
for name, read in loads.items():
    frames[name], seconds[name] = timed(read)

pd.DataFrame({name: frame.dtypes.astype(str) for name, frame in frames.items()})

# %%
events = simulate(config)
pd.testing.assert_frame_equal(frames["read_events(csv)"], events)
pd.testing.assert_frame_equal(frames["read_events(parquet)"], events)
print(
    "both files read back equal to the simulated frame;",
    validate_events(frames["read_events(parquet)"], config).summary(),
)

# %% [markdown]
# File sizes and load times side by side. Parquet is columnar and compressed (zstd): the
# sorted timestamps, the three event names and the small cell numbers compress very well. It
# is also quicker to load, because nothing has to be parsed from text. CSV is the format any
# tool can open. The times depend on the machine; the ratios are what to look at.

# %%
sizes = pd.Series({kind: path.stat().st_size / 1e6 for kind, path in paths.items()}, name="MB")
comparison = pd.DataFrame(
    {
        "file": ["csv", "parquet", "csv", "parquet"],
        "reader": ["pandas", "pandas", "read_events", "read_events"],
        "load seconds": [
            seconds["pd.read_csv"],
            seconds["pd.read_parquet"],
            seconds["read_events(csv)"],
            seconds["read_events(parquet)"],
        ],
    }
)
comparison["MB on disk"] = comparison["file"].map(sizes)
comparison["bytes per event"] = comparison["MB on disk"] * 1e6 / len(events)
print(f"Parquet is {sizes['csv'] / sizes['parquet']:.1f} times smaller than CSV")
comparison.round(3)

# %%
px.bar(
    comparison,
    x="reader",
    y="load seconds",
    color="file",
    barmode="group",
    title=f"Loading a week ({len(events):,} events), best of 3",
)

# %% [markdown]
# ## 3. Replay a slice to MQTT
#
# Live systems receive each event as one MQTT message on the topic of its type
# (`customer/enter`, `customer/move`, `customer/exit` by default) with a compact JSON
# payload. A `Publisher` plays frames to the broker in `ts` order, from a background thread:
# at wall-clock speed (`speed=1`), faster (`speed=60` is a simulated minute per second), or
# as fast as the broker acknowledges (`speed="max"`).
#
# Replaying a dataset is: read the file, take a slice, publish it. Here we take one hour of
# the week we wrote, Monday 17:00 to 18:00, from the Parquet file.

# %%
import dataclasses
import logging

from customersim.mqtt import MqttSettings, Publisher, encode_frame

week = read_events(paths["parquet"])
begin = config.start + 17 * 3600
hour = week[(week["ts"] >= begin) & (week["ts"] < begin + 3600)]
print(f"{len(hour):,} events from {pd.to_datetime(begin, unit='s', utc=True)} for one hour")

# %% [markdown]
# The messages of the hour's first `enter`, `move` and `exit`: the topic follows the event
# type, `id` is always a string, and only moves carry `x` and `y`.

# %%
if os.environ.get("MQTT_HOST"):
    settings = MqttSettings.from_env(os.environ)  # a real broker, as configured
else:
    settings = MqttSettings.from_env(os.environ, mock=True)  # no broker: log the messages
print(f"broker {settings.address}, {'mock mode' if settings.mock else 'live'}, QoS {settings.qos}")

sample = hour.groupby("event", observed=True).head(1)
pd.DataFrame(
    {
        "topic": [settings.topics.for_event(e) for e in sample["event"].astype(str)],
        "payload": [p.decode() for p in encode_frame(sample)],
    }
)


# %% [markdown]
# Publish the hour as fast as possible and read the delivery statistics: `published` is what
# was handed to the MQTT client, `acknowledged` what the broker confirmed (at QoS 1 a PUBACK
# per message; in mock mode a message counts as delivered once logged), `failed` what will
# not arrive, `rate` the acknowledged messages per second. A healthy replay has
# `acknowledged == published == len(hour)` and `failed == 0`.
#
# In mock mode each message goes to the `customersim.mqtt.mock` logger; we collect them for
# the run to look at what went out.


# %%
class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


mock_log = logging.getLogger("customersim.mqtt.mock")
collected = Collect()
mock_log.addHandler(collected)
mock_log.setLevel(logging.INFO)
mock_log.propagate = False
try:
    publisher = Publisher(settings, speed="max")
    publisher.start(hour)
    stats = publisher.wait(timeout=120)
    publisher.stop()
finally:
    mock_log.removeHandler(collected)
    mock_log.propagate = True

print(stats.summary())
assert stats.finished and stats.ok and stats.acknowledged == len(hour), stats
if settings.mock:
    print(f"{len(collected.lines):,} messages logged; the first: {collected.lines[0]}")
pd.Series(dataclasses.asdict(stats), name="value").to_frame()

# %% [markdown]
# Pacing: the same publisher at `speed=600` plays ten simulated minutes in about one second
# of wall-clock time (the events of one second go out together, on schedule). `lag_seconds`
# says how far behind schedule the last second went out; near zero means the broker keeps up.

# %%
ten_minutes = hour[hour["ts"] < begin + 600]
paced = Publisher(settings, speed=600)
paced.start(ten_minutes, origin_ts=begin)
paced_stats = paced.wait(timeout=60)
paced.stop()
print(paced_stats.summary())
print(
    f"600 simulated seconds at speed 600: {paced_stats.elapsed_seconds:.2f} s of wall clock, "
    f"lag {paced_stats.lag_seconds:.3f} s"
)
assert paced_stats.finished and paced_stats.ok, paced_stats

# %% [markdown]
# The command line does the same for whole files: `customersim publish --in week.parquet
# --speed 60` replays a dataset on the broker of `MQTT_HOST`.

# %% [markdown]
# Finally, remove the temporary folder with the files.

# %%
workdir.cleanup()
print("removed", folder)
