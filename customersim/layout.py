"""The store's floor: which cells can be walked, where the doors are, and how to get around.

A :class:`StoreLayout` holds the tables the vectorized engine reads: a walkable-cell mask, the
entrance and exit doors, the checkout cells, the department of every cell, a neighbour table
over the mask (a diagonal step never cuts the corner of a shelf: both side cells must be
walkable), each cell's walking distance to the nearest exit, and a :class:`Router` that gives
shortest walking distances and next steps between any two cells, for all shoppers at once.
It is built from a :class:`~customersim.floorplan.Floorplan` (a map file, or the ``open``
rectangle of today's settings).

Cells are numbered ``y * width + x``; ``x`` runs along the width and ``y`` along the height,
exactly the ``x`` and ``y`` of a move payload.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from customersim.floorplan import CHECKOUT, ENTRANCE, EXIT, TWO_WAY_DOOR, Floorplan

# Offsets (dx, dy): the four edge neighbours first, then the diagonals.
_EDGE_STEPS = ((1, 0), (0, 1), (-1, 0), (0, -1))
_DIAGONAL_STEPS = ((1, 1), (-1, 1), (-1, -1), (1, -1))
# Open stores up to this many cells walk by table too (one lookup per step); larger ones by rule.
OPEN_TABLE_CELLS = 1024


@dataclass(frozen=True, eq=False)
class StoreLayout:
    """A walkable grid with doors, departments, and the tables the vectorized walk reads.

    Attributes:
        width, height: grid size in cells.
        walkable: bool array of shape (height, width).
        doors: cell numbers of the exit doors (where walks home end).
        neighbours: int32 array (cells, max_degree); row ``c`` lists the walkable neighbours of
            ``c`` first, padded with ``c``.
        degree: int32 array (cells,): how many neighbours each cell has.
        door_distance: int32 array (cells,): steps to the nearest exit (-1: unreachable).
        step_home: int32 array (cells,): the next cell on a shortest path to an exit (an exit
            points to itself).
        entrances: cell numbers of the entrance doors.
        checkouts: cell numbers of the checkout cells (empty: no checkout).
        department: int16 array (cells,): department index of each cell (-1: none).
        departments: department names.
        attraction: float64 array: relative weight of each department as a stop.
        nearest_exit: int32 array (cells,): the exit door a walk home from each cell ends at.
        open: the store is an open rectangle: every walkable cell is a possible stop.
    """

    width: int
    height: int
    walkable: np.ndarray
    doors: np.ndarray
    neighbours: np.ndarray
    degree: np.ndarray
    door_distance: np.ndarray
    step_home: np.ndarray
    entrances: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    checkouts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    department: np.ndarray = field(default_factory=lambda: np.empty(0, np.int16))
    departments: tuple[str, ...] = ()
    attraction: np.ndarray = field(default_factory=lambda: np.empty(0))
    nearest_exit: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    open: bool = True
    neighbourhood: int = 8

    @classmethod
    def build(
        cls,
        width: int,
        height: int,
        doors: list[tuple[int, int]],
        neighbourhood: int = 8,
        walkable: np.ndarray | None = None,
        *,
        entrances: list[tuple[int, int]] | None = None,
        checkouts: list[tuple[int, int]] = (),
        department: np.ndarray | None = None,
        departments: tuple[str, ...] = (),
        attraction: tuple[float, ...] = (),
    ) -> StoreLayout:
        """Build the tables for a grid.

        Args:
            width, height: grid size.
            doors: exit door cells as (x, y); each must be walkable.
            neighbourhood: 4 (edge neighbours) or 8 (with diagonals that cut no corner).
            walkable: optional (height, width) bool mask; all cells when omitted.
            entrances: entrance door cells (default: the same as ``doors``).
            checkouts: checkout cells.
            department: optional (height, width) int array of department indices (-1: none).
            departments, attraction: the departments' names and weights as stops.
        """
        mask = np.ones((height, width), dtype=bool) if walkable is None else np.asarray(walkable, bool)
        steps = _EDGE_STEPS + (_DIAGONAL_STEPS if neighbourhood == 8 else ())
        cells = width * height
        ys, xs = np.divmod(np.arange(cells), width)
        flat_mask = mask.ravel()
        neighbours = np.repeat(np.arange(cells, dtype=np.int32)[:, None], len(steps), axis=1)
        degree = np.zeros(cells, dtype=np.int32)
        for dx, dy in steps:
            nx, ny = xs + dx, ys + dy
            inside = (nx >= 0) & (nx < width) & (ny >= 0) & (ny < height)
            target = np.where(inside, ny * width + nx, 0)
            ok = inside & flat_mask & flat_mask[target]
            if dx and dy:  # a diagonal step needs both side cells free: no cutting a shelf's corner
                side_x = np.where(inside, ys * width + nx, 0)
                side_y = np.where(inside, ny * width + xs, 0)
                ok &= flat_mask[side_x] & flat_mask[side_y]
            rows = np.flatnonzero(ok)
            neighbours[rows, degree[rows]] = target[rows]
            degree[rows] += 1
        door_cells = np.array([y * width + x for x, y in doors], dtype=np.int32)
        distance, step_home, nearest = _distances_to_doors(neighbours, degree, door_cells, cells)
        entrance_cells = (
            door_cells
            if entrances is None
            else np.array([y * width + x for x, y in entrances], dtype=np.int32)
        )
        zone = (
            np.full(cells, -1, np.int16)
            if department is None
            else np.asarray(department, np.int16).ravel().copy()
        )
        return cls(
            width,
            height,
            mask,
            door_cells,
            neighbours,
            degree,
            distance,
            step_home,
            entrance_cells,
            np.array([y * width + x for x, y in checkouts], dtype=np.int32),
            zone,
            tuple(departments),
            np.asarray(attraction, dtype=np.float64),
            nearest,
            not len(departments),
            neighbourhood,
        )

    @classmethod
    def from_floorplan(cls, plan: Floorplan, neighbourhood: int = 8) -> StoreLayout:
        """The tables of a floor plan (see :mod:`customersim.floorplan`)."""
        return _from_floorplan_cached(plan, neighbourhood)

    @property
    def cell_x(self) -> np.ndarray:
        """x of every cell number (int16)."""
        return (np.arange(self.width * self.height) % self.width).astype(np.int16)

    @property
    def cell_y(self) -> np.ndarray:
        """y of every cell number (int16)."""
        return (np.arange(self.width * self.height) // self.width).astype(np.int16)

    @property
    def max_door_distance(self) -> int:
        return int(self.door_distance.max(initial=0))

    @functools.cached_property
    def router(self) -> Router:
        """Shortest walks between any two walkable cells."""
        if self.walkable.all() and self.width * self.height > OPEN_TABLE_CELLS:
            return RectangleRouter(self.width, self.neighbourhood)
        return TableRouter(self)

    @functools.cached_property
    def stop_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Cells a shopper may choose as a stop and the probability of each.

        In an open store every walkable cell is equally likely, so stops spread over the whole
        floor; with departments, a department is chosen by its attraction and then one of its
        cells at random (so each cell carries ``attraction / cells of its department``).
        """
        walkable = np.flatnonzero(self.walkable.ravel()).astype(np.int32)
        if not len(self.departments):
            special = np.isin(walkable, np.concatenate([self.doors, self.entrances, self.checkouts]))
            pool = walkable[~special] if (~special).any() else walkable
            return pool, np.full(len(pool), 1.0 / len(pool))
        cells = np.flatnonzero(self.department >= 0).astype(np.int32)
        zone = self.department[cells]
        sizes = np.bincount(zone, minlength=len(self.departments))
        weight = self.attraction[zone] / sizes[zone]
        return cells, weight / weight.sum()

    @functools.cached_property
    def browse_neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour table for browsing: inside a department only its own cells count.

        Returns ``(neighbours, degree)`` like :attr:`neighbours`; a one-cell department has
        degree 0 (the shopper stays put while browsing).
        """
        cells = self.width * self.height
        table = np.repeat(np.arange(cells, dtype=np.int32)[:, None], self.neighbours.shape[1], axis=1)
        degree = np.zeros(cells, dtype=np.int32)
        for k in range(self.neighbours.shape[1]):
            target = self.neighbours[:, k]
            ok = (k < self.degree) & (self.department[target] == self.department)
            rows = np.flatnonzero(ok)
            table[rows, degree[rows]] = target[rows]
            degree[rows] += 1
        return table, degree

    @functools.cached_property
    def mean_stop_distance(self) -> float:
        """Mean walking distance between two stop cells (sizes the engine's blocks)."""
        cells, _ = self.stop_cells
        pick = cells[np.linspace(0, len(cells) - 1, min(len(cells), 64)).astype(np.int64)]
        a, b = np.repeat(pick, len(pick)), np.tile(pick, len(pick))
        return float(self.router.distance(a, b).mean()) if len(pick) else 0.0

    def home_paths(self, cells: np.ndarray) -> np.ndarray:
        """The shortest paths from ``cells`` to the nearest exit, as a (len(cells), max distance) array.

        Row ``i`` holds the cells visited after leaving ``cells[i]``; entries past the door
        repeat the door.
        """
        depth = int(self.door_distance[cells].max(initial=0))
        paths = np.empty((len(cells), depth), dtype=np.int32)
        current = cells
        for step in range(depth):
            current = self.step_home[current]
            paths[:, step] = current
        return paths


@functools.lru_cache(maxsize=16)
def _from_floorplan_cached(plan: Floorplan, neighbourhood: int) -> StoreLayout:
    return StoreLayout.build(
        plan.width,
        plan.height,
        plan.cells_of(EXIT, TWO_WAY_DOOR),
        neighbourhood,
        plan.walkable,
        entrances=plan.cells_of(ENTRANCE, TWO_WAY_DOOR),
        checkouts=plan.cells_of(CHECKOUT),
        department=plan.department,
        departments=plan.departments,
        attraction=plan.attraction,
    )


class Router:
    """Shortest walks: ``distance(a, b)`` in steps and ``next_step(a, b, toss)``, over arrays.

    Between two cells there are usually many shortest paths. Each step picks one of two next
    cells: one that favours straight steps and one that favours diagonals (with 4 neighbours:
    x first or y first). ``toss`` (a uniform byte per walker) picks the second with probability
    ``minor / major`` of the remaining offsets, which makes every monotone shortest path in an
    open floor equally likely: shoppers spread round the straight line to their goal instead
    of all treading the same diagonal. Without ``toss`` the straight-first cell is taken.
    """

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def next_step(self, a: np.ndarray, b: np.ndarray, toss: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError


def _second_choice_odds(ax, ay, bx, by, neighbourhood: int) -> np.ndarray:
    """Probability (x256, as uint16) of taking the diagonal-first (or y-first) next step."""
    dx, dy = np.abs(bx - ax), np.abs(by - ay)
    if neighbourhood == 8:
        odds = np.minimum(dx, dy) * 256 // np.maximum(np.maximum(dx, dy), 1)
    else:
        odds = dy * 256 // np.maximum(dx + dy, 1)
    return odds.astype(np.uint16)


class RectangleRouter(Router):
    """A large open rectangle needs no tables: the next step follows from the offsets."""

    def __init__(self, width: int, neighbourhood: int):
        self.width, self.neighbourhood = width, neighbourhood

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ay, ax = np.divmod(np.asarray(a, np.int64), self.width)
        by, bx = np.divmod(np.asarray(b, np.int64), self.width)
        dx, dy = np.abs(bx - ax), np.abs(by - ay)
        return (np.maximum(dx, dy) if self.neighbourhood == 8 else dx + dy).astype(np.int32)

    def next_step(self, a: np.ndarray, b: np.ndarray, toss: np.ndarray | None = None) -> np.ndarray:
        ay, ax = np.divmod(a, self.width)
        by, bx = np.divmod(b, self.width)
        sx, sy = np.sign(bx - ax), np.sign(by - ay)
        second = (
            toss < _second_choice_odds(ax, ay, bx, by, self.neighbourhood)
            if toss is not None
            else np.zeros(len(a), bool)
        )
        dx, dy = np.abs(bx - ax), np.abs(by - ay)
        if self.neighbourhood == 4:
            y_step = (sx == 0) | (second & (sy != 0))
            sx, sy = np.where(y_step, 0, sx), np.where(y_step, sy, 0)
        else:
            # Straight along the longer offset, or diagonally (always when both are equal).
            diagonal = second | (dx == dy)
            sx = np.where(diagonal | (dx > dy), sx, 0)
            sy = np.where(diagonal | (dy > dx), sy, 0)
        return (a + sx + sy * self.width).astype(np.int32)


class TableRouter(Router):
    """All-pairs tables over the cells of a floor plan (a few thousand cells at most).

    ``dist[a, b]`` is the number of steps between cells ``a`` and ``b``; ``hops[k, a, b]`` the
    first cell after ``a`` on a shortest path to ``b``: for ``k = 0`` the first such neighbour
    in neighbour order (edges first), for ``k = 1`` the last (diagonals first); ``odds[a, b]``
    the chance (x256) of taking the second. Built by one breadth-first search from all
    walkable cells at once; a walk then costs two table lookups per step.
    """

    def __init__(self, layout: StoreLayout):
        cells = np.flatnonzero(layout.walkable.ravel())
        n = len(cells)
        index = np.full(layout.width * layout.height, -1, np.int32)
        index[cells] = np.arange(n, dtype=np.int32)
        k = layout.neighbours.shape[1]
        valid = np.arange(k)[None, :] < layout.degree[cells][:, None]
        near = index[layout.neighbours[cells]]  # compact neighbours (padding: itself)
        dist = np.full((n, n), -1, np.int16)
        np.fill_diagonal(dist, 0)
        frontier = np.eye(n, dtype=bool)
        level = 0
        while True:
            level += 1
            reached = np.zeros((n, n), dtype=bool)
            for j in range(k):
                rows = np.flatnonzero(valid[:, j])
                reached[rows] |= frontier[near[rows, j]]
            reached &= dist < 0
            if not reached.any():
                break
            dist[reached] = level
            frontier = reached
        size = layout.width * layout.height
        full = np.ix_(cells, cells)
        self.size = size
        self.dist = np.full((size, size), -1, np.int16)
        self.dist[full] = dist
        hops = np.repeat(np.arange(size, dtype=np.int16)[:, None], size, axis=1)[None].repeat(2, axis=0)
        for side, columns in enumerate((range(k), range(k - 1, -1, -1))):
            hop = np.full((n, n), -1, np.int32)
            for j in columns:
                rows = np.flatnonzero(valid[:, j])
                closer = dist[near[rows, j]] == dist[rows] - 1
                sub = hop[rows]
                take = closer & (sub < 0)
                sub[take] = np.broadcast_to(near[rows, j][:, None], sub.shape)[take]
                hop[rows] = sub
            np.fill_diagonal(hop, np.arange(n))
            hops[side][full] = cells[hop]
        ys, xs = np.divmod(np.arange(size), layout.width)
        odds = _second_choice_odds(xs[:, None], ys[:, None], xs[None, :], ys[None, :], layout.neighbourhood)
        if layout.neighbourhood == 4:
            # The second table's step may go along x or along y depending on the quadrant:
            # give it the odds of the axis it steps along.
            along_y = np.abs(hops[1].astype(np.int32) - np.arange(size)[:, None]) == layout.width
            odds = np.where(along_y, odds, 256 - odds).astype(np.uint16)
            odds[hops[0] == hops[1]] = 0
        self.hops = hops.reshape(-1)
        self.odds = odds.ravel()

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.dist[a, b].astype(np.int32)

    def next_step(self, a: np.ndarray, b: np.ndarray, toss: np.ndarray | None = None) -> np.ndarray:
        flat = a * self.size + b
        if toss is not None:
            flat += (toss < self.odds[flat]) * (self.size * self.size)
        return self.hops[flat]


def _distances_to_doors(
    neighbours: np.ndarray, degree: np.ndarray, doors: np.ndarray, cells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breadth-first search from all doors at once, one frontier per distance.

    Returns each cell's distance, its next cell towards a door, and which door that is.
    """
    distance = np.full(cells, -1, dtype=np.int32)
    step_home = np.arange(cells, dtype=np.int32)
    nearest = np.arange(cells, dtype=np.int32)
    distance[doors] = 0
    frontier = np.unique(doors)
    level = 0
    columns = np.arange(neighbours.shape[1])
    while frontier.size:
        level += 1
        candidates = neighbours[frontier]
        valid = columns[None, :] < degree[frontier][:, None]
        targets = candidates[valid]
        parents = np.broadcast_to(frontier[:, None], candidates.shape)[valid]
        fresh = distance[targets] < 0
        targets, parents = targets[fresh], parents[fresh]
        # The first parent found for a cell wins, so paths are deterministic.
        targets, first = np.unique(targets, return_index=True)
        distance[targets] = level
        step_home[targets] = parents[first]
        nearest[targets] = nearest[parents[first]]
        frontier = targets
    return distance, step_home, nearest
