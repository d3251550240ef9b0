"""Where the shoppers' events go: the table of MQTT connection settings, and :class:`MqttSettings`.

The downstream systems of the store listen on four topics of an MQTT broker. Which broker, as
whom, over what kind of connection and with what delivery guarantee is decided here, once, by a
frozen :class:`MqttSettings`. :data:`MQTT_SETTINGS` holds one row per setting: its environment
variable (the names of the service this package replaces are kept), default, bounds and meaning.
Front ends build the settings from the environment with :meth:`MqttSettings.from_env` or from
keywords; either way every value is checked on construction and a wrong one fails with a message
naming the setting, its variable, the value given and what is allowed.

The password is a secret: it is kept out of ``repr``, logs and error messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from customersim.errors import ConfigError
from customersim.settings_table import (
    NotAllowed,
    Setting,
    SettingsTable,
    boolean,
    existing_file,
    optional_text,
    secret,
    whole,
)

PROTOCOLS = ("3.1.1", "5")
TRANSPORTS = ("tcp", "websockets")
_PROTOCOL_NAMES = {
    "3.1.1": "3.1.1",
    "311": "3.1.1",
    "v311": "3.1.1",
    "mqttv311": "3.1.1",
    "5": "5",
    "5.0": "5",
    "v5": "5",
    "mqttv5": "5",
}


class MqttSettingsError(ConfigError):
    """An MQTT setting has a value that is not allowed; the message names the variable."""


def _client_id(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value.encode("utf-8")) > 65535:
        raise ValueError
    return value


def _topic(value: Any) -> str:
    # A publish topic is a non-empty UTF-8 string without wildcards (MQTT 3.1.1 4.7).
    if not isinstance(value, str) or value == "":
        raise ValueError
    if "+" in value or "#" in value or "\x00" in value:
        raise NotAllowed("a topic to publish on has no wildcards")
    if len(value.encode("utf-8")) > 65535:
        raise NotAllowed("longer than 65535 bytes")
    return value


def _protocol(value: Any) -> str:
    text = str(value).strip().lower()
    return _PROTOCOL_NAMES.get(text, text)


def _transport(value: Any) -> str:
    return str(value).strip().lower()


_TOPIC_WORDS = "a topic name, not empty, without '+', '#' or a NUL character"

# One row per MqttSettings field (topics.* fill the Topics), in the order the README lists them.
MQTT_SETTINGS = SettingsTable(
    "MQTT",
    [
        Setting(
            name="host",
            env="MQTT_HOST",
            help="broker host; unset, `run` and the app start a built-in broker on 127.0.0.1",
            default=None,
            parse=optional_text,
            allowed="a host name or IP address",
        ),
        Setting(
            name="port",
            env="MQTT_PORT",
            help="broker port",
            default=1883,
            parse=whole,
            low=1,
            high=65535,
        ),
        Setting(
            name="client_id",
            env="MQTT_NAME",
            help="client id; two clients with the same id throw each other off the broker",
            default="demoClient",
            parse=_client_id,
            allowed="a non-empty name",
        ),
        Setting(
            name="topics.enter",
            env="ENTER_TOPIC",
            help="topic of enter events",
            default="customer/enter",
            parse=_topic,
            allowed=_TOPIC_WORDS,
        ),
        Setting(
            name="topics.move",
            env="MOVE_TOPIC",
            help="topic of move events",
            default="customer/move",
            parse=_topic,
            allowed=_TOPIC_WORDS,
        ),
        Setting(
            name="topics.exit",
            env="EXIT_TOPIC",
            help="topic of exit events",
            default="customer/exit",
            parse=_topic,
            allowed=_TOPIC_WORDS,
        ),
        Setting(
            name="topics.focus",
            env="FOCUS_TOPIC",
            help="topic of focus events (a stay in one department)",
            default="customer/focus",
            parse=_topic,
            allowed=_TOPIC_WORDS,
        ),
        Setting(
            name="mock",
            env="TESTING_MOCK_MQTT",
            help="log each topic and payload instead of publishing",
            default=False,
            parse=boolean,
        ),
        Setting(
            name="username",
            env="MQTT_USERNAME",
            help="user name at the broker",
            default=None,
            parse=optional_text,
            allowed="a user name",
        ),
        Setting(
            name="password",
            env="MQTT_PASSWORD",
            help="password at the broker (never shown or logged)",
            default=None,
            parse=secret,
            allowed="text",
            secret=True,
        ),
        Setting(
            name="use_tls",
            env="MQTT_TLS",
            help="encrypt the connection (TLS); without a CA file the system's CA store checks "
            "the broker's certificate",
            default=False,
            parse=boolean,
        ),
        Setting(
            name="ca_file",
            env="MQTT_BROKER_CERT_FILE",
            help="CA file that signed the broker's certificate; setting it turns TLS on",
            default=None,
            parse=existing_file,
            allowed="a path to a PEM file",
        ),
        Setting(
            name="client_cert_file",
            env="MQTT_CLIENT_CERT_FILE",
            help="client certificate, for brokers that ask for one (turns TLS on)",
            default=None,
            parse=existing_file,
            allowed="a path to a PEM file",
        ),
        Setting(
            name="client_key_file",
            env="MQTT_CLIENT_KEY_FILE",
            help="key of the client certificate",
            default=None,
            parse=existing_file,
            allowed="a path to a PEM file",
        ),
        Setting(
            name="tls_insecure",
            env="MQTT_TLS_INSECURE",
            help="skip the check that the broker's certificate names its host (tests only; "
            "warned about loudly)",
            default=False,
            parse=boolean,
        ),
        Setting(
            name="qos",
            env="MQTT_QOS",
            help="MQTT quality of service",
            default=1,
            parse=whole,
            choices=(0, 1, 2),
            flag="--qos",
            metavar="0|1|2",
        ),
        Setting(
            name="protocol",
            env="MQTT_PROTOCOL",
            help="MQTT protocol version",
            default="3.1.1",
            parse=_protocol,
            choices=PROTOCOLS,
        ),
        Setting(
            name="transport",
            env="MQTT_TRANSPORT",
            help="how MQTT is carried: plain TCP or websockets",
            default="tcp",
            parse=_transport,
            choices=TRANSPORTS,
        ),
        Setting(
            name="keepalive",
            env=None,
            help="seconds between keep-alive pings when nothing else is sent",
            default=30,
            parse=whole,
            low=5,
            high=3600,
            unit="seconds",
        ),
    ],
    error=MqttSettingsError,
)
_DEFAULT = MQTT_SETTINGS.defaults()
_TOPIC_ROWS = {
    "enter": "topics.enter",
    "move": "topics.move",
    "exit": "topics.exit",
    "focus": "topics.focus",
}


@dataclass(frozen=True)
class Topics:
    """The topic of each event type (``customer/enter``, ``/move``, ``/exit``, ``/focus``)."""

    enter: str = _DEFAULT["topics.enter"]
    move: str = _DEFAULT["topics.move"]
    exit: str = _DEFAULT["topics.exit"]
    focus: str = _DEFAULT["topics.focus"]

    def __post_init__(self) -> None:
        for event, row in _TOPIC_ROWS.items():
            object.__setattr__(self, event, MQTT_SETTINGS.convert(row, getattr(self, event)))

    def for_event(self, event: str) -> str:
        """The topic that carries ``event`` (one of enter, move, exit, focus)."""
        return getattr(self, event)

    def as_tuple(self) -> tuple[str, str, str, str]:
        """The topics in event-code order (enter, move, exit, focus)."""
        return (self.enter, self.move, self.exit, self.focus)


@dataclass(frozen=True)
class MqttSettings:
    """How to reach the broker and how to publish on it.

    ``host`` ``None`` means no external broker was named: the long-running front ends then start
    the built-in broker, the one-shot commands refuse to run. TLS is on when ``use_tls`` is set
    or a CA file or a client certificate is given; without a CA file the system's CA store
    checks the broker. In ``mock`` mode nothing connects anywhere: each message is logged
    instead. Defaults and bounds are the rows of :data:`MQTT_SETTINGS`.

    Raises:
        MqttSettingsError: a value is not allowed (the message names the setting and variable).
    """

    host: str | None = _DEFAULT["host"]
    port: int = _DEFAULT["port"]
    client_id: str = _DEFAULT["client_id"]
    topics: Topics = field(default_factory=Topics)
    qos: int = _DEFAULT["qos"]
    username: str | None = _DEFAULT["username"]
    password: str | None = field(default=_DEFAULT["password"], repr=False)
    ca_file: str | None = _DEFAULT["ca_file"]
    client_cert_file: str | None = _DEFAULT["client_cert_file"]
    client_key_file: str | None = _DEFAULT["client_key_file"]
    tls_insecure: bool = _DEFAULT["tls_insecure"]
    protocol: str = _DEFAULT["protocol"]
    transport: str = _DEFAULT["transport"]
    mock: bool = _DEFAULT["mock"]
    keepalive: int = _DEFAULT["keepalive"]
    use_tls: bool = _DEFAULT["use_tls"]

    def __post_init__(self) -> None:
        if isinstance(self.topics, Mapping):
            object.__setattr__(self, "topics", Topics(**dict(self.topics)))
        elif isinstance(self.topics, (tuple, list)):
            object.__setattr__(self, "topics", Topics(*self.topics))
        for name in MQTT_SETTINGS:
            if name not in _TOPIC_ROWS.values():
                object.__setattr__(self, name, MQTT_SETTINGS.convert(name, getattr(self, name)))
        label = {name: row.label for name, row in MQTT_SETTINGS.items()}
        if self.password is not None and self.username is None:
            # Say which variable is missing, never the password itself.
            raise MqttSettingsError(
                f"{label['password']} is set but {label['username']} is not: a password needs a user name"
            )
        if self.client_key_file and not self.client_cert_file:
            raise MqttSettingsError(
                f"{label['client_key_file']} is set but {label['client_cert_file']} is not: a client "
                "key needs its certificate"
            )
        if self.tls_insecure and not self.tls:
            raise MqttSettingsError(
                f"{label['tls_insecure']} is on but TLS is off: set {MQTT_SETTINGS.env('use_tls')}=true "
                f"(the system's CA store) or {MQTT_SETTINGS.env('ca_file')} to the broker's CA file"
            )

    def __repr__(self) -> str:
        # The generated repr already leaves the password out; say whether one is set.
        fields = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.name != "password"
        )
        return f"MqttSettings({fields}, password={'***' if self.password else None})"

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted (``use_tls``, a CA file or a client certificate)."""
        return bool(self.use_tls or self.ca_file or self.client_cert_file)

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

        The variables are those of :data:`MQTT_SETTINGS`. Unset or empty variables keep their
        defaults; overrides whose value is ``None`` are ignored.

        Raises:
            MqttSettingsError: a variable has a value that is not allowed.
        """
        values: dict[str, Any] = MQTT_SETTINGS.read_env(environ)
        topics = {event: values.pop(row) for event, row in _TOPIC_ROWS.items() if row in values}
        values["topics"] = Topics(**topics)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
