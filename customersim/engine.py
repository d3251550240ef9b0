"""The simulation engine: whole customer journeys for all shoppers at once, as arrays.

The story of one visit: a party (one shopper, or a group of two or three, see
:mod:`customersim.groups`) arrives at a random moment, at a rate that follows Little's law
(``rate = target average inside / mean visit length``, counting people, shaped by the hour of the
day or week), is given a visit length ``D`` and customers from the list who are not inside
already, and enters at an entrance. They make a trip (:mod:`customersim.trips`): stops chosen by
the departments' attraction, shortest walks between them, browsing inside each department, and
the nearest exit, which they leave ``D`` seconds after entering. In a store with checkouts the
trip ends at a lane's line (:mod:`customersim.queues`) at a moment planned from ``D`` minus the
expected wait: the realised wait makes the visit a little longer or shorter than ``D``, and the
visit-seconds drawn beyond the target so far (the *debt*) are taken off the next blocks'
arrivals, so the time-average number inside still meets the target.

The number of arrivals is not a Poisson count. A Poisson count with gamma lengths lets a week at
6 inside miss the target by a few percent for some seeds (a standard error of about 2 %). So each
block draws its visit lengths first and takes arrivals until their lengths add up to the
visit-seconds the target asks of the block (the last arrival kept at random so that the sum is
right on average, and the surplus or shortfall carried into the next block), and spreads those
arrivals over the block's hours by the profile with a noise that does not add up (see
:func:`spread_over_hours`): an hour's count varies about as a Poisson count would, but any
run of whole hours, a day, a window shorter than the block, still gets its expected arrivals
up to about one hour's noise. Arrival moments stay uniformly random within their hours, and
everything still flows from the block's stream: the time-average inside honours the target.

How it is computed: time is cut into *blocks* of arrivals whose length depends only on the
config (never on how the output is chunked), and each block draws from its own random stream
derived from the seed. A block's visits are built with numpy over all of them at once: loops
run over the stop number and the step number of a walk (not over shoppers or events), and
walks follow shortest-path tables. Events of visits that run past the block's end are carried into
the next block's output, so the stream of events is the same whether it is taken whole
(:func:`simulate_columns`) or piece by piece (:func:`iter_event_blocks`). The store is already
in steady state at ``start``: arrivals begin one longest visit earlier and only events from
``start`` on are kept.

Who arrives, their lengths, their turn at the checkout and who they are is the sequential part
(:class:`VisitDrawer`, in the main process): the checkout serves parties in the order they reach
it across blocks, so a block is handed to the walk builders once every party of it has had its
turn, which may take drawing a block or two ahead. The walks stay independent per block.

Nothing here reads files, touches the network or prints: config and customer count in, arrays
out. :mod:`customersim.simulation` turns the arrays into DataFrames.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from customersim.config import SETTINGS, SimConfig
from customersim.errors import CapacityError
from customersim.frame import take_ids
from customersim.groups import MAX_STEP_LAG, THREE_SHARE, mean_party_size, member_lags, party_sizes
from customersim.layout import StoreLayout
from customersim.profiles import profile_hour
from customersim.queues import (
    QUEUE_CELLS,
    CheckoutQueue,
    Lanes,
    check_lanes,
    checkout_lanes,
    expected_waits,
    service_times,
)
from customersim.segments import Traits
from customersim.trips import BROWSE_MOVES, build_trips, rows_visit

# A visit never lasts longer than this many mean visit lengths (the gamma tail beyond it is
# about 2e-6 of visits); it is also how far before ``start`` the warm-up reaches.
MAX_VISIT_FACTOR = 8
# Shape of the gamma distribution of visit lengths (coefficient of variation 1/sqrt(2)).
VISIT_SHAPE = 2.0
# Blocks hold about this many events, so that their memory stays small and flat.
BLOCK_TARGET_EVENTS = 1 << 18
# Bits a sort key packs its time, visit and rank into (an int64 whose sign stays clear).
KEY_BITS = 63
# A block is at most a day: its visit-seconds are fixed, so every day of a small store meets
# the target too, not only the week (a day inside a week-long block varies by a few percent
# with the lengths of the visits it happens to get).
MIN_BLOCK_HOURS, MAX_BLOCK_HOURS = 1, 24
# Rounds of vectorized customer redraws before settling a crowded block one visit at a time.
VECTOR_ROUNDS = 40
# Independent random streams per block.
_ARRIVALS, _WALK, _PACE, _LOYALTY = 1, 2, 3, 4
# Customers of one segment still differ in how often they come. As in the NBD model of repeat
# buying (Ehrenberg), each customer's long-run visit rate is a gamma draw around the segment's;
# shape 1 (our choice: as much spread as the mean) gives a few regulars at several times the
# mean rate and many occasional visitors.
LOYALTY_SHAPE = 1.0
# Column names of the arrays a block yields.
EVENT_COLUMNS = ("ts", "event", "customer", "x", "y", "visit", "dep")


@dataclass(frozen=True)
class Plan:
    """Everything derived from a config before any random draw."""

    config: SimConfig
    layout: StoreLayout
    customers: int
    hourly_rate: np.ndarray  # arrivals per second for each UTC hour of the day or week
    max_visit: int  # seconds
    block_seconds: int
    origin: int  # first arrival time considered (start minus warm-up)
    traits: Traits | None = None  # customers' segments (None: everyone alike)
    lanes: Lanes | None = None  # checkout lanes and their lines (None: no checkout)
    wait_budget: np.ndarray | None = None  # expected checkout wait (s) for each profile hour
    mean_party: float = 1.0  # people per arrival (groups count several)


def make_plan(config: SimConfig, customers: int, traits: Traits | None = None) -> Plan:
    """Derive rates, block length and tables from a config.

    ``traits`` (see :func:`customersim.segments.customer_traits`) weigh who arrives, their visit
    length and pace, and where they stop.

    Raises:
        CapacityError: ``customers`` is too small for the occupancy; the message says both.
    """
    layout = StoreLayout.from_floorplan(config.floorplan, config.neighbourhood)
    mean_visit = config.mean_visit_seconds
    weights = np.asarray(config.arrival_profile, dtype=np.float64)
    weights = weights / weights.mean()
    rate = config.customers_average_in_store / mean_visit
    hourly_rate = rate * weights
    peak_inside = config.customers_average_in_store * float(weights.max())
    needed = required_customers(peak_inside)
    if customers < needed:
        raise CapacityError(
            f"the customer list has {customers} customers, but an average of "
            f"{config.customers_average_in_store:g} inside (up to {peak_inside:g} at the busiest hour) "
            f"needs at least {needed}: use a longer list ({SETTINGS.env('customers_file')}) or lower "
            f"{SETTINGS.env('customers_average_in_store')}"
        )
    events_per_hour = rate * 3600 * events_per_visit(config, layout)
    block_hours = int(
        np.clip(BLOCK_TARGET_EVENTS // max(events_per_hour, 1e-9), MIN_BLOCK_HOURS, MAX_BLOCK_HOURS)
    )
    max_visit = math.ceil(MAX_VISIT_FACTOR * mean_visit)
    mean_party = mean_party_size(config.group_share)
    lanes = checkout_lanes(layout)
    wait_budget = None
    if lanes is not None:
        # A lane is taken from its party's service start until the last member has left it.
        busy = config.checkout_service_seconds + config.group_share * (
            (1 - THREE_SHARE) * (1 + MAX_STEP_LAG) / 2 + THREE_SHARE * (1 + MAX_STEP_LAG)
        )
        party_rate = hourly_rate / mean_party
        check_lanes(
            float(party_rate.max()),
            len(lanes),
            busy,
            {
                "inside": SETTINGS.env("customers_average_in_store"),
                "service": SETTINGS.env("checkout_service_seconds"),
                "visit": SETTINGS.env("mean_visit_minutes"),
                "layout": SETTINGS.env("layout"),
            },
        )
        wait_budget = expected_waits(party_rate, len(lanes), busy, config.checkout_service_spread)
    return Plan(
        config,
        layout,
        customers,
        hourly_rate,
        max_visit,
        block_hours * 3600,
        config.start - max_visit,
        traits,
        lanes,
        wait_budget,
        mean_party,
    )


def events_per_visit(config: SimConfig, layout: StoreLayout | None = None) -> float:
    """About how many events a visit of mean length makes: each stop is a walk to it plus a few
    browsing moves, and the way out is a walk too."""
    if layout is None:
        layout = StoreLayout.from_floorplan(config.floorplan, config.neighbourhood)
    distance = layout.mean_stop_distance
    stop_seconds = distance * config.walk_seconds_per_cell + (BROWSE_MOVES + 1) * config.dwell_mean_seconds
    return 3 + config.mean_visit_seconds / stop_seconds * (distance + BROWSE_MOVES) + 2 * distance


def required_customers(peak_inside: float) -> int:
    """How many customers a list needs so that nobody has to be inside twice at once.

    The number inside is Poisson distributed; this leaves room for well over five standard
    deviations above the busiest hour's mean.
    """
    return math.ceil(peak_inside + 6 * math.sqrt(peak_inside) + 4)


def _stream(seed: int, purpose: int, block: int = 0) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(purpose, block))))


def customer_pace(config: SimConfig, customers: int) -> np.ndarray:
    """Each customer's pace factor (mean 1): above 1 lingers, below 1 rushes."""
    sigma = config.pace_spread
    rng = _stream(config.seed, _PACE)
    return (
        np.exp(rng.normal(-sigma * sigma / 2, sigma, customers)).astype(np.float32)
        if sigma
        else np.ones(customers, dtype=np.float32)
    )


