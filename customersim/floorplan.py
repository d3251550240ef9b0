"""Floor plans a person can write: a store drawn as text in a TOML file.

A floor plan is a map with one character per sensor cell. The first line of the map is the
*highest* ``y`` and the last line is ``y = 0``, so the text looks like the heatmap of the store
(``x`` grows to the right, ``y`` grows upwards)::

    name = "corner shop"
    map = '''
    ##########
    #AAA..BBB#
    #AAA..BBB#
    #........#
    #..$$....#
    ####>#<###
    '''

    [departments]
    A = "Fruit"
    B = { name = "Bread", attraction = 2 }

The legend (each symbol can be changed in a ``[legend]`` table with the keys ``floor``,
``wall``, ``entrance``, ``exit``, ``door``, ``checkout``):

=======  =====================================================================
``.``    floor: walkable, no department
``#``    shelf or wall: never walked on
``>``    entrance door (visits enter here)
``<``    exit door (visits leave here)
``+``    a door that is both entrance and exit
``$``    checkout: shoppers pay here before leaving
letter   a department (walkable), named in ``[departments]``; ``attraction`` (default 1)
         weighs how often shoppers choose it as a stop
=======  =====================================================================

Every walkable cell must be reachable from an entrance by edge steps (so the store works with
4 and with 8 neighbours), there must be an entrance and an exit, and every department named in
``[departments]`` needs at least one cell. Mistakes are reported as :class:`LayoutError` with
the file, line and column.

The shipped layouts live in ``customersim/layouts/*.toml``; ``open`` is not a file but today's
empty rectangle of the configured width x height with the door at the configured door cell.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from customersim.errors import LayoutError

if TYPE_CHECKING:
    import numpy as np

OPEN = "open"
# Maps carry all-pairs tables of (width x height)^2 entries: a few tens of MB at most.
MAX_MAP_CELLS = 2500
DEFAULT_LEGEND = {"floor": ".", "wall": "#", "entrance": ">", "exit": "<", "door": "+", "checkout": "$"}
# Kinds of cell in a floor plan's ``kind`` array.
FLOOR, WALL, ENTRANCE, EXIT, TWO_WAY_DOOR, CHECKOUT, DEPARTMENT = range(7)


@dataclass(frozen=True, eq=False)
class Floorplan:
    """A parsed floor plan, with rows indexed by ``y`` (row 0 is ``y = 0``, the map's last line).

    Attributes:
        name: the layout's name.
        width, height: grid size in cells.
        kind: int8 array (height, width) of FLOOR, WALL, ENTRANCE, EXIT, TWO_WAY_DOOR, CHECKOUT or
            DEPARTMENT.
        department: int16 array (height, width): index into ``departments`` (-1: none).
        departments: department names, in the order of the file.
        attraction: relative weight of each department as a stop.
        open: True for the built-in empty rectangle (every cell a possible stop).
    """

    name: str
    width: int
    height: int
    kind: np.ndarray
    department: np.ndarray
    departments: tuple[str, ...]
    attraction: tuple[float, ...]
    open: bool = False

    @property
    def walkable(self) -> np.ndarray:
        return self.kind != WALL

    def cells_of(self, *kinds: int) -> list[tuple[int, int]]:
        """(x, y) of the cells of these kinds, in cell-number order."""
        import numpy as np

        ys, xs = np.nonzero(np.isin(self.kind, kinds))
        return [(int(x), int(y)) for x, y in zip(xs, ys, strict=True)]


def shipped_layouts() -> list[str]:
    """Names of the layouts that come with the package (``open`` first)."""
    folder = resources.files("customersim") / "layouts"
    return [OPEN, *sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))]


@functools.lru_cache(maxsize=32)
def open_floorplan(width: int, height: int, door: tuple[int, int]) -> Floorplan:
    """Today's store: an empty rectangle with one door that is entrance and exit."""
    import numpy as np

    kind = np.full((height, width), FLOOR, dtype=np.int8)
    kind[door[1], door[0]] = TWO_WAY_DOOR
    return Floorplan(OPEN, width, height, kind, np.full((height, width), -1, np.int16), (), (), open=True)


def resolve_layout_path(layout: str) -> Path:
    """The file of a shipped layout's name, or ``layout`` as a path.

    Raises:
        LayoutError: neither a shipped layout nor an existing file.
    """
    if re.fullmatch(r"[A-Za-z0-9_-]+", layout):
        shipped = resources.files("customersim") / "layouts" / f"{layout}.toml"
        if shipped.is_file():
            return Path(str(shipped))
    path = Path(layout).expanduser()
    if not path.is_file():
        raise LayoutError(
            f"{layout!r} is neither a shipped layout ({', '.join(shipped_layouts())}) nor a layout file"
        )
    return path


def load_floorplan(layout: str) -> Floorplan:
    """Read a shipped layout by name or a layout file by path (cached while the file is unchanged).

    Raises:
        LayoutError: the file is missing or wrong; the message names the file, line and column.
    """
    path = resolve_layout_path(layout)
    stat = os.stat(path)
    return _load_cached(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _load_cached(path: str, _mtime: int, _size: int) -> Floorplan:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LayoutError(f"{path}: cannot read the layout file: {error}") from None
    return parse_floorplan(text, source=path)


def parse_floorplan(text: str, source: str = "<layout>") -> Floorplan:
    """Parse the text of a layout file.

    Raises:
        LayoutError: a mistake in the file; the message starts with ``source``, the line and
            the column.
    """
    import numpy as np

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LayoutError(f"{source}: not valid TOML: {error}") from None
    if not isinstance(data.get("map"), str):
        raise LayoutError(f"{source}: no 'map': expected map = '''...''' with one line per row of cells")
    legend = dict(DEFAULT_LEGEND)
    for key, symbol in dict(data.get("legend", {})).items():
        if key not in legend or not isinstance(symbol, str) or len(symbol) != 1 or symbol.isalpha():
            raise LayoutError(
                f"{source}: legend {key} = {symbol!r} is not allowed: expected one of "
                f"{', '.join(legend)} set to a single non-letter character"
            )
        legend[key] = symbol
    departments, attraction = _departments(data.get("departments", {}), source)
    first_line = _map_first_line(text)
    rows = data["map"].split("\n")
    # Leading and trailing blank lines are layout of the TOML string, not of the store.
    lead = 0
    while lead < len(rows) and not rows[lead].strip():
        lead += 1
    rows = [row.rstrip() for row in rows[lead:]]
    while rows and not rows[-1]:
        rows.pop()

    def where(row: int, column: int) -> str:
        line = f"line {first_line + lead + row}" if first_line else f"map line {lead + row + 1}"
        return f"{source}, {line}, column {column + 1}"

    if not rows:
        raise LayoutError(f"{source}: the map is empty")
    width = len(rows[0])
    for r, row in enumerate(rows):
        if len(row) != width:
            raise LayoutError(
                f"{where(r, min(len(row), width))}: ragged map: this row has {len(row)} cells, the "
                f"first row has {width}"
            )
    height = len(rows)
    kinds = {
        legend[name]: code
        for name, code in zip(legend, (FLOOR, WALL, ENTRANCE, EXIT, TWO_WAY_DOOR, CHECKOUT), strict=True)
    }
    letters = {letter: i for i, letter in enumerate(departments)}
    kind = np.empty((height, width), dtype=np.int8)
    department = np.full((height, width), -1, dtype=np.int16)
    for r, row in enumerate(rows):
        y = height - 1 - r
        for column, char in enumerate(row):
            if char in kinds:
                kind[y, column] = kinds[char]
            elif char in letters:
                kind[y, column] = DEPARTMENT
                department[y, column] = letters[char]
            else:
                allowed = ", ".join(f"{s!r} {n}" for n, s in legend.items())
                known = ", ".join(departments) or "none declared"
                raise LayoutError(
                    f"{where(r, column)}: unknown character {char!r}: expected {allowed}, or a "
                    f"department letter from [departments] ({known})"
                )
    names = tuple(departments.values())
    for letter, i in letters.items():
        if not (department == i).any():
            raise LayoutError(
                f"{source}: department {letter} = {names[i]!r} has no cell on the map: draw it with "
                f"the letter {letter!r} or remove it from [departments]"
            )
    if not np.isin(kind, (ENTRANCE, TWO_WAY_DOOR)).any():
        raise LayoutError(
            f"{source}: the map has no entrance: mark one with {legend['entrance']!r} (or "
            f"{legend['door']!r} for a door that is entrance and exit)"
        )
    if not np.isin(kind, (EXIT, TWO_WAY_DOOR)).any():
        raise LayoutError(
            f"{source}: the map has no exit: mark one with {legend['exit']!r} (or {legend['door']!r})"
        )
    walkable = kind != WALL
    if width * height > MAX_MAP_CELLS:
        raise LayoutError(
            f"{source}: the map is {width} x {height} = {width * height} cells: at most "
            f"{MAX_MAP_CELLS} are allowed"
        )
    reached = _reachable(walkable, np.isin(kind, (ENTRANCE, TWO_WAY_DOOR)))
    stranded = walkable & ~reached
    if stranded.any():
        ys, xs = np.nonzero(stranded)
        # Report the first stranded cell in reading order (top line first).
        pick = np.lexsort((xs, -ys))[0]
        y, x = int(ys[pick]), int(xs[pick])
        what = {EXIT: "exit door", TWO_WAY_DOOR: "door", CHECKOUT: "checkout", FLOOR: "floor cell"}.get(
            int(kind[y, x]), "cell"
        )
        if kind[y, x] == DEPARTMENT:
            what = f"department {names[department[y, x]]!r}"
        raise LayoutError(
            f"{where(height - 1 - y, x)}: this {what} at x={x}, y={y} cannot be reached from an "
            f"entrance by edge steps: open a way through the shelves or walls"
        )
    return Floorplan(
        str(data.get("name", Path(source).stem)), width, height, kind, department, names, attraction
    )


def _departments(table, source: str) -> tuple[dict[str, str], tuple[float, ...]]:
    if not isinstance(table, dict):
        raise LayoutError(f'{source}: [departments] must be a table of letter = "Name"')
    names: dict[str, str] = {}
    weights = []
    for letter, value in table.items():
        if len(letter) != 1 or not letter.isalpha() or not letter.isascii():
            raise LayoutError(
                f"{source}: department key {letter!r} is not allowed: expected one letter A-Z or a-z"
            )
        weight = 1.0
        if isinstance(value, dict):
            name, weight = value.get("name"), value.get("attraction", 1.0)
        else:
            name = value
        if not isinstance(name, str) or not name.strip():
            raise LayoutError(f'{source}: department {letter} needs a name: {letter} = "Name"')
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 1e6:
            raise LayoutError(
                f"{source}: department {letter} attraction = {weight!r} is not allowed: expected a "
                f"number above 0"
            )
        names[letter] = name.strip()
        weights.append(float(weight))
    if len(set(names.values())) != len(names):
        raise LayoutError(f"{source}: two departments have the same name: names must be distinct")
    return names, tuple(weights)


def _map_first_line(text: str) -> int:
    """File line number (1-based) of the map's first line, or 0 when it cannot be told."""
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        match = re.match(r"\s*map\s*=\s*('''|\"\"\")(.*)$", line)
        if match:
            # TOML drops a newline right after the opening quotes; otherwise the map starts here.
            return number + 1 if match.group(2) == "" else number
    return 0


def _reachable(walkable: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Cells reachable from ``starts`` by edge steps over walkable cells (flood fill)."""

    reached = starts & walkable
    while True:
        grown = reached.copy()
        grown[1:, :] |= reached[:-1, :]
        grown[:-1, :] |= reached[1:, :]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= walkable
        if (grown == reached).all():
            return reached
        reached = grown
