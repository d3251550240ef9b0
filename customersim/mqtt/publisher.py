"""Playing the store's events to the broker: the paced, long-lived MQTT publisher.

A simulation produces a whole day of shoppers in a blink; the systems downstream expect to see
them arrive as they happen. :class:`Publisher` takes frames (or an endless iterator of frames,
in ``ts`` order) and publishes each event when its time comes: at wall-clock speed, ``speed``
times faster, or as fast as the broker takes them. Events with the same second go out together.

It runs in a background thread so that a CLI, a service or a Streamlit page can watch its
:meth:`~Publisher.stats` and :meth:`~Publisher.stop` it from any thread. Three parts share the
work: a :class:`~customersim.mqtt.pacing.Pacer` says when each second of events is due, the
payloads are encoded column-wise (:mod:`~customersim.mqtt.payloads`), and a transport
(:mod:`~customersim.mqtt.transport`) hands them to the broker with at-least-once delivery,
reconnects and deadlines, or only logs them in mock mode. An ``on_message`` callback sees every
message that goes out.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from customersim.frame import event_codes
from customersim.mqtt.connection import MqttError
from customersim.mqtt.pacing import Pacer, parse_speed
from customersim.mqtt.payloads import encode_frame
from customersim.mqtt.settings import MqttSettings
from customersim.mqtt.transport import (
    DEFAULT_WINDOW,
    MAX_WINDOW,
    OnMessage,
    Stopped,
    Transport,
    make_transport,
)

log = logging.getLogger("customersim.mqtt")

BATCH_ROWS = 50_000  # rows encoded at once: bounds the memory of a big frame's payloads
# A live source (the service's stream) hands over an empty frame when nothing is due yet: the
# publisher then serves its connection this long before asking again.
IDLE_SLICE = 0.05

__all__ = ["BATCH_ROWS", "DEFAULT_WINDOW", "MAX_WINDOW", "Publisher", "PublisherStats", "parse_speed"]


@dataclass(frozen=True)
class PublisherStats:
    """A snapshot of a publisher's progress.

    Attributes:
        connected: the client is connected to the broker now (always false in mock mode).
        error: why publishing ended early, in words; ``None`` when all is well.
        published: messages handed to the client.
        acknowledged: messages the broker acknowledged (QoS 0: written to the socket).
        failed: messages that will not be delivered (refused, or unacknowledged at the end).
        rate: acknowledged messages per second, recently (overall once finished).
        lag_seconds: how far behind schedule the last published second went out (0 at ``max``).
        running: the background thread is alive.
        finished: every frame was published and the thread ended (not set after ``stop()``).
        stopped: ``stop()`` ended the run.
        reconnects: how many times the connection was re-established.
        elapsed_seconds: time since publishing began (to the end, once over).
        retrying: while (re)connecting, why the last attempt failed, in words; else ``None``.
    """

    connected: bool
    error: str | None
    published: int
    acknowledged: int
    failed: int
    rate: float
    lag_seconds: float
    running: bool
    finished: bool
    stopped: bool
    reconnects: int
    elapsed_seconds: float
    retrying: str | None = None

    @property
    def in_flight(self) -> int:
        """Published messages not yet acknowledged nor failed."""
        return max(0, self.published - self.acknowledged - self.failed)

    @property
    def ok(self) -> bool:
        """No error and everything published was acknowledged."""
        return self.error is None and self.failed == 0 and self.acknowledged == self.published

    def summary(self) -> str:
        """One line for logs and the CLI."""
        rate = self.acknowledged / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0
        text = (
            f"published {self.published:,} messages, acknowledged {self.acknowledged:,}, "
            f"failed {self.failed:,} in {self.elapsed_seconds:.1f} s ({rate:,.0f} msg/s"
        )
        text += f", {self.reconnects} reconnects)" if self.reconnects else ")"
        return text + (f"; error: {self.error}" if self.error else "")


def _iter_frames(frames: pd.DataFrame | Iterable[pd.DataFrame]) -> Iterable[pd.DataFrame]:
    if isinstance(frames, pd.DataFrame):
        yield frames
    else:
        yield from frames


class Publisher:
    """Publishes events frames on the broker of ``settings``, paced, from a background thread.

    Example:
        >>> publisher = Publisher(MqttSettings(mock=True), speed="max")
        >>> publisher.start(frame)                       # doctest: +SKIP
        >>> publisher.wait().acknowledged == len(frame)  # doctest: +SKIP
        True

    Args:
        settings: broker, topics, QoS, credentials and TLS; ``settings.mock`` logs instead.
        speed: 1 = wall clock, 60 = one simulated minute per second; ``None`` or ``"max"`` =
            as fast as the broker acknowledges.
        window: most messages unacknowledged at once (QoS 1 and 2), at most 60,000; lowered to
            the broker's Receive Maximum on MQTT 5, and to 20 for QoS 2 on MQTT 3.1.1.
        give_up_after: seconds without a working connection (at first, after a loss, or while
            the broker leaves messages unacknowledged) before the run ends with an error.
        extra_fields: further frame columns to add to each payload (opt-in beyond the contract).
        client_id: MQTT client id; default ``settings.client_id``.
        on_message: called from the publisher's thread with the topic and payload of each
            message handed to the broker (or logged, in mock mode); keep it quick.
    """

    def __init__(
        self,
        settings: MqttSettings,
        speed: float | str | None = None,
        *,
        window: int = DEFAULT_WINDOW,
        give_up_after: float = 60.0,
        extra_fields: Sequence[str] = (),
        client_id: str | None = None,
        on_message: OnMessage | None = None,
    ) -> None:
        if not 1 <= int(window) <= MAX_WINDOW:
            raise ValueError(f"window = {window!r} is not allowed: expected 1 to {MAX_WINDOW}")
        if not give_up_after > 0:
            raise ValueError(f"give_up_after = {give_up_after!r} is not allowed: expected seconds > 0")
        self.settings = settings
        self.speed = parse_speed(speed)
        self.window = int(window)
        self.give_up_after = float(give_up_after)
        self.extra_fields = tuple(extra_fields)
        self.client_id = client_id or settings.client_id
        self._topics = np.array(settings.topics.as_tuple(), dtype=object)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._transport: Transport = make_transport(
            settings,
            self.client_id,
            self._stop,
            window=self.window,
            give_up_after=self.give_up_after,
            on_message=on_message,
        )
        self._pacer = Pacer(self.speed)
        self._thread: threading.Thread | None = None
        self._error: str | None = None
        self._finished = False
        self._stopped = False
        self._flush_timeout: float | None = None
        self._began: float | None = None
        self._ended: float | None = None
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    # ----------------------------------------------------------------------------- public API

    def start(self, frames: pd.DataFrame | Iterable[pd.DataFrame], *, origin_ts: int | None = None) -> None:
        """Begin publishing ``frames`` in a background thread; returns at once.

        Args:
            frames: one events frame or an iterable of them, in ``ts`` order (may be endless).
            origin_ts: the event time that maps to "now" when pacing (default: the first
                event's ``ts``). ``customersim run`` passes the simulation start.

        Raises:
            RuntimeError: the publisher was started before.
        """
        if self._thread is not None:
            raise RuntimeError("this Publisher was already started; make a new one")
        self._pacer.origin_ts = None if origin_ts is None else int(origin_ts)
        self._thread = threading.Thread(
            target=self._run, args=(frames,), name="customersim-publisher", daemon=True
        )
        self._thread.start()

    def stats(self) -> PublisherStats:
        """A thread-safe snapshot of the progress (see :class:`PublisherStats`)."""
        now = time.monotonic()
        transport = self._transport
        with self._lock:
            acked = transport.acknowledged
            end = self._ended if self._ended is not None else now
            elapsed = 0.0 if self._began is None else max(0.0, end - self._began)
            rate = acked / elapsed if elapsed > 0 else 0.0
            if self._ended is None and self._began is not None:
                # Recent rate: over the samples of the last five seconds.
                self._samples.append((now, acked))
                while len(self._samples) > 2 and now - self._samples[1][0] >= 5.0:
                    self._samples.popleft()
                first_t, first_acked = self._samples[0]
                if now - first_t >= 0.5:
                    rate = (acked - first_acked) / (now - first_t)
            connected = transport.connected
            return PublisherStats(
                connected=connected,
                error=self._error,
                published=transport.published,
                acknowledged=acked,
                failed=transport.failed,
                rate=rate,
                lag_seconds=self._pacer.lag if self.speed is not None else 0.0,
                running=self._thread is not None and not self._done.is_set(),
                finished=self._finished,
                stopped=self._stopped,
                reconnects=transport.reconnects,
                elapsed_seconds=elapsed,
                retrying=None if connected or self._done.is_set() else transport.retrying,
            )

    def stop(self, timeout: float = 5.0) -> PublisherStats:
        """Stop publishing, from any thread; idempotent.

        Messages already handed to the client get up to ``timeout`` seconds to be
        acknowledged; what is still unacknowledged then counts as failed.
        """
        if self._thread is None or self._done.is_set():
            return self.stats()
        self._flush_timeout = max(0.0, float(timeout))
        self._stopped = True
        self._stop.set()
        self._thread.join(timeout + 5.0)
        return self.stats()

    def wait(self, timeout: float | None = None) -> PublisherStats:
        """Block until every frame is published and acknowledged (or the run ended); stats."""
        if self._thread is not None:
            self._done.wait(timeout)
        return self.stats()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -------------------------------------------------------------------- background thread

    def _run(self, frames: pd.DataFrame | Iterable[pd.DataFrame]) -> None:
        transport = self._transport
        try:
            transport.open()
            with self._lock:
                self._began = time.monotonic()
            try:
                for frame in _iter_frames(frames):
                    if len(frame) == 0:
                        transport.wait_until(time.monotonic() + IDLE_SLICE)
                        continue
                    for begin in range(0, len(frame), BATCH_ROWS):
                        self._publish_batch(frame.iloc[begin : begin + BATCH_ROWS])
                        if self._stop.is_set():
                            raise Stopped
            except Stopped:
                pass
            transport.flush(self._flush_timeout if self._stop.is_set() else None)
            self._finished = not self._stop.is_set()
        except Stopped:
            pass
        except MqttError as error:
            # Reported through stats().error: the front end decides how to say it (one line).
            self._error = str(error)
            log.debug("MQTT publishing stopped: %s", error)
        except Exception as error:  # a bug or a bad frame: report it, never die silently
            self._error = f"publishing failed: {type(error).__name__}: {error}"
            # One line for the user; the traceback only for whoever debugs on purpose.
            log.error("%s", self._error)
            log.debug("publishing failed", exc_info=True)
        finally:
            transport.close()
            with self._lock:
                self._ended = time.monotonic() if self._began is not None else None
            self._done.set()

    def _publish_batch(self, part: pd.DataFrame) -> None:
        if len(part) == 0:
            return
        ts = part["ts"].to_numpy(dtype=np.int64)
        topics = self._topics[event_codes(part)].tolist()
        payloads = encode_frame(part, self.extra_fields)
        for begin, end, due in self._pacer.groups(ts):
            if due is not None:
                self._transport.wait_until(due)
            self._pacer.note_sent(due)
            self._transport.send(topics, payloads, begin, end)
