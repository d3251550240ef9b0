"""What the publishing commands (``publish`` and ``run``) share: signals and the progress watch.

Both hand their events to a background :class:`~customersim.mqtt.Publisher` and then watch it
from the main thread: a progress line every so often, and on SIGINT or SIGTERM (Ctrl-C,
``docker stop``, systemd) a clean stop that gives in-flight messages a few seconds to be
acknowledged before the summary is printed.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from customersim.errors import UserError

if TYPE_CHECKING:
    from customersim.mqtt import Publisher, PublisherStats

log = logging.getLogger("customersim")

# Seconds in-flight messages get to be acknowledged after a stop was asked for.
FLUSH_ON_STOP = 5.0


class StopOnSignal:
    """SIGINT/SIGTERM set an event instead of raising, for the time of a ``with`` block."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.signal_name: str | None = None
        self.signal_number: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.signal_name = signal.Signals(signum).name
        self.signal_number = signum
        self.requested.set()

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


@dataclass(frozen=True)
class WatchResult:
    """How a watched run ended: the final stats, and the signal that stopped it (if one did)."""

    stats: PublisherStats
    signal_name: str | None = None
    signal_number: int | None = None


def watch(
    publisher: Publisher,
    stop: StopOnSignal,
    *,
    every: float,
    report: Callable[[PublisherStats], None],
) -> WatchResult:
    """Wait for ``publisher`` to end, calling ``report`` every ``every`` seconds.

    A signal caught by ``stop`` stops the publisher (in-flight messages get
    :data:`FLUSH_ON_STOP` seconds) and ends the watch.
    """
    next_report = time.monotonic() + every
    while True:
        stats = publisher.wait(max(0.05, min(0.25, every)))
        if not stats.running:
            return WatchResult(stats)
        if stop.requested.is_set():
            log.info("%s received: stopping", stop.signal_name)
            return WatchResult(publisher.stop(timeout=FLUSH_ON_STOP), stop.signal_name, stop.signal_number)
        if time.monotonic() >= next_report:
            next_report += every
            report(stats)


def publish_outcome(result: WatchResult, where: str, *, detail: str = "") -> int:
    """Say in one line how a ``publish`` ended, and give its exit status.

    Stopped by a signal: the summary on stderr, status 128 + the signal's number. Ended by an
    error: :class:`~customersim.errors.UserError`. Otherwise the summary on stdout, status 1
    when any message was not acknowledged.
    """
    stats = result.stats
    if result.signal_name is not None:
        print(
            f"customersim publish: stopped by {result.signal_name}; {where}: {stats.summary()}",
            file=sys.stderr,
            flush=True,
        )
        return 128 + int(result.signal_number or 0)
    if stats.error:
        raise UserError(stats.error)
    print(f"customersim publish: {where}: {detail}{stats.summary()}", file=sys.stdout, flush=True)
    return 0 if stats.ok else 1
