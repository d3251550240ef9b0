"""Calibration: settings estimated from a store's own enter/move/exit log.

A user with a real log (the same columns as ours: ``ts``, ``event``, ``customer_id``, ``x``,
``y`` and, when known, ``visit`` and ``dep``) can have the simulator imitate it. :func:`fit_events`
reads off the log what the settings mean (by setting name; the file keys them by
environment variable):

- ``arrival_profile``: enters per hour of the week (168 weights) when the log covers six days or
  more, else per hour of the day (24), each divided by how often that hour occurs in the log;
- ``mean_visit_minutes``: the mean time from enter to exit of the visits seen whole;
- ``customers_average_in_store``: arrivals per second times the mean visit (Little's law);
- ``walk_seconds_per_cell``: the most common time between two moves of a visit (a walking step);
- ``dwell_mean_seconds``, ``dwell_spread`` and ``pace_spread``: the times between two moves of a
  visit inside one department that are longer than a walking step are dwells; their mean, their
  spread within a visit (relative to the visit's own mean dwell) and the spread of the visits'
  mean dwells (log sd) — which is how the engine draws them;
- ``attractions`` (with a ``dep`` column): how often each department is a stop (a
  stay of a visit in it with at least one dwell, corrected for two stops in a row in one
  department reading as one stay), scaled so that the mean is 1.

:func:`settings_toml` writes them as a TOML file of environment-variable-named keys, which
``customersim generate --settings FILE`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from customersim.config import SETTINGS
from customersim.profiles import HOURS_PER_WEEK, profile_hour

_env = SETTINGS.env
# Below this many whole visits the estimates say little.
MIN_VISITS = 20


@dataclass(frozen=True)
class Fit:
    """Settings estimated from a log, by environment variable, and how many visits they rest on."""

    settings: dict[str, object]
    visits: int
    hours: float


def _epoch_seconds(ts: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(ts):
        return (
            (ts.dt.tz_localize(None) if ts.dt.tz is not None else ts)
            .to_numpy("datetime64[s]")
            .astype(np.int64)
        )
    return ts.to_numpy(np.int64)


def fit_events(frame: pd.DataFrame, profile_hours: int | None = None) -> Fit:
    """Estimate the settings of a log (see the module docstring).

    Args:
        frame: an events frame.
        profile_hours: 24 or 168 weights; None: 168 when the log spans six days or more.

    Raises:
        ValueError: the log has too few whole visits; the message says how many.
    """
    ts = _epoch_seconds(frame["ts"])
    event = frame["event"].astype(object).to_numpy()
    if "visit" in frame.columns:
        visit = frame["visit"].to_numpy(np.int64)
    else:
        # Without visit numbers, a customer's events from an enter to the next exit are a visit.
        customer = frame["customer_id"].astype(str).to_numpy()
        order = np.lexsort((ts, customer))
        starts = np.zeros(len(ts), dtype=np.int64)
        starts[order] = np.cumsum(
            (event[order] == "enter") | np.r_[True, customer[order][1:] != customer[order][:-1]]
        )
        visit = starts
    start, end = int(ts.min()), int(ts.max()) + 1
    span = end - start
    enter_at = pd.Series(ts[event == "enter"], index=visit[event == "enter"])
    exit_at = pd.Series(ts[event == "exit"], index=visit[event == "exit"])
    whole = enter_at.index.intersection(exit_at.index)
    if len(whole) < MIN_VISITS:
        raise ValueError(
            f"the log has {len(whole)} whole visits (an enter and an exit); at least {MIN_VISITS} are needed"
        )
    length = exit_at[whole].to_numpy() - enter_at[whole].to_numpy()
    mean_visit = float(length.mean())
    settings: dict[str, object] = {}

    first_hour, last_hour = start // 3600, (end - 1) // 3600
    # A week's log may begin after Monday's first hour and end before Sunday's last (a closed
    # store records nothing at night): six days or more already tell the days apart.
    hours = profile_hours or (HOURS_PER_WEEK if last_hour - first_hour + 1 >= 6 * 24 else 24)
    every_hour = np.arange(first_hour, last_hour + 1)
    present = np.bincount(profile_hour(every_hour, hours), minlength=hours).astype(np.float64)
    arrivals = np.bincount(profile_hour(enter_at.to_numpy() // 3600, hours), minlength=hours).astype(
        np.float64
    )
    rate = np.divide(arrivals, present, out=np.zeros(hours), where=present > 0)
    weights = rate / rate.mean() if rate.sum() > 0 else np.ones(hours)
    settings[_env("arrival_profile")] = [round(float(w), 3) for w in weights]
    settings[_env("mean_visit_minutes")] = round(mean_visit / 60, 3)
    settings[_env("customers_average_in_store")] = round(len(enter_at) / span * mean_visit, 3)

    moves = event == "move"
    order = np.lexsort((ts, visit))
    o_visit, o_ts, o_move = visit[order], ts[order], moves[order]
    pair = (o_visit[1:] == o_visit[:-1]) & o_move[1:] & o_move[:-1]
    gap = (o_ts[1:] - o_ts[:-1])[pair]
    walk = int(np.bincount(gap[gap > 0]).argmax()) if (gap > 0).any() else 1
    settings[_env("walk_seconds_per_cell")] = walk
    dwelling = pair & (o_ts[1:] - o_ts[:-1] > walk)
    if "dep" in frame.columns:
        dep = frame["dep"].astype(object).fillna("").to_numpy()[order]
        same_dep = (dep[1:] == dep[:-1]) & (dep[1:] != "")
        dwelling &= same_dep
    dwell = (o_ts[1:] - o_ts[:-1])[dwelling].astype(np.float64)
    owner = o_visit[:-1][dwelling]
    if len(dwell) >= MIN_VISITS:
        table = pd.DataFrame({"visit": owner, "dwell": dwell})
        grouped = table.groupby("visit")["dwell"]
        size, own_mean = grouped.transform("size").to_numpy(), grouped.transform("mean").to_numpy()
        many = size >= 5
        relative = dwell[many] / own_mean[many]
        # A visit's own mean takes part of each dwell's deviation: n / (n - 1) gives it back.
        correction = np.sqrt(np.mean(size[many] / (size[many] - 1)))
        # Each visit's mean dwell counts once: a quick shopper fits more dwells into a visit, so
        # a mean over all dwells would lean towards the quick.
        settings[_env("dwell_mean_seconds")] = round(float(grouped.mean().mean()), 2)
        settings[_env("dwell_spread")] = round(float(relative.std() * correction), 3)
        means = grouped.mean()[grouped.size() >= 5]
        counts = grouped.size()[grouped.size() >= 5]
        spread = float(settings[_env("dwell_spread")])
        # The log sd of visits' mean dwells, less what a visit's few dwells add by chance.
        log_var = float(np.var(np.log(means.to_numpy()))) - float(
            np.mean(np.log1p(spread**2 / counts.to_numpy()))
        )
        settings[_env("pace_spread")] = round(max(log_var, 0.0) ** 0.5, 3)

    if "dep" in frame.columns:
        dep_all = frame["dep"].astype(object).fillna("").to_numpy()[order]
        # A stop: a run of a visit's moves in one department holding at least one dwell.
        run_start = np.r_[True, (o_visit[1:] != o_visit[:-1]) | (dep_all[1:] != dep_all[:-1])]
        run_id = np.cumsum(run_start) - 1
        has_dwell = np.zeros(run_id[-1] + 1, dtype=bool)
        has_dwell[run_id[1:][dwelling]] = True
        stop_dep = dep_all[run_start][has_dwell]
        counts = pd.Series(stop_dep[stop_dep != ""]).value_counts()
        if len(counts):
            # Two stops running in one department read as one stay: a department chosen with
            # probability p starts a stay with probability p (1 - p); undo that, to a fixed point.
            runs = counts.to_numpy(np.float64)
            share = runs / runs.sum()
            for _ in range(50):
                share = runs / (1 - np.minimum(share, 0.99))
                share /= share.sum()
            counts = pd.Series(share / share.mean(), index=counts.index)
            settings[_env("attractions")] = {
                str(k): round(float(v), 3) for k, v in counts.sort_index().items()
            }
    return Fit(settings, len(whole), span / 3600)


def settings_toml(fit: Fit, source: str) -> str:
    """The fitted settings as TOML text with environment-variable-named keys."""
    lines = [
        f"# Settings fitted by customersim fit from {source}: {fit.visits} whole visits over "
        f"{fit.hours:.1f} hours.",
        "# Use them with: customersim generate --settings THIS_FILE (flags given there still win).",
    ]
    for key, value in fit.settings.items():
        if isinstance(value, dict):
            text = ",".join(f"{k}={v}" for k, v in value.items())
            lines.append(f'{key} = "{text}"')
        elif isinstance(value, list):
            lines.append(f'{key} = "{",".join(repr(v) for v in value)}"')
        else:
            lines.append(f"{key} = {value!r}")
    return "\n".join(lines) + "\n"
