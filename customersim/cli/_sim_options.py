"""Command-line flags for the simulation settings, shared by every subcommand that simulates.

One flag per row of the simulation settings table (its flag name, metavar and help come from
the row). Each flag defaults to ``None`` so that the environment (read by
:meth:`SimConfig.from_env`) supplies the default and a flag given on the command line wins.
``--settings FILE`` reads a TOML file of environment-variable-named keys (as ``customersim fit``
writes): the file wins over the environment, and flags win over the file.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from customersim.config import SETTINGS, ConfigError, SimConfig


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per :class:`SimConfig` setting (strings; SimConfig validates them)."""
    group = parser.add_argument_group("simulation settings (default: environment, then built-in)")
    for name, setting in SETTINGS.items():
        if setting.flag:
            setting.add_flag(group, dest=f"sim_{name}")
    group.add_argument(
        "--settings",
        dest="sim_settings_file",
        metavar="TOML",
        help="a TOML file of settings named by their environment variables (e.g. from customersim fit); "
        "it wins over the environment and flags win over it",
    )


def read_settings_file(path: str) -> dict[str, str]:
    """The settings of a TOML file as environment-variable text.

    Raises:
        ConfigError: the file cannot be read, is not TOML, or names an unknown variable.
    """
    import tomllib

    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the settings file: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not a TOML settings file: {error}") from None
    known = {setting.env for setting in SETTINGS.values() if setting.env}
    values = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{path}: unknown setting {key!r}; expected one of {', '.join(sorted(known))}")
        if isinstance(value, list):
            text = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = ",".join(f"{k}={v}" for k, v in value.items())
        else:
            text = str(value)
        values[key] = text
    return values


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> SimConfig:
    """The config of the environment with the flags given on the command line applied."""
    overrides = {
        name: getattr(args, f"sim_{name}", None) for name, setting in SETTINGS.items() if setting.flag
    }
    path = getattr(args, "sim_settings_file", None)
    if path:
        environ = {**environ, **read_settings_file(path)}
    return SimConfig.from_env(environ, **overrides)
