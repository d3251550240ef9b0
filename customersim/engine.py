"""The simulation engine: whole customer journeys for all shoppers at once, as arrays.

The story of one visit: a shopper arrives (at a random moment, at a rate that follows Little's
law, ``rate = target average inside / mean visit length``, shaped by the hour of day), is given a
visit length ``D`` and a customer from the list who is not inside already, and enters at an
entrance. They make a trip (:mod:`customersim.trips`): stops chosen by the departments'
attraction, shortest walks between them, browsing inside each department, the checkout, and
the nearest exit, which they leave exactly ``D`` seconds after entering. Because every visit
lasts exactly its ``D``, the time-average number inside is ``rate * mean(D)``: the target.

The number of arrivals is not a Poisson count. A Poisson count with gamma lengths lets a week at
6 inside miss the target by a few percent for some seeds (a standard error of about 2 %). So each
block draws its visit lengths first and takes arrivals until their lengths add up to the
visit-seconds the target asks of the block (the last arrival kept at random so that the sum is
right on average), and hands each hour of the block its expected share of those arrivals, rounded
up or down with one shared uniform (systematic sampling). Arrival moments stay uniformly random
within their hours, and everything still flows from the block's stream: the time-average inside
honours the target up to about one visit per block.

How it is computed: time is cut into *blocks* of arrivals whose length depends only on the
config (never on how the output is chunked), and each block draws from its own random stream
derived from the seed. A block's visits are built with numpy over all of them at once: loops
run over the stop number and the step number of a walk (not over shoppers or events), and
walks follow shortest-path tables. Events of visits that run past the block's end are carried into
the next block's output, so the stream of events is the same whether it is taken whole
(:func:`simulate_columns`) or piece by piece (:func:`iter_event_blocks`). The store is already
in steady state at ``start``: arrivals begin one longest visit earlier and only events from
``start`` on are kept.

Nothing here reads files, touches the network or prints: config and customer count in, arrays
out. :mod:`customersim.simulation` turns the arrays into DataFrames.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from customersim.config import SETTINGS, SimConfig
from customersim.errors import CapacityError
from customersim.layout import StoreLayout
from customersim.profiles import profile_hour
from customersim.segments import Traits
from customersim.trips import BROWSE_MOVES, build_trips

# A visit never lasts longer than this many mean visit lengths (the gamma tail beyond it is
# about 2e-6 of visits); it is also how far before ``start`` the warm-up reaches.
MAX_VISIT_FACTOR = 8
# Shape of the gamma distribution of visit lengths (coefficient of variation 1/sqrt(2)).
VISIT_SHAPE = 2.0
# Blocks hold about this many events, so that their memory stays small and flat.
BLOCK_TARGET_EVENTS = 1 << 19
MIN_BLOCK_HOURS, MAX_BLOCK_HOURS = 1, 24 * 7
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
    return Plan(
        config,
        layout,
        customers,
        hourly_rate,
        max_visit,
        block_hours * 3600,
        config.start - max_visit,
        traits,
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


@dataclass
class Visits:
    """The visits that arrive in one block (arrays of equal length, in arrival order)."""

    enter: np.ndarray  # int64 epoch seconds
    duration: np.ndarray  # int64 seconds, door to door
    customer: np.ndarray  # int32 index into the customer list
    first_visit: int  # global number of the first visit of the block

    def __len__(self) -> int:
        return len(self.enter)


class _Occupants:
    """Visits that may still be inside across a block boundary, for id assignment."""

    def __init__(self) -> None:
        self.customer = np.empty(0, dtype=np.int32)
        self.enter = np.empty(0, dtype=np.int64)
        self.exit = np.empty(0, dtype=np.int64)

    def keep_after(self, moment: int) -> None:
        still = self.exit >= moment
        self.customer, self.enter, self.exit = self.customer[still], self.enter[still], self.exit[still]

    def add(self, customer: np.ndarray, enter: np.ndarray, exit_time: np.ndarray) -> None:
        self.customer = np.concatenate([self.customer, customer])
        self.enter = np.concatenate([self.enter, enter])
        self.exit = np.concatenate([self.exit, exit_time])


def draw_visits(plan: Plan, block: int, occupants: _Occupants, first_visit: int) -> Visits:
    """Arrivals, visit lengths and customers of one block.

    Customers are drawn at random among the whole list and redrawn, all conflicts at once, for
    visits whose customer would still be inside from an earlier visit.
    """
    rng = _stream(plan.config.seed, _ARRIVALS, block)
    block_start = plan.origin + block * plan.block_seconds
    block_end = block_start + plan.block_seconds
    # Piecewise-constant rate: cut the block at UTC hour boundaries.
    cuts = np.arange((block_start // 3600 + 1) * 3600, block_end, 3600, dtype=np.int64)
    seg_start = np.concatenate([[block_start], cuts])
    seg_len = np.diff(np.concatenate([seg_start, [block_end]]))
    seg_expected = plan.hourly_rate[profile_hour(seg_start // 3600, len(plan.hourly_rate))] * seg_len
    base = _visit_lengths(rng, plan, float(seg_expected.sum()))
    duration = base
    # The block's arrivals are fixed by its visit-seconds; how they fall into its hours is a
    # multinomial draw by the profile, so hours and days vary as a real store's do (the same
    # count for every Monday hour would give synthetic data away) while the occupancy holds.
    total = float(seg_expected.sum())
    share = seg_expected / total if total > 0 else np.full(len(seg_expected), 1 / len(seg_expected))
    counts = rng.multinomial(len(duration), share / share.sum())
    offsets = np.floor(rng.random(len(duration)) * np.repeat(seg_len, counts)).astype(np.int64)
    enter = np.sort(np.repeat(seg_start, counts) + offsets)

    occupants.keep_after(block_start)
    if plan.traits is None:
        customer = _assign_customers(rng, plan.customers, enter, enter + duration, occupants, block_start)
    else:
        customer = _assign_weighted(rng, plan, enter, base, occupants, block_start)
        duration = _scaled(plan, base, customer)
    occupants.add(customer, enter, enter + duration)
    return Visits(enter, duration, customer, first_visit)


def _scaled(plan: Plan, base: np.ndarray, customer: np.ndarray) -> np.ndarray:
    """Visit lengths stretched by each customer's segment factor (mean 1 over arrivals)."""
    factor = plan.traits.visit_factor[customer]
    return np.clip(np.rint(base * factor), 1, plan.max_visit).astype(np.int64)


