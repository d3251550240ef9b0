# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Heatmaps and journeys: where shoppers go and how long they stay
#
# The events frame records every step of every visit. Aggregated per cell it becomes a
# heatmap of the store; per visit it becomes a path. In this notebook we look at
#
# 1. how often each cell is visited and how long people dwell there,
# 2. the paths of a few visits,
# 3. the distributions of dwell times and visit lengths,
# 4. arrivals by hour when the store has opening hours and rush hours,
# 5. how the picture changes with the grid size and the target occupancy.
#
# Read each figure with the model in mind: shoppers enter at the door, take a random walk
# between neighbouring cells with a random dwell at each, and walk straight back to the door
# when their time is up. The figures come from `customersim.plots` where it has them, and
# from plain plotly on `customersim.metrics` output otherwise.

# %%
import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from customersim import SimConfig, metrics, plots, simulate, validate_events

config = SimConfig(
    width=6, height=10, customers_average_in_store=6, start="2026-01-05T00:00:00Z", hours=24 * 7, seed=11
)
events = simulate(config)
print(f"{len(events):,} events in a week;", validate_events(events, config).summary())

# %% [markdown]
# ## 1. Visits and dwell per cell
#
# Two different questions: **how many times** a sensor saw someone arrive (a footfall count),
# and **how long** people stayed there in total (dwell). The store is drawn the way the
# sensors count it: `x` to the right, `y` upwards, the door (0, 0) marked in the corner;
# hover a cell to see its `x`, `y` and value.
#
# What to look for: both fall off with the distance from the door, because every visit
# starts and ends there and a random walk spreads out slowly.

# %%
plots.visits_heatmap(events, config)

# %%
plots.dwell_heatmap(events, config)

# %% [markdown]
# Dwell divided by arrivals is the average stay per arrival at a cell. A cell far from the
# door sees few people, but those who get there stay about as long as anywhere else. The
# column `x = 0` stands out lower: from most cells of this tall store the shortest way home
# ends with a straight walk down that column, and those quick steps count as arrivals too.

# %%
visits_grid = metrics.visits_per_cell(events, config.width, config.height)
dwell_seconds = metrics.dwell_seconds_per_cell(events, config.width, config.height, end=config.end)
seconds_per_arrival = dwell_seconds / np.maximum(visits_grid, 1)
plots.store_heatmap(
    seconds_per_arrival,
    config.door,
    title="Average stay per arrival at each cell",
    value_label="seconds",
    colorscale="Greens",
    value_format=".1f",
)

# %% [markdown]
# ## 2. The paths of a few visits
#
# `metrics.visit_path` returns one visit's events in order, and `plots.journey_figure` draws
# it on the store. We pick whole visits (those with both an `enter` and an `exit` in the
# window) with a seeded random generator. A path wanders, then heads straight back to the
# door.

# %%
entered = set(events.loc[events["event"] == "enter", "visit"])
left = set(events.loc[events["event"] == "exit", "visit"])
whole_visits = np.array(sorted(entered & left))
rng = np.random.default_rng(2026)
chosen = rng.choice(whole_visits, size=4, replace=False)

first = metrics.visit_path(events, chosen[0])
print(plots.path_counts(first), f"{(first['ts'].iloc[-1] - first['ts'].iloc[0]) / 60:.1f} minutes")
plots.journey_figure(events, chosen[0], config)

# %% [markdown]
# Four visits together, each nudged slightly so that overlapping steps stay visible. Long
# visits reach further into the store; all of them come back along a shortest path.

# %%
fig = go.Figure()
for i, visit in enumerate(chosen):
    path = metrics.visit_path(events, visit)
    nudge = (i - 1.5) * 0.08
    minutes = (path["ts"].iloc[-1] - path["ts"].iloc[0]) / 60
    fig.add_trace(
        go.Scatter(
            x=path["x"] + nudge,
            y=path["y"] + nudge,
            mode="lines+markers",
            name=f"visit {visit}: {len(path) - 2} moves, {minutes:.0f} min",
            marker=dict(size=5),
            line=dict(width=2),
        )
    )
