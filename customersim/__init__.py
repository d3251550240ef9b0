"""customersim: simulate shoppers in a retail store and turn them into data.

A store is a grid of location sensors. Customers from a customer list enter at the door, go
about their visit and leave; each step is an event. The library builds whole journeys as pandas
DataFrames (:func:`simulate`, :func:`simulate_chunks`), checks them (:func:`validate_events`),
measures them (:mod:`customersim.metrics`) and hands them to sinks that write files
(:mod:`customersim.files`) or publish MQTT messages (:mod:`customersim.mqtt`).

Example:
    >>> from customersim import SimConfig, simulate
    >>> frame = simulate(SimConfig(hours=1, seed=1))
    >>> list(frame.columns)
    ['ts', 'event', 'customer_id', 'x', 'y', 'visit']

The public names are loaded on first use, so that ``import customersim`` (and the command
line's ``--help``) stays light: numpy and pandas are imported only by code that simulates.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from customersim.errors import CapacityError, ConfigError, CustomerListError, MqttError

if TYPE_CHECKING:
    from customersim.config import SimConfig
    from customersim.simulation import simulate, simulate_chunks
    from customersim.validate import validate_events

# Public name -> the module that defines it.
_LAZY = {
    "SimConfig": "customersim.config",
    "simulate": "customersim.simulation",
    "simulate_chunks": "customersim.simulation",
    "validate_events": "customersim.validate",
}

# Submodules reachable as attributes of the package: ``customersim.scenarios.load(...)``.
_SUBMODULES = {"scenarios"}

__all__ = [
    "CapacityError",
    "ConfigError",
    "CustomerListError",
    "MqttError",
    "SimConfig",
    "__version__",
    "simulate",
    "simulate_chunks",
    "validate_events",
]


def _version() -> str:
    # Read on first use: importlib.metadata costs a tenth of a second that every command's
    # start-up would pay.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("customersim")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value = globals()["__version__"] = _version()
        return value
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"customersim.{name}")
    raise AttributeError(f"module 'customersim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
