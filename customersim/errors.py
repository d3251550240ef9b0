"""The errors customersim raises for problems a user can fix.

Each one carries a message written for the person who made the mistake: it names the setting,
file, line or broker at fault and says what would be accepted. Front ends print that message
as one line; none of them needs a traceback to be understood.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting has a value that is not allowed; the message names the setting."""


class CapacityError(ValueError):
    """The customer list is too small for the number of customers inside at once."""


class CustomerListError(ValueError):
    """The customer list cannot be used; the message names the file, line and column."""


class MqttError(Exception):
    """Publishing cannot go on; the message says why in words (no secrets)."""


class UserError(Exception):
    """A command cannot do what was asked; the command line prints the message as one line."""


# The errors a command maps to one line on stderr and exit status 1.
FAILURES: tuple[type[Exception], ...] = (CapacityError, CustomerListError, MqttError, UserError)
