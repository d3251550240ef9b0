"""Getting through to the broker: paho clients built from settings, and failures in words.

A store's events are only useful if they arrive, so connecting is patient where patience helps
(nothing listening yet, a broker restarting: retry with exponential backoff until a deadline)
and quick where it cannot (a refused password, a certificate that does not verify: stop at once).
Whatever goes wrong is turned into one sentence that names the broker and the setting to check,
never a traceback and never the password.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, ConnackCode, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from customersim.errors import MqttError
from customersim.mqtt.settings import MQTT_SETTINGS, MqttSettings

log = logging.getLogger("customersim.mqtt")
_env = MQTT_SETTINGS.env  # variable names for messages that tell what to set


def _reason_code(packet: int, name: str) -> int:
    return ReasonCode(packet, name).value


# MQTT 5 reason codes by their names in the standard. paho hands MQTT 3.1.1 CONNACK return
# codes to the callbacks converted to these; a bare int may still be a 3.1.1 ConnackCode.
BAD_USER_NAME_OR_PASSWORD = _reason_code(PacketTypes.CONNACK, "Bad user name or password")
NOT_AUTHORIZED = _reason_code(PacketTypes.CONNACK, "Not authorized")
CLIENT_IDENTIFIER_NOT_VALID = _reason_code(PacketTypes.CONNACK, "Client identifier not valid")
UNSUPPORTED_PROTOCOL_VERSION = _reason_code(PacketTypes.CONNACK, "Unsupported protocol version")
SESSION_TAKEN_OVER = _reason_code(PacketTypes.DISCONNECT, "Session taken over")

# Refusals that mean the broker does not accept these credentials: retrying will not help.
_CREDENTIAL_CODES = {
    BAD_USER_NAME_OR_PASSWORD,
    NOT_AUTHORIZED,
    ConnackCode.CONNACK_REFUSED_BAD_USERNAME_PASSWORD,
    ConnackCode.CONNACK_REFUSED_NOT_AUTHORIZED,
}
_CLIENT_ID_CODES = {CLIENT_IDENTIFIER_NOT_VALID, ConnackCode.CONNACK_REFUSED_IDENTIFIER_REJECTED}
_PROTOCOL_CODES = {UNSUPPORTED_PROTOCOL_VERSION, ConnackCode.CONNACK_REFUSED_PROTOCOL_VERSION}

# Longest single TCP (and TLS handshake) connect; the caller's deadline shortens it.
CONNECT_TIMEOUT = 5.0
# A CONNACK later than this (or the keepalive, if longer) counts as no answer.
CONNACK_TIMEOUT = 10.0


def make_client(settings: MqttSettings, client_id: str | None = None) -> mqtt.Client:
    """A paho client (callback API version 2) configured for ``settings``, not yet connected.

    Raises:
        MqttError: a TLS file cannot be loaded (the message names the variable).
    """
    protocol = mqtt.MQTTv5 if settings.protocol == "5" else mqtt.MQTTv311
    kwargs = {} if protocol == mqtt.MQTTv5 else {"clean_session": True}
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or settings.client_id,
        protocol=protocol,
        transport=settings.transport,
        **kwargs,
    )
    if settings.username is not None:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls:
        try:
            client.tls_set(
                ca_certs=settings.ca_file,
                certfile=settings.client_cert_file,
                keyfile=settings.client_key_file,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        except (OSError, ssl.SSLError, ValueError) as error:
            raise MqttError(
                f"cannot load the TLS files ({_env('ca_file')}, {_env('client_cert_file')}, "
                f"{_env('client_key_file')}): {_reason(error)}"
            ) from None
        if settings.tls_insecure:
            client.tls_insecure_set(True)
    return client


def warn_if_insecure(settings: MqttSettings) -> None:
    """Say loudly that the broker's identity is not checked, or that the password goes in clear.

    Called once per connection setup; the password itself is never logged.
    """
    if settings.tls and settings.tls_insecure:
        log.warning(
            "%s is on: the broker's certificate is NOT checked against the "
            "host name %s; anyone able to intercept the connection can read and change "
            "these messages. Do not use this outside a test setup.",
            _env("tls_insecure"),
            settings.host,
        )
    if settings.password is not None and not settings.tls:
        log.warning(
            "the password for broker %s is sent unencrypted (no TLS): anyone on the network path "
            "can read it. If the broker has a TLS listener, set %s=true (or %s to its CA file).",
            settings.address,
            _env("use_tls"),
            _env("ca_file"),
        )


def _reason(error: BaseException) -> str:
    text = getattr(error, "reason", None) or getattr(error, "strerror", None) or str(error)
    return str(text) or type(error).__name__


def describe_socket_error(settings: MqttSettings, error: BaseException) -> tuple[str, bool]:
    """Words for a failed connection attempt, and whether trying again could help."""
    where = f"broker {settings.address}"
    if isinstance(error, ssl.SSLCertVerificationError):
        which = (
            f"check {_env('ca_file')} is the CA that signed the broker's certificate"
            if settings.ca_file
            else "no CA in the system's store signed the broker's certificate: set "
            f"{_env('ca_file')} to the CA file that did"
        )
        return (
            f"{where}: TLS certificate check failed ({error.verify_message or _reason(error)}); "
            f"{which}, and check that {_env('host')} matches a name in it",
            False,
        )
    if isinstance(error, ssl.SSLError):
        return (
            f"{where}: TLS handshake failed ({_reason(error)}); is this a TLS listener, and does "
            f"it accept the client certificate ({_env('client_cert_file')} / {_env('client_key_file')})?",
            False,
        )
    if isinstance(error, ConnectionRefusedError):
        return f"{where}: connection refused (is a broker listening there?)", True
    if isinstance(error, socket.gaierror):
        return f"{where}: cannot resolve the host name {settings.host!r} (check {_env('host')})", True
    if isinstance(error, (TimeoutError, socket.timeout)):
        return f"{where}: no answer (timed out)", True
    if isinstance(error, OSError):
        return f"{where}: cannot connect ({_reason(error)})", True
    return f"{where}: cannot connect ({type(error).__name__}: {_reason(error)})", True


def describe_refusal(settings: MqttSettings, reason: ReasonCode | int) -> tuple[str, bool]:
    """Words for a CONNACK that refused us, and whether trying again could help."""
    value = reason.value if isinstance(reason, ReasonCode) else int(reason)
    words = str(reason).lower() if isinstance(reason, ReasonCode) else f"code {value}"
    if value in _CREDENTIAL_CODES:
        credentials = f"{_env('username')} / {_env('password')}"
        hint = (
            f"check {credentials}"
            if settings.username
            else f"the broker wants a user name and password: set {credentials}"
        )
        return f"broker {settings.address} refused the connection: {words} ({hint})", False
    if value in _CLIENT_ID_CODES:
        return (
            f"broker {settings.address} refused the connection: {words} "
            f"(check {_env('client_id')}, the client id)",
            False,
        )
    if value in _PROTOCOL_CODES:
        return (
            f"broker {settings.address} refused the connection: {words} (try {_env('protocol')}=3.1.1 or 5)",
            False,
        )
    return f"broker {settings.address} refused the connection: {words}", True


class Connector:
    """Connects (or reconnects) one paho client with retries and backoff.

    The network loop is driven here until the broker answers the CONNECT, so that each failure
    can be put in words. After that the caller drives the client: with ``loop_start()`` (the
    message feed, one-shot sends) or by calling ``loop()`` itself (the publisher). Calling
    :meth:`connect_with_retry` again after a lost connection reconnects; paho then resends the
    QoS 1/2 messages that were not acknowledged.
    """

    def __init__(
        self,
        client: mqtt.Client,
        settings: MqttSettings,
        stop: threading.Event,
        on_attempt_failed: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.stop = stop
        self.connack = threading.Event()
        self.refusal: ReasonCode | None = None
        self.closed_early = False
        self._on_attempt_failed = on_attempt_failed

    # paho calls these two from its loop (here: from connect_with_retry's loop calls).
    def note_connack(self, reason: ReasonCode) -> None:
        self.refusal = reason if reason.is_failure else None
        self.connack.set()

    def note_disconnect(self) -> None:
        if not self.connack.is_set():
            self.closed_early = True

    def connect_with_retry(self, give_up_after: float, *, since: float | None = None) -> None:
        """Connect, retrying with backoff until ``give_up_after`` seconds after ``since``.

        Every wait inside (TCP connect, TLS handshake, the CONNACK, the pause between attempts)
        ends by that deadline, and the message quotes the time actually waited.

        Args:
            give_up_after: seconds without a connection before giving up.
            since: when the connection was last known good (``time.monotonic()``); default now.
                A hung broker noticed late has already used part of the allowance.

        Raises:
            MqttError: the broker refused us, TLS failed, or it stayed unreachable; also when
                ``stop`` was set before a connection was made.
        """
        began = time.monotonic() if since is None else since
        deadline = began + give_up_after
        delay = 0.25
        last = f"broker {self.settings.address}: no answer"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                waited = time.monotonic() - began
                raise MqttError(f"{last}; gave up after {waited:.1f} s")
            words, retry = self._attempt(min(deadline, time.monotonic() + self._connack_timeout()))
            if words is None:
                return
            last = words
            if not retry:
                raise MqttError(words)
            if self._on_attempt_failed:
                self._on_attempt_failed(words)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                continue
            pause = min(delay, remaining)
            log.info("%s; retrying in %.1f s", words, pause)
            if self.stop.wait(pause):
                raise MqttError(f"stopped before connecting ({last})")
            delay = min(delay * 2, 5.0)

    def _connack_timeout(self) -> float:
        return max(CONNACK_TIMEOUT, float(self.settings.keepalive))

    def _attempt(self, deadline: float) -> tuple[str | None, bool]:
        """One connection attempt, over by ``deadline``; ``(None, _)`` on success, else words and
        whether to retry."""
        self.connack.clear()
        self.refusal = None
        self.closed_early = False
        # TCP connect and TLS handshake block inside connect(): bound them by the deadline. (A
        # socket of the last attempt that is still open refuses the change; connect() closes it.)
        with contextlib.suppress(RuntimeError):
            self.client.connect_timeout = max(0.05, min(CONNECT_TIMEOUT, deadline - time.monotonic()))
        started = time.monotonic()
        try:
            self.client.connect(self.settings.host, self.settings.port, self.settings.keepalive)
        except (OSError, ssl.SSLError) as error:
            if self.settings.tls and _plain_answer(error):
                return (
                    f"broker {self.settings.address} did not speak TLS: is {_env('port')} "
                    f"{self.settings.port} a TLS listener?",
                    False,
                )
            words, retry = describe_socket_error(self.settings, error)
            if isinstance(error, (TimeoutError, socket.timeout)):
                words = f"{words[: -len(' (timed out)')]} within {time.monotonic() - started:.1f} s"
            return words, retry
        except ValueError as error:
            return f"broker {self.settings.address}: {error}", False
        # Drive the network loop ourselves until the broker answers the CONNECT.
        while not self.connack.is_set() and time.monotonic() < deadline:
            if self.stop.is_set():
                self.client.disconnect()
                return f"stopped while waiting for broker {self.settings.address} to answer", False
            rc = self.client.loop(timeout=min(0.1, max(0.0, deadline - time.monotonic())))
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS and not self.connack.is_set():
                self.client.disconnect()
                if self.closed_early or rc == MQTTErrorCode.MQTT_ERR_CONN_LOST:
                    hint = (
                        " (does this TLS listener require a client certificate? set "
                        f"{_env('client_cert_file')} / {_env('client_key_file')})"
                        if self.settings.tls
                        else f" (is it an MQTT listener, with the {_env('protocol')} and {_env('transport')} "
                        "it expects?)"
                    )
                    return (
                        f"broker {self.settings.address} closed the connection before accepting it{hint}",
                        True,
                    )
                return (f"broker {self.settings.address}: connection failed ({mqtt.error_string(rc)})", True)
        if not self.connack.is_set():
            self.client.disconnect()
            waited = time.monotonic() - started
            return f"broker {self.settings.address}: no answer to CONNECT within {waited:.1f} s", True
        if self.refusal is not None:
            self.client.disconnect()
            return describe_refusal(self.settings, self.refusal)
        return None, False


def _plain_answer(error: BaseException) -> bool:
    """Whether a failed TLS handshake means the other side does not speak TLS.

    A plain MQTT listener reads the TLS greeting as a malformed packet and drops the connection
    (a reset, or an end of file in the middle of the handshake); a plain HTTP or other text
    server answers with bytes that are no TLS record ("wrong version number").
    """
    if isinstance(error, ssl.SSLCertVerificationError):
        return False
    if isinstance(error, (ConnectionResetError, BrokenPipeError)):
        return True
    text = f"{getattr(error, 'reason', '')} {error}".upper()
    return isinstance(error, ssl.SSLError) and any(
        mark in text for mark in ("WRONG_VERSION_NUMBER", "UNEXPECTED_EOF", "EOF OCCURRED", "HTTP_REQUEST")
    )
