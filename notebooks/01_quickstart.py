# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Quickstart: one simulated day in a store
#
# customersim turns a store configuration into an **events table**: one row each time a
# shopper enters, steps onto a sensor cell, or leaves. In this notebook we
#
# 1. configure a store and simulate one day,
# 2. look at the events frame and its column types,
# 3. validate it against the data contract and the journey rules,
# 4. check that the number of people inside matches the target, and see why it should
#    (Little's law).
#
# Everything here runs in a few seconds; every random choice follows from the `seed` in the
# config, so you get the same numbers as whoever ran it before you.

# %%
import pandas as pd
import plotly.express as px

import customersim
from customersim import SimConfig, metrics, plots, simulate, validate_events
from customersim.validate import occupancy_standard_error

print("customersim", customersim.__version__)

# %% [markdown]
# ## 1. Configure a store
#
# A `SimConfig` holds every setting of one simulation. The store is a grid of location
# sensors (here 6 × 10 cells) with a door at cell (0, 0); we ask for **6 customers inside on
# average**, each visit lasting 20 minutes on average. The config is checked when it is
# built, so a wrong value fails right here with a message that names the setting (and the
# environment variable that sets it in the CLI and the app).

# %%
config = SimConfig(
    width=6,  # sensor cells across the store (x)
    height=10,  # sensor cells along the store (y)
    customers_average_in_store=6,  # target time-average number inside
    mean_visit_minutes=20,  # mean time from enter to exit
    start="2026-01-05T00:00:00Z",  # a Monday, UTC
    hours=24,
    seed=7,  # every random choice follows from this
)
config

# %%
try:
    SimConfig(width=6, height=10, door=(6, 0))
except customersim.ConfigError as error:
    print(error)

# %% [markdown]
# ## 2. Simulate a day and inspect the events frame
#
# `simulate` returns a pandas DataFrame sorted by time. Look at the first rows: they are
# `move`s, not `enter`s. The store is already in its steady state at the start of the window,
# so the people inside at midnight entered before it; likewise the people still inside at the
# end have no `exit` yet. Analyses of a window have to allow for these cut visits (the
# metrics functions do).

# %%
events = simulate(config)
print(f"{len(events):,} events from {events['customer_id'].nunique()} different customers")
events.head(10)

# %% [markdown]
# The column types are part of the contract, so that every front end, file and metric sees
# the same thing:
#
# - `ts`: **int64 seconds since the epoch (UTC)**; turn it into clock times with
#   `pd.to_datetime(events["ts"], unit="s", utc=True)` when you need them;
# - `event`: a **category** with the three values `enter`, `move`, `exit` (cheap to store,
#   fast to filter);
# - `customer_id`: a **string**, so an id such as `"007"` keeps its zeros;
# - `x`, `y`: **int16** sensor cell (for `enter` and `exit` the door);
# - `visit`: an int64 visit number, in order of arrival, tying a visit's events together.

# %%
events.dtypes

# %%
events["event"].value_counts()

# %% [markdown]
# One visit from door to door: the shopper enters, dwells at a cell, steps to a neighbouring
# cell, and so on; when their time is nearly up they walk the shortest way back to the door
# (the quick steps at the end) and exit.

# %%
first_whole_visit = events.loc[events["event"] == "enter", "visit"].iloc[0]
one_visit = metrics.visit_path(events, first_whole_visit)
one_visit = one_visit.assign(
    time=pd.to_datetime(one_visit["ts"], unit="s", utc=True),
    seconds_here=-one_visit["ts"].diff(-1),
)
print(
    f"visit {first_whole_visit}: {len(one_visit)} events over "
    f"{(one_visit['ts'].iloc[-1] - one_visit['ts'].iloc[0]) / 60:.1f} minutes"
)
pd.concat([one_visit.head(6), one_visit.tail(5)])

# %% [markdown]
# ## 3. Validate
#
# `validate_events` checks any events frame (ours, or a file someone else wrote): columns and
# types, cells inside the grid, `enter`/`exit` at the door, every customer's story in time
# order (enter, moves to *neighbouring* cells, exit at the door, never inside twice at once),
# and, given the config, that the time-average number inside is within sampling error of the
# target. It returns a report instead of raising, so you can look at what is wrong.

