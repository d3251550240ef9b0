"""Checkout queues: lanes that serve one shopper (or group) at a time, and the lines behind them.

The story at the checkout: a shopper who has finished shopping walks to the checkout area and
arrives there at a moment ``A`` fixed before the trip is built (the visit's length minus the
budgeted wait, the service and the walk out). They join the lane that frees first (when several
are free, one of those at random), so every lane serves in arrival order and no lane idles
while someone waits: the checkouts together are an M/G/c queue. Behind each lane's checkout
cell lies a short line of queue cells (the walkable floor cells straight behind it, away from
the exit); a shopper with ``p`` parties ahead stands ``p`` cells behind the checkout (or at the
last queue cell when the line is longer), steps one cell forward each time a party ahead leaves
the checkout, is served for a time drawn from a gamma distribution
(``checkout_service_seconds``, ``checkout_service_spread``), and walks to the nearest exit.

The lanes are sequential by nature, so :class:`CheckoutQueue` loops over checkout *arrivals*
(one iteration per party, a few lanes each), in arrival order across the engine's blocks: its
state (who is still at each lane) carries from block to block. Everything else here is arrays.

:func:`expected_waits` gives the mean wait of each hour of the arrival profile (the
Allen-Cunneen approximation of M/G/c), which the engine budgets in each visit's length so that
visits keep their drawn length on average; :func:`check_lanes` refuses settings whose busiest
hour would need more lanes than the layout has.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from customersim.errors import CheckoutCapacityError, LayoutError
from customersim.layout import StoreLayout

# At most this many queue cells behind a checkout; longer lines wait at the last one.
QUEUE_CELLS = 4
# A service never takes less than this (a hello, a card tap).
MIN_SERVICE_SECONDS = 10
# Beyond this utilisation of the lanes at the busiest hour, queues grow without bound in
# practice (waits of many service times): the settings are refused.
MAX_UTILISATION = 0.9
_EDGE_STEPS = ((1, 0), (0, 1), (-1, 0), (0, -1))


@dataclass(frozen=True, eq=False)
class Lanes:
    """A layout's checkout lanes and the queue cells behind them.

    Attributes:
        cells: int32 (lanes, QUEUE_CELLS + 1): column 0 the checkout cell, column ``p`` the cell
            of the shopper with ``p`` parties ahead (the last queue cell repeats when a lane
            has fewer).
        depth: int32 (lanes,): queue cells behind each checkout (at least 1).
        out: int64 (lanes,): steps from each checkout to its nearest exit.
        exit_cell: int32 (lanes,): that exit door.
        reach: int32 (lanes * (QUEUE_CELLS + 1), cells): steps from every cell to each lane's
            position ``p`` (row ``lane * (QUEUE_CELLS + 1) + p``).
    """

    cells: np.ndarray
    depth: np.ndarray
    out: np.ndarray
    exit_cell: np.ndarray
    reach: np.ndarray

    def __len__(self) -> int:
        return len(self.depth)


@functools.lru_cache(maxsize=16)
def checkout_lanes(layout: StoreLayout) -> Lanes | None:
    """The lanes of a layout's checkout cells (None: the layout has no checkout).

    A lane's line starts at the checkout's edge neighbour farthest from the exits (the side
    shoppers come from) and runs straight on over plain floor (no department, door or other
    checkout), so queueing never looks like shopping and every step forward is an edge step.

    Raises:
        LayoutError: a checkout has no walkable neighbour to queue on.
    """
    counters = layout.checkouts
    if not len(counters):
        return None
    width, height = layout.width, layout.height
    walkable = layout.walkable.ravel()
    special = np.zeros(width * height, dtype=bool)
    special[np.concatenate([layout.doors, layout.entrances, counters])] = True
    plain = walkable & ~special & (layout.department < 0)
    cells = np.empty((len(counters), QUEUE_CELLS + 1), dtype=np.int32)
    depth = np.zeros(len(counters), dtype=np.int32)
    for lane, counter in enumerate(counters.tolist()):
        y, x = divmod(counter, width)
        best, direction = -1, None
        for relaxed in (False, True):  # plain floor first; any walkable cell if there is none
            for dx, dy in _EDGE_STEPS:
                nx, ny = x + dx, y + dy
                if not (0 <= nx < width and 0 <= ny < height):
                    continue
                cell = ny * width + nx
                fits = plain[cell] or (relaxed and walkable[cell] and not special[cell])
                if fits and layout.door_distance[cell] > best:
                    best, direction = int(layout.door_distance[cell]), (dx, dy)
            if direction is not None:
                break
        if direction is None:
            raise LayoutError(
                f"layout: the checkout at ({x}, {y}) has no walkable cell beside it to queue on: "
                "give it floor on the side shoppers come from"
            )
        line = [counter]
        nx, ny = x, y
        while len(line) <= QUEUE_CELLS:
            nx, ny = nx + direction[0], ny + direction[1]
            if not (0 <= nx < width and 0 <= ny < height):
                break
            cell = ny * width + nx
            if not (plain[cell] or (len(line) == 1 and walkable[cell] and not special[cell])):
                break
            line.append(cell)
        depth[lane] = len(line) - 1
        cells[lane] = line + [line[-1]] * (QUEUE_CELLS + 1 - len(line))
    size = width * height
    everywhere = np.arange(size, dtype=np.int32)
    targets = cells.ravel()
    reach = np.empty((len(targets), size), dtype=np.int32)
    for row, target in enumerate(targets.tolist()):
        reach[row] = layout.router.distance(everywhere, np.full(size, target, dtype=np.int32))
    reach.setflags(write=False)
    return Lanes(
        cells,
        depth,
        layout.door_distance[counters].astype(np.int64),
        layout.nearest_exit[counters].astype(np.int32),
        reach,
    )


def service_times(rng: np.random.Generator, size: int, mean: float, spread: float) -> np.ndarray:
    """Checkout service times (int64 seconds): gamma with the given mean and CV, at least
    :data:`MIN_SERVICE_SECONDS`."""
    shape = 1.0 / (spread * spread)
    draw = rng.standard_gamma(shape, size) * (mean / shape)
    return np.maximum(np.rint(draw), MIN_SERVICE_SECONDS).astype(np.int64)


def erlang_c(lanes: int, offered: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with ``offered = rate * mean service``."""
    if offered <= 0:
        return 0.0
    if offered >= lanes:
        return 1.0
    term, total = 1.0, 1.0  # a^k / k! for k = 0
    for k in range(1, lanes):
        term *= offered / k
        total += term
    term *= offered / lanes
    last = term / (1 - offered / lanes)
    return last / (total + last)


