"""Real brokers for the MQTT tests: mosquitto processes, certificates, and a plain subscriber.

The fixtures in ``conftest.py`` start Debian's ``mosquitto`` (``apt-get install mosquitto
mosquitto-clients``; ``.ci/run`` installs it) on free ports. One process serves every kind of
listener the product must handle: anonymous, user/password (made with ``mosquitto_passwd``),
TLS with a CA and server certificate made here with ``openssl``, TLS that requires a client
certificate, and websockets. Started as root, mosquitto drops to the ``mosquitto`` user before
reading its files, so the folder is handed to that user.

:class:`Collector` is the downstream system: a bare paho subscriber (none of our code) that
records what arrives.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt

USERNAME = "shop"
PASSWORD = "s3cret-Pa55word"


def mosquitto_binary() -> str:
    """The mosquitto executable; a clear failure (not a skip) when it is missing."""
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
    )
    if not found or not shutil.which("mosquitto_passwd"):
        raise RuntimeError(
            "mosquitto is not installed: apt-get install -y mosquitto mosquitto-clients "
            "(.ci/run installs them)"
        )
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0, process: subprocess.Popen | None = None) -> None:
    """Wait until something accepts TCP connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the broker exited with status {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)  # poll interval: the loop waits for the condition "port accepts"
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(folder: Path, prefix: str = "") -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate (EC P-256)."""
    names = {
        key: folder / f"{prefix}{key}"
        for key in ("ca.key", "ca.pem", "server.key", "server.pem", "client.key", "client.pem")
    }
    key_args = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *key_args,
        "-keyout",
        str(names["ca.key"]),
        "-out",
        str(names["ca.pem"]),
        "-days",
        "2",
        "-subj",
        f"/CN=customersim test CA {prefix}{uuid.uuid4().hex[:6]}",
        cwd=folder,
    )
    for role, subject, ext in (
        ("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "/CN=customersim-test-client", "extendedKeyUsage=clientAuth"),
    ):
        csr = folder / f"{prefix}{role}.csr"
        extfile = folder / f"{prefix}{role}.ext"
        extfile.write_text(ext + "\n")
        _openssl(
            "req",
            "-new",
            *key_args,
            "-keyout",
            str(names[f"{role}.key"]),
            "-out",
            str(csr),
            "-subj",
            subject,
            cwd=folder,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(names["ca.pem"]),
            "-CAkey",
            str(names["ca.key"]),
            "-CAcreateserial",
            "-out",
            str(names[f"{role}.pem"]),
            "-days",
            "2",
            "-extfile",
            str(extfile),
            cwd=folder,
        )
    return names


def _hand_to_mosquitto(folder: Path) -> None:
    """Let the mosquitto user (the one a root-started broker becomes) read and write the folder."""
    folder.chmod(0o755)
    if os.geteuid() != 0:
        return
    try:
        entry = pwd.getpwnam("mosquitto")
    except KeyError:
        return
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class Mosquitto:
    """One mosquitto process with the listeners the tests need."""

    folder: Path
    persistent: bool = False
    ports: dict[str, int] = field(default_factory=dict)
    certs: dict[str, Path] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @classmethod
    def create(cls, *, kinds: tuple[str, ...] = ("plain",), persistent: bool = False) -> Mosquitto:
        folder = Path(tempfile.mkdtemp(prefix="customersim-mosquitto-"))
        broker = cls(folder=folder, persistent=persistent)
        broker.ports = {kind: free_port() for kind in kinds}
        if {"tls", "mtls"} & set(kinds):
            broker.certs = make_certificates(folder)
        if "password" in kinds:
            subprocess.run(
                ["mosquitto_passwd", "-b", "-c", str(folder / "passwd"), USERNAME, PASSWORD],
                check=True,
                capture_output=True,
            )
        (folder / "mosquitto.conf").write_text(broker._config())
        _hand_to_mosquitto(folder)
        return broker

    def _config(self) -> str:
        lines = [
            "per_listener_settings true",
            # A QoS 1 subscriber that falls behind must lose nothing (default 1000 drops).
            "max_queued_messages 10000000",
            "max_inflight_messages 100",
            f"log_dest file {self.folder / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        if self.persistent:
            lines += ["persistence true", f"persistence_location {self.folder}/", "autosave_interval 0"]
        else:
            lines += ["persistence false"]
        for kind, port in self.ports.items():
            lines.append(f"\nlistener {port} 127.0.0.1")
            if kind == "password":
                lines += ["allow_anonymous false", f"password_file {self.folder / 'passwd'}"]
            else:
                lines.append("allow_anonymous true")
            if kind in ("tls", "mtls"):
                lines += [
                    f"cafile {self.certs['ca.pem']}",
                    f"certfile {self.certs['server.pem']}",
                    f"keyfile {self.certs['server.key']}",
                ]
            if kind == "mtls":
                lines += ["require_certificate true"]
            if kind == "websockets":
                lines += ["protocol websockets"]
        return "\n".join(lines) + "\n"

    def start(self) -> Mosquitto:
        self.process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.folder / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in self.ports.values():
            wait_for_port(port, process=self.process)
        return self

    def stop(self) -> None:
        """Stop cleanly (SIGTERM: a persistent broker saves its sessions and queues)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def log(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class Collector:
    """A bare paho subscriber on ``topics`` that records (topic, payload) as they arrive.

    With ``session`` it keeps a persistent session (clean_session false, fixed client id), so a
    broker with persistence queues messages for it while it is disconnected.

    Every message it hands out (``wait_for``, ``wait_for_distinct``) has been checked against
    docs/asyncapi.yaml, so no test sees a payload outside the contract without failing; a
    test's markers (:func:`publish_sentinel`) are let through. A topic of a test's own maps to
    the channel named by its last level (``test/<id>/move`` is a move); ``extra_fields`` names
    the keys a test asked the publisher to add, and ``contract=False`` turns the check off for a
    test whose point is a payload outside the contract.
    """

    def __init__(
        self,
        port: int,
        topics: list[str],
        *,
        qos: int = 1,
        session: bool = False,
        contract: bool = True,
        extra_fields: tuple[str, ...] = (),
    ) -> None:
        client_id = f"collector-{uuid.uuid4().hex[:10]}"
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not session
        )
        self.client.reconnect_delay_set(0.1, 0.5)
        self.topics = topics
        self.qos = qos
        self.messages: list[tuple[str, bytes]] = []
        self._contract = contract
        self._extra_fields = extra_fields
        self._event_topics = {
            topic.rsplit("/", 1)[-1]: topic for topic in topics if "#" not in topic and "+" not in topic
        }
        self._checked = 0
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("the test subscriber could not subscribe")

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if not reason.is_failure:
            client.subscribe([(topic, self.qos) for topic in self.topics])

    def _on_message(self, client, userdata, message) -> None:
        with self._changed:
            self.messages.append((message.topic, message.payload))
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[tuple[str, bytes]]:
        """Wait until at least ``count`` messages arrived; returns a copy of all of them."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.messages) >= count, timeout)
            return self._checked_copy()

    def wait_for_distinct(self, count: int, timeout: float = 20.0) -> list[tuple[str, bytes]]:
        """Wait until ``count`` different messages arrived (duplicates of QoS 1 resends aside)."""
        with self._changed:
            self._changed.wait_for(lambda: len(set(self.messages)) >= count, timeout)
            return self._checked_copy()

    def _checked_copy(self) -> list[tuple[str, bytes]]:
        # Called with the lock held; each message is checked once, however often it is handed out.
        messages = list(self.messages)
        if self._contract:
            # Imported here: the benchmarks start brokers with this module and no test packages.
            from helpers.contract import assert_contract, is_sentinel

            for topic, payload in messages[self._checked :]:
                if not is_sentinel(payload):
                    assert_contract(
                        topic, payload, topics=self._event_topics, extra_fields=self._extra_fields
                    )
            self._checked = len(messages)
        return messages

    def count(self) -> int:
        with self._changed:
            return len(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_sentinel(port: int, topic: str) -> bytes:
    """Publish one marker message with a bare paho client and wait for its acknowledgement."""
    payload = json.dumps({"sentinel": uuid.uuid4().hex}).encode()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sentinel-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(topic, payload, qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    return payload
