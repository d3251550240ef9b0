"""Build the analysis notebooks in this folder from the cell texts below.

The notebooks are committed without outputs; this script is their reviewable source. Edit the
cells here, then run::

    python notebooks/build_notebooks.py          # rewrite the .ipynb files
    python notebooks/build_notebooks.py --check  # exit 1 if a committed notebook is stale

Cell ids are derived from the notebook name and position, so a rebuild of unchanged cells gives
byte-identical files.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def md(text: str) -> tuple[str, str]:
    return ("markdown", textwrap.dedent(text).strip("\n"))


def code(text: str) -> tuple[str, str]:
    return ("code", textwrap.dedent(text).strip("\n"))


# ---------------------------------------------------------------------------------------------
# 01 quickstart
# ---------------------------------------------------------------------------------------------
QUICKSTART = [
    md("""
    # Quickstart: one simulated day in a store

    customersim turns a store configuration into an **events table**: one row each time a
    shopper enters, steps onto a sensor cell, or leaves. In this notebook we

    1. configure a store and simulate one day,
    2. look at the events frame and its column types,
    3. validate it against the data contract and the journey rules,
    4. check that the number of people inside matches the target, and see why it should
       (Little's law).

    Everything here runs in a few seconds; every random choice follows from the `seed` in the
    config, so you get the same numbers as whoever ran it before you.
    """),
    code("""
    import numpy as np
    import pandas as pd
    import plotly.express as px

    import customersim
    from customersim import SimConfig, simulate, validate_events
    from customersim import metrics, plots
    from customersim.validate import occupancy_standard_error

    print("customersim", customersim.__version__)
    """),
    md("""
    ## 1. Configure a store

    A `SimConfig` holds every setting of one simulation. The store is a grid of location
    sensors (here 6 × 10 cells) with a door at cell (0, 0); we ask for **6 customers inside on
    average**, each visit lasting 20 minutes on average. The config is checked when it is
    built, so a wrong value fails right here with a message that names the setting (and the
    environment variable that sets it in the CLI and the app).
    """),
    code("""
    config = SimConfig(
        width=6, height=10,                # sensor grid, x across, y down the store
        customers_average_in_store=6,      # target time-average number inside
        mean_visit_minutes=20,             # mean time from enter to exit
        start="2026-01-05T00:00:00Z",      # a Monday, UTC
        hours=24,
        seed=7,                            # every random choice follows from this
    )
    config
    """),
    code("""
    try:
        SimConfig(width=6, height=10, door=(6, 0))
    except customersim.ConfigError as error:
        print(error)
    """),
    md("""
    ## 2. Simulate a day and inspect the events frame

    `simulate` returns a pandas DataFrame sorted by time. Look at the first rows: they are
    `move`s, not `enter`s. The store is already in its steady state at the start of the window,
    so the people inside at midnight entered before it; likewise the people still inside at the
    end have no `exit` yet. Analyses of a window have to allow for these cut visits (the
    metrics functions do).
    """),
    code("""
    events = simulate(config)
    print(f"{len(events):,} events from {events['customer_id'].nunique()} different customers")
    events.head(10)
    """),
    md("""
    The column types are part of the contract, so that every front end, file and metric sees
    the same thing:

    - `ts`: **int64 seconds since the epoch (UTC)**; turn it into clock times with
      `pd.to_datetime(events["ts"], unit="s", utc=True)` when you need them;
    - `event`: a **category** with the three values `enter`, `move`, `exit` (cheap to store,
      fast to filter);
    - `customer_id`: a **string**, so an id such as `"007"` keeps its zeros;
    - `x`, `y`: **int16** sensor cell (for `enter` and `exit` the door);
    - `visit`: an int64 visit number, in order of arrival, tying a visit's events together.
    """),
    code("""
    events.dtypes
    """),
    code("""
    events["event"].value_counts()
    """),
    md("""
    One visit from door to door: the shopper enters, dwells at a cell, steps to a neighbouring
    cell, and so on; when their time is nearly up they walk the shortest way back to the door
    (the quick steps at the end) and exit.
    """),
    code("""
    first_whole_visit = events.loc[events["event"] == "enter", "visit"].iloc[0]
    one_visit = metrics.visit_path(events, first_whole_visit)
    one_visit = one_visit.assign(
        time=pd.to_datetime(one_visit["ts"], unit="s", utc=True),
        seconds_here=-one_visit["ts"].diff(-1),
    )
    print(f"visit {first_whole_visit}: {len(one_visit)} events over "
          f"{(one_visit['ts'].iloc[-1] - one_visit['ts'].iloc[0]) / 60:.1f} minutes")
    pd.concat([one_visit.head(6), one_visit.tail(5)])
    """),
    md("""
    ## 3. Validate

    `validate_events` checks any events frame (ours, or a file someone else wrote): columns and
    types, cells inside the grid, `enter`/`exit` at the door, every customer's story in time
    order (enter, moves to *neighbouring* cells, exit at the door, never inside twice at once),
    and, given the config, that the time-average number inside is within sampling error of the
    target. It returns a report instead of raising, so you can look at what is wrong.
    """),
    code("""
    report = validate_events(events, config)
    print(report.summary())
    assert report.ok, report.violations.head()
    """),
    md("""
    What a broken frame looks like: take the visit above and make one of its steps jump across
    the store. Both the jump and the step after it break the neighbour rule; the report names
    the rows and the rule, and `violations` is a DataFrame you can filter.
    """),
    code("""
    broken = events.copy()
    row = one_visit.index[2]          # a move in the middle of the visit above
    broken.loc[row, "x"] = broken.loc[row, "x"] + 3
    bad = validate_events(broken, config)
    print(bad.summary())
    bad.violations
    """),
    md("""
    ## 4. Occupancy and Little's law

    **Little's law** says that in a steady state the average number of people inside, *L*,
    equals the arrival rate, *λ*, times the average time each one stays, *W*: **L = λ × W**.
    Why: draw every visit as a bar on a timeline, as long as the visit. Over a long window of
    length *T* about *λT* bars start, with total length *λT × W*. The average number of bars
    over any moment is that total length divided by *T*, which is *λW*. Nothing about the
    order of arrivals, the shape of the visit-length distribution or the paths matters.
    customersim uses the law backwards: for a target of 6 inside and 20-minute visits it draws
    arrivals at *λ = 6 / 20 min = 18 per hour*. Let's measure all three from the data.
    """),
    code("""
    arrivals_per_hour = (events["event"] == "enter").sum() / config.hours
    visits = metrics.visit_table(events)
    mean_visit_hours = visits.loc[visits["complete"], "duration"].mean() / 3600
    measured_inside = metrics.mean_occupancy(events, config.start, config.end)

    pd.Series({
        "arrivals per hour (λ)": arrivals_per_hour,
        "mean visit length in minutes (W)": mean_visit_hours * 60,
        "λ × W": arrivals_per_hour * mean_visit_hours,
        "measured time-average inside (L)": measured_inside,
        "target": config.customers_average_in_store,
        "standard error of a one-day average": occupancy_standard_error(config),
    }).round(3).to_frame("value")
    """),
    md("""
    λ × W and the measured *L* agree closely (they differ only through the visits cut by the
    window's edges), and both are near the target. They are not exactly 6 because one day is a
    sample: the number inside goes up and down as people come and go, as the plot shows.
    """),
    code("""
    fig = plots.occupancy_figure(events, config, freq_seconds=600)
    fig.add_hline(y=measured_inside, line_dash="dot", line_color="gray",
                  annotation_text=f"day's average {measured_inside:.2f}", annotation_position="bottom right")
    fig
    """),
    md("""
    How far can a day's average be from the target before it signals a problem? Simulate the
    same store on 30 different seeds and compare the spread of the daily averages with the
    standard error the validator allows for (it flags a window only beyond 5 standard errors).
    """),
    code("""
    daily = pd.Series(
        [metrics.mean_occupancy(simulate(config.replace(seed=seed)), config.start, config.end)
         for seed in range(30)],
        name="average inside",
    )
    print(f"30 days: mean {daily.mean():.3f}, standard deviation {daily.std():.3f}; "
          f"expected standard error {occupancy_standard_error(config):.3f}")
    fig = px.histogram(daily, nbins=15, title="Daily average inside, 30 seeds",
                       labels={"value": "average inside over one day"})
    fig.add_vline(x=config.customers_average_in_store, line_dash="dash")
    fig.update_layout(showlegend=False)
    fig
    """),
    md("""
    The error shrinks with the square root of the window: a week is about √7 ≈ 2.6 times
    closer to the target than a day.
    """),
    code("""
    week = config.replace(hours=24 * 7)
    week_events = simulate(week)
    print(f"{len(week_events):,} events in a week; average inside "
          f"{metrics.mean_occupancy(week_events, week.start, week.end):.3f}, standard error "
          f"{occupancy_standard_error(week):.3f}")
    print(validate_events(week_events, week).summary())
    """),
    md("""
    **Next:** `02_heatmaps_and_journeys.ipynb` looks at where people go and how long they stay;
    `03_datasets_and_streaming.ipynb` writes datasets to CSV and Parquet and replays them to
    MQTT.
    """),
]


# ---------------------------------------------------------------------------------------------
# 02 heatmaps and journeys
# ---------------------------------------------------------------------------------------------
HEATMAPS = [
    md("""
    # Heatmaps and journeys: where shoppers go and how long they stay

    The events frame records every step of every visit. Aggregated per cell it becomes a
    heatmap of the store; per visit it becomes a path. In this notebook we look at

    1. how often each cell is visited and how long people dwell there,
    2. the paths of a few visits,
    3. the distributions of dwell times and visit lengths,
    4. arrivals by hour when the store has opening hours and rush hours,
    5. how the picture changes with the grid size and the target occupancy.

    Read each figure with the model in mind: shoppers enter at the door, take a random walk
    between neighbouring cells with a random dwell at each, and walk straight back to the door
    when their time is up. The figures come from `customersim.plots` where it has them, and
    from plain plotly on `customersim.metrics` output otherwise.
    """),
    code("""
    import numpy as np
    import pandas as pd
    import plotly.express as px
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from customersim import SimConfig, simulate, validate_events
    from customersim import metrics, plots

    config = SimConfig(width=6, height=10, customers_average_in_store=6,
                       start="2026-01-05T00:00:00Z", hours=24 * 7, seed=11)
    events = simulate(config)
    print(f"{len(events):,} events in a week;", validate_events(events, config).summary())
    """),
    md("""
    ## 1. Visits and dwell per cell

    Two different questions: **how many times** a sensor saw someone arrive (a footfall count),
    and **how long** people stayed there in total (dwell). The store is drawn the way the
    sensors count it: `x` to the right, `y` upwards, the door (0, 0) marked in the corner;
    hover a cell to see its `x`, `y` and value.

    What to look for: both fall off with the distance from the door, because every visit
    starts and ends there and a random walk spreads out slowly.
    """),
    code("""
    plots.visits_heatmap(events, config)
    """),
    code("""
    plots.dwell_heatmap(events, config)
    """),
    md("""
    Dwell divided by arrivals is the average stay per arrival at a cell. A cell far from the
    door sees few people, but those who get there stay about as long as anywhere else. The
    column `x = 0` stands out lower: from most cells of this tall store the shortest way home
    ends with a straight walk down that column, and those quick steps count as arrivals too.
    """),
    code("""
    visits_grid = metrics.visits_per_cell(events, config.width, config.height)
    dwell_seconds = metrics.dwell_seconds_per_cell(events, config.width, config.height, end=config.end)
    seconds_per_arrival = dwell_seconds / np.maximum(visits_grid, 1)
    plots.store_heatmap(seconds_per_arrival, config.door, title="Average stay per arrival at each cell",
                        value_label="seconds", colorscale="Greens", value_format=".1f")
    """),
    md("""
    ## 2. The paths of a few visits

    `metrics.visit_path` returns one visit's events in order, and `plots.journey_figure` draws
    it on the store. We pick whole visits (those with both an `enter` and an `exit` in the
    window) with a seeded random generator. A path wanders, then heads straight back to the
    door.
    """),
    code("""
    entered = set(events.loc[events["event"] == "enter", "visit"])
    left = set(events.loc[events["event"] == "exit", "visit"])
    whole_visits = np.array(sorted(entered & left))
    rng = np.random.default_rng(2026)
    chosen = rng.choice(whole_visits, size=4, replace=False)

    first = metrics.visit_path(events, chosen[0])
    print(plots.path_counts(first), f"{(first['ts'].iloc[-1] - first['ts'].iloc[0]) / 60:.1f} minutes")
    plots.journey_figure(events, chosen[0], config)
    """),
    md("""
    Four visits together, each nudged slightly so that overlapping steps stay visible. Long
    visits reach further into the store; all of them come back along a shortest path.
    """),
    code("""
    fig = go.Figure()
    for i, visit in enumerate(chosen):
        path = metrics.visit_path(events, visit)
        nudge = (i - 1.5) * 0.08
        minutes = (path["ts"].iloc[-1] - path["ts"].iloc[0]) / 60
        fig.add_trace(go.Scatter(
            x=path["x"] + nudge, y=path["y"] + nudge, mode="lines+markers",
            name=f"visit {visit}: {len(path) - 2} moves, {minutes:.0f} min",
            marker=dict(size=5), line=dict(width=2),
        ))
    fig.update_xaxes(range=[-0.5, config.width - 0.5], dtick=1, title="x (sensor cell)")
    fig.update_yaxes(range=[-0.5, config.height - 0.5], dtick=1, title="y (sensor cell)", scaleanchor="x")
    fig.update_layout(title="Four visits, door at (0, 0)", template="plotly_white", height=600, width=600)
    fig
    """),
    md("""
    ## 3. Dwell times and visit lengths

    A **stay** is the time from the event that brought a shopper to a cell to their next event.
    We compute every stay from the events: per visit, the next event's time minus this one's.
    Two populations show up: browsing stays, skewed, with a long tail; and a spike at
    `walk_seconds_per_cell` (3 s), the steps of the walk back to the door.

    Why is the mean browsing stay below the configured `dwell_mean_seconds` (45 s)? Each
    shopper has a pace (`pace_spread`): lingerers dwell longer, rushers shorter, 45 s on average
    over *shoppers*. But in the same visit length a rusher takes more steps, so rushers
    contribute more *stays*, and the average over stays is pulled down to about
    45 s × e^(−pace_spread²).
    """),
    code("""
    ordered = events.sort_values(["visit", "ts"], kind="stable")
    next_ts = ordered.groupby("visit")["ts"].shift(-1)
    stays = (next_ts - ordered["ts"]).dropna()
    stays = stays[ordered.loc[stays.index, "event"] != "exit"]
    browsing = stays[stays != config.walk_seconds_per_cell]

    print(f"{len(stays):,} stays, {(stays == config.walk_seconds_per_cell).mean():.0%} of them walking home")
    print(f"browsing stays: median {browsing.median():.0f} s, mean {browsing.mean():.1f} s; "
          f"45 s × e^(−pace_spread²) = {config.dwell_mean_seconds * np.exp(-config.pace_spread ** 2):.1f} s")
    fig = px.histogram(stays[stays <= 300], nbins=100, title="Time at a cell before the next step",
                       labels={"value": "seconds at a cell (stays up to 5 minutes)"})
    fig.update_layout(showlegend=False, template="plotly_white")
    fig
    """),
    md("""
    Visit lengths, door to door, from `metrics.visit_table` (whole visits only). Their mean is
    the *W* of Little's law: the configured `mean_visit_minutes` (20). The distribution is
    skewed: most visits are shorter than the mean, and a few long ones pull it up.
    """),
    code("""
    visits = metrics.visit_table(events)
    minutes = visits.loc[visits["complete"], "duration"].astype("float64") / 60
    stats = metrics.journey_stats(events)
    print({k: round(v, 2) for k, v in stats.items()})

    fig = px.histogram(minutes, nbins=60, title="Visit length, door to door",
                       labels={"value": "minutes"})
    fig.add_vline(x=minutes.mean(), line_dash="dash", annotation_text=f"mean {minutes.mean():.1f} min")
    fig.add_vline(x=minutes.median(), line_dash="dot", annotation_text=f"median {minutes.median():.1f} min",
                  annotation_position="bottom right")
    fig.update_layout(showlegend=False, template="plotly_white")
    fig
    """),
    md("""
    Longer visits take more steps: the number of moves grows about linearly with the visit
    length, with spread from the dwell times and each shopper's pace.
    """),
    code("""
    whole = visits[visits["complete"]].assign(minutes=minutes)
    fig = px.scatter(whole, x="minutes", y="moves", opacity=0.3,
                     title="Moves per visit against visit length",
                     labels={"minutes": "visit length (minutes)", "moves": "cells stepped into"})
    fig.update_layout(template="plotly_white")
    fig
    """),
    md("""
    ## 4. Arrivals by hour under a daily profile

    `arrival_profile` gives a relative arrival rate for each UTC hour. Here the store is closed
    from 22:00 to 07:00 and has a lunch and an evening rush. The weights are relative: the
    engine scales them so that the **daily** average number inside is still the target, so the
    busy hours have more than 6 inside and the quiet ones fewer.
    """),
    code("""
    profile = [0] * 7 + [0.5, 1, 1.5, 2, 2.5, 3, 2.5, 2, 2, 2.5, 3, 3, 2.5, 1.5, 0.5] + [0] * 2
    busy = config.replace(arrival_profile=profile, seed=12)
    busy_events = simulate(busy)
    print(validate_events(busy_events, busy).summary())
    plots.profile_figure(profile)
    """),
    md("""
    What to check: the arrivals per hour over the week follow the profile (the expected counts
    come from Little's law, *λ(h) = target / W × weight(h) / mean weight*), with Poisson noise
    of about the square root of each bar.
    """),
    code("""
    observed = metrics.arrivals_by_hour(busy_events)
    expected = plots.expected_arrivals_by_hour(busy)
    print(f"{observed.sum():,} arrivals in the week, {expected.sum():,.0f} expected")
    plots.arrivals_figure(busy_events, busy)
    """),
    md("""
    The number inside rises and falls with the arrivals, lagging them by part of a visit
    (people stay about 20 minutes), and it reaches zero at night. Below, the week as it ran,
    then the average over the week for each quarter hour of the day.
    """),
    code("""
    plots.occupancy_figure(busy_events, busy, freq_seconds=900)
    """),
    code("""
    inside = metrics.occupancy_series(busy_events, busy.start, busy.end, freq_seconds=900)
    by_time_of_day = inside.groupby(inside.index.hour + inside.index.minute / 60).mean()
    fig = px.line(x=by_time_of_day.index, y=by_time_of_day.to_numpy(),
                  labels={"x": "hour of day (UTC)", "y": "customers inside (mean over the week)"},
                  title="Occupancy over the day with opening hours and rushes")
    fig.add_hline(y=busy.customers_average_in_store, line_dash="dash",
                  annotation_text="daily average target")
    fig.update_layout(template="plotly_white", xaxis=dict(dtick=2))
    fig
    """),
    md("""
    ## 5. How the picture changes with grid size and target occupancy

    The same week in four stores: two grid sizes (6 × 10 and 12 × 20 cells) and two targets
    (3 and 12 inside on average). Each heatmap shows the **share** of all visits each cell
    received, on one colour scale, so the pictures are comparable (drawn as above: `y`
    upwards, door at the bottom left).

    What to look for: the target occupancy changes how *much* data there is (the number of
    events grows with it) but not the *shape*: a random walk does not care how many others are
    in the store. The grid size changes the shape: in the big store a 20-minute visit does not
    get far from the door, so the far half of the store is nearly empty.
    """),
    code("""
    grids = [(6, 10), (12, 20)]
    targets = [3, 12]
    fig = make_subplots(rows=len(targets), cols=len(grids), horizontal_spacing=0.08, vertical_spacing=0.1,
                        subplot_titles=[f"{w} × {h}, {t} inside" for t in targets for w, h in grids])
    rows = []
    for r, target in enumerate(targets, start=1):
        for c, (width, height) in enumerate(grids, start=1):
            variant = config.replace(width=width, height=height, customers_average_in_store=target)
            variant_events = simulate(variant)
            grid = metrics.visits_per_cell(variant_events, width, height)
            fig.add_trace(go.Heatmap(z=100 * grid / grid.sum(), coloraxis="coloraxis", xgap=1, ygap=1), r, c)
            stats = metrics.journey_stats(variant_events)
            rows.append({"grid": f"{width} × {height}", "target inside": target, "events": len(variant_events),
                         "visits": stats["visits"], "mean moves per visit": round(stats["mean_moves"], 1),
                         "cells never visited": int((grid == 0).sum()),
                         "share of visits in the far half (%)": round(100 * grid[height // 2:].sum() / grid.sum(), 1)})
    fig.update_layout(coloraxis=dict(colorscale="Viridis", colorbar_title="% of visits"), template="plotly_white",
                      height=800, title="Share of visits per cell, door at (0, 0)")
    fig
    """),
    code("""
    pd.DataFrame(rows)
    """),
    md("""
    The table says the same in numbers: quadrupling the target multiplies the events by about
    four and leaves the moves per visit and the far-half share about where they were; the
    bigger grid keeps the moves per visit but spreads them over four times as many cells,
    most of them near the door, and some far cells may never be visited in a week.
    """),
]


# ---------------------------------------------------------------------------------------------
# 03 datasets and streaming
# ---------------------------------------------------------------------------------------------
DATASETS = [
    md("""
    # Datasets and streaming: files on disk and events on MQTT

    The same events frame feeds two kinds of consumers: batch analysis, which wants files, and
    live systems, which want a stream of messages. In this notebook we

    1. write a week of events to CSV and to Parquet,
    2. read them back with pandas and compare file sizes and load times,
    3. replay a slice of the week to MQTT and read the delivery statistics.

    Files go to a temporary folder that is removed at the end. The MQTT part publishes to a
    real broker only if the `MQTT_HOST` environment variable is set; otherwise it runs in mock
    mode, which logs messages instead of sending them and needs no broker.
    """),
    code("""
    import os
    import tempfile
    import time
    from pathlib import Path

    import pandas as pd
    import plotly.express as px

    from customersim import SimConfig, simulate, simulate_chunks, validate_events
    from customersim.files import read_events, write_events

    config = SimConfig(width=6, height=10, customers_average_in_store=6,
                       start="2026-01-05T00:00:00Z", hours=24 * 7, seed=21)
    workdir = tempfile.TemporaryDirectory(prefix="customersim-notebook-")
    folder = Path(workdir.name)
    """),
    md("""
    ## 1. Write a week to CSV and Parquet

    `write_events` takes one frame or a stream of frames and picks the format from the file's
    extension. Giving it `simulate_chunks(...)` writes the dataset piece by piece, so memory
    stays flat however long the window; here the chunks are small on purpose to show that the
    result is the same as writing the whole frame.
    """),
    code("""
    paths = {"csv": folder / "week.csv", "parquet": folder / "week.parquet"}
    for kind, path in paths.items():
        began = time.perf_counter()
        rows = write_events(simulate_chunks(config, chunk_rows=20_000), path)
        print(f"{kind:8s} {rows:,} rows written in {time.perf_counter() - began:.2f} s")
    """),
    code("""
    print(paths["csv"].read_text().splitlines()[:4])
    """),
    md("""
    ## 2. Read it back with pandas

    Three ways to load: plain `pd.read_csv`, plain `pd.read_parquet`, and the library's
    `read_events`, which reads either format into an events frame with the contract's dtypes.

    Look at the dtypes of the plain CSV read: pandas guesses `customer_id` is a number (an id
    such as `"007"` would lose its zeros) and `event` a plain string. Parquet stores the types,
    so it comes back right. `read_events` gives the same frame from both, equal to the one the
    simulation produced.
    """),
    code("""
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
    """),
    code("""
    events = simulate(config)
    pd.testing.assert_frame_equal(frames["read_events(csv)"], events)
    pd.testing.assert_frame_equal(frames["read_events(parquet)"], events)
    print("both files read back equal to the simulated frame;",
          validate_events(frames["read_events(parquet)"], config).summary())
    """),
    md("""
    File sizes and load times side by side. Parquet is columnar and compressed (zstd): the
    sorted timestamps, the three event names and the small cell numbers compress very well. It
    is also quicker to load, because nothing has to be parsed from text. CSV is the format any
    tool can open. The times depend on the machine; the ratios are what to look at.
    """),
    code("""
    sizes = pd.Series({kind: path.stat().st_size / 1e6 for kind, path in paths.items()}, name="MB")
    comparison = pd.DataFrame({
        "file": ["csv", "parquet", "csv", "parquet"],
        "reader": ["pandas", "pandas", "read_events", "read_events"],
        "load seconds": [seconds["pd.read_csv"], seconds["pd.read_parquet"],
                         seconds["read_events(csv)"], seconds["read_events(parquet)"]],
    })
    comparison["MB on disk"] = comparison["file"].map(sizes)
    comparison["bytes per event"] = comparison["MB on disk"] * 1e6 / len(events)
    print(f"Parquet is {sizes['csv'] / sizes['parquet']:.1f} times smaller than CSV")
    comparison.round(3)
    """),
    code("""
    px.bar(comparison, x="reader", y="load seconds", color="file", barmode="group",
           title=f"Loading a week ({len(events):,} events), best of 3")
    """),
]

MQTT_CELLS = [
    md("""
    ## 3. Replay a slice to MQTT

    Live systems receive each event as one MQTT message on the topic of its type
    (`customer/enter`, `customer/move`, `customer/exit` by default) with a compact JSON
    payload. A `Publisher` plays frames to the broker in `ts` order, from a background thread:
    at wall-clock speed (`speed=1`), faster (`speed=60` is a simulated minute per second), or
    as fast as the broker acknowledges (`speed="max"`).

    Replaying a dataset is: read the file, take a slice, publish it. Here we take one hour of
    the week we wrote, Monday 17:00 to 18:00, from the Parquet file.
    """),
    code("""
    import dataclasses
    import logging

    from customersim.mqtt import MqttSettings, Publisher, encode_frame

    week = read_events(paths["parquet"])
    begin = config.start + 17 * 3600
    hour = week[(week["ts"] >= begin) & (week["ts"] < begin + 3600)]
    print(f"{len(hour):,} events from {pd.to_datetime(begin, unit='s', utc=True)} for one hour")
    """),
    md("""
    The messages of the hour's first `enter`, `move` and `exit`: the topic follows the event
    type, `id` is always a string, and only moves carry `x` and `y`.
    """),
    code("""
    if os.environ.get("MQTT_HOST"):
        settings = MqttSettings.from_env(os.environ)              # a real broker, as configured
    else:
        settings = MqttSettings.from_env(os.environ, mock=True)   # no broker: log the messages
    print(f"broker {settings.address}, {'mock mode' if settings.mock else 'live'}, QoS {settings.qos}")

    sample = hour.groupby("event", observed=True).head(1)
    pd.DataFrame({
        "topic": [settings.topics.for_event(e) for e in sample["event"].astype(str)],
        "payload": [p.decode() for p in encode_frame(sample)],
    })
    """),
    md("""
    Publish the hour as fast as possible and read the delivery statistics: `published` is what
    was handed to the MQTT client, `acknowledged` what the broker confirmed (at QoS 1 a PUBACK
    per message; in mock mode a message counts as delivered once logged), `failed` what will
    not arrive, `rate` the acknowledged messages per second. A healthy replay has
    `acknowledged == published == len(hour)` and `failed == 0`.

    In mock mode each message goes to the `customersim.mqtt.mock` logger; we collect them for
    the run to look at what went out.
    """),
    code("""
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
    """),
    md("""
    Pacing: the same publisher at `speed=600` plays ten simulated minutes in about one second
    of wall-clock time (the events of one second go out together, on schedule). `lag_seconds`
    says how far behind schedule the last second went out; near zero means the broker keeps up.
    """),
    code("""
    ten_minutes = hour[hour["ts"] < begin + 600]
    paced = Publisher(settings, speed=600)
    paced.start(ten_minutes, origin_ts=begin)
    paced_stats = paced.wait(timeout=60)
    paced.stop()
    print(paced_stats.summary())
    print(f"600 simulated seconds at speed 600: {paced_stats.elapsed_seconds:.2f} s of wall clock, "
          f"lag {paced_stats.lag_seconds:.3f} s")
    assert paced_stats.finished and paced_stats.ok, paced_stats
    """),
    md("""
    The command line does the same for whole files: `customersim publish --in week.parquet
    --speed 60` replays a dataset on the broker of `MQTT_HOST`.
    """),
]

CLEANUP = [
    md("""
    Finally, remove the temporary folder with the files.
    """),
    code("""
    workdir.cleanup()
    print("removed", folder)
    """),
]

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_heatmaps_and_journeys.ipynb": HEATMAPS,
    "03_datasets_and_streaming.ipynb": DATASETS + MQTT_CELLS + CLEANUP,
}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook without outputs, with deterministic cell ids."""
    stem = name.split("_", 1)[0]
    notebook = new_notebook(metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    for index, (kind, source) in enumerate(cells):
        make = new_markdown_cell if kind == "markdown" else new_code_cell
        notebook.cells.append(make(source, id=f"nb{stem}-{index:02d}"))
    nbformat.validate(notebook)
    return notebook


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the files are up to date")
    args = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = HERE / name
        text = render(build(name, cells))
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.name}")
    if stale:
        print("out of date (run python notebooks/build_notebooks.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
