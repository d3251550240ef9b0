"""The MQTT contract as the tests check it: payloads against docs/asyncapi.yaml.

The AsyncAPI document is the contract the project ships to the consumers of its events, so the
tests validate what their subscribers receive against the document itself, not against a copy
of its rules. A message's topic selects the channel: a topic equal to a channel's address (the
defaults, ``customer/enter`` ...) is that channel, and a test that publishes on topics of its
own passes its ``topics`` mapping (event name to topic, as the ``topics`` fixture gives it).
Channels are named after their event type in the document, so the mapping needs no other key.

:class:`helpers.mqtt_broker.Collector` runs every message it hands out through
:func:`assert_contract`; tests that read payloads some other way (``mosquitto_sub``, the app's
feed, :class:`customersim.mqtt.MessageFeed`) call it themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT7

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
_BASE = "urn:customersim:asyncapi"

# JSON Schema counts 1.0 as an integer; the contract means an integer literal ("ts":1, never
# "ts":1.0), which some consumers need to parse the value as an int.
_StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    type_checker=jsonschema.Draft7Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)


@cache
def document() -> dict[str, Any]:
    """The AsyncAPI document, parsed."""
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


@cache
def _registry() -> Registry:
    # Payload schemas $ref the document's components: register the whole document as one
    # resource so that "#/components/..." resolves inside it.
    return Registry().with_resource(_BASE, DRAFT7.create_resource(document()))


def channel_addresses() -> dict[str, str]:
    """Channel name (the event type) -> its default topic, as the document states it."""
    return {name: channel["address"] for name, channel in document()["channels"].items()}


def channel_for(topic: str, topics: Mapping[str, str] | None = None) -> str:
    """The document's channel that ``topic`` belongs to.

    Args:
        topic: The topic a message arrived on.
        topics: Event name -> topic of a test that renamed its topics (ENTER_TOPIC ...).

    Raises:
        AssertionError: The topic is neither a renamed topic nor a channel's address.
    """
    if topics:
        for event, name in topics.items():
            if name == topic:
                if event not in document()["channels"]:
                    raise AssertionError(f"event {event!r} has no channel in {DOCUMENT.name}")
                return event
    for channel, address in channel_addresses().items():
        if address == topic:
            return channel
    raise AssertionError(f"topic {topic!r} is no channel of {DOCUMENT.name} (and not among {topics})")


def _payload_pointer(channel: str) -> str:
    """The document pointer ("#/components/...") of the payload schema of ``channel``'s message."""
    (message,) = document()["channels"][channel]["messages"].values()
    while "$ref" in message:  # the channel's message refers to a component message
        message = _lookup(message["$ref"])
    payload = message["payload"]
    if "$ref" not in payload:
        raise AssertionError(f"the payload of channel {channel!r} should refer to a component schema")
    return payload["$ref"]


def _lookup(ref: str) -> Any:
    return _registry().resolver(_BASE).lookup(ref).contents


def _inline(node: Any) -> Any:
    # The document's references are not recursive: inlining them gives a plain JSON schema.
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(_lookup(node["$ref"]))
        return {key: _inline(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value) for value in node]
    return node


@cache
def payload_schema(channel: str) -> dict[str, Any]:
    """The payload schema of the (only) message of ``channel``, its references inlined."""
    return _inline(_lookup(_payload_pointer(channel)))


@cache
def payload_validator(channel: str) -> jsonschema.protocols.Validator:
    """A JSON-schema validator of the payload of ``channel`` that lists every problem."""
    return _StrictValidator(payload_schema(channel))


@cache
def _quick_check(channel: str) -> Callable[[Any], Any]:
    # The tests check tens of thousands of payloads: a compiled validator answers "valid" in
    # about a microsecond, and only a payload it refuses goes to jsonschema for the reasons.
    return fastjsonschema.compile(payload_schema(channel))


def _valid(channel: str, body: dict[str, Any]) -> bool:
    if any(isinstance(value, float) for value in body.values()):
        return False  # the compiled validator counts 1.0 as an integer: let jsonschema decide
    try:
        _quick_check(channel)(body)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def assert_contract(
    topic: str,
    payload: bytes,
    *,
    topics: Mapping[str, str] | None = None,
    extra_fields: Iterable[str] = (),
) -> dict[str, Any]:
    """Check one received message against the document; returns its payload decoded.

    Args:
        topic: The topic the message arrived on.
        payload: The message's bytes as the subscriber received them.
        topics: Event name -> topic when the test renamed its topics.
        extra_fields: Keys the publisher was asked to add (``--extra-fields``): they must be
            there, and the rest of the payload must still be exactly the contract.

    Raises:
        AssertionError: Not compact UTF-8 JSON, or not valid against the channel's schema; the
            message names the topic, the payload and every problem found.
    """
    channel = channel_for(topic, topics)
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AssertionError(f"{topic}: payload {payload!r} is not UTF-8 JSON ({error})") from None
    if not isinstance(body, dict):
        raise AssertionError(f"{topic}: payload {payload!r} is not a JSON object")
    if json.dumps(body, separators=(",", ":")).encode("utf-8") != payload:
        raise AssertionError(f"{topic}: payload {payload!r} is not compact JSON")
    extra = list(extra_fields)
    missing = [name for name in extra if name not in body]
    if missing:
        raise AssertionError(f"{topic}: payload {payload!r} lacks the extra fields {missing}")
    contract_part = {key: value for key, value in body.items() if key not in extra}
    problems = []
    if not _valid(channel, contract_part):
        problems = sorted(
            payload_validator(channel).iter_errors(contract_part), key=lambda error: list(error.path)
        )
    if problems:
        found = "; ".join(error.message for error in problems)
        raise AssertionError(f"{topic} ({channel} in {DOCUMENT.name}): payload {payload!r}: {found}")
    # The contract's keys come first, in the document's order; extra fields follow them.
    order = [key for key in payload_schema(channel)["properties"] if key in body]
    if list(body)[: len(order)] != order:
        raise AssertionError(f"{topic}: payload {payload!r} does not list its keys in the order {order}")
    return body


def is_sentinel(payload: bytes) -> bool:
    """Whether ``payload`` is a test's marker (``publish_sentinel``), not an event."""
    try:
        body = json.loads(payload)
    except ValueError:
        return False
    return isinstance(body, dict) and list(body) == ["sentinel"]


def assert_all_contract(
    messages: Iterable[tuple[str, bytes]],
    *,
    topics: Mapping[str, str] | None = None,
    extra_fields: Iterable[str] = (),
) -> int:
    """Check every (topic, payload) a subscriber received; returns how many were checked."""
    extra = tuple(extra_fields)
    count = 0
    for topic, payload in messages:
        assert_contract(topic, payload, topics=topics, extra_fields=extra)
        count += 1
    return count