def _assign_weighted(
    rng: np.random.Generator,
    plan: Plan,
    enter: np.ndarray,
    base: np.ndarray,
    occupants: _Occupants,
    block_start: int,
) -> np.ndarray:
    """Customers drawn by their segments' frequency weights, nobody inside twice at once.

    As :func:`_assign_customers`, but a visit's length depends on who makes it, so the clash
    check is made again with each round's lengths; a crowded block is settled in arrival order.
    """
    cdf = np.cumsum(plan.traits.weight)
    last = plan.customers - 1

    def draw(size: int) -> np.ndarray:
        return np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right"), last).astype(
            np.int32
        )

    chosen = draw(len(enter))
    held = len(occupants.customer)
    enter_rel = np.concatenate([occupants.enter, enter]) - block_start
    index = np.arange(held + len(enter))
    for _ in range(VECTOR_ROUNDS):
        exit_rel = np.concatenate([occupants.exit, enter + _scaled(plan, base, chosen)]) - block_start
        who = np.concatenate([occupants.customer, chosen]).astype(np.int64)
        order = np.lexsort((index, enter_rel, who))
        keys = (who[order] << 32) | exit_rel[order]
        before = np.maximum.accumulate(keys)[:-1]
        rows = order[1:]
        clash = ((before >> 32) == who[rows]) & ((before & 0xFFFFFFFF) >= enter_rel[rows])
        redraw = rows[clash] - held
        if redraw.size == 0:
            return chosen
        chosen[redraw] = draw(redraw.size)
    busy_until = dict(zip(occupants.customer.tolist(), occupants.exit.tolist(), strict=True))
    weight = plan.traits.weight
    for i, since in enumerate(enter.tolist()):
        who = int(chosen[i])
        until = since + int(_scaled(plan, base[i : i + 1], chosen[i : i + 1])[0])
        if busy_until.get(who, -1) >= since:
            free = np.array(
                [c for c in range(plan.customers) if busy_until.get(c, -1) < since], dtype=np.int64
            )
            if not free.size:
                raise CapacityError(
                    f"all {plan.customers} customers of the list are inside at once: the list is too "
                    f"small for this occupancy"
                )
            share = np.cumsum(weight[free])
            who = int(
                free[min(int(np.searchsorted(share, rng.random() * share[-1], side="right")), free.size - 1)]
            )
            chosen[i] = who
            until = since + int(_scaled(plan, base[i : i + 1], chosen[i : i + 1])[0])
        busy_until[who] = until
    return chosen


