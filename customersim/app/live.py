"""Live publishing from the page: one publisher per browser session, and what it looks like.

Streamlit runs the whole page script again on every click, so nothing long-lived may be created
by the script itself. A :class:`LiveSession` lives in the session's state instead and is the
only thing that starts a :class:`~customersim.mqtt.Publisher`: ``start`` first stops the
session's previous publisher, so however often the page reruns or Start is clicked there is at
most one publisher per session. Beside the publisher runs a
:class:`~customersim.mqtt.MessageFeed`, an ordinary subscriber on the same broker, so the
page shows what a downstream system really receives (in mock mode, the messages the publisher
hands to its log, through its message callback). Other tabs may publish to the same topics at
the same time: each session's publisher has its own client id, and its feed keeps only the
messages this session sent (:class:`_OwnMessages` compares them with the payloads of the rows
around the publisher's position).

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from customersim.config import ConfigError
from customersim.frame import event_codes
from customersim.mqtt import MessageFeed, MqttError, MqttSettings, Publisher, PublisherStats, encode_frame

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


class _Tape:
    """The frames handed to a publisher, iterated once, with the last few kept by row offset.

    The publisher reads it like any iterable of frames; the session looks up rows by their
    position in the whole stream (the publisher's ``published`` count), to know the simulated
    clock and which payloads went out lately.
    """

    def __init__(self, frames: pd.DataFrame | Iterable[pd.DataFrame], keep: int = 2) -> None:
        self.total = len(frames) if isinstance(frames, pd.DataFrame) else None
        self.last_ts = int(frames["ts"].iloc[-1]) if self.total else None
        self._frames = [frames] if isinstance(frames, pd.DataFrame) else frames
        self._chunks: collections.deque[tuple[int, pd.DataFrame]] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[pd.DataFrame]:
        offset = 0
        for frame in self._frames:
            with self._lock:
                self._chunks.append((offset, frame))
            offset += len(frame)
            yield frame

    def rows(self, lo: int, hi: int) -> pd.DataFrame:
        """Rows ``lo`` to ``hi`` (exclusive) of the stream, as far as they are still kept."""
        with self._lock:
            chunks = list(self._chunks)
        parts = [
            frame.iloc[max(lo - offset, 0) : max(hi - offset, 0)]
            for offset, frame in chunks
            if offset < hi and offset + len(frame) > lo
        ]
        return pd.concat(parts) if len(parts) > 1 else (parts[0] if parts else pd.DataFrame())

    def ts_at(self, row: int) -> int | None:
        """The ``ts`` of row ``row`` of the stream, if kept."""
        part = self.rows(row, row + 1)
        return int(part["ts"].iloc[0]) if len(part) else None


class _OwnMessages:
    """Tells this session's messages from other publishers' on the same topics.

    Keeps the set of (topic, payload) of the rows from ``BEHIND`` before to ``AHEAD`` after the
    publisher's position; an unknown message makes it look again once the publisher has come
    within half of ``AHEAD`` of the covered end (or before anything was covered), so the set stays
    ahead of the publisher at any speed the broker takes. Looking again without finding more
    rows (the end of an endless run's current chunk) waits ``REFRESH`` seconds before encoding
    again. Identical messages from another publisher (same settings and seed) cannot be told apart.
    """

    AHEAD = 20_000
    BEHIND = 20_000
    REFRESH = 0.2

    def __init__(self, tape: _Tape, topics: tuple[str, str, str], position: Callable[[], int]) -> None:
        self._tape = tape
        self._topics = np.array(topics, dtype=object)
        self._position = position
        self._known: set[tuple[str, bytes]] = set()
        self._covered = (0, 0)
        self._looked = 0.0
        self._lock = threading.Lock()

    def __call__(self, topic: str, payload: bytes) -> bool:
        key = (topic, payload)
        if key in self._known:
            return True
        with self._lock:
            position = self._position()
            low, high = self._covered
            near_end = high == 0 or position >= high - self.AHEAD // 2 or position < low
            now = time.monotonic()
            if near_end and now - self._looked >= self.REFRESH:
                start = max(0, position - self.BEHIND)
                rows = self._tape.rows(start, position + self.AHEAD)
                if (start, start + len(rows)) != self._covered and len(rows):
                    topics = self._topics[event_codes(rows)].tolist()
                    self._known = set(zip(topics, encode_frame(rows), strict=True))
                    self._covered = (start, start + len(rows))
                elif len(rows):
                    self._looked = now  # nothing new yet: do not encode again at every message
        return key in self._known


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
        total: how many messages the run holds (None: endless).
        clock: the simulated time (epoch s) of the last message handed to the broker.
        eta_seconds: about how long until the last message goes out (None: unknown, endless).
        give_up_in: while connecting, seconds left before the run gives up.
    """

    state: str
    message: str
    stats: PublisherStats | None = None
    feed: list[tuple[str, str, float]] = field(default_factory=list)
    feed_received: int = 0
    feed_error: str | None = None
    total: int | None = None
    clock: int | None = None
    eta_seconds: float | None = None
    give_up_in: float | None = None

    @property
    def progress(self) -> float | None:
        """Share of the run's messages published, 0 to 1 (None: endless or not started)."""
        if self.total is None or self.stats is None:
            return None
        return min(1.0, self.stats.published / self.total) if self.total else 1.0


class LiveSession:
    """One browser session's publishing: at most one publisher, and a feed watching it."""

    def __init__(self, feed_size: int = FEED_SIZE, give_up_after: float = GIVE_UP_AFTER) -> None:
        self.feed_size = feed_size
        self.give_up_after = give_up_after
        self._tape: _Tape | None = None
        self._started_at = 0.0
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
            publisher = Publisher(
                settings, speed=speed, give_up_after=self.give_up_after, on_message=mock_feed
            )
            self._settings = settings
            self._feed_error = None
            tape = _Tape(frames)
            own = _OwnMessages(tape, settings.topics.as_tuple(), lambda: publisher.stats().published)
            if mock_feed is not None:
                self._mock_feed = mock_feed
            else:
                self._feed = self._open_feed(settings, own)
                if self._feed is not None:
                    self._running.append(self._feed)
            self._tape, self._started_at = tape, time.monotonic()
            publisher.start(tape, origin_ts=origin_ts)
            self._publisher = publisher
            self._running.append(publisher)
            _PUBLISHERS.add(publisher)
            self.runs += 1

    def _open_feed(self, settings: MqttSettings, accept: Callable[[str, bytes], bool]) -> MessageFeed | None:
        feed = MessageFeed(settings, maxlen=self.feed_size, give_up_after=FEED_CONNECT_SECONDS, accept=accept)
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
        give_up_in = None
        if stats.running and not stats.connected and not publisher.settings.mock:
            state = "connecting"
            message = f"connecting to {where}…"
            if stats.retrying:
                give_up_in = max(0.0, self._started_at + self.give_up_after - time.monotonic())
                message += f" (retrying: {stats.retrying}; giving up in {give_up_in:.0f} s)"
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
        clock = eta = None
        tape = self._tape
        if tape is not None and stats.published:
            clock = tape.ts_at(stats.published - 1)
            if tape.total is not None and stats.running and clock is not None:
                speed = publisher.speed
                if speed is not None:
                    eta = max(0.0, (tape.last_ts - clock) / speed)
                elif stats.rate > 0:
                    eta = (tape.total - stats.published) / stats.rate
        return LiveStatus(
            state,
            message,
            stats,
            self._rows(),
            received,
            self._feed_error,
            total=tape.total if tape is not None else None,
            clock=clock,
            eta_seconds=eta,
            give_up_in=give_up_in,
        )


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
