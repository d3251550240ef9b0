"""Where the service's story is told: logging for the command-line front ends.

The long-running service logs what it does (connections, losses, progress, every message in
mock mode) to the console and, as the service it replaces did, to a file: ``LOG_LEVEL``
(default INFO) and ``LOG_FILENAME`` (default ``messages.log``). Only entry points call
:func:`setup_logging`; library modules just get their loggers.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping

from customersim.config import ConfigError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_LOG_FILE = "messages.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_OWNED = "_customersim_handler"  # marks our handlers, so that a second setup replaces them


def setup_logging(environ: Mapping[str, str], *, to_file: bool = False) -> logging.Logger:
    """Configure the ``customersim`` logger from LOG_LEVEL and LOG_FILENAME.

    Args:
        environ: the environment (LOG_LEVEL, LOG_FILENAME).
        to_file: also write to LOG_FILENAME (default ``messages.log``); one-shot commands
            write to a file only when LOG_FILENAME is set.

    Raises:
        ConfigError: LOG_LEVEL is not a level name, or the log file cannot be opened.
    """
    level_name = (environ.get("LOG_LEVEL") or "INFO").strip().upper()
    if level_name not in LEVELS:
        raise ConfigError(f"LOG_LEVEL = {level_name!r} is not allowed: expected one of {', '.join(LEVELS)}")
    logger = logging.getLogger("customersim")
    for handler in [h for h in logger.handlers if getattr(h, _OWNED, False)]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(level_name)
    logger.propagate = False
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    filename = (environ.get("LOG_FILENAME") or "").strip()
    if to_file or filename:
        filename = filename or DEFAULT_LOG_FILE
        try:
            handlers.append(logging.FileHandler(filename, encoding="utf-8"))
        except OSError as error:
            raise ConfigError(
                f"LOG_FILENAME = {filename!r} cannot be opened: {error.strerror or error}"
            ) from None
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT))
        setattr(handler, _OWNED, True)
        logger.addHandler(handler)
    return logger
