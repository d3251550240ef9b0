"""Shared fixtures: real mosquitto brokers for the MQTT tests (see ``tests/helpers/mqtt_broker.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from helpers.mqtt_broker import Mosquitto


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-docs-screenshots",
        action="store_true",
        help="the browser test writes its screenshots to docs/ (the README's pictures)",
    )


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Mosquitto]:
    """One broker for the session: anonymous, password, TLS, client-certificate and websockets
    listeners on free ports of 127.0.0.1."""
    broker = Mosquitto.create(kinds=("plain", "password", "tls", "mtls", "websockets")).start()
    yield broker
    broker.cleanup()


@pytest.fixture
def restartable_mosquitto() -> Iterator[Mosquitto]:
    """A broker of the test's own, with persistence, that the test may stop and start again."""
    broker = Mosquitto.create(kinds=("plain",), persistent=True).start()
    yield broker
    broker.cleanup()


@pytest.fixture
def topics() -> dict[str, str]:
    """Event topics of this test only, so that tests sharing the broker do not hear each other."""
    base = f"test/{uuid.uuid4().hex[:12]}"
    return {"enter": f"{base}/enter", "move": f"{base}/move", "exit": f"{base}/exit"}


@pytest.fixture(autouse=True)
def _restore_customersim_logging() -> Iterator[None]:
    """Commands called in-process attach console handlers (to pytest's captured stderr, which
    closes after the test): take them off again, so later log lines go nowhere stale."""
    import logging

    logger = logging.getLogger("customersim")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    for handler in [h for h in logger.handlers if h not in handlers]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(level)
    logger.propagate = propagate
