"""Serving the HTTP face from a thread of the live service's process (uvicorn).

The socket is bound here, before uvicorn starts, so that a port already taken is one clear line
at start-up rather than a log message from a background thread. Uvicorn's own access log stays
off (the app logs what it does, and never a header, so never the token).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from customersim.errors import UserError

log = logging.getLogger("customersim.http")


class HttpServer:
    """Uvicorn serving ``app`` on ``host:port`` in a daemon thread.

    Raises (from :meth:`start`):
        UserError: the address cannot be bound (taken, or not an address of this machine).
    """

    def __init__(self, app: Any, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def start(self, timeout: float = 10.0) -> HttpServer:
        import uvicorn

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as error:
            sock.close()
            taken = "is already taken" if error.errno in (98, 48) else f"cannot be used ({error.strerror})"
            raise UserError(
                f"HTTP port {self.port} on {self.host} {taken}: choose another with --http-port "
                "(--http-host sets the address)"
            ) from None
        sock.listen(128)
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(
            self.app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="customersim-http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)  # poll interval while uvicorn starts its loop
        if not self._server.started:
            raise UserError(f"the HTTP server on {self.host}:{self.port} did not start")
        return self

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
