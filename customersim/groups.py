"""Groups: shoppers who come in twos and threes, enter together and keep together.

A share of arrivals (``group_share``) are groups: a couple, a parent with a grown child,
friends. A group is one *party*: it makes one trip, drawn for its first member (the leader),
and queues and pays at the checkout once. Each further member is a customer of the list with
their own visit and events: the leader's events, each one a few seconds later (member ``j``
follows ``lag_j`` seconds behind, 1-3 s more for each member), on the same cells. So members
enter, move and leave within a few seconds of each other and obey every journey rule their
leader obeys.

The engine counts people, not parties, for Little's law: a group of ``g`` adds ``g`` visits.
"""

from __future__ import annotations

import numpy as np

# Of groups, this share has three members and the rest two (pairs are the usual group).
THREE_SHARE = 0.25
# Each member follows the one before by 1 to this many seconds.
MAX_STEP_LAG = 3
# The most a member can trail the leader.
MAX_LAG = 2 * MAX_STEP_LAG


def mean_party_size(share: float) -> float:
    """People per arrival when ``share`` of arrivals are groups."""
    return 1.0 + share * (1.0 + THREE_SHARE)


def party_sizes(uniform: np.ndarray, share: float) -> np.ndarray:
    """Party sizes (int64: 1, 2 or 3) from uniforms in [0, 1)."""
    size = np.ones(len(uniform), dtype=np.int64)
    size[uniform < share] = 2
    size[uniform < share * THREE_SHARE] = 3
    return size


def member_lags(rng: np.random.Generator, sizes: np.ndarray) -> np.ndarray:
    """Every person's lag behind their party's leader (int64 seconds), party after party.

    The leader's lag is 0; each further member trails the one before by 1 to
    :data:`MAX_STEP_LAG` seconds.
    """
    total = int(sizes.sum())
    step = rng.integers(1, MAX_STEP_LAG + 1, total).astype(np.int64)
    first = np.cumsum(sizes) - sizes
    step[first] = 0
    lag = np.cumsum(step)
    return lag - np.repeat(lag[first], sizes)


def with_members(columns: dict[str, np.ndarray], party: np.ndarray, lag: np.ndarray) -> dict[str, np.ndarray]:
    """A block's time-sorted events of party trips, with each member's copy added.

    Args:
        columns: event columns sorted by time, then trip, then step (``ts`` and ``visit``
            among them); ``visit`` is the party's index.
        party: int64 (parties, 3): the visit index of each party's leader and members (-1:
            none).
        lag: int64 (parties, 3): each member's lag behind the leader.

    Returns:
        The columns with ``visit`` the block's visit index and the members' events added,
        sorted by time, then visit, then step.
    """
    trip = columns["visit"]
    parts = [dict(columns, visit=party[trip, 0].astype(trip.dtype))]
    for slot in (1, 2):
        rows = np.flatnonzero(party[trip, slot] >= 0)
        if not rows.size:
            continue
        copy = {name: values[rows] for name, values in columns.items()}
        copy["ts"] = copy["ts"] + lag[copy["visit"], slot]
        copy["visit"] = party[copy["visit"], slot].astype(trip.dtype)
        parts.append(copy)
    if len(parts) == 1:
        return parts[0]
    ts = np.concatenate([part["ts"] for part in parts])
    # A stable sort by (time, visit) keeps each visit's steps in order: they come from one part.
    key = ((ts - ts.min()) << 32) | np.concatenate([part["visit"] for part in parts]).astype(np.int64)
    order = np.argsort(key, kind="stable")
    del key
    # Column by column, so that only one column's unsorted copy exists at a time.
    return {name: np.concatenate([part[name] for part in parts])[order] for name in columns}
