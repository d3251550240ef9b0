"""customersim: simulate shoppers in a retail store and turn them into data.

A store is a grid of location sensors. Customers from a customer list enter at the door, wander
between neighbouring cells, dwell, walk back and leave; each step is an event. The library
builds whole journeys as pandas DataFrames (:func:`simulate`, :func:`simulate_chunks`), checks
them (:func:`validate_events`), measures them (:mod:`customersim.metrics`) and hands them to
sinks that write files or publish MQTT messages.

Example:
    >>> from customersim import SimConfig, simulate
    >>> frame = simulate(SimConfig(hours=1, seed=1))
    >>> list(frame.columns)
    ['ts', 'event', 'customer_id', 'x', 'y', 'visit']
"""

from customersim.config import ConfigError, SimConfig
from customersim.api import simulate, simulate_chunks
from customersim.validate import validate_events

__all__ = ["ConfigError", "SimConfig", "simulate", "simulate_chunks", "validate_events"]
__version__ = "0.1.0"
