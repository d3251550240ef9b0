"""Live publishing from the page: one publisher per browser session, and what it looks like.

Streamlit runs the whole page script again on every click, so nothing long-lived may be created
by the script itself. A :class:`LiveSession` lives in the session's state instead and is the
only thing that starts a :class:`~customersim.mqtt.Publisher`: ``start`` first stops the
session's previous publisher, so however often the page reruns or Start is clicked there is at
most one publisher per session. Beside the publisher runs a
:class:`~customersim.mqtt.MessageFeed`, an ordinary subscriber on the same broker, so the
page shows what a downstream system really receives (in mock mode, the messages the publisher
hands to its log, through its message callback).

:class:`BuiltinBroker` is the broker used when no broker host is set: one per server process,
bound to 127.0.0.1, started on first use and stopped when the process exits. Nothing here
imports Streamlit; the page keeps these objects in ``st.session_state`` and ``st.cache_resource``.
"""

from __future__ import annotations

import atexit
import collections
import logging
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from customersim.config import ConfigError
from customersim.mqtt import MessageFeed, MqttError, MqttSettings, Publisher, PublisherStats

log = logging.getLogger("customersim.app")

# How long the publisher keeps trying an unreachable broker before it gives up with an error.
GIVE_UP_AFTER = 15.0
# The subscriber must be listening before the first message goes out; a broker that does not
# take it within this time will not take the publisher either (the publisher says why).
FEED_CONNECT_SECONDS = 2.0
FEED_SIZE = 30

# Every publisher a LiveSession started, so tests (and the page) can count the running ones.
_PUBLISHERS: weakref.WeakSet[Publisher] = weakref.WeakSet()


def running_publishers() -> int:
    """How many publishers started from the page are running in this process."""
    return sum(1 for publisher in list(_PUBLISHERS) if publisher.stats().running)


class _PublishedFeed:
    """The last messages a mock-mode publisher sent, from its message callback."""

    def __init__(self, maxlen: int) -> None:
        self._messages: collections.deque[tuple[str, str, float]] = collections.deque(maxlen=maxlen)
        self.received = 0

    def __call__(self, topic: str, payload: bytes) -> None:
        # Called from the publisher's thread; deque appends are atomic.
        self._messages.append((topic, payload.decode("utf-8", "replace"), time.time()))
        self.received += 1

    def rows(self) -> list[tuple[str, str, float]]:
        return list(self._messages)

    def stop(self) -> None:
        return None


@dataclass(frozen=True)
class LiveStatus:
    """What the status panel shows.

    Attributes:
        state: ``idle``, ``connecting``, ``publishing``, ``finished``, ``stopped`` or ``failed``.
        message: one line in words (the reason when something is wrong); never holds a secret.
        stats: the publisher's latest stats, if one was started.
        feed: the last messages a subscriber received: topic, payload, local time (epoch s).
        feed_received: how many messages the subscriber received in this run.
        feed_error: why the subscriber could not watch the broker, if so.
    """

    state: str
    message: str
    stats: PublisherStats | None = None
    feed: list[tuple[str, str, float]] = field(default_factory=list)
    feed_received: int = 0
    feed_error: str | None = None


