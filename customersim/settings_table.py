"""Settings tables: one row per setting, with its variable, default, bounds and words.

Each group of settings (the simulation, the MQTT connection, logging) is one
:class:`SettingsTable` of :class:`Setting` rows. A row is everything a front end needs to know
about one setting: the field it fills, the environment variable that sets it, the default, the
bounds a number must lie within, what it means, and its command-line flag. Every front end
reads the rows instead of repeating them:

- ``from_env`` of a settings class takes the variables that are set
  (:meth:`SettingsTable.read_env`) and the class checks each value with
  :meth:`SettingsTable.convert`, whose errors name the setting, its variable, the value given
  and what is allowed;
- the command line builds flags from the rows (:meth:`Setting.add_flag`);
- the app takes its inputs' bounds and tooltips from them (:attr:`Setting.input_bounds`,
  :attr:`Setting.tooltip`);
- a test checks that the README lists exactly the variables of :func:`all_tables`.

A new setting is one new row in its group's table and one field on the settings class, whose
default is the row's::

    Setting(
        name="example_seconds", env="EXAMPLE_SECONDS", help="what the setting means, in a phrase",
        default=60, parse=whole, low=1, high=3600, unit="seconds", flag="--example-seconds", metavar="S",
    )

A new group is a new ``SettingsTable("HTTP", [...])`` in the module that owns it, with that module
named in :data:`TABLE_MODULES`; then add its variables to the README's settings tables.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from customersim.errors import ConfigError

__all__ = [
    "TABLE_MODULES",
    "NotAllowed",
    "Setting",
    "SettingsTable",
    "all_tables",
    "boolean",
    "existing_file",
    "number",
    "optional_text",
    "secret",
    "text",
    "whole",
]

# The modules that define a table; :func:`all_tables` imports them so that the registry is whole.
TABLE_MODULES = (
    "customersim.config",
    "customersim.mqtt.settings",
    "customersim.cli._logging",
    "customersim.service.settings",
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class NotAllowed(ValueError):
    """Raised by a parser to say why a value is refused, e.g. ``NotAllowed("no such file")``.

    Other ``ValueError``/``TypeError`` from a parser only mean "not allowed"; their wording
    (``invalid literal for int()``) is not for users, so it is left out of the message.
    """


# ------------------------------------------------------------------------------ parsers
# A parser turns a raw value (text from the environment or a flag, or a Python value) into the
# setting's type, raising ValueError or TypeError when it cannot. Bounds and choices are checked
# afterwards by the row, so parsers stay small.


def whole(value: Any) -> int:
    """A whole number: ``"12"``, ``12`` or ``12.0`` (not ``12.5``, not a bool)."""
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        return int(value)
    return int(str(value).strip())


def number(value: Any) -> float:
    """A finite number (not a bool)."""
    if isinstance(value, bool):
        raise TypeError
    result = float(str(value).strip()) if isinstance(value, str) else float(value)
    if not math.isfinite(result):
        raise ValueError
    return result


def boolean(value: Any) -> bool:
    """``true``/``false``, also 1/0, yes/no, on/off, any case."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError


def text(value: Any) -> str:
    """A string, surrounding spaces removed."""
    if not isinstance(value, str):
        raise TypeError
    return value.strip()


def optional_text(value: Any) -> str | None:
    """A string, or ``None`` for nothing (``None`` or an empty or blank string)."""
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return str(value).strip() or None