def customer_loyalty(config: SimConfig, customers: int) -> np.ndarray:
    """Each customer's visit-rate factor within their segment (gamma, mean 1)."""
    return _stream(config.seed, _LOYALTY).standard_gamma(LOYALTY_SHAPE, customers) / LOYALTY_SHAPE


def plan_pace(plan: Plan) -> np.ndarray:
    """Each customer's pace: their own draw times their segment's pace factor."""
    pace = customer_pace(plan.config, plan.customers)
    return pace if plan.traits is None else pace * plan.traits.pace_factor


# An exit not known yet (the party's turn at the checkout is not settled): later than any
# moment of the blocks drawn so far, so the customer cannot be drawn again meanwhile.
UNSETTLED = 1 << 31


@dataclass
class Visits:
    """The visits that arrive in one block (arrays of equal length, in order of entering).

    A party (one shopper, or a group) makes one trip; ``party`` names its members' visits and
    ``lag`` how many seconds each trails the first. ``checkout`` holds each party's turn at the
    checkout (seconds since its leader entered; see :func:`customersim.trips.build_trips`).
    ``duration`` of a party still waiting for its turn is -1 until the queue settles it.
    """

    enter: np.ndarray  # int64 epoch seconds
    duration: np.ndarray  # int64 seconds, door to door
    customer: np.ndarray  # int32 index into the customer list
    first_visit: int  # global number of the first visit of the block
    party: np.ndarray | None = None  # int64 (parties, 3): visit index of leader and members (-1: none)
    lag: np.ndarray | None = None  # int64 (parties, 3): members' lag behind the leader
    checkout: dict[str, np.ndarray] | None = None  # per party: arrive, lane, position, steps, done

    def __len__(self) -> int:
        return len(self.enter)


class _Occupants:
    """Visits that may still be inside across a block boundary, for id assignment."""

    def __init__(self) -> None:
        self.customer = np.empty(0, dtype=np.int32)
        self.enter = np.empty(0, dtype=np.int64)
        self.exit = np.empty(0, dtype=np.int64)
        self.visit = np.empty(0, dtype=np.int64)  # global visit numbers, ascending

    def keep_after(self, moment: int) -> None:
        still = self.exit >= moment
        self.customer, self.enter, self.exit = self.customer[still], self.enter[still], self.exit[still]
        self.visit = self.visit[still]

    def add(self, customer: np.ndarray, enter: np.ndarray, exit_time: np.ndarray, visit: np.ndarray) -> None:
        self.customer = np.concatenate([self.customer, customer])
        self.enter = np.concatenate([self.enter, enter])
        self.exit = np.concatenate([self.exit, exit_time])
        self.visit = np.concatenate([self.visit, visit])

    def settle(self, visit: np.ndarray, exit_time: np.ndarray) -> None:
        """Set the exits of visits whose turn at the checkout is now known."""
        rows = np.minimum(np.searchsorted(self.visit, visit), max(len(self.visit) - 1, 0))
        if not len(self.visit):
            return
        found = self.visit[rows] == visit
        self.exit[rows[found]] = exit_time[found]

    def copy(self) -> _Occupants:
        twin = _Occupants()
        twin.customer, twin.enter, twin.exit, twin.visit = (
            self.customer.copy(),
            self.enter.copy(),
            self.exit.copy(),
            self.visit.copy(),
        )
        return twin