def expected_waits(party_rate: np.ndarray, lanes: int, mean: float, spread: float) -> np.ndarray:
    """Mean wait before service for each hour's arrival rate (parties per second).

    The Allen-Cunneen approximation of the M/G/c queue: the M/M/c wait (Erlang C) times
    ``(1 + cv^2) / 2`` for the service's coefficient of variation ``cv`` (arrivals Poisson).
    """
    waits = np.zeros(len(party_rate))
    for hour, rate in enumerate(np.asarray(party_rate, dtype=np.float64).tolist()):
        offered = rate * mean
        if offered <= 0:
            continue
        if offered >= lanes:
            waits[hour] = math.inf
            continue
        waits[hour] = erlang_c(lanes, offered) * mean / (lanes - offered) * (1 + spread * spread) / 2
    return waits


def check_lanes(peak_party_rate: float, lanes: int, mean_service: float, names: dict[str, str]) -> None:
    """Refuse settings whose busiest hour keeps the lanes busier than :data:`MAX_UTILISATION`.

    Args:
        peak_party_rate: checkout arrivals per second at the busiest hour (parties, not people).
        lanes: the layout's checkout lanes.
        mean_service: seconds a lane is busy with one party.
        names: the settings' variable names, by role, for the message.

    Raises:
        CheckoutCapacityError: the utilisation ``rate x service / lanes`` reaches the limit.
    """
    utilisation = peak_party_rate * mean_service / lanes
    if utilisation < MAX_UTILISATION:
        return
    needed = math.ceil(peak_party_rate * mean_service / MAX_UTILISATION)
    raise CheckoutCapacityError(
        f"the layout's {lanes} checkout lane(s) would be {utilisation:.0%} busy at the busiest hour "
        f"({peak_party_rate * 3600:.0f} checkouts an hour x {mean_service:.0f} s each; at most "
        f"{MAX_UTILISATION:.0%} keeps queues finite): it needs at least {needed} lanes; lower "
        f"{names['inside']} or {names['service']}, raise {names['visit']}, or use a layout with more "
        f"checkouts ({names['layout']})"
    )


