"""Where the live service listens for HTTP: the HTTP settings table.

The HTTP face is off unless a port is given. It listens on 127.0.0.1 (this machine only) unless
the host setting says otherwise, because its POST endpoints put events on the broker and pause
the stream. The token, when set, is the bearer token those endpoints require; set it whenever
the port is reachable by others. The token is a secret: it stays out of ``repr``, messages and
logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from customersim.settings_table import Setting, SettingsTable, secret, text, whole

DEFAULT_HOST = "127.0.0.1"


def _optional_port(value: Any) -> int | None:
    return None if value is None or (isinstance(value, str) and not value.strip()) else whole(value)


HTTP_SETTINGS = SettingsTable(
    "HTTP",
    [
        Setting(
            name="port",
            env="HTTP_PORT",
            help="port of the HTTP API of `run` (unset: no HTTP)",
            default=None,
            parse=_optional_port,
            low=1,
            high=65535,
            allowed="a port number from 1 to 65535",
            flag="--http-port",
            metavar="PORT",
        ),
        Setting(
            name="host",
            env="HTTP_HOST",
            help="address the HTTP API listens on",
            default=DEFAULT_HOST,
            parse=text,
            allowed="an address of this machine, such as 127.0.0.1 or 0.0.0.0 (every address)",
            flag="--http-host",
            metavar="ADDR",
        ),
        Setting(
            name="token",
            env="HTTP_TOKEN",
            help="bearer token the POST endpoints require; set it whenever others can reach the port",
            default=None,
            parse=secret,
            allowed="any text",
            secret=True,
        ),
    ],
)


@dataclass(frozen=True)
class HttpSettings:
    """The HTTP face of ``customersim run`` (see :data:`HTTP_SETTINGS`).

    Attributes:
        port: TCP port, or None for no HTTP face.
        host: address to bind (default 127.0.0.1).
        token: bearer token required by the POST endpoints; None = no token.

    Raises:
        ConfigError: a value is not allowed (the message names the setting and its variable).
    """

    port: int | None = None
    host: str = DEFAULT_HOST
    token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in HTTP_SETTINGS:
            object.__setattr__(self, name, HTTP_SETTINGS.convert(name, getattr(self, name)))
        if not self.host:
            raise HTTP_SETTINGS.error(HTTP_SETTINGS["host"].refusal(self.host))

    @property
    def enabled(self) -> bool:
        return self.port is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> HttpSettings:
        """Settings from the environment; overrides (flags) that are not None win."""
        values: dict[str, Any] = dict(HTTP_SETTINGS.read_env(environ))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
