"""How messages leave the publisher: to a broker through paho, or into the log in mock mode.

The publisher decides *when* a message goes out (see :mod:`~customersim.mqtt.pacing`); a
transport decides *how*. Both transports here keep the same counters (published, acknowledged,
failed) so that the publisher's stats do not care which one runs:

- :class:`PahoTransport` delivers at-least-once for QoS 1 and 2 with at most ``window``
  messages unacknowledged, reconnects with backoff when the broker goes away (paho then resends
  what was not acknowledged, in order), notices a broker that stops answering, and notices a
  second client with the same client id throwing this one off the broker;
- :class:`MockTransport` (mock mode) logs each message as ``topic payload`` on the
  ``customersim.mqtt.mock`` logger and connects to nothing.

Each message handed over is also given to the ``on_message`` callback, if one is set, so that a
page can show what went out without parsing logs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from customersim.mqtt.connection import (
    SESSION_TAKEN_OVER,
    Connector,
    MqttError,
    make_client,
    warn_if_insecure,
)
from customersim.mqtt.settings import MQTT_SETTINGS, MqttSettings

log = logging.getLogger("customersim.mqtt")
mock_log = logging.getLogger("customersim.mqtt.mock")

OnMessage = Callable[[str, bytes], None]

DEFAULT_WINDOW = 10_000
# MQTT 3.1.1 has no way for a broker to say how many QoS 2 messages it takes at once, and
# mosquitto (max_inflight_messages, default 20) silently drops the ones beyond its limit
# (measured: 2,400 of 23,673 arrived with 10,000 in flight). So QoS 2 on 3.1.1 keeps to 20.
QOS2_WINDOW_MQTT311 = 20
MAX_WINDOW = 60_000  # below the 65,535 message ids paho can tell apart
_STOP_CHECK = 1024  # messages between two looks at the stop flag when publishing flat out
# A connection the broker drops this soon after accepting it, this many times in a row, is
# being taken over by another client with the same id (MQTT 3.1.1 gives no reason).
QUICK_LOSS_SECONDS = 2.0
QUICK_LOSSES_FOR_TAKEOVER = 3


class Stopped(Exception):
    """``stop`` was set while the transport was waiting."""


class Transport(Protocol):
    """What the publisher needs from a way of sending messages."""

    published: int
    acknowledged: int
    failed: int
    reconnects: int
    retrying: str | None

    @property
    def connected(self) -> bool: ...

    def open(self) -> None:
        """Get ready to send (connect); raises MqttError in words when that fails."""

    def send(self, topics: list[str], payloads: list[bytes], begin: int, end: int) -> None:
        """Hand over messages ``begin:end``; raises :class:`Stopped` when stopped."""

    def wait_until(self, due: float) -> None:
        """Wait until ``due`` (monotonic clock), keeping the connection served."""

    def flush(self, timeout: float | None) -> None:
        """Wait until everything handed over is acknowledged, or ``timeout`` runs out."""

    def close(self) -> None:
        """Disconnect; what is still unacknowledged counts as failed."""


class MockTransport:
    """Mock mode: each message is logged as ``topic payload`` and counts as delivered."""

    connected = False
    reconnects = 0
    retrying = None

    def __init__(self, stop: threading.Event, on_message: OnMessage | None = None) -> None:
        self._stop = stop
        self._on_message = on_message
        self.published = self.acknowledged = self.failed = 0

    def open(self) -> None:
        return None

    def send(self, topics: list[str], payloads: list[bytes], begin: int, end: int) -> None:
        for i in range(begin, end):
            mock_log.info("%s %s", topics[i], payloads[i].decode("utf-8"))
            self.published += 1
            self.acknowledged += 1
            if self._on_message is not None:
                self._on_message(topics[i], payloads[i])
            if self._stop.is_set() and (i - begin) % _STOP_CHECK == _STOP_CHECK - 1:
                raise Stopped

    def wait_until(self, due: float) -> None:
        remaining = due - time.monotonic()
        if remaining > 0 and self._stop.wait(remaining):
            raise Stopped

    def flush(self, timeout: float | None) -> None:
        return None

    def close(self) -> None:
        return None


class PahoTransport:
    """A paho client driven from the publisher's own thread.

    One thread (the publisher's) drives the client: publish() writes straight to the socket and
    loop() reads acknowledgements. paho's own network thread would cost a wake-up and a GIL
    hand-over per message, a third of the throughput.

    Args:
        settings: broker, QoS, credentials and TLS.
        client_id: the MQTT client id.
        stop: set from another thread to end waits (they raise :class:`Stopped`).
        window: most messages unacknowledged at once (QoS 1 and 2).
        give_up_after: seconds without a working connection before giving up; a broker that
            holds messages unacknowledged this long counts as gone.
        on_message: called with topic and payload of each message handed to the client.
    """

    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        stop: threading.Event,
        *,
        window: int = DEFAULT_WINDOW,
        give_up_after: float = 60.0,
        on_message: OnMessage | None = None,
    ) -> None:
        if not settings.host:
            raise MqttError(
                f"no broker to publish to: set {MQTT_SETTINGS.env('host')} (or "
                f"{MQTT_SETTINGS.env('mock')}=true to only log the messages)"
            )
        self.settings = settings
        self.client_id = client_id
        self.window = window
        self.give_up_after = give_up_after
        self._stop = stop
        self._on_message = on_message
        self._connected = threading.Event()
        self._client: mqtt.Client | None = None
        self._connector: Connector | None = None
        self.published = 0
        self.acknowledged = 0
        self._ack_failures = 0  # written by paho's callbacks (in this thread) only
        self._send_failures = 0
        self._abandoned = 0
        self.reconnects = 0
        self.retrying: str | None = None
        self._receive_maximum = 65535  # MQTT 5: the broker's Receive Maximum, from CONNACK
        self._connected_at = 0.0
        self._last_progress = 0.0  # last sign that the broker takes what we send
        self._quick_losses = 0
        self._taken_over = False

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def failed(self) -> int:
        return self._ack_failures + self._send_failures + self._abandoned

    def _in_flight(self) -> int:
        return self.published - self.acknowledged - self._ack_failures - self._send_failures

    # ---------------------------------------------------------------------- the connection

    def open(self) -> None:
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
        self.retrying = words

    def _takeover_error(self, how: str, *, sure: bool = True) -> MqttError:
        return MqttError(
            f"{'' if sure else 'most likely '}another client uses the same client id "
            f"{self.client_id!r} on broker {self.settings.address} ({how}); give each publisher "
            f"its own {MQTT_SETTINGS.env('client_id')}"
        )

    def _recover(self, since: float | None = None) -> None:
        """Reconnect after a lost connection; paho then resends what was not acknowledged.

        Args:
            since: when the broker was last known to work; the give-up time counts from there.
        """
        assert self._connector is not None and self._client is not None
        self._connected.clear()
        if self._taken_over:
            raise self._takeover_error("the broker said: session taken over")
        if time.monotonic() - self._connected_at < QUICK_LOSS_SECONDS:
            self._quick_losses += 1
            if self._quick_losses >= QUICK_LOSSES_FOR_TAKEOVER:
                raise self._takeover_error(
                    f"the broker dropped this connection right after accepting it, "
                    f"{self._quick_losses} times in a row",
                    sure=False,
                )
        else:
            self._quick_losses = 0
        log.warning(
            "lost the connection to MQTT broker %s; reconnecting (giving up after %g s)",
            self.settings.address,
            self.give_up_after,
        )
        try:
            self._connector.connect_with_retry(self.give_up_after, since=since)
        except MqttError as error:
            if self._stop.is_set():
                raise Stopped from None
            raise MqttError(f"lost the connection and could not reconnect: {error}") from None
        self.reconnects += 1
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
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or not self._connected.is_set():
            self._recover()
            return
        now = time.monotonic()
        if self.settings.qos:
            pending = self._in_flight() > 0
        else:
            # Nothing is acknowledged at QoS 0: progress is a packet written out whole (paho
            # notes the time on its monotonic clock).
            pending = client.want_write()
            written = getattr(client, "_last_msg_out", 0.0)
            if isinstance(written, float):
                self._last_progress = max(self._last_progress, written)
        if not pending:
            self._last_progress = now
        elif now - self._last_progress >= self.give_up_after:
            # The broker holds what we sent without answering (hung, or a dead link that TCP
            # has not noticed yet): it has used up the allowance already.
            log.warning(
                "MQTT broker %s has not acknowledged anything for %.1f s",
                self.settings.address,
                now - self._last_progress,
            )
            client.disconnect()
            self._connected.clear()
            self._recover(since=self._last_progress)

    # paho callbacks: they run in this thread, inside publish() and loop().
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if self._connector is not None:
            self._connector.note_connack(reason)
        if not reason.is_failure:
            maximum = getattr(properties, "ReceiveMaximum", None)
            if isinstance(maximum, int) and maximum > 0:
                self._receive_maximum = maximum
            self._connected_at = self._last_progress = time.monotonic()
            self._connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if self._connector is not None:
            self._connector.note_disconnect()
        if getattr(reason, "value", None) == SESSION_TAKEN_OVER:
            self._taken_over = True
        self._connected.clear()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        self._last_progress = time.monotonic()
        if getattr(reason, "is_failure", False):
            self._ack_failures += 1
            log.warning("broker refused message %d: %s", mid, reason)
        else:
            self.acknowledged += 1

    def _effective_window(self) -> int:
        """Most unacknowledged messages allowed now: ours, and never more than the broker takes."""
        if self.settings.protocol == "5":
            return min(self.window, self._receive_maximum)
        if self.settings.qos == 2:
            return min(self.window, QOS2_WINDOW_MQTT311)
        return self.window

    # ----------------------------------------------------------------------------- sending

    def send(self, topics: list[str], payloads: list[bytes], begin: int, end: int) -> None:
        client = self._client
        assert client is not None
        publish = client.publish
        qos = self.settings.qos
        on_message = self._on_message
        for chunk in range(begin, end, _STOP_CHECK):
            if self._stop.is_set():
                raise Stopped
            self._service()
            window = self._effective_window()
            for i in range(chunk, min(chunk + _STOP_CHECK, end)):
                if qos:
                    while self.published - self.acknowledged - self._ack_failures >= window:
                        self._wait_for_acks()
                    self.published += 1
                    rc = publish(topics[i], payloads[i], qos).rc
                    if rc in (MQTTErrorCode.MQTT_ERR_NO_CONN, MQTTErrorCode.MQTT_ERR_CONN_LOST):
                        # paho keeps the message and sends it again once reconnected.
                        self._recover()
                    elif rc:
                        self._send_failures += 1
                        log.warning("message not accepted by the client: %s", mqtt.error_string(rc))
                else:
                    rc = publish(topics[i], payloads[i], 0).rc
                    if rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
                        # Not sent at all: reconnect and send it now.
                        self._recover()
                        rc = publish(topics[i], payloads[i], 0).rc
                    if rc == MQTTErrorCode.MQTT_ERR_CONN_LOST:
                        self._recover()  # QoS 0 lost with the connection: at most once
                    elif rc:
                        self._send_failures += 1
                    self.published += 1
                if on_message is not None:
                    on_message(topics[i], payloads[i])
            if not qos and not client.want_write():
                self.acknowledged = self.published - self._send_failures

    def _wait_for_acks(self) -> None:
        if self._stop.is_set():
            raise Stopped
        self._service(0.05)

    def wait_until(self, due: float) -> None:
        while True:
            if self._stop.is_set():
                raise Stopped
            remaining = due - time.monotonic()
            if remaining <= 0:
                return
            self._service(min(remaining, 0.1))

    def flush(self, timeout: float | None) -> None:
        if self._client is None or not self._connected.is_set():
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        qos = self.settings.qos
        while True:
            if qos and self.acknowledged + self._ack_failures >= self.published - self._send_failures:
                break
            if not qos and not self._client.want_write():
                self.acknowledged = self.published - self._send_failures
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                self._service(0.05)
            except Stopped:
                break

    def close(self) -> None:
        client = self._client
        if client is not None:
            client.disconnect()
            self._connected.clear()
        # Whatever was handed over but never answered will not be delivered by us.
        self._abandoned = max(
            0, self.published - self.acknowledged - self._ack_failures - self._send_failures
        )


def make_transport(
    settings: MqttSettings,
    client_id: str,
    stop: threading.Event,
    *,
    window: int = DEFAULT_WINDOW,
    give_up_after: float = 60.0,
    on_message: OnMessage | None = None,
) -> Transport:
    """The transport for ``settings``: mock (log only) or a broker through paho."""
    if settings.mock:
        return MockTransport(stop, on_message)
    return PahoTransport(
        settings, client_id, stop, window=window, give_up_after=give_up_after, on_message=on_message
    )
