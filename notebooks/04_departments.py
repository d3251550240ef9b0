# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Departments: where a supermarket's shoppers stop, stay and go next
#
# With a store layout, shoppers no longer drift from the door: each visit is a short trip of
# stops in departments, chosen by each department's attraction, walked along the aisles, with
# a browse at each stop, then the checkout and the exit. A stay of `FOCUS_SECONDS` in one
# department sends a *focus* event naming it, as a recommendation service would want to know.
# In this notebook we take a day in the shipped `supermarket` layout and look at
#
# 1. the floor plan and where shoppers step and dwell on it,
# 2. visits, dwell and focus events per department,
# 3. which department shoppers go to next (the transition matrix),
# 4. how far a visit walks (path lengths).
#
# Everything comes from `customersim.metrics` and `customersim.plots`, on the events frame's
# `dep` column (the department of each move and focus, missing elsewhere).

# %%
import plotly.express as px

from customersim import SimConfig, metrics, plots, simulate, validate_events

config = SimConfig(
    layout="supermarket", customers_average_in_store=40, start="2026-01-05T00:00:00Z", hours=24, seed=4
)
events = simulate(config)
plan = config.floorplan
print(
    f"{plan.width} x {plan.height} cells, {len(plan.departments)} departments: {', '.join(plan.departments)}"
)
print(f"{len(events):,} events;", validate_events(events, config).summary())
events.head()

# %% [markdown]
# ## The floor plan under the heatmaps
#
# Shelves and walls are grey, departments and the checkout lanes are outlined along their cell
# edges and named, the entrance is framed in green and the exit in red with a cross. The axes
# are the sensors' `x` and `y`: the numbers a move payload carries.

# %%
plots.visits_heatmap(events, config)

# %% [markdown]
# Cell entries show the main routes: along the back wall's fresh departments, down the
# aisles and along the front to the checkout. The dwell heatmap shows where time is spent:
# inside the departments shoppers browse, and in the queue at the checkout lanes.

# %%
plots.dwell_heatmap(events, config)

# %% [markdown]
# ## Visits, dwell and focus per department
#
# `department_stats` counts, per department, the visits that reached it, the stays (unbroken
# runs of moves inside it), the dwell seconds and the focus events. A department that many
# pass through but few stay in has many visits and few focus events: here the departments on
# the main routes (the Deli along the back, Baby on the way to the exit side) count many short
# stays, while Produce and Dairy hold shoppers long enough for the most focus events.

# %%
stats = metrics.department_stats(events, config.end)
stats["focus_per_visit"] = (stats["focus"] / stats["visits"]).round(2)
stats.sort_values("visits", ascending=False)

# %%
plots.department_figure(stats)

# %% [markdown]
# Focus events on the frame agree with the table: one per stay that reached the threshold.

# %%
focus = events[events["event"] == "focus"]
assert focus["dep"].notna().all()
assert (focus["dep"].astype(str).value_counts().reindex(stats.index, fill_value=0) == stats["focus"]).all()
print(f"{len(focus):,} focus events, {config.focus_seconds:g} s in one department each")

# %% [markdown]
# ## From department to department
#
# `department_transitions` counts, for consecutive stays of one visit, the department left
# (rows) and the next one (columns), whatever floor lies between. Neighbours on the floor plan
# trade most shoppers; the diagonal stays empty because a stay ends only when the department
# changes.

# %%
transitions = metrics.department_transitions(events)
plots.transitions_figure(transitions)

# %%
top = transitions.stack().sort_values(ascending=False).head(8)
top.rename("moves").to_frame()

# %% [markdown]
# ## How far a visit walks
#
# `path_lengths` counts the cells walked per visit. Trips over a 40 x 25 floor are much longer
# than drifts from the door: stops are spread over the whole store.

# %%
lengths = metrics.path_lengths(events)
print(lengths.describe().round(1).to_string())
px.histogram(
    lengths,
    nbins=60,
    title="Cells walked per visit",
    labels={"value": "cells walked"},
    template=plots.TEMPLATE,
).update_layout(showlegend=False)