@dataclass(frozen=True, eq=False)
class _Picker:
    """Customers ordered by segment with cumulative draw weights, for draws within a segment.

    Segment ``g`` holds positions ``start[g]:stop[g]`` of ``order``; the last entry of
    ``start``/``stop`` is the whole list (anyone, for group members).
    """

    order: np.ndarray  # int32 customers, grouped by segment
    cdf: np.ndarray  # float64 cumulative weights in that order
    start: np.ndarray
    stop: np.ndarray
    factor: np.ndarray  # visit-length factor of each segment
    segment_cdf: np.ndarray  # cumulative share of arrivals of each segment

    @classmethod
    def of(cls, plan: Plan) -> _Picker:
        traits, n = plan.traits, plan.customers
        if traits is None:
            group = np.zeros(n, dtype=np.int64)
            weight = np.full(n, 1.0 / n)
            factor_of = np.ones(n)
        else:
            group = traits.row.astype(np.int64)
            weight, factor_of = traits.weight, traits.visit_factor
        order = np.argsort(group, kind="stable").astype(np.int32)
        groups = int(group.max()) + 1
        sizes = np.bincount(group, minlength=groups)
        stop = np.cumsum(sizes)
        start = stop - sizes
        factor = np.ones(groups)
        factor[group] = factor_of
        share = np.bincount(group, weights=weight, minlength=groups)
        return cls(
            order,
            np.cumsum(weight[order]),
            np.r_[start, 0],
            np.r_[stop, n],
            factor,
            np.cumsum(share) / share.sum(),
        )

    def draw(self, rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
        """One customer per entry of ``group`` (a segment, or ``len(factor)`` for anyone)."""
        lo, hi = self.start[group], self.stop[group]
        base = np.where(lo > 0, self.cdf[np.maximum(lo - 1, 0)], 0.0)
        top = self.cdf[hi - 1]
        at = np.searchsorted(self.cdf, base + rng.random(len(group)) * (top - base), side="right")
        return self.order[np.clip(at, lo, hi - 1)]


class VisitDrawer:
    """Draws the blocks' visits in order: arrivals, parties, checkout turns and customers.

    The sequential part of the engine. A block's visits are complete once every party's turn
    at the checkout is settled: the queue serves parties in the order they reach it, across
    blocks, so a party that reaches it after its block's end waits for the next blocks to be
    drawn (:meth:`complete`). Who is inside, the lanes, and the visit-seconds drawn beyond the
    target so far (``debt``, which the next block's arrivals make up for, so realised waits and
    segments' visit lengths keep Little's law) carry from block to block.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.block = 0  # next block to draw
        self.next_visit = 0
        self.occupants = _Occupants()
        self.debt = 0.0  # person-seconds drawn beyond the target so far
        self.next_party = 0
        self.queue = CheckoutQueue(plan.lanes) if plan.lanes is not None else None
        self.pending: dict[str, np.ndarray] = {}
        self.open: dict[int, Visits] = {}  # drawn blocks with parties still waiting, by block
        self.picker = _Picker.of(plan)

    def __getstate__(self) -> dict:
        # Shipped to workers without the plan's tables: they bind their own (see snapshot).
        state = dict(self.__dict__)
        state["plan"] = state["picker"] = None
        state["open"] = {}
        return state

    def snapshot(self, plan: Plan | None = None) -> VisitDrawer:
        """A copy to draw on from here (blocks drawn before it are not filled in by the copy).

        ``plan`` binds a copy that travelled without its plan (the same settings' plan).
        """
        twin = VisitDrawer.__new__(VisitDrawer)
        twin.__dict__.update(self.__dict__)
        if plan is not None and twin.plan is not plan:
            twin.plan, twin.picker = plan, _Picker.of(plan)
        twin.occupants = self.occupants.copy()
        twin.queue = None if self.queue is None else self.queue.copy()
        twin.pending = dict(self.pending)
        twin.open = {}
        return twin

    def complete(self, block: int) -> bool:
        """Whether every party of a drawn block has had its turn at the checkout."""
        return block not in self.open

    def draw(self) -> tuple[int, Visits]:
        """Draw the next block's visits (see :meth:`complete` for when they are final)."""
        plan, config = self.plan, self.plan.config
        block = self.block
        self.block += 1
        rng = _stream(config.seed, _ARRIVALS, block)
        block_start = plan.origin + block * plan.block_seconds
        block_end = block_start + plan.block_seconds
        # Piecewise-constant rate: cut the block at UTC hour boundaries.
        cuts = np.arange((block_start // 3600 + 1) * 3600, block_end, 3600, dtype=np.int64)
        seg_start = np.concatenate([[block_start], cuts])
        seg_len = np.diff(np.concatenate([seg_start, [block_end]]))
        seg_expected = plan.hourly_rate[profile_hour(seg_start // 3600, len(plan.hourly_rate))] * seg_len
        target = float(seg_expected.sum()) * config.mean_visit_seconds
        size, planned, group = _parties(rng, plan, self.picker, target - self.debt)
        self.debt += float(size @ planned) - target
        count = len(planned)
        counts = spread_over_hours(rng, seg_expected, count)
        offsets = np.floor(rng.random(count) * np.repeat(seg_len, counts)).astype(np.int64)
        enter = np.sort(np.repeat(seg_start, counts) + offsets)

        grouped = bool((size > 1).any())
        lag = member_lags(rng, size) if grouped else np.zeros(count, np.int64)
        first = np.cumsum(size) - size
        person_enter = np.repeat(enter, size) + lag
        order = np.argsort(person_enter, kind="stable") if grouped else np.arange(count)
        visit_of = np.empty(len(order), dtype=np.int64)
        visit_of[order] = np.arange(len(order))
        slot = np.arange(len(order)) - np.repeat(first, size)
        party = np.full((count, 3), -1, dtype=np.int64)
        party[np.repeat(np.arange(count), size), slot] = visit_of
        lags = np.zeros((count, 3), dtype=np.int64)
        lags[np.repeat(np.arange(count), size), slot] = lag
        visits = Visits(
            person_enter[order],
            np.full(len(order), -1, dtype=np.int64),
            np.zeros(len(order), dtype=np.int32),
            self.next_visit,
            party if grouped else None,
            lags if grouped else None,
        )
        if self.queue is None:
            visits.duration[:] = np.repeat(planned, size)[order]
        else:
            visits.checkout = {
                "arrive": np.zeros(count, np.int64),
                "lane": np.zeros(count, np.int16),
                "position": np.zeros(count, np.int16),
                "steps": np.full((count, QUEUE_CELLS), -1, np.int64),
                "done": np.zeros(count, np.int64),
            }
            self._queue_up(rng, block, visits, enter, size, planned, party, lags)
            self._settle(block_end)

        known = visits.duration >= 0
        exit_time = np.where(known, visits.enter + visits.duration, UNSETTLED + block_start)
        leader_rows = party[:, 0] if grouped else np.arange(count)
        # Leaders are drawn from the segment their visit length was drawn for; members from anyone.
        who_group = np.full(len(order), len(self.picker.factor), dtype=np.int64)
        who_group[leader_rows] = group
        self.occupants.keep_after(block_start)
        customer = _assign(rng, self.picker, visits.enter, exit_time, who_group, self.occupants, block_start)
        visits.customer[:] = customer
        self.occupants.add(
            customer, visits.enter, exit_time, self.next_visit + np.arange(len(order), dtype=np.int64)
        )
        self.next_visit += len(order)
        return block, visits

    def _queue_up(self, rng, block, visits, enter, size, planned, party, lags) -> None:
        """Queue a block's parties for the checkout at the moment each reaches it."""
        plan, config = self.plan, self.plan.config
        lanes = plan.lanes
        count = len(enter)
        service = service_times(rng, count, config.checkout_service_seconds, config.checkout_service_spread)
        pick = rng.random(count)
        walk = config.walk_seconds_per_cell
        budget = plan.wait_budget[profile_hour(enter // 3600, len(plan.wait_budget))]
        # Shopping takes what the visit's length leaves after the expected wait, the service
        # and the walk out; the realised wait makes the visit longer or shorter, and the debt
        # of visit-seconds evens that out over the next blocks' arrivals.
        shop = np.rint(planned - budget - service - walk * float(lanes.out.mean())).astype(np.int64)
        arrive = enter + np.maximum(shop, walk * _nearest_line(plan))
        if count:
            self.open[block] = visits
        fresh = {
            "arrive": arrive,
            "busy": lags.max(axis=1),
            "service": service,
            "pick": pick,
            "block": np.full(count, block, np.int64),
            "party": np.arange(count, dtype=np.int64),
            "seq": self.next_party + np.arange(count, dtype=np.int64),
            "enter": enter,
            "size": size,
            "planned": planned,
            "visits": np.where(party >= 0, party + self.next_visit, -1),
            "lags": lags,
        }
        self.next_party += count
        self.pending = (
            {name: np.concatenate([self.pending[name], values]) for name, values in fresh.items()}
            if self.pending
            else fresh
        )

    def _settle(self, until: int) -> None:
        """Serve, in order of reaching the checkout, every waiting party that reaches it before
        ``until`` (when all who could come earlier are drawn)."""
        pending = self.pending
        due = pending["arrive"] < until
        if not due.any():
            return
        rows = np.flatnonzero(due)
        rows = rows[np.lexsort((pending["seq"][rows], pending["arrive"][rows]))]
        take = {name: values[rows] for name, values in pending.items()}
        self.pending = {name: values[~due] for name, values in pending.items()}
        served = self.queue.serve(take["arrive"], take["busy"], take["service"], take["pick"])
        walk = self.plan.config.walk_seconds_per_cell
        leave = served["done"] + walk * self.plan.lanes.out[served["lane"]]
        length = leave - take["enter"]
        self.debt += float(take["size"] @ (length - take["planned"]))
        member = take["visits"] >= 0
        self.occupants.settle(take["visits"][member], (leave[:, None] + take["lags"])[member])
        for block in np.unique(take["block"]).tolist():
            visits = self.open.get(block)
            if visits is None:
                continue
            mine = take["block"] == block
            party, enter = take["party"][mine], take["enter"][mine]
            checkout = visits.checkout
            checkout["arrive"][party] = take["arrive"][mine] - enter
            checkout["lane"][party] = served["lane"][mine]
            checkout["position"][party] = served["position"][mine]
            steps = served["steps"][mine]
            checkout["steps"][party] = np.where(steps >= 0, steps - enter[:, None], -1)
            checkout["done"][party] = served["done"][mine] - enter
            people = take["visits"][mine]
            inside = people >= 0
            visits.duration[people[inside] - visits.first_visit] = np.broadcast_to(
                length[mine][:, None], people.shape
            )[inside]
            if (visits.duration >= 0).all():
                del self.open[block]


def _nearest_line(plan: Plan) -> int:
    """Fewest steps from any entrance to any checkout: the least time before reaching the line."""
    lanes, layout = plan.lanes, plan.layout
    counters = np.arange(len(lanes)) * (QUEUE_CELLS + 1)
    return int(lanes.reach[counters][:, layout.entrances].min())


def spread_over_hours(rng: np.random.Generator, expected: np.ndarray, count: int) -> np.ndarray:
    """How many of a block's ``count`` arrivals fall into each of its hours.

    ``expected`` is each hour's expected number by the profile (any scale). The running total
    of arrivals at each hour boundary is its expected value jittered by a normal draw of half
    the variance of the quieter hour on either side, then rounded with one uniform for the
    whole block. An hour's count is then the difference of two jitters: it varies about as a
    Poisson count would (the same count for every Monday hour would give synthetic data away),
    while the arrivals of any run of hours, however long, stay within about one hour's noise
    of their expectation, so days and windows shorter than a block keep the target.
    """
    total = float(expected.sum())
    share = expected / total if total > 0 else np.full(len(expected), 1 / len(expected))
    mean = share * count
    # The smaller side sets the jitter: an hour the profile leaves empty stays empty.
    spread = np.sqrt(np.minimum(mean, np.r_[mean[1:], 0.0]) / 2)
    bound = np.cumsum(mean) + rng.standard_normal(len(mean)) * spread
    bound[-1] = count  # the block's end: all of its arrivals
    bound = np.maximum.accumulate(np.clip(bound, 0, count))
    edges = np.minimum(np.floor(bound + rng.random()).astype(np.int64), count)
    edges[-1] = count
    return np.diff(edges, prepend=0)


def _parties(
    rng: np.random.Generator, plan: Plan, picker: _Picker, wanted: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sizes, planned visit lengths and segments of a block's parties.

    Lengths are drawn first (a gamma draw times the segment's factor, the segment drawn by its
    share of arrivals); parties are then taken until their person-seconds add up to ``wanted``
    (the last one kept with the probability that makes the sum right on average). So the
    visit-seconds a block adds, and with them the time-average number inside, honour the
    target up to one visit, instead of scattering with a Poisson count and the gamma lengths.
    """
    config = plan.config
    mean_visit = config.mean_visit_seconds
    share = config.group_share
    segments = len(picker.factor)
    empty = np.empty(0, np.int64)
    if wanted <= 0:
        return empty, empty, empty
    scale = mean_visit / VISIT_SHAPE
    expected = wanted / (mean_visit * plan.mean_party)
    size_hint = int(expected * 1.1 + 6 * math.sqrt(expected) + 16)
    pools: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    total = 0.0
    while total < wanted:
        group = (
            np.minimum(np.searchsorted(picker.segment_cdf, rng.random(size_hint), side="right"), segments - 1)
            if segments > 1
            else np.zeros(size_hint, np.int64)
        )
        gamma = rng.standard_gamma(VISIT_SHAPE, size_hint) * scale * picker.factor[group]
        length = np.clip(np.rint(gamma), 1, plan.max_visit).astype(np.int64)
        size = party_sizes(rng.random(size_hint), share) if share > 0 else np.ones(size_hint, np.int64)
        pools.append((size, length, group))
        total += float(size @ length)
    size, length, group = (np.concatenate(part) for part in zip(*pools, strict=True))
    person_seconds = np.cumsum(size * length)
    count = int(np.searchsorted(person_seconds, wanted, side="left"))  # parties that stay below
    below = float(person_seconds[count - 1]) if count else 0.0
    if rng.random() * float(size[count] * length[count]) < wanted - below:
        count += 1
    return size[:count], length[:count], group[:count]


def _assign(
    rng: np.random.Generator,
    picker: _Picker,
    enter: np.ndarray,
    exit_time: np.ndarray,
    group: np.ndarray,
    occupants: _Occupants,
    block_start: int,
) -> np.ndarray:
    """Customers for a block's visits, each drawn within its group, nobody inside twice at once.

    All visits are drawn at once; those whose customer would still be inside from an earlier
    visit are redrawn, all conflicts at once, for a number of rounds; a crowded block is then
    settled one visit at a time.
    """
    chosen = picker.draw(rng, group)
    held = len(occupants.customer)
    enter_rel = np.concatenate([occupants.enter, enter]) - block_start
    exit_rel = np.minimum(np.concatenate([occupants.exit, exit_time]) - block_start, (1 << 32) - 1)
    index = np.arange(held + len(enter))
    # Rows ordered by customer, then entry, in one sort of packed keys when they fit in 63 bits
    # (a plain sort is several times faster than a lexsort); entry times are counted from the
    # earliest, and the row number in the low bits makes the order total.
    since = enter_rel - int(enter_rel.min()) if len(enter_rel) else enter_rel
    row_bits = len(index).bit_length()
    time_bits = int(since.max()).bit_length() + row_bits if len(since) else row_bits
    rows_and_times = (since << row_bits) | index
    for _ in range(VECTOR_ROUNDS):
        who = np.concatenate([occupants.customer, chosen]).astype(np.int64)
        if len(who) and int(who.max()).bit_length() + time_bits <= KEY_BITS:
            order = (who << time_bits) | rows_and_times
            order.sort()
            order &= (1 << row_bits) - 1
        else:
            order = np.lexsort((index, enter_rel, who))
        # Running maximum of (customer, exit) keys: its high half equals the row's customer
        # exactly when an earlier visit of the same customer exists.
        keys = (who[order] << 32) | exit_rel[order]
        before = np.maximum.accumulate(keys)[:-1]
        rows = order[1:]
        clash = ((before >> 32) == who[rows]) & ((before & 0xFFFFFFFF) >= enter_rel[rows])
        redraw = rows[clash] - held
        if redraw.size == 0:
            return chosen
        chosen[redraw] = picker.draw(rng, group[redraw])
    # Crowded: redraws keep displacing each other, so settle the block in arrival order.
    busy_until = dict(zip(occupants.customer.tolist(), occupants.exit.tolist(), strict=True))
    weight = np.diff(picker.cdf, prepend=0.0)
    customers = len(picker.order)
    for i, (since, until) in enumerate(zip(enter.tolist(), exit_time.tolist(), strict=True)):
        who = int(chosen[i])
        if busy_until.get(who, -1) >= since:
            # Someone free of the visit's segment, else anyone free (the length stays as drawn).
            for wanted in (int(group[i]), len(picker.start) - 1):
                lo, hi = int(picker.start[wanted]), int(picker.stop[wanted])
                pool = picker.order[lo:hi]
                free = np.array([busy_until.get(c, -1) < since for c in pool.tolist()], dtype=bool)
                if free.any():
                    break
            else:
                raise CapacityError(
                    f"all {customers} customers of the list are inside at once: the list is too small "
                    f"for this occupancy"
                )
            share = np.cumsum(weight[lo:hi][free])
            at = min(int(np.searchsorted(share, rng.random() * share[-1], side="right")), share.size - 1)
            who = int(pool[free][at])
            chosen[i] = who
        busy_until[who] = until
    return chosen


def walk_visits(plan: Plan, block: int, visits: Visits, pace: np.ndarray) -> dict[str, np.ndarray]:
    """All events of a block's visits, visit by visit and step by step (ranked visit-major).

    Returns:
        ``ts`` (int64), ``cell`` (int32), ``event`` (int8 codes), ``visit`` (int32 index of
        the visit within the block), ``dep`` (int8 department, -1 for none) and ``rank`` (int64
        position in visit-major order; None in a store without departments, whose rows are in
        that order) per event.
    """
    config = plan.config
    rng = _stream(config.seed, _WALK, block)
    traits = plan.traits
    # A party makes one trip, its leader's: members follow it (see block_events).
    lead = slice(None) if visits.party is None else visits.party[:, 0]
    customer = visits.customer[lead]
    return build_trips(
        plan.layout,
        config,
        rng,
        visits.enter[lead],
        visits.duration[lead],
        pace[customer],
        dwell_quantiles(config.dwell_spread),
        None if traits is None or traits.stop_cdf is None else (traits.stop_cdf, traits.row[customer]),
        visits.checkout,
    )


@functools.lru_cache(maxsize=16)
def dwell_quantiles(spread: float, size: int = 1 << 16) -> np.ndarray:
    """Equally likely values of a gamma distribution with mean 1 and the given spread (CV).

    Drawing a uniform index into this table is an inverse-CDF draw from the gamma
    distribution, several times cheaper than numpy's gamma sampler; the CDF is integrated
    numerically on a log-spaced grid (so shapes below 1, with a pole at 0, work too), and the
    table is rescaled to a mean of exactly 1.
    """
    shape = 1.0 / spread**2
    upper = shape + 60 * math.sqrt(shape) + 60
    x = np.geomspace(1e-12, upper, 1 << 20)
    log_density = (shape - 1) * np.log(x) - x - math.lgamma(shape)
    weight = np.exp(log_density) * x  # density with respect to log(x)
    cdf = np.empty_like(x)
    cdf[0] = math.exp(shape * math.log(x[0]) - math.lgamma(shape + 1))
    cdf[1:] = cdf[0] + np.cumsum((weight[1:] + weight[:-1]) / 2 * np.diff(np.log(x)))
    cdf /= cdf[-1]
    table = np.interp((np.arange(size) + 0.5) / size, cdf, x) / shape
    table = (table / table.mean()).astype(np.float32)
    table.setflags(write=False)
    return table


def block_events(plan: Plan, block: int, visits: Visits, pace: np.ndarray) -> dict[str, np.ndarray]:
    """The events of one block's visits from ``start`` on, sorted by (ts, visit, step).

    Pure and independent of every other block, so blocks can be built in worker processes.

    Returns:
        Column arrays ``ts``, ``event``, ``customer``, ``x``, ``y``, ``visit`` (see
        :func:`iter_event_blocks`).
    """
    return _Sorted(plan, block, visits, pace).columns()


class _Sorted:
    """A block's events in (ts, visit, step) order, from ``start`` on, before any column is
    gathered: the sorted keys (time since the block's start, rank) and the row of each.

    Columns are gathered from it once, straight into wherever they go (a block's own arrays,
    or the whole window's), so an event's values are written once.
    """

    def __init__(self, plan: Plan, block: int, visits: Visits, pace: np.ndarray) -> None:
        self.plan, self.visits = plan, visits
        self.walked = walked = walk_visits(plan, block, visits, pace)
        self.base = plan.origin + block * plan.block_seconds
        self.departments = len(plan.layout.departments)
        self.persons: np.ndarray | None = None  # each sorted event's visit, when not its trip's
        self.time_shift = 32  # a key's time is above this many bits
        if visits.party is not None:
            self._parties(visits.party, visits.lag)
            return
        # Sorting (time, rank) keys keeps visit-major order, and so (visit, step), among equal
        # times; the keys are sorted in place of a sort of the rows by them (a plain sort is
        # several times faster than an argsort), and each rank names its row.
        if walked["visit"] is None:  # the gather takes each row's visit from it
            walked["visit"] = rows_visit(walked["trip_rows"])
        keys = walked["ts"] - self.base
        keys <<= 32
        focus = len(keys) - int(walked["trip_rows"].sum())
        # Without focus events the rows are in visit-major order already: a row is its own rank.
        keys |= walked["rank"] if focus else np.arange(len(keys))
        keys.sort()
        self.keys = keys[np.searchsorted(keys, (plan.config.start - self.base) << 32) :]
        self.rows = self.keys & 0xFFFFFFFF
        if focus:
            # Rank 2 i is row i. Focus events, appended after the others with odd ranks, are
            # found among the sorted keys by their own (keys are unique).
            self.rows >>= 1
            plain = len(walked["rank"]) - focus
            own = ((walked["ts"][plain:] - self.base) << 32) | walked["rank"][plain:]
            at = np.searchsorted(self.keys, own)
            kept = at < len(self.keys)  # focus events before ``start`` are not among them
            kept[kept] = self.keys[at[kept]] == own[kept]
            self.rows[at[kept]] = plain + np.flatnonzero(kept)

    def _parties(self, party: np.ndarray, lag: np.ndarray) -> None:
        """The keys of a block whose trips are parties': each member's visit copies its
        leader's trip, ``lag`` seconds later.

        A key packs, from the top, an event's time since the block's start, its visit and its
        row's rank (rows are in step order within a trip, so sorting the keys orders by time,
        visit and step), and a sorted key names its visit and row with a shift and a mask. A
        member's key is its leader's plus a per-party constant, so copies cost an addition.
        """
        walked = self.walked
        trip = walked["visit"]
        rows = len(walked["ts"])
        # A trip's rows (focus events aside) are consecutive and trips come in order.
        counts = walked["trip_rows"]
        trip_first = np.cumsum(counts) - counts
        plain = int(counts.sum())
        # Rank 2 i is row i; without departments (so without focus events) the rows are in
        # visit-major order, and a row is its own rank.
        halved = walked["rank"] is not None
        rank_bits = ((2 if halved else 1) * rows).bit_length()
        visit_bits = len(self.visits.enter).bit_length()
        shift = rank_bits + visit_bits
        latest = int(walked["ts"].max()) - self.base + int(lag.max()) if rows else 0
        if latest.bit_length() + shift > KEY_BITS:
            rank = walked["rank"] if halved else np.arange(rows, dtype=np.int64)
            self._parties_sorted_apart(party, lag, plain, trip_first, counts, rank)
            return
        copies = [np.flatnonzero(party[:, slot] >= 0) for slot in (1, 2)]
        room = rows + sum(int(counts[who].sum()) for who in copies) + 2 * (rows - plain)
        keys = np.empty(room, np.int64)
        head = keys[:rows]
        np.subtract(walked["ts"], self.base, out=head)
        head <<= shift
        leader = party[:, 0] << rank_bits
        head += walked["rank"] if halved else np.arange(rows, dtype=np.int64)
        # A trip's rows are consecutive: a repeat, several times faster than a take by trip.
        head[:plain] += np.repeat(leader, counts)
        focus_trip = trip[plain:] if halved else np.empty(0, np.int64)
        head[plain:] += leader[focus_trip]
        # Focus events' rows and keys, the leaders' then each member slot's copies: few, they
        # are found among the sorted keys by their own (keys are unique).
        focus_row = [np.arange(plain, rows)]
        own = [head[plain:].copy()]
        at = rows
        for slot, who in zip((1, 2), copies, strict=True):
            # A member's key is the leader's, later by the lag and with the member's visit.
            step = (lag[:, slot] << shift) + ((party[:, slot] - party[:, 0]) << rank_bits)
            span = counts[who]
            size = int(span.sum())
            first = np.cumsum(span) - span
            copied = np.arange(size) + np.repeat(trip_first[who] - first, span)
            np.take(head, copied, out=keys[at : at + size], mode="clip")
            keys[at : at + size] += np.repeat(step[who], span)
            at += size
            focus = plain + np.flatnonzero(party[focus_trip, slot] >= 0)
            focus_row.append(focus)
            own.append(head[focus] + step[focus_trip[focus - plain]])
            keys[at : at + len(focus)] = own[-1]
            at += len(focus)
        focus_row, own = np.concatenate(focus_row), np.concatenate(own)
        keys = keys[:at]
        keys.sort()
        self.keys = keys[np.searchsorted(keys, (self.plan.config.start - self.base) << shift) :]
        self.time_shift = shift
        self.persons = self.keys >> rank_bits
        self.persons &= (1 << visit_bits) - 1
        self.rows = self.keys & ((1 << rank_bits) - 1)
        if halved:
            self.rows >>= 1
        if len(own):
            found = np.searchsorted(self.keys, own)
            kept = found < len(self.keys)  # focus events before ``start`` are not among them
            kept[kept] = self.keys[found[kept]] == own[kept]
            self.rows[found[kept]] = focus_row[kept]

    def _parties_sorted_apart(
        self,
        party: np.ndarray,
        lag: np.ndarray,
        plain: int,
        trip_first: np.ndarray,
        counts: np.ndarray,
        rank: np.ndarray,
    ) -> None:
        """:meth:`_parties` for a block too big to pack a key in 64 bits: the events' times,
        visits and ranks are sorted as separate columns (slower, same order)."""
        walked = self.walked
        trip = walked["visit"] if walked["visit"] is not None else rows_visit(counts)
        rows = len(trip)
        times, visits = [walked["ts"] - self.base], [party[trip, 0]]
        ranks, sources = [rank], [np.arange(rows)]
        for slot in (1, 2):
            source = np.flatnonzero(party[trip, slot] >= 0)
            visit = party[trip[source], slot]
            times.append(walked["ts"][source] + lag[trip[source], slot] - self.base)
            visits.append(visit)
            ranks.append(rank[source])
            sources.append(source)
        time, visit, rank, source = (np.concatenate(part) for part in (times, visits, ranks, sources))
        order = np.lexsort((rank, visit, time))
        order = order[np.searchsorted(time[order], self.plan.config.start - self.base) :]
        self.keys = time[order]
        self.time_shift = 0
        self.rows = source[order]
        self.persons = visit[order]

    def __len__(self) -> int:
        return len(self.keys)

    def moment(self, index: int) -> int:
        """The time of sorted event ``index``."""
        return int(self.keys[index] >> self.time_shift) + self.base

    def cut(self, moment: int) -> int:
        """How many of the sorted events come before ``moment``."""
        return int(np.searchsorted(self.keys, (moment - self.base) << self.time_shift))

    def after(self, moment: int) -> int:
        """How many of the sorted events come at or before ``moment``."""
        last = ((moment - self.base) << self.time_shift) | ((1 << self.time_shift) - 1)
        return int(np.searchsorted(self.keys, last, side="right"))

    def columns(self, lo: int = 0, hi: int | None = None) -> dict[str, np.ndarray]:
        """The columns of sorted events ``lo`` to ``hi``, in arrays of their own."""
        size = len(range(*slice(lo, hi).indices(len(self))))
        out = {name: np.empty(size, dtype) for name, dtype in _DTYPES.items()}
        self.gather(out, 0, lo, lo + size)
        return out

    def gather(self, out: dict[str, np.ndarray], at: int, lo: int, hi: int) -> None:
        """Write the columns of sorted events ``lo`` to ``hi`` into ``out`` from row ``at``."""
        into = {name: values[at : at + hi - lo] for name, values in out.items()}
        rows, walked, layout = self.rows[lo:hi], self.walked, self.plan.layout
        np.right_shift(self.keys[lo:hi], self.time_shift, out=into["ts"])
        into["ts"] += self.base
        # ``clip`` (the rows are valid anyway) lets take write into ``out`` without a buffer.
        np.take(walked["event"], rows, out=into["event"], mode="clip")
        if self.departments:
            np.take(walked["dep"], rows, out=into["dep"], mode="clip")
        else:
            into["dep"].fill(-1)
        persons = self.persons
        visit = np.take(walked["visit"], rows, mode="clip") if persons is None else persons[lo:hi]
        np.take(self.visits.customer, visit, out=into["customer"], mode="clip")
        np.add(visit, self.visits.first_visit, out=into["visit"])
        # Index-sized: a take by 32-bit indices converts them first, once per take.
        cell = np.take(walked["cell"], rows, mode="clip").astype(np.intp)
        np.take(layout.cell_x, cell, out=into["x"], mode="clip")
        np.take(layout.cell_y, cell, out=into["y"], mode="clip")


def _merge(earlier: dict[str, np.ndarray], later: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Merge two time-sorted event runs; on equal times ``earlier`` (older visits) goes first."""
    slots = np.searchsorted(later["ts"], earlier["ts"], side="left") + np.arange(len(earlier["ts"]))
    total = len(earlier["ts"]) + len(later["ts"])
    from_later = np.ones(total, dtype=bool)
    from_later[slots] = False
    merged = {}
    for name, values in later.items():
        out = np.empty(total, dtype=values.dtype)
        out[slots] = earlier[name]
        out[from_later] = values
        merged[name] = out
    return merged


def _slice(columns: dict[str, np.ndarray], lo: int, hi: int | None = None) -> dict[str, np.ndarray]:
    return {name: values[lo:hi] for name, values in columns.items()}


def _merge_carry(
    carry: dict[str, np.ndarray] | None, fresh: dict[str, np.ndarray]
) -> list[dict[str, np.ndarray]]:
    """Carried events merged into a block's own, as a list of consecutive time-ordered runs.

    Carried events only interleave with the start of the block, so only that head is merged;
    the rest of the block follows as a view, without a copy.
    """
    if carry is None or not len(carry["ts"]):
        return [fresh]
    head = int(np.searchsorted(fresh["ts"], carry["ts"][-1], side="right"))
    return [_merge(carry, _slice(fresh, 0, head)), _slice(fresh, head)]


def iter_event_blocks(
    plan: Plan, *, endless: bool = False, workers: int = 1
) -> Iterator[dict[str, np.ndarray]]:
    """The events of ``[start, end)`` in time order, one dict of column arrays per block.

    Columns: ``ts`` int64, ``event`` int8 codes, ``customer`` int32 index into the customer
    list, ``x`` and ``y`` int16, ``visit`` int64, ``dep`` int8 index into the layout's
    departments (-1: none). Ties in ``ts`` are in visit order, then step
    order. With ``endless`` the window never ends (``config.hours`` is ignored).

    Visits are drawn block after block (who is inside carries over); their walks are built by
    :func:`block_events`, in ``workers`` processes when more than one. Events that fall after a
    block's end are held back and merged into the next block's output, so the stream is the
    same for any number of workers.
    """
    end = None if endless else plan.config.end
    pace = plan_pace(plan)
    blocks = _visits_per_block(plan, end)
    if workers > 1:
        built = _build_in_workers(plan, pace, blocks, workers)
    else:
        built = ((block, block_events(plan, block, visits, pace)) for block, visits in blocks)
    carry = None
    for block, fresh in built:
        boundary = plan.origin + (block + 1) * plan.block_seconds
        if end is not None:
            boundary = min(boundary, end)
        held_back = []
        for run in _merge_carry(carry, fresh):
            cut = int(np.searchsorted(run["ts"], boundary, side="left"))
            if cut:
                yield _slice(run, 0, cut)
            if cut < len(run["ts"]):
                held_back.append(_slice(run, cut))
        carry = (
            {name: np.concatenate([run[name] for run in held_back]) for name in fresh} if held_back else None
        )


def _visits_per_block(
    plan: Plan, end: int | None, drawer: VisitDrawer | None = None
) -> Iterator[tuple[int, Visits]]:
    """Complete blocks of visits in order, from the drawer's next block up to ``end``.

    A block is handed on once all its parties have had their checkout turn, which can take
    drawing a few more blocks (so blocks past ``end`` may be drawn, never handed on).
    """
    drawer = VisitDrawer(plan) if drawer is None else drawer
    held: list[tuple[int, Visits]] = []
    while True:
        while held and drawer.complete(held[0][0]):
            yield held.pop(0)
        beyond = end is not None and plan.origin + drawer.block * plan.block_seconds >= end
        if beyond and not held:
            return
        block, visits = drawer.draw()
        if not beyond:
            held.append((block, visits))


def _build_in_workers(
    plan: Plan, pace: np.ndarray, blocks: Iterator[tuple[int, Visits]], workers: int
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_worker_init, initargs=(plan, pace)
    ) as pool:
        pending = []
        for block, visits in blocks:
            pending.append((block, pool.submit(_worker_build, block, visits)))
            # Keep a few blocks in flight per worker: enough to stay busy, little memory.
            while len(pending) > 2 * workers:
                done_block, future = pending.pop(0)
                yield done_block, future.result()
        for done_block, future in pending:
            yield done_block, future.result()


_WORKER_STATE: dict = {}


def _worker_init(plan: Plan, pace: np.ndarray) -> None:
    _WORKER_STATE["plan"], _WORKER_STATE["pace"] = plan, pace


def _worker_build(block: int, visits: Visits) -> dict[str, np.ndarray]:
    return block_events(_WORKER_STATE["plan"], block, visits, _WORKER_STATE["pace"])


def simulate_columns(plan: Plan, workers: int = 1, ids: pa.Array | None = None) -> dict[str, Any]:
    """The whole window's events as one dict of column arrays (see :func:`iter_event_blocks`).

    The result arrays are reserved generously once the first block shows the event rate:
    pages never written cost no memory, so the peak is the result plus one block, with no
    second copy of the result. Built here (one process), each block's columns are gathered
    straight into the result; only the events held back for the next block get arrays of
    their own.

    With ``ids`` (the customer list's ids, an Arrow string array) the result holds each
    event's id, ``customer_id`` (a chunked Arrow array, taken block by block), in place of the
    ``customer`` index: the frame needs only the ids, and the window's indices are never kept.
    """
    result = _Result(plan, ids)
    if workers > 1:
        for part in iter_event_blocks(plan, workers=workers):
            result.append(part)
        return result.close()
    end = plan.config.end
    carry: dict[str, np.ndarray] | None = None
    for block, visits in _visits_per_block(plan, end):
        fresh = _Sorted(plan, block, visits, result.pace)
        boundary = min(plan.origin + (block + 1) * plan.block_seconds, end)
        cut = fresh.cut(boundary)
        held = 0 if carry is None else int(np.searchsorted(carry["ts"], boundary, side="left"))
        # Carried events interleave with the first of the block's own; the rest follow them.
        head = fresh.after(int(carry["ts"][held - 1])) if held else 0
        head = min(head, cut)
        out = result.reserve(held + cut, fresh.moment(cut - 1) if cut else None)
        if held:
            merged = _merge(_slice(carry, 0, held), fresh.columns(0, head))
            for name, values in merged.items():
                out[name][: len(values)] = values
        fresh.gather(out, held + head, head, cut)
        result.commit(held + cut)
        rest = fresh.columns(cut)
        carry = rest if carry is None else _merge(_slice(carry, held), rest)
    return result.close()


class _Result:
    """The whole window's column arrays, grown as blocks come.

    With the customer list's ``ids``, a block's customer indices go to a block-sized array and
    their ids are taken from it when the block is committed: the window keeps one chunk of ids
    per block instead of an index per event, 4 bytes less per event. (Taking the whole window's
    ids at the end asked for one big stretch of fresh memory at once; on a virtual machine that
    hands freed memory back to its host, faulting it in made the run's time swing by a third.)
    """

    def __init__(self, plan: Plan, ids: pa.Array | None = None) -> None:
        self.plan = plan
        self.pace = plan_pace(plan)
        self.ids, self.id_chunks = ids, []
        kept = [name for name in _DTYPES if ids is None or name != "customer"]
        self.columns = {name: np.empty(0, _DTYPES[name]) for name in kept}
        self.customer = np.empty(0, _DTYPES["customer"])  # the block's indices, with ``ids``
        self.rows = 0

    def reserve(self, size: int, last_ts: int | None) -> dict[str, np.ndarray]:
        """Room for ``size`` more rows (the last at ``last_ts``): the arrays to write them to,
        from their first row on. :meth:`commit` counts them in once written."""
        rows, columns = self.rows, self.columns
        if rows + size > len(columns["ts"]):
            start = self.plan.config.start
            window = self.plan.config.end - start
            covered = max((last_ts if last_ts is not None else start) - start, 1)
            estimate = int((rows + size) * window / covered * 1.25) + (1 << 16)
            capacity = max(rows + size, estimate, 2 * len(columns["ts"]))
            # The kernel commits a large array's pages at their first touch, so the generous
            # tail past the last row costs nothing; numpy asks for huge pages for it, and the
            # columns, written front to back, then take far fewer page faults.
            for name, values in columns.items():
                grown = np.empty(capacity, values.dtype)
                grown[:rows] = values[:rows]
                columns[name] = grown
        into = {name: values[rows:] for name, values in columns.items()}
        if self.ids is not None:
            if len(self.customer) < size:
                self.customer = np.empty(size, self.customer.dtype)
            into["customer"] = self.customer
        return into

    def commit(self, size: int) -> None:
        """Count in the ``size`` rows written to :meth:`reserve`'s arrays."""
        if self.ids is not None and size:
            self.id_chunks.append(take_ids(self.ids, self.customer[:size]))
        self.rows += size

    def append(self, part: dict[str, np.ndarray]) -> None:
        size = len(part["ts"])
        out = self.reserve(size, int(part["ts"][-1]) if size else None)
        for name, values in out.items():
            values[:size] = part[name]
        self.commit(size)

    def close(self) -> dict[str, Any]:
        # The tail past the last row was never written, so it holds no memory.
        closed: dict[str, Any] = {name: values[: self.rows] for name, values in self.columns.items()}
        if self.ids is not None:
            closed["customer_id"] = pa.chunked_array(self.id_chunks, type=self.ids.type)
        return closed


_DTYPES = {
    "ts": np.int64,
    "event": np.int8,
    "customer": np.int32,
    "x": np.int16,
    "y": np.int16,
    "visit": np.int64,
    "dep": np.int8,
}
