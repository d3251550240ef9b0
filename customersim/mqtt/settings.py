"""Where the shoppers' events go: the MQTT connection settings.

The downstream systems of the store listen on three topics of an MQTT broker. Which broker, as
whom, over what kind of connection and with what delivery guarantee is decided here, once, by a
frozen :class:`MqttSettings`. Front ends build it from the environment with
:meth:`MqttSettings.from_env` (variable names kept from the service this package replaces) or
from keywords; either way every value is checked on construction and a wrong one fails with a
message naming the setting, its variable and what is allowed.

The password is a secret: it is kept out of ``repr``, logs and error messages.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from customersim.config import ConfigError

DEFAULT_PORT = 1883
DEFAULT_CLIENT_ID = "demoClient"
PROTOCOLS = ("3.1.1", "5")
TRANSPORTS = ("tcp", "websockets")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class MqttSettingsError(ConfigError):
    """An MQTT setting has a value that is not allowed; the message names the variable."""


@dataclass(frozen=True)
class Topics:
    """The topic of each event type (``customer/enter``, ``customer/move``, ``customer/exit``)."""

    enter: str = "customer/enter"
    move: str = "customer/move"
    exit: str = "customer/exit"

    def __post_init__(self) -> None:
        for event, variable in (("enter", "ENTER_TOPIC"), ("move", "MOVE_TOPIC"), ("exit", "EXIT_TOPIC")):
            _check_topic(getattr(self, event), f"topics.{event} ({variable})")

    def for_event(self, event: str) -> str:
        """The topic that carries ``event`` (one of enter, move, exit)."""
        return getattr(self, event)

    def as_tuple(self) -> tuple[str, str, str]:
        """The three topics in event-code order (enter, move, exit)."""
        return (self.enter, self.move, self.exit)


def _check_topic(topic: Any, name: str) -> None:
    # A publish topic must be a non-empty UTF-8 string without wildcards (MQTT 3.1.1 4.7).
    if not isinstance(topic, str) or topic == "":
        raise MqttSettingsError(f"{name} = {topic!r} is not allowed: expected a non-empty topic name")
    if "+" in topic or "#" in topic or "\x00" in topic:
        raise MqttSettingsError(
            f"{name} = {topic!r} is not allowed: a topic to publish on cannot contain '+', '#' "
            "or a NUL character"
        )
    if len(topic.encode("utf-8")) > 65535:
        raise MqttSettingsError(f"{name} is not allowed: longer than 65535 bytes")


def parse_bool(value: Any, name: str) -> bool:
    """``true``/``false`` (also 1/0, yes/no, on/off) as a bool; the error names ``name``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise MqttSettingsError(f"{name} = {value!r} is not allowed: expected true or false")


