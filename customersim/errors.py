"""The errors customersim raises for problems a user can fix.

Each one carries a message written for the person who made the mistake: it names the setting,
file, line or broker at fault and says what would be accepted. Front ends print that message
as one line; none of them needs a traceback to be understood.
"""

from __future__ import annotations

EXCERPT_CHARS = 40


class ConfigError(ValueError):
    """A setting has a value that is not allowed; the message names the setting."""


class LayoutError(ConfigError):
    """A store layout file cannot be used; the message names the file, line and column."""


class CapacityError(ValueError):
    """The customer list is too small for the number of customers inside at once."""


class CheckoutCapacityError(CapacityError):
    """The layout's checkout lanes cannot serve the shoppers the settings bring at the busiest hour."""


class CustomerListError(ValueError):
    """The customer list cannot be used; the message names the file, line and column."""


class MqttError(Exception):
    """Publishing cannot go on; the message says why in words (no secrets)."""


class UserError(Exception):
    """A command cannot do what was asked; the command line prints the message as one line."""


# The errors a command maps to one line on stderr and exit status 1.
FAILURES: tuple[type[Exception], ...] = (CapacityError, CustomerListError, MqttError, UserError)


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable, one-line quote of a value for an error message.

    Values from a user's file can be anything (binary junk, a whole line of a wrong file): the
    message shows at most ``limit`` characters of it, with control and undecodable characters
    written as escapes, so that it stays one readable line.

    Example:
        >>> print(excerpt("x" * 50))
        'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'...
    """
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    shortened = len(text) > limit
    quoted = repr(text[:limit])  # repr escapes control characters and keeps it on one line
    return f"{quoted}..." if shortened else quoted
