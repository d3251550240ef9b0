"""Trips: where each shopper of a block goes, step by step, computed for all visits at once.

The story of one trip: the shopper comes in at an entrance and picks a *stop*, a cell of a
department chosen by the departments' attraction (in the open store, any cell, so stops spread
over the whole floor). They walk the shortest way there at ``walk_seconds_per_cell``, browse (a
few moves inside the department, with a dwell at each cell), pick the next stop, and so on.

In a store with checkouts, the engine has already given each visit its turn at the checkout
(:mod:`customersim.queues`): the moment it reaches its place in a lane's line, the moments it
steps forward, and the end of its service. A stop is only begun when, after it, there is still
time to walk to that place in the line; the time left over after the last stop is spent
lingering there, and the walk leaves so as to arrive on time. After the service the shopper
walks to the nearest exit. In a store without checkouts a stop is only begun when there is
still time to walk to the exit before the visit's drawn length ``D`` is up, and the time left
over is spent at the last stop. A visit too short for even the walk walks it faster.

A shopper who stays ``focus_seconds`` in one department (the stay begins at the first step into
it and lasts while the steps stay inside it) gets a ``focus`` event at the moment the threshold is
reached, once per stay, at the cell they are at.

Everything is arrays: the loop runs over stop number (each round handles every visit still
shopping) and over step number within a walk, never over shoppers or events. Events come out
visit-major (each visit's events in order) with a ``rank`` that keeps that order for
:func:`customersim.engine.block_events`, which sorts them by time; focus events are appended last,
ranked between the events they fall between.
"""

from __future__ import annotations

import math

import numpy as np

from customersim.config import SimConfig
from customersim.frame import ENTER, EXIT, FOCUS, MOVE
from customersim.layout import StoreLayout
from customersim.queues import QUEUE_CELLS, checkout_lanes

# Mean number of moves while browsing at a stop (Poisson): a few cells of a department.
BROWSE_MOVES = 2.0
# At most this many browsing moves per stop (the Poisson tail beyond it is under 0.5 %).
MAX_BROWSE_MOVES = 6
# Candidate stops drawn per visit: this many times what its shopping time should hold on
# average, plus a few (visits that use them all draw more in a further round).
STOPS_FACTOR, STOPS_EXTRA = 1.1, 1
# Cumulative probabilities of 0 .. MAX_BROWSE_MOVES - 1 browsing moves (Poisson, its tail
# lumped into the last count): a stop's moves are the thresholds its uniform passes, several
# times faster than a Poisson sampler.
_BROWSE_CDF = np.cumsum(
    [math.exp(-BROWSE_MOVES) * BROWSE_MOVES**k / math.factorial(k) for k in range(MAX_BROWSE_MOVES)]
).astype(np.float32)
# Slots of the guide tables that start each inverse-CDF search (see ``draw_stops``).
GUIDE_SLOTS = 1 << 12
# Stops planned beyond this many seconds into a visit are past any visit's end anyway.
INT32_CAP = 1 << 30