@dataclass(frozen=True)
class MqttSettings:
    """How to reach the broker and how to publish on it.

    ``host`` ``None`` means no external broker was named: the long-running front ends then start
    the built-in broker, the one-shot commands refuse to run. TLS is on when a CA file or a
    client certificate is given. In ``mock`` mode nothing connects anywhere: each message is
    logged instead.

    Raises:
        MqttSettingsError: a value is not allowed (the message names the setting and variable).
    """

    host: str | None = None
    port: int = DEFAULT_PORT
    client_id: str = DEFAULT_CLIENT_ID
    topics: Topics = field(default_factory=Topics)
    qos: int = 1
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    tls_insecure: bool = False
    protocol: str = "3.1.1"
    transport: str = "tcp"
    mock: bool = False
    keepalive: int = 30

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        if isinstance(self.topics, Mapping):
            set_("topics", Topics(**dict(self.topics)))
        elif isinstance(self.topics, (tuple, list)):
            set_("topics", Topics(*self.topics))
        if self.host is not None:
            host = str(self.host).strip()
            set_("host", host or None)
        set_("port", _whole(self.port, "port (MQTT_PORT)", 1, 65535, "a port number from 1 to 65535"))
        set_("qos", _whole(self.qos, "qos (MQTT_QOS)", 0, 2, "0, 1 or 2"))
        set_("keepalive", _whole(self.keepalive, "keepalive", 5, 3600, "seconds from 5 to 3600"))
        if not isinstance(self.client_id, str) or not self.client_id or len(self.client_id) > 65535:
            raise MqttSettingsError(
                f"client_id (MQTT_NAME) = {self.client_id!r} is not allowed: expected a non-empty name"
            )
        protocol = str(self.protocol).strip().lower()
        protocol = {
            "3.1.1": "3.1.1",
            "311": "3.1.1",
            "v311": "3.1.1",
            "mqttv311": "3.1.1",
            "5": "5",
            "5.0": "5",
            "v5": "5",
            "mqttv5": "5",
        }.get(protocol, protocol)
        if protocol not in PROTOCOLS:
            raise MqttSettingsError(
                f"protocol (MQTT_PROTOCOL) = {self.protocol!r} is not allowed: expected 3.1.1 or 5"
            )
        set_("protocol", protocol)
        transport = str(self.transport).strip().lower()
        if transport not in TRANSPORTS:
            raise MqttSettingsError(
                f"transport (MQTT_TRANSPORT) = {self.transport!r} is not allowed: expected tcp or websockets"
            )
        set_("transport", transport)
        set_("tls_insecure", parse_bool(self.tls_insecure, "tls_insecure (MQTT_TLS_INSECURE)"))
        set_("mock", parse_bool(self.mock, "mock (TESTING_MOCK_MQTT)"))
        if self.username == "":
            set_("username", None)
        if self.password == "":
            set_("password", None)
        if self.password is not None and self.username is None:
            # Say which variable is missing, never the password itself.
            raise MqttSettingsError(
                "password (MQTT_PASSWORD) is set but username (MQTT_USERNAME) "
                "is not: a password needs a user name"
            )
        for name, variable in (
            ("ca_file", "MQTT_BROKER_CERT_FILE"),
            ("client_cert_file", "MQTT_CLIENT_CERT_FILE"),
            ("client_key_file", "MQTT_CLIENT_KEY_FILE"),
        ):
            value = getattr(self, name)
            if value in (None, ""):
                set_(name, None)
                continue
            path = os.fspath(value)
            if not os.path.isfile(path):
                raise MqttSettingsError(
                    f"{name} ({variable}) = {path!r} is not allowed: no such file (expected a PEM file)"
                )
            set_(name, path)
        if self.client_key_file and not self.client_cert_file:
            raise MqttSettingsError(
                "client_key_file (MQTT_CLIENT_KEY_FILE) is set but client_cert_file "
                "(MQTT_CLIENT_CERT_FILE) is not: a client key needs its certificate"
            )
        if self.tls_insecure and not self.tls:
            raise MqttSettingsError(
                "tls_insecure (MQTT_TLS_INSECURE) is on but TLS is off: set MQTT_BROKER_CERT_FILE "
                "to the broker's CA file to use TLS"
            )

    def __repr__(self) -> str:
        # The generated repr already leaves the password out; say whether one is set.
        fields = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.name != "password"
        )
        return f"MqttSettings({fields}, password={'***' if self.password else None})"

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted (a CA file or a client certificate is given)."""
        return bool(self.ca_file or self.client_cert_file)

    @property
    def address(self) -> str:
        """``host:port`` for messages (``(no host):port`` when no broker is named)."""
        return f"{self.host or '(no host)'}:{self.port}"

    def replace(self, **changes: Any) -> MqttSettings:
        """A copy with some settings changed (checked again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> MqttSettings:
        """Build settings from environment variables, then apply keyword overrides.

        Variables: MQTT_HOST, MQTT_PORT (1883), MQTT_NAME (demoClient), ENTER_TOPIC, MOVE_TOPIC,
        EXIT_TOPIC, TESTING_MOCK_MQTT, MQTT_USERNAME, MQTT_PASSWORD, MQTT_BROKER_CERT_FILE,
        MQTT_CLIENT_CERT_FILE, MQTT_CLIENT_KEY_FILE, MQTT_QOS (1), MQTT_PROTOCOL (3.1.1),
        MQTT_TRANSPORT (tcp), MQTT_TLS_INSECURE (false). Unset or empty variables keep their
        defaults; overrides whose value is ``None`` are ignored.

        Raises:
            MqttSettingsError: a variable has a value that is not allowed.
        """

        def get(name: str) -> str | None:
            value = environ.get(name)
            return None if value is None or value.strip() == "" else value.strip()

        values: dict[str, Any] = {}
        mapping = {
            "host": "MQTT_HOST",
            "port": "MQTT_PORT",
            "client_id": "MQTT_NAME",
            "qos": "MQTT_QOS",
            "username": "MQTT_USERNAME",
            "ca_file": "MQTT_BROKER_CERT_FILE",
            "client_cert_file": "MQTT_CLIENT_CERT_FILE",
            "client_key_file": "MQTT_CLIENT_KEY_FILE",
            "tls_insecure": "MQTT_TLS_INSECURE",
            "protocol": "MQTT_PROTOCOL",
            "transport": "MQTT_TRANSPORT",
            "mock": "TESTING_MOCK_MQTT",
        }
        for name, variable in mapping.items():
            value = get(variable)
            if value is not None:
                values[name] = value
        # A password may legitimately start or end with spaces: take it verbatim.
        password = environ.get("MQTT_PASSWORD")
        if password:
            values["password"] = password
        topics = {
            event: get(variable)
            for event, variable in (("enter", "ENTER_TOPIC"), ("move", "MOVE_TOPIC"), ("exit", "EXIT_TOPIC"))
        }
        values["topics"] = Topics(**{k: v for k, v in topics.items() if v is not None})
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _whole(value: Any, name: str, low: int, high: int, allowed: str) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        raise MqttSettingsError(f"{name} = {value!r} is not allowed: expected {allowed}") from None
    if not low <= number <= high:
        raise MqttSettingsError(f"{name} = {value!r} is not allowed: expected {allowed}")
    return number
