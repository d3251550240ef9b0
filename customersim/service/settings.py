"""Where the live service listens for HTTP: ``HTTP_PORT``, ``HTTP_HOST`` and ``HTTP_TOKEN``.

The HTTP face is off unless a port is given. It listens on 127.0.0.1 (this machine only) unless
``HTTP_HOST`` says otherwise, because its POST endpoints put events on the broker and pause the
stream. ``HTTP_TOKEN``, when set, is the bearer token those endpoints require; set it whenever
the port is reachable by others. The token is a secret: it stays out of ``repr`` and logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from customersim.config import ConfigError

DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class HttpSettings:
    """The HTTP face of ``customersim run``.

    Attributes:
        port: TCP port, or None for no HTTP face (0: any free port).
        host: address to bind (default 127.0.0.1).
        token: bearer token required by the POST endpoints; None = no token.
    """

    port: int | None = None
    host: str = DEFAULT_HOST
    token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.port is not None:
            try:
                port = int(str(self.port).strip())
            except ValueError:
                port = -1
            if not 0 <= port <= 65535:
                raise ConfigError(
                    f"http port (HTTP_PORT / --http-port) = {self.port!r} is not allowed: expected a port "
                    "number from 1 to 65535"
                )
            object.__setattr__(self, "port", port)
        host = str(self.host or "").strip()
        if not host:
            raise ConfigError(
                "HTTP_HOST = '' is not allowed: expected an address such as 127.0.0.1 or 0.0.0.0"
            )
        object.__setattr__(self, "host", host)
        if self.token is not None and self.token.strip() == "":
            object.__setattr__(self, "token", None)

    @property
    def enabled(self) -> bool:
        return self.port is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, port: str | int | None = None, host: str | None = None):
        """Settings from HTTP_PORT, HTTP_HOST and HTTP_TOKEN; flags given here win.

        Raises:
            ConfigError: a value is not allowed (the message names the variable).
        """
        env_port = (environ.get("HTTP_PORT") or "").strip() or None
        env_host = (environ.get("HTTP_HOST") or "").strip() or DEFAULT_HOST
        return cls(
            port=port if port is not None else env_port,
            host=host if host is not None else env_host,
            token=environ.get("HTTP_TOKEN") or None,
        )