fig.update_xaxes(range=[-0.5, config.width - 0.5], dtick=1, title="x (sensor cell)")
fig.update_yaxes(range=[-0.5, config.height - 0.5], dtick=1, title="y (sensor cell)", scaleanchor="x")
fig.update_layout(title="Four visits, door at (0, 0)", template="plotly_white", height=600, width=600)
fig

# %% [markdown]
# ## 3. Dwell times and visit lengths
#
# A **stay** is the time from the event that brought a shopper to a cell to their next event.
# We compute every stay from the events: per visit, the next event's time minus this one's.
# Two populations show up: browsing stays, skewed, with a long tail; and a spike at
# `walk_seconds_per_cell` (3 s), the steps of the walk back to the door.
#
# Why is the mean browsing stay below the configured `dwell_mean_seconds` (45 s)? Each
# shopper has a pace (`pace_spread`): lingerers dwell longer, rushers shorter, 45 s on average
# over *shoppers*. But in the same visit length a rusher takes more steps, so rushers
# contribute more *stays*, and the average over stays is pulled down to about
# 45 s × e^(−pace_spread²).

# %%
ordered = events.sort_values(["visit", "ts"], kind="stable")
next_ts = ordered.groupby("visit")["ts"].shift(-1)
stays = (next_ts - ordered["ts"]).dropna()
stays = stays[ordered.loc[stays.index, "event"] != "exit"]
browsing = stays[stays != config.walk_seconds_per_cell]

print(f"{len(stays):,} stays, {(stays == config.walk_seconds_per_cell).mean():.0%} of them walking home")
print(
    f"browsing stays: median {browsing.median():.0f} s, mean {browsing.mean():.1f} s; "
    f"45 s × e^(−pace_spread²) = {config.dwell_mean_seconds * np.exp(-(config.pace_spread**2)):.1f} s"
)
fig = px.histogram(
    stays[stays <= 300],
    nbins=100,
    title="Time at a cell before the next step",
    labels={"value": "seconds at a cell (stays up to 5 minutes)"},
)
fig.update_layout(showlegend=False, template="plotly_white")
fig

# %% [markdown]
# Visit lengths, door to door, from `metrics.visit_table` (whole visits only). Their mean is
# the *W* of Little's law: the configured `mean_visit_minutes` (20). The distribution is
# skewed: most visits are shorter than the mean, and a few long ones pull it up.

# %%
visits = metrics.visit_table(events)
minutes = visits.loc[visits["complete"], "duration"].astype("float64") / 60
stats = metrics.journey_stats(events)
print({k: round(v, 2) for k, v in stats.items()})

fig = px.histogram(minutes, nbins=60, title="Visit length, door to door", labels={"value": "minutes"})
fig.add_vline(x=minutes.mean(), line_dash="dash", annotation_text=f"mean {minutes.mean():.1f} min")
fig.add_vline(
    x=minutes.median(),
    line_dash="dot",
    annotation_text=f"median {minutes.median():.1f} min",
    annotation_position="bottom right",
)
fig.update_layout(showlegend=False, template="plotly_white")
fig

# %% [markdown]
# Longer visits take more steps: the number of moves grows about linearly with the visit
# length, with spread from the dwell times and each shopper's pace.

# %%
whole = visits[visits["complete"]].assign(minutes=minutes)
fig = px.scatter(
    whole,
    x="minutes",
    y="moves",
    opacity=0.3,
    title="Moves per visit against visit length",
    labels={"minutes": "visit length (minutes)", "moves": "cells stepped into"},
)
fig.update_layout(template="plotly_white")
fig

# %% [markdown]
# ## 4. Arrivals by hour under a daily profile
#
# `arrival_profile` gives a relative arrival rate for each UTC hour. Here the store is closed
# from 22:00 to 07:00 and has a lunch and an evening rush. The weights are relative: the
# engine scales them so that the **daily** average number inside is still the target, so the
# busy hours have more than 6 inside and the quiet ones fewer.

