"""Playing the store's events to the broker: the paced, long-lived MQTT publisher.

A simulation produces a whole day of shoppers in a blink; the systems downstream expect to see
them arrive as they happen. :class:`Publisher` takes frames (or an endless iterator of frames,
in ``ts`` order) and publishes each event when its time comes: at wall-clock speed, ``speed``
times faster, or as fast as the broker takes them. Events with the same second go out together.

It runs in a background thread so that a CLI, a service or a Streamlit page can watch its
:meth:`~Publisher.stats` and :meth:`~Publisher.stop` it from any thread. Delivery is at-least-once
for QoS 1 and 2: at most ``window`` messages are unacknowledged at any time (paho stalls past
65,535, when message ids wrap), the client reconnects with backoff when the broker goes away and
resends what was not acknowledged, in order; a broker that stays away longer than
``give_up_after`` ends the run with an error in words. In mock mode each message is logged and
nothing connects.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pandas as pd

from customersim.frame import event_codes
from customersim.mqtt.connection import Connector, MqttError, make_client, warn_if_insecure
from customersim.mqtt.payloads import encode_frame
from customersim.mqtt.settings import MQTT_SETTINGS, MqttSettings

log = logging.getLogger("customersim.mqtt")
mock_log = logging.getLogger("customersim.mqtt.mock")

DEFAULT_WINDOW = 10_000
# MQTT 3.1.1 has no way for a broker to say how many QoS 2 messages it takes at once, and
# mosquitto (max_inflight_messages, default 20) silently drops the ones beyond its limit
# (measured: 2,400 of 23,673 arrived with 10,000 in flight). So QoS 2 on 3.1.1 keeps to 20.
QOS2_WINDOW_MQTT311 = 20
MAX_WINDOW = 60_000  # below the 65,535 message ids paho can tell apart
BATCH_ROWS = 50_000  # rows encoded at once: bounds the memory of a big frame's payloads
_STOP_CHECK = 1024  # messages between two looks at the stop flag when publishing flat out
# A live source (the service's stream) hands over an empty frame when nothing is due yet: the
# publisher then serves its connection this long before asking again.
IDLE_SLICE = 0.05


class _Stopped(Exception):
    """Internal: stop() was called while the publisher thread was waiting."""


def parse_speed(value: Any) -> float | None:
    """A speed factor from a flag or widget: ``None``/``"max"`` mean as fast as possible.

    Raises:
        ValueError: not ``max`` and not a number above 0.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in ("max", "")):
        return None
    try:
        speed = float(value)
    except (TypeError, ValueError):
        speed = math.nan
    if not math.isfinite(speed) or speed <= 0:
        raise ValueError(
            f"speed = {value!r} is not allowed: expected a factor above 0 (1 = wall "
            "clock, 60 = a minute per second) or 'max'"
        )
    return speed


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
        settings: broker, topics, QoS, credentials and TLS.
        speed: 1 = wall clock, 60 = one simulated minute per second; ``None`` or ``"max"`` =
            as fast as the broker acknowledges.
        window: most messages unacknowledged at once (QoS 1 and 2), at most 60,000; lowered to
            the broker's Receive Maximum on MQTT 5, and to 20 for QoS 2 on MQTT 3.1.1.
        give_up_after: seconds without a connection (at first, or after a loss) before the run
            ends with an error.
        extra_fields: further frame columns to add to each payload (opt-in beyond the contract).
        client_id: MQTT client id; default ``settings.client_id``.
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
    ) -> None:
        if not 1 <= int(window) <= MAX_WINDOW:
            raise ValueError(f"window = {window!r} is not allowed: expected 1 to {MAX_WINDOW}")
        if not give_up_after > 0:
            raise ValueError(f"give_up_after = {give_up_after!r} is not allowed: expected seconds > 0")
        if not settings.mock and not settings.host:
            raise MqttError(
                f"no broker to publish to: set {MQTT_SETTINGS.env('host')} (or "
                f"{MQTT_SETTINGS.env('mock')}=true to only log the messages)"
            )
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
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: mqtt.Client | None = None
        self._connector: Connector | None = None
        self._published = 0
        self._acked = 0
        self._ack_failures = 0  # written by paho's thread only
        self._send_failures = 0  # written by the publisher thread only
        self._abandoned = 0
        self._reconnects = 0
        self._lag = 0.0
        self._error: str | None = None
        self._finished = False
        self._stopped = False
        self._flush_timeout: float | None = None
        self._began: float | None = None
        self._ended: float | None = None
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._receive_maximum = 65535  # MQTT 5: the broker's Receive Maximum, from CONNACK
        self._origin_ts: int | None = None
        self._origin_wall = 0.0
        self._last_attempt_failed: str | None = None

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
        self._origin_ts = None if origin_ts is None else int(origin_ts)
        self._thread = threading.Thread(
            target=self._run, args=(frames,), name="customersim-publisher", daemon=True
        )
        self._thread.start()

    def stats(self) -> PublisherStats:
        """A thread-safe snapshot of the progress (see :class:`PublisherStats`)."""
        now = time.monotonic()
        with self._lock:
            acked = self._acked
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
            failed = self._ack_failures + self._send_failures + self._abandoned
            return PublisherStats(
                connected=self._connected.is_set(),
                error=self._error,
                published=self._published,
                acknowledged=acked,
                failed=failed,
                rate=rate,
                lag_seconds=self._lag if self.speed is not None else 0.0,
                running=self._thread is not None and not self._done.is_set(),
                finished=self._finished,
                stopped=self._stopped,
                reconnects=self._reconnects,
                elapsed_seconds=elapsed,
                retrying=None
                if self._connected.is_set() or self._done.is_set()
                else self._last_attempt_failed,
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
        try:
            if not self.settings.mock:
                self._connect()
            with self._lock:
                self._began = time.monotonic()
            try:
                for frame in _iter_frames(frames):
                    if len(frame) == 0:
                        self._idle(time.monotonic() + IDLE_SLICE)
                        continue
                    for begin in range(0, len(frame), BATCH_ROWS):
                        self._publish_batch(frame.iloc[begin : begin + BATCH_ROWS])
                        if self._stop.is_set():
                            raise _Stopped
            except _Stopped:
                pass
            self._flush(self._flush_timeout if self._stop.is_set() else None)
            self._finished = not self._stop.is_set()
        except MqttError as error:
            # Reported through stats().error: the front end decides how to say it (one line).
            self._error = str(error)
            log.debug("MQTT publishing stopped: %s", error)
        except Exception as error:  # a bug or a bad frame: report it, never die silently
            self._error = f"publishing failed: {type(error).__name__}: {error}"
            log.exception("MQTT publishing failed")
        finally:
            self._close()
            with self._lock:
                self._ended = time.monotonic() if self._began is not None else None
            self._done.set()

    # ---------------------------------------------------------------------- the connection
    # One thread (this publisher's) drives the paho client: publish() writes straight to the
    # socket and loop() reads acknowledgements. paho's own network thread would cost a wake-up
    # and a GIL hand-over per message, a third of the throughput.

    def _connect(self) -> None:
        warn_if_insecure(self.settings)
        client = make_client(self.settings, self.client_id)
        # No paho in-flight limit: our window bounds it, and paho's limit scans its whole
        # in-flight list on every acknowledgement.
        client.max_inflight_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        if self.settings.qos:
            # At QoS 0 nothing is acknowledged; a callback per message would only cost time.
            client.on_publish = self._on_publish
        self._client = client
        self._connector = Connector(
            client, self.settings, self._stop, on_attempt_failed=self._note_attempt_failed
        )
        self._connector.connect_with_retry(self.give_up_after)
        log.info(
            "connected to MQTT broker %s as %s (QoS %d%s)",
            self.settings.address,
            self.client_id,
            self.settings.qos,
            ", TLS" if self.settings.tls else "",
        )

    def _note_attempt_failed(self, words: str) -> None:
        self._last_attempt_failed = words

    def _recover(self) -> None:
        """Reconnect after a lost connection; paho then resends what was not acknowledged."""
        assert self._connector is not None
        self._connected.clear()
        log.warning(
            "lost the connection to MQTT broker %s; reconnecting (giving up after %g s)",
            self.settings.address,
            self.give_up_after,
        )
        try:
            self._connector.connect_with_retry(self.give_up_after)
        except MqttError as error:
            if self._stop.is_set():
                raise _Stopped from None
            raise MqttError(f"lost the connection and could not reconnect: {error}") from None
        self._reconnects += 1
        log.info(
            "reconnected to MQTT broker %s; resending %d unacknowledged messages",
            self.settings.address,
            self._in_flight(),
        )

    def _service(self, timeout: float = 0.0) -> None:
        """Read acknowledgements, keep the connection alive, notice and repair a loss."""
        client = self._client
        assert client is not None
        rc = client.loop(timeout)
        if rc != mqtt.MQTT_ERR_SUCCESS or not self._connected.is_set():
            self._recover()

    def _in_flight(self) -> int:
        return self._published - self._acked - self._ack_failures - self._send_failures

    # paho callbacks: they run in this publisher's thread, inside publish() and loop().
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if self._connector is not None:
            self._connector.note_connack(reason)
        if not reason.is_failure:
            maximum = getattr(properties, "ReceiveMaximum", None)
            if isinstance(maximum, int) and maximum > 0:
                self._receive_maximum = maximum
            self._connected.set()

    def _effective_window(self) -> int:
        """Most unacknowledged messages allowed now: ours, and never more than the broker takes."""
        if self.settings.protocol == "5":
            return min(self.window, self._receive_maximum)
        if self.settings.qos == 2:
            return min(self.window, QOS2_WINDOW_MQTT311)
        return self.window

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if self._connector is not None:
            self._connector.note_disconnect()
        self._connected.clear()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        if getattr(reason, "is_failure", False):
            self._ack_failures += 1
            log.warning("broker refused message %d: %s", mid, reason)
        else:
            self._acked += 1

    # ----------------------------------------------------------------------------- publishing

    def _publish_batch(self, part: pd.DataFrame) -> None:
        if len(part) == 0:
            return
        ts = part["ts"].to_numpy(dtype=np.int64)
        topics = self._topics[event_codes(part)].tolist()
        payloads = encode_frame(part, self.extra_fields)
        if self.speed is None:
            self._send(topics, payloads, 0, len(payloads))
            return
        if self._origin_ts is None:
            self._origin_ts = int(ts[0])
        if self._origin_wall == 0.0:
            self._origin_wall = time.monotonic()
        bounds = np.flatnonzero(np.diff(ts)) + 1
        starts = [0, *bounds.tolist()]
        ends = [*bounds.tolist(), len(ts)]
        for begin, end in zip(starts, ends, strict=True):
            due = self._origin_wall + (int(ts[begin]) - self._origin_ts) / self.speed
            delay = due - time.monotonic()
            if delay > 0:
                self._idle(due)
                self._lag = 0.0
            else:
                self._lag = -delay
            self._send(topics, payloads, begin, end)

    def _idle(self, until: float) -> None:
        """Wait for the next due time while keeping the connection served; stop-aware."""
        while True:
            if self._stop.is_set():
                raise _Stopped
            remaining = until - time.monotonic()
            if remaining <= 0:
                return
            if self.settings.mock:
                self._stop.wait(remaining)
            else:
                self._service(min(remaining, 0.1))

    def _send(self, topics: list[str], payloads: list[bytes], begin: int, end: int) -> None:
        if self.settings.mock:
            for i in range(begin, end):
                mock_log.info("%s %s", topics[i], payloads[i].decode("utf-8"))
                self._published += 1
                self._acked += 1
            return
        client = self._client
        assert client is not None
        publish = client.publish
        qos = self.settings.qos
        for chunk in range(begin, end, _STOP_CHECK):
            if self._stop.is_set():
                raise _Stopped
            self._service()
            window = self._effective_window()
            for i in range(chunk, min(chunk + _STOP_CHECK, end)):
                if qos:
                    while self._published - self._acked - self._ack_failures >= window:
                        self._wait_for_acks()
                    self._published += 1
                    rc = publish(topics[i], payloads[i], qos).rc
                    if rc in (mqtt.MQTT_ERR_NO_CONN, mqtt.MQTT_ERR_CONN_LOST):
                        # paho keeps the message and sends it again once reconnected.
                        self._recover()
                    elif rc:
                        self._send_failures += 1
                        log.warning("message not accepted by the client: %s", mqtt.error_string(rc))
                else:
                    rc = publish(topics[i], payloads[i], 0).rc
                    if rc == mqtt.MQTT_ERR_NO_CONN:
                        # Not sent at all: reconnect and send it now.
                        self._recover()
                        rc = publish(topics[i], payloads[i], 0).rc
                    if rc == mqtt.MQTT_ERR_CONN_LOST:
                        self._recover()  # QoS 0 lost with the connection: at most once
                    elif rc:
                        self._send_failures += 1
                    self._published += 1
            if not qos and not client.want_write():
                self._acked = self._published - self._send_failures

    def _wait_for_acks(self) -> None:
        if self._stop.is_set():
            raise _Stopped
        self._service(0.05)

    def _flush(self, timeout: float | None) -> None:
        """Wait until everything published is acknowledged (or ``timeout`` runs out)."""
        if self.settings.mock or self._client is None or not self._connected.is_set():
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        qos = self.settings.qos
        while True:
            if qos and self._acked + self._ack_failures >= self._published - self._send_failures:
                break
            if not qos and not self._client.want_write():
                self._acked = self._published - self._send_failures
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                self._service(0.05)
            except _Stopped:
                break

    def _close(self) -> None:
        client = self._client
        if client is not None:
            client.disconnect()
            self._connected.clear()
        with self._lock:
            # Whatever was handed over but never answered will not be delivered by us.
            self._abandoned = max(0, self._published - self._acked - self._ack_failures - self._send_failures)
