# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Who comes, and when: customer segments, regulars and the weekly rhythm
#
# The customer list says each customer's age range, gender, children and income bracket, and
# the shipped segments table turns those columns into behaviour: how often a customer comes,
# how long they stay, how slowly they browse and which departments they stop at. Within a
# segment, customers still differ: a few regulars come several times a week, many come once in
# a while. Arrivals follow a weekly profile, here the `supermarket-week` preset with evening
# peaks and a busy Saturday. In this notebook we take a week in the `supermarket` layout and
# look at
#
# 1. the week's rhythm: arrivals by weekday and hour, and the number inside against the target,
# 2. regulars and occasional visitors: visits per customer,
# 3. segments: who the customers are, how often each segment comes, and where they stop.

# %%
import plotly.express as px

from customersim import SimConfig, metrics, plots, simulate, validate_events
from customersim.customers import load_customers
from customersim.segments import customer_segments

config = SimConfig(
    layout="supermarket",
    customers_average_in_store=12,
    arrival_profile="supermarket-week",
    start="2026-01-05T00:00:00Z",  # a Monday
    hours=24 * 7,
    seed=5,
)
events = simulate(config)
print(f"{len(events):,} events;", validate_events(events, config).summary())

# %% [markdown]
# ## The week's rhythm
#
# `arrivals_by_weekday_hour` averages the arrivals of each weekday and hour over the days the
# window covers. Weekdays share one shape with a late-afternoon peak; Saturday is the busiest
# day, with its peak late in the morning, and Sunday lies between.

# %%
arrivals = metrics.arrivals_by_weekday_hour(events)
px.imshow(
    arrivals,
    aspect="auto",
    color_continuous_scale="Viridis",
    labels={"x": "hour (UTC)", "y": "", "color": "arrivals"},
    title="Arrivals per hour, by weekday",
    template=plots.TEMPLATE,
)

# %%
per_day = arrivals.sum(axis=1).round().astype(int).rename("arrivals")
per_day.to_frame().T

# %% [markdown]
# The target, `CUSTOMERS_AVERAGE_IN_STORE`, is the time-average number inside over the
# profile's period: busy hours hold more than 12 people and the night fewer, and the week as
# a whole averages the target.

# %%
inside = metrics.mean_occupancy(events, config.start, config.end)
print(f"mean inside over the week: {inside:.2f} (target {config.customers_average_in_store:g})")
plots.occupancy_figure(events, config)

# %% [markdown]
# ## Regulars and occasional visitors
#
# `visits_per_customer` counts each customer's visits; with the whole list as `customers`,
# those who never came count too. Visit rates differ by segment and, within a segment, by a
# gamma-distributed factor per customer (the NBD model of repeat buying), so the counts are
# skewed: a minority of regulars makes a large share of the visits.

# %%
customers = load_customers(config.customers_file).set_index("customer_id")
visits = metrics.visits_per_customer(events, customers.index)
top_fifth = visits.head(len(visits) // 5).sum() / visits.sum()
print(
    f"{(visits > 0).mean():.0%} of the list came at least once; "
    f"the most frequent fifth made {top_fifth:.0%} of the visits"
)
px.histogram(
    visits,
    nbins=40,
    title="Visits per customer in the week",
    labels={"value": "visits"},
    template=plots.TEMPLATE,
).update_layout(showlegend=False)

# %% [markdown]
# ## Segments: who comes how often, and where they stop
#
# `customer_segments` gives each customer's segment under the config's table (the first rule
# whose conditions hold; `default` when none does). Joined to the visit counts it shows each
# segment's visits per customer, which follow the table's `frequency` weights.

# %%
segment = customer_segments(config)
by_segment = (
    visits.to_frame()
    .join(segment)
    .groupby("segment")["visits"]
    .agg(customers="size", visits_per_customer="mean")
    .round(2)
    .sort_values("visits_per_customer", ascending=False)
)
by_segment

# %% [markdown]
# A stop shows in the data as a focus event: a stay long enough in one department. The share
# of each segment among a department's focus events shows the affinities at work: parents make
# almost all of the stops in the baby department, and few in the departments other segments
# favour.

# %%
focus = events[events["event"] == "focus"].assign(
    segment=lambda f: f["customer_id"].astype(str).map(segment),
    dep=lambda f: f["dep"].astype(str),
)
share = focus.groupby("dep")["segment"].value_counts(normalize=True).unstack(fill_value=0)
px.imshow(
    share.round(2),
    aspect="auto",
    text_auto=True,
    color_continuous_scale="Blues",
    labels={"x": "segment", "y": "department", "color": "share of stops"},
    title="Who stops in each department (share of its focus events)",
    template=plots.TEMPLATE,
    height=650,
)

# %% [markdown]
# ## The checkout
#
# Each lane serves one party at a time; a shopper joins the lane that frees first and waits in
# the cells behind it. `queue_waits` measures each visit's time from reaching the line to
# leaving the checkout: the service (a gamma draw around `CHECKOUT_SERVICE_SECONDS`) plus any
# wait. At twelve inside, the seven lanes of this store are rarely all busy, so the time is
# mostly the service itself; the busiest hours of Saturday add a little.

# %%
waits = metrics.queue_waits(events, config)
print(
    f"{len(waits):,} checkouts; median {waits.median() / 60:.1f} min, "
    f"95th percentile {waits.quantile(0.95) / 60:.1f} min"
)
px.histogram(
    waits / 60,
    nbins=50,
    title="Time at the checkout (line and service)",
    labels={"value": "minutes"},
    template=plots.TEMPLATE,
).update_layout(showlegend=False)
