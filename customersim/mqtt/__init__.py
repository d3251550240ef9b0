"""The MQTT sink: how the store's events reach the systems downstream.

This module is the public face of the MQTT side; the parts live beside it:

- :mod:`~customersim.mqtt.settings`: the table of MQTT settings and :class:`MqttSettings`
  (broker, client id, topics, QoS, credentials, TLS, mock mode) from the environment;
- :mod:`~customersim.mqtt.payloads`: the payload contract, encoded column-wise;
- :mod:`~customersim.mqtt.connection`: paho clients, retries, deadlines and failures in words;
- :mod:`~customersim.mqtt.pacing`: when each event is due (speed factor, rebase to now);
- :mod:`~customersim.mqtt.transport`: how messages leave (paho, or the log in mock mode);
- :mod:`~customersim.mqtt.publisher`: :class:`Publisher`, paced and long-lived;
- :mod:`~customersim.mqtt.feed`: :class:`MessageFeed`, a subscriber keeping the latest.

:func:`send_event` is the one-shot helper: one hand-made event on its topic, the way the old
service's produce_entry / produce_move / produce_exit endpoints did it.

Importing this package is light (no paho, numpy or pandas): the publisher and the feed are
loaded on first use, and paho only when something is really sent.

Example:
    >>> settings = MqttSettings(mock=True)
    >>> send_event(settings, "move", customer_id="997", ts=192326400, x=2, y=3)
    b'{"id":"997","ts":192326400,"x":2,"y":3}'
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from customersim.errors import MqttError
from customersim.mqtt.pacing import parse_speed
from customersim.mqtt.payloads import encode_payload
from customersim.mqtt.settings import MQTT_SETTINGS, MqttSettings, MqttSettingsError, Topics

if TYPE_CHECKING:
    from customersim.mqtt.feed import FeedMessage, MessageFeed
    from customersim.mqtt.payloads import encode_frame
    from customersim.mqtt.publisher import Publisher, PublisherStats

__all__ = [
    "FeedMessage",
    "MessageFeed",
    "MqttError",
    "MqttSettings",
    "MqttSettingsError",
    "Publisher",
    "PublisherStats",
    "Topics",
    "encode_frame",
    "encode_payload",
    "parse_speed",
    "send_event",
]

# Names whose modules need paho, numpy or pandas: loaded on first use, so that the command
# line starts without them.
_LAZY = {
    "FeedMessage": "customersim.mqtt.feed",
    "MessageFeed": "customersim.mqtt.feed",
    "Publisher": "customersim.mqtt.publisher",
    "PublisherStats": "customersim.mqtt.publisher",
    "encode_frame": "customersim.mqtt.payloads",
}

log = logging.getLogger("customersim.mqtt")
mock_log = logging.getLogger("customersim.mqtt.mock")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'customersim.mqtt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def send_event(
    settings: MqttSettings,
    event: str,
    customer_id: str,
    ts: int | None = None,
    x: int | None = None,
    y: int | None = None,
    *,
    dep: str | None = None,
    timeout: float = 10.0,
    width: int | None = None,
    height: int | None = None,
) -> bytes:
    """Publish one event on its topic and wait for the broker to take it.

    Args:
        settings: the broker, topics and QoS.
        event: ``enter``, ``move``, ``exit`` or ``focus``.
        customer_id: the customer's id (sent as a string).
        ts: epoch seconds; default now.
        x, y: the cell of a move (required for moves, not allowed otherwise).
        dep: the department of a focus event (required for focus, not allowed otherwise).
        timeout: seconds to reach the broker and get the acknowledgement, in all.
        width, height: the store's size in cells, when known: x and y must be inside it.

    Returns:
        The payload that was sent.

    Raises:
        ValueError: a bad event, a blank id, a ts or cell that is not allowed, x/y missing
            on a move / given on enter or exit, or a timeout that is not above 0; the message
            names the argument.
        MqttError: no broker set, unreachable, refused, or no acknowledgement in time.
    """
    if not timeout > 0:
        raise ValueError(f"timeout = {timeout!r} is not allowed: expected seconds > 0")
    if event != "move" and (x is not None or y is not None):
        raise ValueError(f"x and y only go with move events, not {event!r}")
    if event != "focus" and dep is not None:
        raise ValueError(f"a department only goes with focus events, not {event!r}")
    from customersim.contract import check_event  # here: pandas stays out of a light import

    ts = int(time.time()) if ts is None else ts
    check_event(event, customer_id, ts, x, y, width=width, height=height)
    payload = encode_payload(event, customer_id, ts, x, y, dep=dep)
    topic = settings.topics.for_event(event)
    if settings.mock:
        mock_log.info("%s %s", topic, payload.decode("utf-8"))
        return payload
    if not settings.host:
        raise MqttError(
            f"no broker to send to: set {MQTT_SETTINGS.env('host')} (or "
            f"{MQTT_SETTINGS.env('mock')}=true to only log the message)"
        )
    from customersim.mqtt.connection import Connector, make_client, warn_if_insecure

    warn_if_insecure(settings)
    # A client id of its own, so that a running publisher with the settings' id is not kicked off.
    client = make_client(settings, f"{settings.client_id}-send-{uuid.uuid4().hex[:8]}")
    connector = Connector(client, settings, threading.Event())
    client.on_connect = lambda c, u, f, reason, p: connector.note_connack(reason)
    client.on_disconnect = lambda *args: connector.note_disconnect()
    began = time.monotonic()
    try:
        # One deadline for the whole send: reaching the broker and the acknowledgement.
        connector.connect_with_retry(timeout)
        client.loop_start()
        info = client.publish(topic, payload, settings.qos)
        info.wait_for_publish(max(0.0, began + timeout - time.monotonic()))
        if not info.is_published():
            raise MqttError(
                f"broker {settings.address} did not acknowledge the message within "
                f"{time.monotonic() - began:.1f} s"
            )
    finally:
        client.disconnect()
        client.loop_stop()
    log.debug("sent %s %s", topic, payload.decode("utf-8"))
    return payload
