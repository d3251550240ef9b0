"""Where the service's story is told: the logging settings and their setup for the command line.

The long-running service logs what it does (connections, losses, progress, every message in
mock mode) to the console and, as the service it replaces did, to a file. :data:`LOG_SETTINGS`
holds the two settings: the level (default INFO) and the file (``run`` writes ``messages.log``
unless another is named; the one-shot commands write a file only when one is named). Only entry
points call :func:`setup_logging`; library modules just get their loggers.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping

from customersim.config import ConfigError
from customersim.settings_table import Setting, SettingsTable, optional_text

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_OWNED = "_customersim_handler"  # marks our handlers, so that a second setup replaces them


def _level(value: object) -> str:
    return str(value).strip().upper()


LOG_SETTINGS = SettingsTable(
    "logging",
    [
        Setting(
            name="log_level",
            env="LOG_LEVEL",
            help="lowest level of the messages logged",
            default="INFO",
            parse=_level,
            choices=LEVELS,
        ),
        Setting(
            name="log_file",
            env="LOG_FILENAME",
            help="log file of `run` (the other commands write one only when it is set)",
            default="messages.log",
            parse=optional_text,
            allowed="a path to a file that can be opened for appending",
        ),
    ],
)


class _FileHandlerThatStepsAside(logging.FileHandler):
    """A log file that, once a write fails (a full disk, a removed mount), says so in one line
    on the console and stops trying, so the console goes on with the story and no traceback
    per record floods it."""

    failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        if self.failed:
            return
        self.failed = True
        error = sys.exc_info()[1]
        reason = getattr(error, "strerror", None) or error or "write failed"
        sys.stderr.write(
            f"customersim: cannot write the log file {self.baseFilename} ({reason}); "
            "logging to the console only from now on\n"
        )
        try:
            self.close()
        except OSError:  # the buffered lines cannot be written either: drop them
            self.stream = None  # type: ignore[assignment]


def setup_logging(environ: Mapping[str, str], *, to_file: bool = False) -> logging.Logger:
    """Configure the ``customersim`` logger from the logging settings in ``environ``.

    Args:
        environ: the environment (the variables of :data:`LOG_SETTINGS`).
        to_file: also write to the log file (its default when none is named); one-shot commands
            write to a file only when one is named.

    Raises:
        ConfigError: the level is not a level name, or the log file cannot be opened.
    """
    values = LOG_SETTINGS.read_env(environ)
    level_name = LOG_SETTINGS.convert("log_level", values.get("log_level", LOG_SETTINGS["log_level"].default))
    logger = logging.getLogger("customersim")
    for handler in [h for h in logger.handlers if getattr(h, _OWNED, False)]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(level_name)
    logger.propagate = False
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    filename = values.get("log_file")
    if to_file or filename:
        filename = filename or LOG_SETTINGS["log_file"].default
        try:
            handlers.append(_FileHandlerThatStepsAside(filename, encoding="utf-8"))
        except OSError as error:
            raise ConfigError(
                f"{LOG_SETTINGS['log_file'].label} = {filename!r} cannot be opened: {error.strerror or error}"
            ) from None
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT))
        setattr(handler, _OWNED, True)
        logger.addHandler(handler)
    return logger