class LiveSession:
    """One browser session's publishing: at most one publisher, and a feed watching it."""

    def __init__(self, feed_size: int = FEED_SIZE) -> None:
        self.feed_size = feed_size
        self.runs = 0
        self._lock = threading.Lock()
        self._publisher: Publisher | None = None
        self._feed: MessageFeed | None = None
        self._mock_feed: _PublishedFeed | None = None
        self._feed_error: str | None = None
        self._last_rows: list[tuple[str, str, float]] = []
        self._last_received = 0
        # Everything that must be stopped when the session goes away. Closing the tab drops
        # the session state; the finalizer then stops what is still running. It holds this
        # list, not the session, so that the session can be collected at all.
        self._running: list = []
        weakref.finalize(self, _stop_all, self._running)

    def start(
        self,
        settings: MqttSettings,
        frames: pd.DataFrame | Iterable[pd.DataFrame],
        *,
        speed: str | float | None,
        origin_ts: int | None = None,
    ) -> None:
        """Stop the previous run, then start watching and publishing ``frames``; returns at once.

        Raises:
            MqttError: no broker to publish to.
            ValueError: a bad speed.
        """
        with self._lock:
            self._stop_locked()
            mock_feed = _PublishedFeed(self.feed_size) if settings.mock else None
            publisher = Publisher(settings, speed=speed, give_up_after=GIVE_UP_AFTER, on_message=mock_feed)
            self._settings = settings
            self._feed_error = None
            if mock_feed is not None:
                self._mock_feed = mock_feed
            else:
                self._feed = self._open_feed(settings)
                if self._feed is not None:
                    self._running.append(self._feed)
            publisher.start(frames, origin_ts=origin_ts)
            self._publisher = publisher
            self._running.append(publisher)
            _PUBLISHERS.add(publisher)
            self.runs += 1

    def _open_feed(self, settings: MqttSettings) -> MessageFeed | None:
        feed = MessageFeed(settings, maxlen=self.feed_size, give_up_after=FEED_CONNECT_SECONDS)
        try:
            return feed.start(timeout=FEED_CONNECT_SECONDS)
        except (MqttError, TimeoutError, OSError) as error:
            feed.stop()
            self._feed_error = str(error)
            return None

    def stop(self) -> PublisherStats | None:
        """Stop publishing (the feed keeps its last messages on screen); idempotent."""
        with self._lock:
            publisher = self._publisher
            if publisher is None:
                return None
            stats = publisher.stop(timeout=2.0)
            if self._feed is not None:
                # Let the last acknowledged messages reach the subscriber before it leaves.
                self._wait_for_feed(stats.acknowledged, deadline=time.monotonic() + 2.0)
            self._close_feeds()
            return stats

    def _wait_for_feed(self, count: int, deadline: float) -> None:
        assert self._feed is not None
        while self._feed.received < count and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a counter with a deadline, not synchronising on a guess

    def _close_feeds(self) -> None:
        # Keep the last messages on screen after the subscriber has left.
        for feed in (self._feed, self._mock_feed):
            if feed is not None:
                self._last_rows, self._last_received = self._rows(), feed.received
                feed.stop()
        self._feed = self._mock_feed = None

    def _stop_locked(self) -> None:
        if self._publisher is not None:
            self._publisher.stop(timeout=2.0)
        self._close_feeds()
        self._publisher = None
        self._running.clear()
        self._last_rows, self._last_received = [], 0

    def _rows(self) -> list[tuple[str, str, float]]:
        if self._feed is not None:
            return [(m.topic, m.payload, m.received_at) for m in self._feed.messages()]
        if self._mock_feed is not None:
            return self._mock_feed.rows()
        return self._last_rows

    @property
    def mock(self) -> bool:
        """The current (or last) run is in mock mode."""
        return self._publisher is not None and self._publisher.settings.mock

    @property
    def running(self) -> bool:
        """A publisher of this session is running."""
        return self._publisher is not None and self._publisher.stats().running

    def status(self) -> LiveStatus:
        """The publisher's state in words, its stats and the feed's last messages."""
        publisher = self._publisher
        if publisher is None:
            return LiveStatus("idle", "not publishing")
        stats = publisher.stats()
        live_feed = self._feed or self._mock_feed
        received = live_feed.received if live_feed is not None else self._last_received
        where = (
            "mock mode (messages are logged, not sent)"
            if publisher.settings.mock
            else publisher.settings.address
        )
        if stats.running and not stats.connected and not publisher.settings.mock:
            state = "connecting"
            message = f"connecting to {where}…"
            if stats.retrying:
                message += f" (retrying: {stats.retrying})"
            elif self._feed_error:
                message += f" (subscriber: {self._feed_error})"
        elif stats.running:
            state, message = "publishing", f"publishing to {where}"
        elif stats.stopped:
            state, message = "stopped", f"stopped; {stats.summary()}"
        elif stats.error:
            state, message = "failed", stats.error
        else:
            state, message = "finished", f"finished; {stats.summary()}"
        return LiveStatus(state, message, stats, self._rows(), received, self._feed_error)


def _stop_all(running: list) -> None:
    for item in running:
        try:
            item.stop()
        except Exception:  # the session is gone: there is nobody left to report to
            log.debug("stopping %r after the session ended failed", item, exc_info=True)


def feed_table(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """The feed's messages, newest first, as a table for the page."""
    return pd.DataFrame(
        {
            "received (UTC)": [time.strftime("%H:%M:%S", time.gmtime(t)) for _, _, t in reversed(rows)],
            "topic": [topic for topic, _, _ in reversed(rows)],
            "payload": [payload for _, payload, _ in reversed(rows)],
        }
    )


@dataclass
class BuiltinBroker:
    """The broker used when no broker host is set: on 127.0.0.1 only, one per process.

    Attributes:
        port: the port asked for (the settings' broker port).
        error: why it is not running (the port is taken, ...), in words; None when it runs.
        announcement: the one line that tells a user where to listen (when it runs).
    """

    port: int
    error: str | None = None
    announcement: str = ""
    _broker: object | None = None

    host = "127.0.0.1"

    @classmethod
    def start(cls, port: int) -> BuiltinBroker:
        """Start the embedded broker; on failure the returned object carries the reason."""
        from customersim.mqtt.broker import EmbeddedBroker

        broker = EmbeddedBroker(cls.host, port)
        try:
            broker.start()
        except MqttError as error:  # a taken port is one: its message suggests using that broker
            return cls(port, error=str(error))
        atexit.register(broker.stop)
        return cls(port, None, broker.announcement(), broker)

    def stop(self) -> None:
        """Stop the broker; idempotent."""
        if self._broker is not None:
            self._broker.stop()
            self._broker = None


def settings_or_error(values: dict) -> tuple[MqttSettings | None, str | None]:
    """Build MQTT settings from the panel's values; a value that is not allowed gives its message.

    Returns:
        ``(settings, None)``, or ``(None, message naming the setting)``.
    """
    try:
        return MqttSettings(**values), None
    except ConfigError as error:  # MqttSettingsError is a ConfigError
        return None, str(error)
