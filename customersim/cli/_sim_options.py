"""Command-line flags for the simulation settings, shared by every subcommand that simulates.

Each flag defaults to ``None`` so that the environment (read by :meth:`SimConfig.from_env`)
supplies the default and a flag given on the command line wins.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from customersim.config import SETTINGS, SimConfig

# flag name, SimConfig field, metavar
_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("--width", "width", "CELLS"),
    ("--height", "height", "CELLS"),
    ("--average-inside", "customers_average_in_store", "N"),
    ("--mean-visit-minutes", "mean_visit_minutes", "MIN"),
    ("--dwell-mean-seconds", "dwell_mean_seconds", "S"),
    ("--dwell-spread", "dwell_spread", "CV"),
    ("--pace-spread", "pace_spread", "SD"),
    ("--walk-seconds-per-cell", "walk_seconds_per_cell", "S"),
    ("--door", "door", "X,Y"),
    ("--neighbourhood", "neighbourhood", "4|8"),
    ("--start", "start", "TIME"),
    ("--hours", "hours", "H"),
    ("--seed", "seed", "N"),
    ("--customers", "customers_file", "CSV"),
    ("--arrival-profile", "arrival_profile", "W0,...,W23"),
)


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per :class:`SimConfig` setting (strings; SimConfig validates them)."""
    group = parser.add_argument_group("simulation settings (default: environment, then built-in)")
    for flag, name, metavar in _FLAGS:
        setting = SETTINGS[name]
        group.add_argument(
            flag, dest=f"sim_{name}", metavar=metavar, default=None, help=f"{setting.help} [{setting.env}]"
        )


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> SimConfig:
    """The config of the environment with the flags given on the command line applied."""
    overrides = {name: getattr(args, f"sim_{name}", None) for _, name, _ in _FLAGS}
    return SimConfig.from_env(environ, **overrides)