def secret(value: Any) -> str | None:
    """A secret taken verbatim (spaces may belong to it); ``None`` or empty means none."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError
    return value


def existing_file(value: Any) -> str | None:
    """The path of a file that exists, or ``None`` for nothing."""
    path = optional_text(value)
    if path is not None and not os.path.isfile(path):
        raise NotAllowed("no such file")
    return path


# ------------------------------------------------------------------------------- a row


# Defaults longer than this are left out of a flag's help.
_MAX_FLAG_DEFAULT = 30
# A value quoted in a message is cut after this many characters: a message stays one readable line.
_MAX_QUOTE = 300


def _excerpt(raw: Any) -> str:
    shown = repr(raw)
    if len(shown) <= _MAX_QUOTE:
        return shown
    return f"{shown[: _MAX_QUOTE - 50]}... ({len(shown)} characters)"


def _number_words(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _choice_words(choices: Iterable[Any]) -> str:
    words = [str(choice) for choice in choices]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


@dataclass(frozen=True)
class Setting:
    """One setting: the field it fills, its variable, default, bounds and words.

    Attributes:
        name: the field of the settings class; also the setting's name in messages
            (``width``, ``topics.enter``).
        env: the environment variable, or ``None`` for a setting only code sets.
        help: what it means, as a short phrase (no final period).
        default: the value when nothing sets it.
        parse: turns a raw value into the setting's type (see the parsers above).
        low, high: inclusive bounds of a number (``low`` exclusive when ``above``).
        above: ``low`` itself is not allowed ("above 0").
        choices: the parsed value must be one of these.
        unit: the unit in generated words ("a number of minutes from 0.5 to 1440").
        allowed: what is allowed, in words; generated from parse, bounds, choices and unit
            when not given.
        flag, metavar: the command-line option (``--width``, ``CELLS``); ``None``: no flag.
        input_low, input_high: bounds for a form's number input where they differ from the
            check: an exclusive ``low`` needs a smallest offered number, and a browser holds
            whole numbers exactly only up to 2**53.
        to_text: the value written back as an environment value (default ``str``).
        secret: the value is never shown in messages and is read from the environment verbatim.
    """

    name: str
    env: str | None
    help: str
    default: Any = None
    parse: Callable[[Any], Any] = text
    low: float | None = None
    high: float | None = None
    above: bool = False
    choices: tuple[Any, ...] | None = None
    unit: str = ""
    allowed: str = ""
    flag: str | None = None
    metavar: str | None = None
    input_low: float | None = None
    input_high: float | None = None
    to_text: Callable[[Any], str] = str
    secret: bool = False

    def __post_init__(self) -> None:
        if not self.allowed:
            object.__setattr__(self, "allowed", self._generated_words())

    def _generated_words(self) -> str:
        if self.choices is not None:
            return _choice_words(self.choices)
        if self.parse is boolean:
            return "true or false"
        nouns: dict[Callable[[Any], Any], str] = {whole: "a whole number", number: "a number"}
        noun = nouns.get(self.parse)
        if noun is None:
            raise ValueError(f"setting {self.name}: say in words what is allowed (allowed=...)")
        if self.unit:
            noun += f" of {self.unit}"
        low = None if self.low is None else _number_words(self.low)
        high = None if self.high is None else _number_words(self.high)
        if self.above:
            return f"{noun} above {low}" + (f" and at most {high}" if high is not None else "")
        if low is not None and high is not None:
            return f"{noun} from {low} to {high}"
        if low is not None:
            return f"{noun} >= {low}"
        if high is not None:
            return f"{noun} <= {high}"
        return noun

    @property
    def label(self) -> str:
        """The setting as messages name it: its name and, in brackets, its variable."""
        return f"{self.name} ({self.env})" if self.env else self.name

    def refusal(self, raw: Any, why: str = "") -> str:
        """The message for a value that is not allowed (a secret value is not quoted)."""
        given = "" if self.secret else f" = {_excerpt(raw)}"
        because = f" ({why})" if why else ""
        return f"{self.label}{given} is not allowed{because}: expected {self.allowed}"

    def convert(self, raw: Any, error: type[ConfigError] = ConfigError) -> Any:
        """Parse ``raw`` and check it against the bounds and choices.

        Raises:
            ConfigError: (or ``error``) the value is not allowed; the message names the
                setting, its variable, the value given (unless secret) and what is allowed.
        """
        try:
            value = self.parse(raw)
        except NotAllowed as reason:
            raise error(self.refusal(raw, str(reason))) from None
        except (TypeError, ValueError, OverflowError):
            raise error(self.refusal(raw)) from None
        if value is not None and not self._within(value):
            raise error(self.refusal(raw))
        return value

    def _within(self, value: Any) -> bool:
        if self.choices is not None and value not in self.choices:
            return False
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            return False
        return not (self.high is not None and value > self.high)

    @property
    def default_text(self) -> str | None:
        """The default as an environment value would give it (``None``: no default)."""
        return None if self.default is None else self.to_text(self.parse(self.default))

    @property
    def tooltip(self) -> str:
        """A form's help text: what it means, its variable, what is allowed."""
        words = f"{self.help[:1].upper()}{self.help[1:]}."
        if self.env:
            words += f" Environment: {self.env}."
        return f"{words} Allowed: {self.allowed}."

    @property
    def input_bounds(self) -> tuple[Any, Any]:
        """``(min, max)`` for a form's number input, ints for whole numbers, else floats."""
        low = self.input_low if self.input_low is not None else self.low
        high = self.input_high if self.input_high is not None else self.high
        if low is None or high is None:
            raise ValueError(f"setting {self.name} has no bounds for a number input")
        kind = int if self.parse is whole else float
        return kind(low), kind(high)

    def add_flag(self, parser: argparse.ArgumentParser | argparse._ArgumentGroup, dest: str) -> None:
        """Add the setting's command-line option (a string, ``None`` when not given).

        The settings class checks the value, so a wrong flag gets the same message as a wrong
        variable; the environment supplies the default.
        """
        if self.flag is None:
            raise ValueError(f"setting {self.name} has no flag")
        notes = [self.env] if self.env else []
        default = self.default_text
        # A long default (24 hourly weights) would bury the help; the README lists it.
        if default is not None and len(default) <= _MAX_FLAG_DEFAULT:
            notes.append(f"default {default}")
        help_text = f"{self.help} [{', '.join(notes)}]" if notes else self.help
        # argparse formats help with %-style fields, so a literal % is doubled.
        help_text = help_text.replace("%", "%%")
        parser.add_argument(self.flag, dest=dest, metavar=self.metavar, default=None, help=help_text)


