"""Watching what the downstream systems see: a subscriber that keeps the latest messages.

The Streamlit app shows "the last messages as a subscriber on the same broker receives them".
:class:`MessageFeed` is that subscriber: a paho client on the three event topics that keeps
the last ``maxlen`` messages in a deque, safe to read from another thread. It reconnects by
itself when the broker goes away (paho's network thread) and never publishes.
"""

from __future__ import annotations

import collections
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from customersim.mqtt.connection import Connector, make_client
from customersim.mqtt.settings import MqttSettings


@dataclass(frozen=True)
class FeedMessage:
    """One received message: its topic, payload text and local arrival time (epoch s)."""

    topic: str
    payload: str
    received_at: float


class MessageFeed:
    """Subscribes to the event topics of ``settings`` and keeps the last ``maxlen`` messages.

    Example:
        >>> with MessageFeed(settings, maxlen=20) as feed:   # doctest: +SKIP
        ...     feed.messages()[-1].payload
        '{"id":"997","ts":192326400,"x":2,"y":3}'

    Args:
        settings: the broker and topics (QoS of the subscription: ``settings.qos``).
        maxlen: how many of the latest messages to keep.
        give_up_after: seconds to keep trying the first connection.
        accept: optional ``accept(topic, payload bytes) -> bool``, called on paho's thread for
            each message; a message it declines is neither kept nor counted (other publishers
            on the same topics, when only one publisher's messages are wanted).
    """

    def __init__(
        self,
        settings: MqttSettings,
        maxlen: int = 50,
        give_up_after: float = 10.0,
        accept: Callable[[str, bytes], bool] | None = None,
    ) -> None:
        if settings.mock or not settings.host:
            raise ValueError("a message feed needs a real broker (a host, not mock mode)")
        self.settings = settings
        self.give_up_after = give_up_after
        self._messages: collections.deque[FeedMessage] = collections.deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._received = 0
        self._accept = accept
        self._stop = threading.Event()
        # A client id of its own: the broker would drop the publisher if the two shared one.
        self._client = make_client(settings, f"{settings.client_id}-feed-{uuid.uuid4().hex[:8]}")
        self._client.reconnect_delay_set(min_delay=0.25, max_delay=5)
        self._connector = Connector(self._client, settings, self._stop)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = lambda *args: self._connector.note_disconnect()
        self._client.on_message = self._on_message
        self._subscribed = threading.Event()
        self._client.on_subscribe = lambda *args: self._subscribed.set()

    def start(self, timeout: float = 5.0) -> MessageFeed:
        """Connect and subscribe; returns once the broker confirmed the subscription.

        Raises:
            MqttError: the broker cannot be reached or refuses the connection.
            TimeoutError: the subscription was not confirmed within ``timeout`` seconds.
        """
        self._connector.connect_with_retry(self.give_up_after)
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            raise TimeoutError(f"broker {self.settings.address} did not confirm the subscription")
        return self

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._connector.note_connack(reason)
        if not reason.is_failure:
            # (Re)subscribe on every connection: a clean session forgets subscriptions.
            client.subscribe([(topic, self.settings.qos) for topic in self.settings.topics.as_tuple()])

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._accept is not None and not self._accept(message.topic, message.payload):
            return
        item = FeedMessage(message.topic, message.payload.decode("utf-8", "replace"), time.time())
        with self._lock:
            self._messages.append(item)
            self._received += 1

    def messages(self) -> list[FeedMessage]:
        """The latest messages, oldest first."""
        with self._lock:
            return list(self._messages)

    @property
    def received(self) -> int:
        """How many messages arrived since the feed started."""
        return self._received

    def stop(self) -> None:
        """Unsubscribe and disconnect; idempotent."""
        self._stop.set()
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> MessageFeed:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