class CheckoutQueue:
    """Who is at each lane, carried from block to block; serves parties in arrival order.

    ``ends[k]`` holds the moments the parties at lane ``k`` (being served or waiting) leave it,
    in order; ``last[k]`` is when lane ``k`` frees.
    """

    def __init__(self, lanes: Lanes) -> None:
        self.depth = lanes.depth.tolist()
        self.ends: list[deque[int]] = [deque() for _ in range(len(lanes))]
        self.last = [-(1 << 62)] * len(lanes)

    def copy(self) -> CheckoutQueue:
        twin = CheckoutQueue.__new__(CheckoutQueue)
        twin.depth = list(self.depth)
        twin.ends = [deque(q) for q in self.ends]
        twin.last = list(self.last)
        return twin

    def serve(
        self, arrive: np.ndarray, busy: np.ndarray, service: np.ndarray, pick: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Serve parties that reach the checkout at ``arrive`` (non-decreasing), one by one.

        Args:
            arrive: int64 moments of reaching the checkout area, in order.
            busy: int64 seconds the lane stays taken after the service ends (a group's last
                member leaving the checkout after its leader).
            service: int64 service seconds.
            pick: uniforms in [0, 1) choosing among free lanes.

        Returns:
            ``lane`` (int16), ``start`` and ``done`` (int64: service start and end),
            ``position`` (int16: the queue position joined, at most the lane's depth) and
            ``steps`` (int64 (n, QUEUE_CELLS): the moments of stepping forward, the last one
            onto the checkout at ``start``; unused slots -1).
        """
        n = len(arrive)
        ends, last, depth = self.ends, self.last, self.depth
        lanes = range(len(last))
        # Plain lists while serving: an item written to a numpy array costs several times more.
        lane_of: list[int] = []
        start_of: list[int] = []
        queued: list[tuple[int, int, list[int]]] = []  # (party, cells joined behind, step moments)
        for i, (a, extra, length, u) in enumerate(
            zip(arrive.tolist(), busy.tolist(), service.tolist(), pick.tolist(), strict=True)
        ):
            soonest = min(last)  # when the lane that frees first is busy, every lane is
            if soonest <= a:
                free = [k for k in lanes if last[k] <= a]
                k = free[int(u * len(free))]
                ends[k].clear()
                start = a
            else:
                k = last.index(soonest)
                start = soonest
                line = ends[k]
                while line[0] <= a:
                    line.popleft()
                ahead = len(line)
                joined = min(ahead, depth[k])
                # The last ``joined`` parties ahead free a cell each as they leave.
                queued.append((i, joined, list(line)[ahead - joined :]))
            until = start + length + extra
            ends[k].append(until)
            last[k] = until
            lane_of.append(k)
            start_of.append(start)
        lane_out = np.array(lane_of, dtype=np.int16)
        start_out = np.array(start_of, dtype=np.int64)
        position = np.zeros(n, dtype=np.int16)
        steps = np.full((n, QUEUE_CELLS), -1, dtype=np.int64)
        if queued:
            who, joined, moments = zip(*queued, strict=True)
            who, joined = np.array(who), np.array(joined)
            position[who] = joined
            slot = np.arange(int(joined.sum())) - np.repeat(np.cumsum(joined) - joined, joined)
            steps[np.repeat(who, joined), slot] = list(itertools.chain.from_iterable(moments))
        return {
            "lane": lane_out,
            "start": start_out,
            "done": start_out + service,
            "position": position,
            "steps": steps,
        }