def _visit_lengths(rng: np.random.Generator, plan: Plan, expected: float) -> np.ndarray:
    """The visit lengths of a block's arrivals, whose number follows from the lengths.

    Lengths are drawn first; arrivals are then taken until their lengths add up to what the
    expected number of arrivals at the mean visit length adds up to (the last one kept with
    the probability that makes the sum right on average). So the visit-seconds the block adds,
    and with them the time-average number inside, honour the target up to one visit, instead
    of scattering with the Poisson count and the gamma lengths (a week at 6 inside would be a
    few percent off for some seeds).
    """
    mean_visit = plan.config.mean_visit_seconds
    wanted = expected * mean_visit
    scale = mean_visit / VISIT_SHAPE
    pool = np.empty(0, np.int64)
    size = int(expected * 1.1 + 6 * math.sqrt(expected) + 16)
    while True:
        more = np.rint(rng.standard_gamma(VISIT_SHAPE, size) * scale)
        pool = np.concatenate([pool, np.clip(more, 1, plan.max_visit).astype(np.int64)])
        total = np.cumsum(pool)
        if total[-1] >= wanted:
            break
    count = int(np.searchsorted(total, wanted, side="left"))  # lengths that stay below wanted
    below = float(total[count - 1]) if count else 0.0
    # Keep the next one with probability (wanted - below) / its length: the sum is then right
    # on average.
    if rng.random() * float(pool[count]) < wanted - below:
        count += 1
    return pool[:count]


def _assign_customers(
    rng: np.random.Generator,
    customers: int,
    enter: np.ndarray,
    exit_time: np.ndarray,
    occupants: _Occupants,
    block_start: int,
) -> np.ndarray:
    chosen = rng.integers(0, customers, len(enter), dtype=np.int32)
    held = len(occupants.customer)
    enter_rel = np.concatenate([occupants.enter, enter]) - block_start
    exit_rel = np.concatenate([occupants.exit, exit_time]) - block_start
    index = np.arange(held + len(enter))
    for _ in range(VECTOR_ROUNDS):
        who = np.concatenate([occupants.customer, chosen]).astype(np.int64)
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
        chosen[redraw] = rng.integers(0, customers, redraw.size, dtype=np.int32)
    # Crowded: redraws keep displacing each other, so settle the block in arrival order.
    return _assign_in_order(rng, customers, enter, exit_time, occupants, chosen)


def _assign_in_order(
    rng: np.random.Generator,
    customers: int,
    enter: np.ndarray,
    exit_time: np.ndarray,
    occupants: _Occupants,
    chosen: np.ndarray,
) -> np.ndarray:
    busy_until = dict(zip(occupants.customer.tolist(), occupants.exit.tolist(), strict=True))
    chosen = chosen.copy()
    for i, (since, until, drawn) in enumerate(
        zip(enter.tolist(), exit_time.tolist(), chosen.tolist(), strict=True)
    ):
        who = drawn
        if busy_until.get(who, -1) >= since:
            free = [c for c in range(customers) if busy_until.get(c, -1) < since]
            if not free:
                raise CapacityError(
                    f"all {customers} customers of the list are inside at once: the list is too "
                    f"small for this occupancy"
                )
            who = free[int(rng.integers(0, len(free)))]
            chosen[i] = who
        busy_until[who] = until
    return chosen