def build_trips(
    layout: StoreLayout,
    config: SimConfig,
    rng: np.random.Generator,
    enter: np.ndarray,
    duration: np.ndarray,
    pace: np.ndarray,
    quantiles: np.ndarray,
    affinity: tuple[np.ndarray, np.ndarray] | None = None,
    checkout: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """The events of every visit: visit-major, then the focus events, each ranked into place.

    Args:
        layout: the store's tables.
        config: walk speed, dwell mean and focus threshold.
        rng: the block's random stream for walks.
        enter, duration: epoch seconds of each entry and the visit lengths (int64).
        pace: each visit's pace factor (mean 1).
        quantiles: equally likely dwell values of mean 1 (see ``engine.dwell_quantiles``).
        affinity: cumulative stop probabilities per customer segment and each visit's row of
            them (see :mod:`customersim.segments`); None: the layout's own attractions.
        checkout: each visit's turn at the checkout queue (see :mod:`customersim.queues`), in
            seconds since entering: ``arrive`` (reaching the line), ``lane``, ``position``
            (cells behind the checkout it joins), ``steps`` (moments of stepping forward) and
            ``done`` (service end); the visit then walks out and leaves at ``duration``. None:
            the layout has no checkout.

    Returns:
        ``ts`` (int64), ``cell`` (int32), ``event`` (int8 codes), ``visit`` (int32 index of the
        visit), ``dep`` (int8 department index, -1 for none) and ``rank`` (int64: sorting by it
        gives visit-major order, each visit's events in order) per event, and ``trip_rows``
        (int64) per visit: how many rows it has besides focus events (those rows come first,
        visit after visit, and the focus events after them). In a store without departments
        (so without focus events) the rows are in visit-major order, and ``visit``, ``dep``
        and ``rank`` are None (:func:`rows_visit` gives the visits from ``trip_rows``).
    """
    n = len(enter)
    walk = int(config.walk_seconds_per_cell)
    limit = duration.astype(np.int64)
    limit32 = limit.astype(np.int32)
    router = layout.router
    mean_dwell = (config.dwell_mean_seconds * pace).astype(np.float32)

    def dwells(means: np.ndarray) -> np.ndarray:
        """One dwell per entry of ``means`` (whole seconds, at least 1)."""
        draw = quantiles[rng.integers(0, len(quantiles), len(means), dtype=np.uint16)]
        draw *= means
        np.rint(draw, out=draw)
        return np.maximum(draw, 1, out=draw).astype(np.int32)

    entrances = layout.entrances
    position = (
        entrances[rng.integers(0, len(entrances), n)] if len(entrances) > 1 else np.full(n, entrances[0])
    ).astype(np.int32)
    start_cell = position.copy()
    size = layout.width * layout.height
    if checkout is not None:
        lanes = checkout_lanes(layout)
        lane = checkout["lane"].astype(np.int64)
        joined = checkout["position"].astype(np.int64)
        join_row = (lane * (QUEUE_CELLS + 1) + joined).astype(np.int32) * size
        join_cell = lanes.cells[lane, joined]
        reach = (walk * lanes.reach).astype(np.int32).ravel()
        # Shopping ends in time to walk to the line's end and reach it when the queue says.
        limit = checkout["arrive"].astype(np.int64)
        limit32 = limit.astype(np.int32)
        budget = limit32

        def way_out(cells: np.ndarray, visits: np.ndarray, span: np.ndarray) -> np.ndarray:
            """Seconds of walking from ``cells`` to the place in the line; ``visits`` and
            ``span``: the visit of each stop and its number of cells."""
            return reach[np.repeat(join_row[visits], span) + cells]
    else:
        door_out = (walk * (layout.door_distance.astype(np.int64) + 1)).astype(np.int32)
        budget = limit32

        def way_out(cells: np.ndarray, visits: np.ndarray, span: np.ndarray) -> np.ndarray:
            """Seconds of walking from ``cells`` out of the store."""
            return door_out[cells]

    # The longest way out from any cell (bounds what a stop's cells can ask for it).
    most_out = int(reach.max()) if checkout is not None else int(door_out.max())
    stop_cells, stop_p = layout.stop_cells
    stop_cdf = np.cumsum(stop_p)
    browse_next, browse_degree = layout.browse_neighbours
    browse_flat, browse_width = browse_next.ravel(), browse_next.shape[1]

    elapsed = np.zeros(n, dtype=np.int64)  # seconds since entering, at the current cell's end
    local = np.zeros(n, dtype=np.int64)  # events reserved so far per visit (without enter/exit)
    legs: list[tuple[np.ndarray, ...]] = []  # visit, local, from, to, t0, steps, span
    moves: list[tuple[np.ndarray, ...]] = []  # visit, local, t, cell
    # Stops are drawn for every visit at once, a generous number each (``STOPS_FACTOR`` times
    # what its shopping time should hold, and in a further round what the rest of it should
    # hold, for the visits that use them all), so the loop runs over rounds, not stop numbers.
    stop_seconds = layout.mean_stop_distance * walk + (BROWSE_MOVES + 1) * mean_dwell.astype(np.float64)
    # The time for shopping leaves out what the way out takes (on average over stops).
    stop_out = reach[stop_cells] if checkout is not None else door_out[stop_cells]
    reserve = float(np.dot(stop_out.astype(np.float64), stop_p))
    wanted = np.ceil(np.maximum(budget - reserve, 0) / stop_seconds * STOPS_FACTOR + STOPS_EXTRA).astype(
        np.int64
    )
    shopping = np.arange(n) if int(layout.walkable.sum()) > 1 else np.empty(0, np.int64)
    while shopping.size:
        a, count = shopping, wanted[shopping]
        total = int(count.sum())
        first = np.cumsum(count) - count
        sv = np.repeat(a, count)  # the visit of each candidate stop, in stop order
        if affinity is None:
            pick = draw_stops(stop_cdf[None, :], None, rng.random(total))
        else:
            pick = draw_stops(affinity[0], affinity[1][sv], rng.random(total))
        target = stop_cells[pick]
        uniform = rng.random(total, dtype=np.float32)
        browse = (uniform >= _BROWSE_CDF[0]).astype(np.int64)
        for threshold in _BROWSE_CDF[1:]:
            browse += uniform >= threshold
        # A stop's cells lie end to end in flat arrays (about three a stop on average): the
        # cell it is made at, then one per browsing move. ``head`` is each stop's first entry.
        span = browse + 1
        tail = np.cumsum(span)
        head = tail - span
        tail -= 1  # each stop's last entry
        entries = int(tail[-1]) + 1
        of_stop = np.repeat(np.arange(total, dtype=np.int32), span)
        dwell = dwells(np.repeat(mean_dwell[sv], span))
        cells = np.empty(entries, dtype=np.int32)
        spent = np.empty(entries, dtype=np.int32)  # dwell seconds of the stop up to each entry
        cells[head] = target
        spent[head] = dwell[head]
        draws = rng.random(entries, dtype=np.float32)
        # Stops by number of moves, most first (a radix sort of small counts): the stops still
        # browsing at move j are a prefix.
        by_moves = np.argsort((MAX_BROWSE_MOVES - browse).astype(np.uint8), kind="stable")
        still = total - np.cumsum(np.bincount(browse, minlength=MAX_BROWSE_MOVES + 1))
        for j in range(1, int(browse.max()) + 1):
            going = by_moves[: still[j - 1]]
            at = head[going] + j
            current = cells[at - 1]
            choice = (draws[at] * browse_degree[current]).astype(np.int32)
            cells[at] = browse_flat[current * browse_width + choice]
            spent[at] = spent[at - 1] + dwell[at]
        # A one-cell department keeps the shopper in place: no move then.
        moved = np.empty(entries, dtype=bool)
        moved[0] = False
        np.not_equal(cells[1:], cells[:-1], out=moved[1:])
        moved[head] = False
        start = np.empty(total, dtype=np.int32)
        start[1:] = cells[tail[:-1]]
        start[first] = position[a]
        steps = router.distance(start, target).astype(np.int64)
        length = steps * walk + spent[tail]
        # Each stop begins when the ones before it in its visit are over (had they all fitted).
        before = np.cumsum(length) - length
        begin = before - np.repeat(before[first] - elapsed[a], count)
        arrive = begin + steps * walk
        # Seconds since entering fit in 32 bits (a visit lasts at most a few mean lengths); the
        # per-entry arrays are the bulk of the work, so they are kept narrow.
        arrive32 = np.minimum(arrive, INT32_CAP).astype(np.int32)
        # Entries of each stop that fit (leave time for the way out), counted from its first up
        # to the first that does not. A stop that would leave that time from any cell fits
        # whole; only the others (the last few of a visit) are looked at cell by cell.
        lead = span.copy()
        unsure = np.flatnonzero(arrive32 + spent[tail] > budget[sv] - most_out)
        if unsure.size:
            some = span[unsure]
            at = _segment_rows(head[unsure], some)
            leave = np.repeat(arrive32[unsure], some) + spent[at]
            fits = leave + way_out(cells[at], sv[unsure], some) <= np.repeat(budget[sv[unsure]], some)
            starts = np.cumsum(some) - some
            spot = np.arange(len(at))
            first_miss = np.minimum.reduceat(np.where(fits, len(at), spot), starts)
            lead[unsure] = np.minimum(first_miss - starts, some)
        index_c = np.arange(entries, dtype=np.int32)
        # A visit's shopping ends at its first stop that does not fit whole; that stop keeps the
        # browsing moves that fit (none: the stop is not made).
        index = np.arange(total)
        partial = np.where(lead <= browse, index, total)
        ends = np.minimum.reduceat(partial, first)
        cut = np.repeat(ends, count)
        made = (index < cut) | ((index == cut) & (lead > 0))
        kept = np.where(index < cut, browse, lead - 1)
        last_kept = np.where(made, head + kept, -1)
        emit = moved & (index_c <= np.repeat(last_kept, span))
        emitted_before = np.cumsum(emit, dtype=np.int32)
        emitted = emitted_before[tail] - emitted_before[head]
        events = np.where(made, steps + emitted, 0)
        offset = np.cumsum(events) - events
        offset = offset - np.repeat(offset[first], count) + local[sv]

        walking = made & (steps > 0)
        legs.append(
            (
                sv[walking],
                offset[walking],
                start[walking],
                target[walking],
                begin[walking],
                steps[walking],
                steps[walking] * walk,
            )
        )
        at = np.flatnonzero(emit)
        row = of_stop[at]
        rank = emitted_before[at] - emitted_before[head[row]] - 1
        moves.append((sv[row], offset[row] + steps[row] + rank, arrive32[row] + spent[at - 1], cells[at]))
        local[a] += np.add.reduceat(events, first)

        # The last stop made by each visit: where its shopping stands now.
        ends_segment = np.zeros(total, dtype=bool)
        ends_segment[first - 1] = True  # the stop before each segment's first (wraps to the end)
        last = np.flatnonzero(made & (ends_segment | ~np.r_[made[1:], False]))
        position[sv[last]] = cells[last_kept[last]]
        elapsed[sv[last]] = arrive32[last] + spent[last_kept[last]]
        exhausted = ends == total
        shopping = a[exhausted]
        left = np.maximum(budget[shopping] - reserve - elapsed[shopping], 0)
        wanted[shopping] = np.ceil(left / stop_seconds[shopping] * STOPS_FACTOR + STOPS_EXTRA).astype(
            np.int64
        )

    if checkout is not None:
        _queue_legs(layout, checkout, walk, limit, position, elapsed, join_cell, legs, moves, local)
        limit = duration.astype(np.int64)
        exit_cell = lanes.exit_cell[lane]
    else:
        out = layout.door_distance[position].astype(np.int64)
        exit_cell = layout.nearest_exit[position]
        available = limit - elapsed
        # The shopper reaches the exit door one walking step before leaving through it, as the
        # first step of a walk is taken one step's time after setting off.
        on_time = (out + 1) * walk <= available
        # A visit too short for the walk out walks it faster, spreading the steps over its time.
        span = np.where(on_time, out * walk, available * out // np.maximum(out + 1, 1))
        leave = np.where(on_time, limit - (out + 1) * walk, elapsed)
        legs.append((np.arange(n), local.copy(), position, exit_cell, leave, out, span))
        local += out

    counts = local + 2
    first_row = np.cumsum(counts) - counts
    total = int(counts.sum())
    # Room for the focus events after the others (a few percent of them at most): pages never
    # written take no memory, and appending them then copies nothing.
    departments = len(layout.departments) > 0
    room = total + total // 8 + 16 if departments else total
    # Without departments there are no focus events, and no column needs the visit or the
    # department of a row: the rows are in visit-major order, and ``trip_rows`` says whose.
    kept = _COLUMN_DTYPES if departments else {"ts": np.int64, "cell": np.int32, "event": np.int8}
    spare = {name: np.empty(room, dtype) for name, dtype in kept.items() if name != "rank"}
    if departments:
        # Made whole, room included (what the room holds is written over): one pass each.
        spare["visit"] = np.repeat(np.arange(n + 1, dtype=np.int32), np.append(counts, room - total))
        spare["rank"] = np.arange(0, 2 * room, 2, dtype=np.int64)
    ts, cell, event = (spare[name][:total] for name in ("ts", "cell", "event"))
    event.fill(MOVE)
    exit_rows = first_row + counts - 1
    ts[first_row], cell[first_row], event[first_row] = enter, start_cell, ENTER
    ts[exit_rows], cell[exit_rows], event[exit_rows] = enter + limit, exit_cell, EXIT

    if moves:
        who, at, when, where = (np.concatenate(part) for part in zip(*moves, strict=True))
        rows = first_row[who] + 1 + at
        ts[rows] = enter[who] + when
        cell[rows] = where
    _walk_legs(router, legs, first_row, enter, ts, cell, rng)

    if not departments:
        return {
            "ts": ts,
            "cell": cell,
            "event": event,
            "visit": None,
            "dep": None,
            "rank": None,
            "trip_rows": counts,
        }
    dep, visit, rank = (spare[name][:total] for name in ("dep", "visit", "rank"))
    columns = {"ts": ts, "cell": cell, "event": event, "visit": visit, "dep": dep, "rank": rank}
    np.take(layout.department, cell, out=dep, mode="clip")  # int16 to int8: a few departments
    dep[event != MOVE] = -1
    return {**_add_focus(columns, math.ceil(config.focus_seconds), spare), "trip_rows": counts}


# The columns of a block's events (see :func:`build_trips`).
_COLUMN_DTYPES = {
    "ts": np.int64,
    "cell": np.int32,
    "event": np.int8,
    "visit": np.int32,
    "dep": np.int8,
    "rank": np.int64,
}


def rows_visit(trip_rows: np.ndarray) -> np.ndarray:
    """The visit (int32) of each row of a store without departments, from ``trip_rows``."""
    return np.repeat(np.arange(len(trip_rows), dtype=np.int32), trip_rows)


def draw_stops(cdf: np.ndarray, row: np.ndarray | None, uniform: np.ndarray) -> np.ndarray:
    """Stop indices drawn by inverse CDF: the first stop whose cumulative probability exceeds
    each uniform, in row ``row`` of ``cdf`` (one row per customer segment; None: the only row).

    A guide table per row says where the search for a uniform's slot of ``GUIDE_SLOTS`` equal
    slots starts, so most draws take one lookup and a check (a sorted search takes a dozen
    probes); the few that start a stop too early step forward.
    """
    guide = _guide(cdf)
    stops = cdf.shape[1]
    slot = (uniform * GUIDE_SLOTS).astype(np.intp)
    if row is None:
        base = 0
        pick = guide[0][slot]
    else:
        base = row.astype(np.intp) * stops
        pick = guide.ravel()[row.astype(np.intp) * GUIDE_SLOTS + slot]
    flat = cdf.ravel()
    behind = np.flatnonzero((flat[base + pick] <= uniform) & (pick < stops - 1))
    while behind.size:
        pick[behind] += 1
        at = pick[behind]
        more = (at < stops - 1) & (flat[(base if row is None else base[behind]) + at] <= uniform[behind])
        behind = behind[more]
    return pick


_GUIDES: list[tuple[np.ndarray, np.ndarray]] = []


def _guide(cdf: np.ndarray) -> np.ndarray:
    """For every row of ``cdf`` and slot ``k``, the first stop whose cumulative probability
    exceeds ``k / GUIDE_SLOTS`` (the last stop at most). Kept for the few tables in use."""
    for table, guide in _GUIDES:
        if table is cdf or (table.shape == cdf.shape and np.array_equal(table, cdf)):
            return guide
    grid = np.arange(GUIDE_SLOTS) / GUIDE_SLOTS
    guide = np.stack([np.searchsorted(line, grid, side="right") for line in cdf])
    guide = np.minimum(guide, cdf.shape[1] - 1).astype(np.intp)
    _GUIDES[:] = [(cdf, guide), *_GUIDES[:7]]
    return guide


def _queue_legs(layout, checkout, walk, arrive, position, elapsed, join_cell, legs, moves, local) -> None:
    """The end of every visit at a checkout: the walk to its place in the line, a step forward
    each time a party ahead leaves, service at the checkout, and the walk to the nearest exit.

    The walk to the line leaves the last stop so as to arrive exactly at ``arrive`` (hurried
    when the stops left too little time); the first step out of the checkout is taken when the
    service ends, so the next party steps onto it no earlier.
    """
    lanes = checkout_lanes(layout)
    n = len(arrive)
    everyone = np.arange(n)
    lane = checkout["lane"].astype(np.int64)
    joined = checkout["position"].astype(np.int64)
    to_join = layout.router.distance(position, join_cell).astype(np.int64)
    available = arrive - elapsed
    on_time = to_join * walk <= available
    span = np.where(on_time, to_join * walk, available)
    legs.append(
        (
            everyone,
            local.copy(),
            position,
            join_cell,
            np.where(on_time, arrive - span, elapsed),
            to_join,
            span,
        )
    )
    local += to_join
    if joined.any():
        who = np.repeat(everyone, joined)
        j = np.arange(int(joined.sum())) - np.repeat(np.cumsum(joined) - joined, joined)
        when = checkout["steps"][who, j]
        moves.append((who, local[who] + j, when, lanes.cells[lane[who], joined[who] - 1 - j]))
        local += joined
    counter = lanes.cells[lane, 0]
    out = lanes.out[lane]
    legs.append(
        (everyone, local.copy(), counter, lanes.exit_cell[lane], checkout["done"] - walk, out, out * walk)
    )
    local += out


def _walk_legs(router, legs, first_row, enter, ts, cell, rng) -> None:
    """Write the cells and times of every walk, one numpy pass per step number.

    Walks are ordered by length, longest first, so the walks still going at step ``j`` are
    always a prefix. A toss per step picks between the router's two kinds of next step, so
    shoppers spread over the shortest paths. A walk of ``steps`` cells spanning ``span``
    seconds from ``t0`` reaches its ``j``-th cell at ``t0 + j * span // steps``: whole
    ``walk_seconds_per_cell`` on a normal walk, less on the hurried walk out of a short visit.
    """
    who, at, start, goal, t0, steps, span = (np.concatenate(part) for part in zip(*legs, strict=True))
    walking = steps > 0
    if not walking.any():
        return
    # Lengths counted down from the longest, in 16 bits: a stable sort of them is a radix sort.
    longest = int(steps.max())
    down = (longest - steps[walking]).astype(np.uint16 if longest < 1 << 16 else np.int64)
    order = np.flatnonzero(walking)[np.argsort(down, kind="stable")]
    length = steps[order]
    row = first_row[who[order]] + 1 + at[order]
    span, goal = span[order], goal[order].astype(np.intp)
    clock = enter[who[order]] + t0[order]
    pace = span // length  # whole seconds per step; exact on every normal walk
    current = start[order].astype(np.intp)  # index-sized: table lookups need no conversion
    still = np.searchsorted(-length, -np.arange(int(length[0])), side="left")
    tosses = rng.integers(0, 256, int(length.sum()), dtype=np.uint16)
    used = 0
    for active in still.tolist():
        current[:active] = router.next_step(current[:active], goal[:active], tosses[used : used + active])
        used += active
        clock[:active] += pace[:active]
        cell[row[:active]] = current[:active]
        ts[row[:active]] = clock[:active]
        row[:active] += 1
    hurried = np.flatnonzero(pace * length != span)
    if hurried.size:
        steps_h = length[hurried]
        j = _segment_rows(np.zeros(len(hurried), np.int64), steps_h) + 1
        first = row[hurried] - steps_h
        base = clock[hurried] - pace[hurried] * steps_h
        rows = _segment_rows(first, steps_h)
        ts[rows] = np.repeat(base, steps_h) + (j * np.repeat(span[hurried], steps_h)) // np.repeat(
            steps_h, steps_h
        )


def _segment_rows(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Row numbers ``starts[i] + 0 .. lengths[i]-1`` for every segment, concatenated."""
    total = int(lengths.sum())
    seg_first = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) + np.repeat(starts - seg_first, lengths)


def _add_focus(
    columns: dict[str, np.ndarray], threshold: int, spare: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Add a focus event, ranked into place, to every stay in one department that lasts past ``threshold`` s.

    A stay is a run of a visit's consecutive events in the same department; it ends at the next
    event (there always is one: the exit is outside every department). The focus event goes
    right after the last event at or before the moment the threshold is reached, at its cell.
    """
    ts, dep, visit = columns["ts"], columns["dep"], columns["visit"]
    if "rank" not in columns:
        columns["rank"] = 2 * np.arange(len(ts), dtype=np.int64)
    if not len(ts):
        return columns
    inside = dep >= 0
    starts = np.flatnonzero(inside & (dep != np.r_[-1, dep[:-1]]))
    ends = np.flatnonzero(inside & (dep != np.r_[dep[1:], -1]))
    when = ts[starts] + threshold
    hit = ts[ends + 1] > when
    if not hit.any():
        return columns
    starts, when, ends = starts[hit], when[hit], ends[hit]
    # The slot after the last event of the stay at or before the focus moment: stays are a
    # few events long, so step forward from their start until the next event is later.
    slot = starts + 1
    going = np.arange(len(slot))  # the stays whose slot may still move on
    while going.size:
        at = slot[going]
        going = going[(at <= ends[going]) & (ts[np.minimum(at, len(ts) - 1)] <= when[going])]
        slot[going] += 1
    # The focus events are appended, not merged: their ``rank`` puts each one between the
    # event it follows and the next, and the engine's time sort places them from it.
    fresh = {"ts": when, "cell": columns["cell"][slot - 1], "event": np.full(len(slot), FOCUS, np.int8)}
    fresh.update({"visit": visit[starts], "dep": dep[starts], "rank": 2 * slot.astype(np.int64) - 1})
    total, more = len(ts), len(slot)
    if spare is not None and total + more <= len(spare["ts"]):
        # Written into the room left after the columns' rows: nothing is copied.
        for name, values in fresh.items():
            spare[name][total : total + more] = values
        return {name: spare[name][: total + more] for name in columns}
    return {name: np.concatenate([values, fresh[name]]) for name, values in columns.items()}