# %%
profile = [0] * 7 + [0.5, 1, 1.5, 2, 2.5, 3, 2.5, 2, 2, 2.5, 3, 3, 2.5, 1.5, 0.5] + [0] * 2
busy = config.replace(arrival_profile=profile, seed=12)
busy_events = simulate(busy)
print(validate_events(busy_events, busy).summary())
plots.profile_figure(profile)

# %% [markdown]
# What to check: the arrivals per hour over the week follow the profile (the expected counts
# come from Little's law, *λ(h) = target / W × weight(h) / mean weight*), with Poisson noise
# of about the square root of each bar.

# %%
observed = metrics.arrivals_by_hour(busy_events)
expected = plots.expected_arrivals_by_hour(busy)
print(f"{observed.sum():,} arrivals in the week, {expected.sum():,.0f} expected")
plots.arrivals_figure(busy_events, busy)

# %% [markdown]
# The number inside rises and falls with the arrivals, lagging them by part of a visit
# (people stay about 20 minutes), and it reaches zero at night. Below, the week as it ran,
# then the average over the week for each quarter hour of the day.

# %%
plots.occupancy_figure(busy_events, busy, freq_seconds=900)

# %%
inside = metrics.occupancy_series(busy_events, busy.start, busy.end, freq_seconds=900)
by_time_of_day = inside.groupby(inside.index.hour + inside.index.minute / 60).mean()
fig = px.line(
    x=by_time_of_day.index,
    y=by_time_of_day.to_numpy(),
    labels={"x": "hour of day (UTC)", "y": "customers inside (mean over the week)"},
    title="Occupancy over the day with opening hours and rushes",
)
fig.add_hline(y=busy.customers_average_in_store, line_dash="dash", annotation_text="daily average target")
fig.update_layout(template="plotly_white", xaxis=dict(dtick=2))
fig

# %% [markdown]
# ## 5. How the picture changes with grid size and target occupancy
#
# The same week in four stores: two grid sizes (6 × 10 and 12 × 20 cells) and two targets
# (3 and 12 inside on average). Each heatmap shows the **share** of all visits each cell
# received, on one colour scale, so the pictures are comparable (drawn as above: `y`
# upwards, door at the bottom left).
#
# What to look for: the target occupancy changes how *much* data there is (the number of
# events grows with it) but not the *shape*: a random walk does not care how many others are
# in the store. The grid size changes the shape: in the big store a 20-minute visit does not
# get far from the door, so the far half of the store is nearly empty.

# %%
grids = [(6, 10), (12, 20)]
targets = [3, 12]
fig = make_subplots(
    rows=len(targets),
    cols=len(grids),
    horizontal_spacing=0.08,
    vertical_spacing=0.1,
    subplot_titles=[f"{w} × {h}, {t} inside" for t in targets for w, h in grids],
)
rows = []
for r, target in enumerate(targets, start=1):
    for c, (width, height) in enumerate(grids, start=1):
        variant = config.replace(width=width, height=height, customers_average_in_store=target)
        variant_events = simulate(variant)
        grid = metrics.visits_per_cell(variant_events, width, height)
        fig.add_trace(go.Heatmap(z=100 * grid / grid.sum(), coloraxis="coloraxis", xgap=1, ygap=1), r, c)
        stats = metrics.journey_stats(variant_events)
        rows.append(
            {
                "grid": f"{width} × {height}",
                "target inside": target,
                "events": len(variant_events),
                "visits": stats["visits"],
                "mean moves per visit": round(stats["mean_moves"], 1),
                "cells never visited": int((grid == 0).sum()),
                "share of visits in the far half (%)": round(100 * grid[height // 2 :].sum() / grid.sum(), 1),
            }
        )
fig.update_layout(
    coloraxis=dict(colorscale="Viridis", colorbar_title="% of visits"),
    template="plotly_white",
    height=800,
    title="Share of visits per cell, door at (0, 0)",
)
fig

# %%
pd.DataFrame(rows)

# %% [markdown]
# The table says the same in numbers: quadrupling the target multiplies the events by about
# four and leaves the moves per visit and the far-half share about where they were; the
# bigger grid keeps the moves per visit but spreads them over four times as many cells,
# most of them near the door, and some far cells may never be visited in a week.
