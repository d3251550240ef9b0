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