# ----------------------------------------------------------------------------- a table

_TABLES: dict[str, SettingsTable] = {}


class SettingsTable(Mapping[str, Setting]):
    """The rows of one group of settings, by name, in the order they were given.

    Creating a table registers it under its title for :func:`all_tables`.

    Args:
        title: the group's name ("simulation", "MQTT", "logging").
        rows: the settings.
        error: the error type :meth:`convert` raises (a :class:`ConfigError`).
    """

    def __init__(
        self, title: str, rows: Iterable[Setting], *, error: type[ConfigError] = ConfigError
    ) -> None:
        self.title = title
        self.error = error
        self._rows: dict[str, Setting] = {}
        for row in rows:
            if row.name in self._rows:
                raise ValueError(f"settings table {title}: {row.name} twice")
            self._rows[row.name] = row
        taken = {env for other in _TABLES.values() if other.title != title for env in other.env_names}
        envs = self.env_names
        if len(set(envs)) != len(envs) or taken & set(envs):
            raise ValueError(f"settings table {title}: a variable names two settings")
        _TABLES[title] = self

    def __getitem__(self, name: str) -> Setting:
        return self._rows[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"SettingsTable({self.title!r}, {list(self._rows)})"

    def env(self, name: str) -> str:
        """The environment variable of setting ``name``, for messages that tell what to set."""
        variable = self._rows[name].env
        if variable is None:
            raise KeyError(f"setting {name} has no environment variable")
        return variable

    @property
    def env_names(self) -> tuple[str, ...]:
        """Every environment variable of the table, in row order."""
        return tuple(row.env for row in self._rows.values() if row.env)

    def read_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The raw values of the variables that are set, by setting name.

        Unset and empty (or blank) variables are left out, so the defaults hold; a secret is
        taken verbatim, other values without surrounding spaces.
        """
        values = {}
        for row in self._rows.values():
            raw = environ.get(row.env) if row.env else None
            if raw is None:
                continue
            if not row.secret:
                raw = raw.strip()
            if raw != "":
                values[row.name] = raw
        return values

    def convert(self, name: str, raw: Any) -> Any:
        """Setting ``name``'s value parsed and checked (see :meth:`Setting.convert`)."""
        return self._rows[name].convert(raw, self.error)

    def defaults(self) -> dict[str, Any]:
        """Every setting's default, by name."""
        return {name: row.default for name, row in self._rows.items()}


def all_tables() -> tuple[SettingsTable, ...]:
    """Every settings table of the package (importing the modules that define them)."""
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return tuple(_TABLES.values())
