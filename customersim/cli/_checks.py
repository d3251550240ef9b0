"""Checks of command-line input that must pass before a command starts anything.

A flag's value is checked when the command line is parsed (argparse then prints one line that
names the flag), and the extra payload fields a user asks for are checked against the columns
of the events before the first message goes out: a mistake found by the publishing thread
would come too late, after part of the data was sent.
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from customersim.errors import UserError, excerpt

if TYPE_CHECKING:
    import pandas as pd


def seconds_above_0(text: str) -> float:
    """argparse type: a number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        value, text = math.nan, excerpt(text)
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} is not allowed: expected a number of seconds above 0")
    return value


def with_fields_checked(frames: Iterable[pd.DataFrame], fields: Sequence[str]) -> Iterator[pd.DataFrame]:
    """The frames, once the first shows that it has every column named in ``fields``.

    Raises:
        UserError: (before the first frame is handed on) a field is not a column of the events.
    """
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        return iter(())
    missing = [name for name in fields if name not in first.columns]
    if missing:
        raise UserError(
            f"--extra-fields {excerpt(','.join(missing))} is not allowed: the events have no such "
            f"column (they have {', '.join(map(str, first.columns))})"
        )
    return itertools.chain([first], frames)