def walk_visits(plan: Plan, block: int, visits: Visits, pace: np.ndarray) -> dict[str, np.ndarray]:
    """All events of a block's visits, visit by visit and step by step (ranked visit-major).

    Returns:
        ``ts`` (int64), ``cell`` (int32), ``event`` (int8 codes), ``visit`` (int32 index of
        the visit within the block), ``dep`` (int8 department, -1 for none) and ``rank`` (int64
        position in visit-major order) per event.
    """
    config = plan.config
    rng = _stream(config.seed, _WALK, block)
    traits = plan.traits
    return build_trips(
        plan.layout,
        config,
        rng,
        visits.enter,
        visits.duration,
        pace[visits.customer],
        dwell_quantiles(config.dwell_spread),
        None if traits is None or traits.stop_cdf is None else (traits.stop_cdf, traits.row[visits.customer]),
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
    layout = plan.layout
    walked = walk_visits(plan, block, visits, pace)
    ts = walked["ts"]
    # Sorting (time, rank) keys keeps visit-major order, and so (visit, step), among equal times.
    key_base = plan.origin + block * plan.block_seconds
    keys = ((ts - key_base) << 32) | walked["rank"]
    keys.sort()
    first = np.searchsorted(keys, (plan.config.start - key_base) << 32)
    # A rank names its row through this table (focus events are appended after the others).
    row_of_rank = np.empty(2 * len(ts) + 1, dtype=np.int32)
    row_of_rank[walked["rank"]] = np.arange(len(ts), dtype=np.int32)
    order = row_of_rank[keys[first:] & 0xFFFFFFFF]
    cell = walked["cell"][order]
    visit = walked["visit"][order]
    return {
        "ts": ts[order],
        "event": walked["event"][order],
        "customer": visits.customer[visit],
        "x": layout.cell_x[cell],
        "y": layout.cell_y[cell],
        "visit": visits.first_visit + visit.astype(np.int64),
        "dep": walked["dep"][order],
    }


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


def _visits_per_block(plan: Plan, end: int | None) -> Iterator[tuple[int, Visits]]:
    occupants = _Occupants()
    next_visit = 0
    for block in itertools.count():
        if end is not None and plan.origin + block * plan.block_seconds >= end:
            return
        visits = draw_visits(plan, block, occupants, next_visit)
        next_visit += len(visits)
        yield block, visits


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


def simulate_columns(plan: Plan, workers: int = 1) -> dict[str, np.ndarray]:
    """The whole window's events as one dict of column arrays (see :func:`iter_event_blocks`).

    The result arrays are reserved generously once the first block shows the event rate:
    pages never written cost no memory, so the peak is the result plus one block, with no
    second copy of the result.
    """
    columns = {name: np.empty(0, dtype) for name, dtype in _DTYPES.items()}
    rows = 0
    window = plan.config.end - plan.config.start
    for part in iter_event_blocks(plan, workers=workers):
        size = len(part["ts"])
        if rows + size > len(columns["ts"]):
            covered = max(int(part["ts"][-1]) - plan.config.start, 1)
            estimate = int((rows + size) * window / covered * 1.25) + (1 << 16)
            capacity = max(rows + size, estimate, 2 * len(columns["ts"]))
            for name, values in columns.items():
                grown = np.empty(capacity, dtype=values.dtype)
                grown[:rows] = values[:rows]
                columns[name] = grown
        for name, values in columns.items():
            values[rows : rows + size] = part[name]
        rows += size
    for values in columns.values():
        values.resize(rows, refcheck=False)  # shrinks in place: the unused tail is given back
    return columns


_DTYPES = {
    "ts": np.int64,
    "event": np.int8,
    "customer": np.int32,
    "x": np.int16,
    "y": np.int16,
    "visit": np.int64,
    "dep": np.int8,
}
