"""The store's floor: which cells can be walked, where the doors are, and how to get around.

Today a store is a full rectangle with one door, but the walk never assumes that: it only uses
a walkable-cell mask, a list of door cells, a neighbour table built over the mask and each
cell's walking distance to the nearest door. Walls, shelves, several doors and a checkout will
slot in by building a different :class:`StoreLayout`.

Cells are numbered ``y * width + x``; ``x`` runs along the width and ``y`` along the height,
exactly the ``x`` and ``y`` of a move payload.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Offsets (dx, dy): the four edge neighbours first, then the diagonals.
_EDGE_STEPS = ((1, 0), (0, 1), (-1, 0), (0, -1))
_DIAGONAL_STEPS = ((1, 1), (-1, 1), (-1, -1), (1, -1))


@dataclass(frozen=True)
class StoreLayout:
    """A walkable grid with doors, and the tables the vectorized walk reads.

    Attributes:
        width, height: grid size in cells.
        walkable: bool array of shape (height, width).
        doors: cell numbers of the doors.
        neighbours: int32 array (cells, max_degree); row ``c`` lists the walkable neighbours of
            ``c`` first, padded with ``c``.
        degree: int32 array (cells,): how many neighbours each cell has.
        door_distance: int32 array (cells,): steps to the nearest door (-1: unreachable).
        step_home: int32 array (cells,): the next cell on a shortest path to a door (a door
            points to itself).
    """

    width: int
    height: int
    walkable: np.ndarray
    doors: np.ndarray
    neighbours: np.ndarray
    degree: np.ndarray
    door_distance: np.ndarray
    step_home: np.ndarray

    @classmethod
    def build(
        cls,
        width: int,
        height: int,
        doors: list[tuple[int, int]],
        neighbourhood: int = 8,
        walkable: np.ndarray | None = None,
    ) -> StoreLayout:
        """Build the tables for a grid.

        Args:
            width, height: grid size.
            doors: door cells as (x, y); each must be walkable.
            neighbourhood: 4 (edge neighbours) or 8 (with diagonals).
            walkable: optional (height, width) bool mask; all cells when omitted.
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
            rows = np.flatnonzero(ok)
            neighbours[rows, degree[rows]] = target[rows]
            degree[rows] += 1
        door_cells = np.array([y * width + x for x, y in doors], dtype=np.int32)
        distance, step_home = _distances_to_doors(neighbours, degree, door_cells, cells)
        return cls(width, height, mask, door_cells, neighbours, degree, distance, step_home)

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

    def home_paths(self, cells: np.ndarray) -> np.ndarray:
        """The shortest paths from ``cells`` to the door, as a (len(cells), max distance) array.

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


def _distances_to_doors(
    neighbours: np.ndarray, degree: np.ndarray, doors: np.ndarray, cells: int
) -> tuple[np.ndarray, np.ndarray]:
    """Breadth-first search from all doors at once, one frontier per distance."""
    distance = np.full(cells, -1, dtype=np.int32)
    step_home = np.arange(cells, dtype=np.int32)
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
        frontier = targets
    return distance, step_home
