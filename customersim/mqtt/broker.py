"""A broker in the box: an embedded MQTT broker so that nothing needs setting up.

Someone trying the simulator should see events flow without installing a broker. When no
broker host is set, the front ends that keep running (``customersim run`` and the app) start
:class:`EmbeddedBroker`: an `amqtt <https://github.com/Yakifo/amqtt>`_ broker (pure Python,
asyncio, MIT; the maintained successor of hbmqtt) in a background thread with its own event
loop, bound to 127.0.0.1 only so that it is never exposed to the network, anonymous access,
MQTT 3.1.1. It is for demos and development: a few thousand messages a second, no TLS, no
persistence. Set a broker host to use a real broker.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
from typing import Any

from customersim.mqtt.connection import MqttError
from customersim.mqtt.settings import MQTT_SETTINGS

log = logging.getLogger("customersim.mqtt.broker")
_env = MQTT_SETTINGS.env


class BrokerPortInUse(MqttError):
    """The port the built-in broker should listen on is taken."""


def port_is_free(host: str, port: int) -> bool:
    """Whether a listening socket could be bound on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Same option as asyncio's server: a port in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


class EmbeddedBroker:
    """An amqtt broker on ``host:port`` in a background thread.

    Example:
        >>> with EmbeddedBroker(port=1883) as broker:    # doctest: +SKIP
        ...     print(broker.announcement())

    Raises:
        BrokerPortInUse: on :meth:`start`, when the port is taken (the message suggests using
            the broker already listening there as the broker host).
        MqttError: on :meth:`start`, when the broker cannot start for another reason.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, *, start_timeout: float = 15.0) -> None:
        self.host = host
        self.port = int(port)
        self.start_timeout = start_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._broker is not None and self._thread is not None and self._thread.is_alive()

    def announcement(self) -> str:
        """The one line that tells the user where the events go."""
        port = "" if self.port == 1883 else f" -p {self.port}"
        return (
            f"publishing to the built-in broker at {self.host}:{self.port}; subscribe with "
            f"mosquitto_sub -h {self.host}{port} -t 'customer/#'"
        )

    def _port_taken_error(self) -> BrokerPortInUse:
        return BrokerPortInUse(
            f"cannot start the built-in broker: port {self.port} on {self.host} is already taken. "
            f"If an MQTT broker is listening there, use it with {_env('host')}={self.host} "
            f"(and {_env('port')}={self.port}); otherwise choose a free port with {_env('port')}"
        )

    def start(self) -> EmbeddedBroker:
        """Start listening; returns once the broker accepts connections."""
        if self._thread is not None:
            return self
        if not port_is_free(self.host, self.port):
            raise self._port_taken_error()
        # amqtt logs every connection at INFO and a traceback on a failed start: keep it quiet
        # unless someone debugs it on purpose.
        for name in ("amqtt", "transitions"):
            if logging.getLogger(name).level == logging.NOTSET:
                logging.getLogger(name).setLevel(logging.CRITICAL)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="customersim-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.start_timeout):
            self.stop()
            raise MqttError(f"the built-in broker did not start within {self.start_timeout:g} s")
        if self._failure is not None:
            failure, self._failure = self._failure, None
            self.stop()
            cause = failure.__cause__ or failure
            if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
                raise self._port_taken_error() from None
            raise MqttError(f"cannot start the built-in broker on {self.host}:{self.port}: {cause}") from None
        log.info("built-in MQTT broker listening on %s:%d", self.host, self.port)
        return self

    def _serve(self) -> None:
        from amqtt.broker import Broker  # imported here: only the front ends that need it pay

        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # Only anonymous access; no $SYS publisher, no packet logging.
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }

        async def begin() -> None:
            self._broker = Broker(config, loop=self._loop)
            await self._broker.start()

        try:
            self._loop.run_until_complete(begin())
        except BaseException as error:  # reported to start() in words
            self._failure = error
            self._broker = None
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        # stop() ended run_forever: let the broker close its sessions and listener.
        try:
            self._loop.run_until_complete(self._broker.shutdown())
        except Exception as error:  # shutting down: nothing left to protect
            log.debug("built-in broker shutdown: %s", error)
        finally:
            self._loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the broker and wait for its thread; idempotent."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive() and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None
        self._broker = None
        log.info("built-in MQTT broker stopped")

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