# %%
report = validate_events(events, config)
print(report.summary())
assert report.ok, report.violations.head()

# %% [markdown]
# What a broken frame looks like: take the visit above and make one of its steps jump across
# the store. Both the jump and the step after it break the neighbour rule; the report names
# the rows and the rule, and `violations` is a DataFrame you can filter.

# %%
broken = events.copy()
row = one_visit.index[2]  # a move in the middle of the visit above
broken.loc[row, "x"] = broken.loc[row, "x"] + 3
bad = validate_events(broken, config)
print(bad.summary())
bad.violations

# %% [markdown]
# ## 4. Occupancy and Little's law
#
# **Little's law** says that in a steady state the average number of people inside, *L*,
# equals the arrival rate, *λ*, times the average time each one stays, *W*: **L = λ × W**.
# Why: draw every visit as a bar on a timeline, as long as the visit. Over a long window of
# length *T* about *λT* bars start, with total length *λT × W*. The average number of bars
# over any moment is that total length divided by *T*, which is *λW*. Nothing about the
# order of arrivals, the shape of the visit-length distribution or the paths matters.
# customersim uses the law backwards: for a target of 6 inside and 20-minute visits it draws
# arrivals at *λ = 6 / 20 min = 18 per hour*. Let's measure all three from the data.

# %%
arrivals_per_hour = (events["event"] == "enter").sum() / config.hours
visits = metrics.visit_table(events)
mean_visit_hours = visits.loc[visits["complete"], "duration"].mean() / 3600
measured_inside = metrics.mean_occupancy(events, config.start, config.end)

pd.Series(
    {
        "arrivals per hour (λ)": arrivals_per_hour,
        "mean visit length in minutes (W)": mean_visit_hours * 60,
        "λ × W": arrivals_per_hour * mean_visit_hours,
        "measured time-average inside (L)": measured_inside,
        "target": config.customers_average_in_store,
        "standard error of a one-day average": occupancy_standard_error(config),
    }
).round(3).to_frame("value")

# %% [markdown]
# λ × W and the measured *L* agree closely (they differ only through the visits cut by the
# window's edges), and both are near the target. They are not exactly 6 because one day is a
# sample: the number inside goes up and down as people come and go, as the plot shows.

# %%
fig = plots.occupancy_figure(events, config, freq_seconds=600)
fig.add_hline(
    y=measured_inside,
    line_dash="dot",
    line_color="gray",
    annotation_text=f"day's average {measured_inside:.2f}",
    annotation_position="bottom right",
)
fig

# %% [markdown]
# How far can a day's average be from the target before it signals a problem? Simulate the
# same store on 30 different seeds and compare the spread of the daily averages with the
# standard error the validator allows for (it flags a window only beyond 5 standard errors).

# %%
daily = pd.Series(
    [
        metrics.mean_occupancy(simulate(config.replace(seed=seed)), config.start, config.end)
        for seed in range(30)
    ],
    name="average inside",
)
print(
    f"30 days: mean {daily.mean():.3f}, standard deviation {daily.std():.3f}; "
    f"expected standard error {occupancy_standard_error(config):.3f}"
)
fig = px.histogram(
    daily, nbins=15, title="Daily average inside, 30 seeds", labels={"value": "average inside over one day"}
)
fig.add_vline(x=config.customers_average_in_store, line_dash="dash")
fig.update_layout(showlegend=False)
fig

# %% [markdown]
# The error shrinks with the square root of the window: a week is about √7 ≈ 2.6 times
# closer to the target than a day.

# %%
week = config.replace(hours=24 * 7)
week_events = simulate(week)
print(
    f"{len(week_events):,} events in a week; average inside "
    f"{metrics.mean_occupancy(week_events, week.start, week.end):.3f}, standard error "
    f"{occupancy_standard_error(week):.3f}"
)
print(validate_events(week_events, week).summary())

# %% [markdown]
# **Next:** `02_heatmaps_and_journeys.ipynb` looks at where people go and how long they stay;
# `03_datasets_and_streaming.ipynb` writes datasets to CSV and Parquet and replays them to
# MQTT.
