"""Arrival profiles: how the arrival rate rises and falls over a day or a week.

A profile is 24 weights (one per UTC hour, every day alike) or 168 (one per hour of the week,
Monday 00:00 to Sunday 23:00 UTC). Only the shape matters: the engine divides the weights by
their mean, so the average over the profile's period still meets the target number inside.

Named presets:

- ``flat``: every hour alike.
- ``shop-day``: a store open from about 06:00 to 23:00 with a midday and a late-afternoon high.
- ``supermarket-week``: a hand-made week, not fitted to any data set. Its shape follows
  published qualitative findings: the Time Use Institute's analyses of the American Time Use
  Survey report Saturday as the busiest grocery-shopping day and weekday shopping peaking in
  the late afternoon and early evening, after work. Within that, the numbers are our choice:
  weekdays alike with a peak at 17:00-18:00, Friday a little busier (x1.1), Saturday busiest
  (x1.45) with its peak late in the morning, Sunday between (x1.2).
"""

from __future__ import annotations

from typing import Any

HOURS_PER_WEEK = 168
# The days of a profile's week, in its order.
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_SHORT = tuple(day[:3] for day in WEEKDAYS)  # for labels: Mon .. Sun
# The epoch (1970-01-01) was a Thursday: hour 0 of the epoch is hour 72 of a Monday-based week.
EPOCH_HOUR_OF_WEEK = 72

SHOP_DAY: tuple[float, ...] = (
    *(0, 0, 0, 0, 0, 0, 0.2, 0.6, 1, 1.2, 1.4, 1.6),
    *(1.8, 1.6, 1.4, 1.4, 1.6, 1.9, 2, 1.6, 1, 0.5, 0.2, 0),
)
_WEEKDAY = (
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0.3,
    0.6,
    0.8,
    0.9,
    1.0,
    1.2,
    1.1,
    1.0,
    1.1,
    1.5,
    1.9,
    2.0,
    1.6,
    1.1,
    0.6,
    0.2,
    0,
)
_WEEKEND = (
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0.1,
    0.5,
    1.1,
    1.6,
    1.9,
    2.0,
    1.9,
    1.7,
    1.5,
    1.4,
    1.3,
    1.1,
    0.8,
    0.5,
    0.3,
    0.1,
    0,
)
# Each day's total relative to a Monday, Monday to Sunday.
_DAY_TOTALS = (1.0, 1.0, 1.0, 1.0, 1.1, 1.45, 1.2)


def _supermarket_week() -> tuple[float, ...]:
    # Plain Python: the settings table imports this module, and start-up stays free of numpy.
    weights = []
    for day, total in enumerate(_DAY_TOTALS):
        shape = _WEEKEND if day >= 5 else _WEEKDAY
        weights += [round(w / sum(shape) * total * 24, 4) for w in shape]
    return tuple(weights)


PRESETS: dict[str, tuple[float, ...]] = {
    "flat": (1.0,) * 24,
    "shop-day": SHOP_DAY,
    "supermarket-week": _supermarket_week(),
}


def profile_hour(epoch_hours: Any, length: int) -> Any:
    """Index into a profile of ``length`` weights (24 or 168) of UTC hours since the epoch (int or array)."""
    return (epoch_hours + EPOCH_HOUR_OF_WEEK) % length
