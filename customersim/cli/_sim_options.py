"""Command-line flags for the simulation settings, shared by every subcommand that simulates.

One flag per row of the simulation settings table (its flag name, metavar and help come from
the row). Each flag defaults to ``None`` so that the environment (read by
:meth:`SimConfig.from_env`) supplies the default and a flag given on the command line wins.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from customersim.config import SETTINGS, SimConfig


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per :class:`SimConfig` setting (strings; SimConfig validates them)."""
    group = parser.add_argument_group("simulation settings (default: environment, then built-in)")
    for name, setting in SETTINGS.items():
        if setting.flag:
            setting.add_flag(group, dest=f"sim_{name}")


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> SimConfig:
    """The config of the environment with the flags given on the command line applied."""
    overrides = {
        name: getattr(args, f"sim_{name}", None) for name, setting in SETTINGS.items() if setting.flag
    }
    return SimConfig.from_env(environ, **overrides)
