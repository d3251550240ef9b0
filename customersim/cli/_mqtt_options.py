"""Command-line flags and helpers shared by the MQTT subcommands (publish, run, send).

Broker settings come from the environment (the MQTT settings table); the flags here only cover
what a user changes per run: QoS, speed, how long to wait for a lost broker, and opt-in extra
payload fields.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from customersim.cli._checks import seconds_above_0
from customersim.errors import UserError
from customersim.mqtt import MqttSettings, parse_speed
from customersim.mqtt.settings import MQTT_SETTINGS


def add_qos_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--qos``, from its row of the MQTT settings table (MqttSettings checks the value)."""
    MQTT_SETTINGS["qos"].add_flag(parser, dest="qos")


def add_publish_arguments(
    parser: argparse.ArgumentParser, *, default_speed: str, default_give_up: float
) -> None:
    """Flags of the commands that publish a stream: --speed, --qos, --give-up-after, --extra-fields."""
    group = parser.add_argument_group("publishing")
    group.add_argument(
        "--speed",
        default=default_speed,
        metavar="FACTOR|max",
        help="1 = wall clock, 60 = a simulated minute per second, max = as fast as "
        f"the broker acknowledges (default {default_speed})",
    )
    add_qos_argument(group)
    group.add_argument(
        "--give-up-after",
        type=seconds_above_0,
        default=default_give_up,
        metavar="S",
        help="seconds to keep retrying an unreachable or lost broker before "
        f"failing (default {default_give_up:g})",
    )
    group.add_argument(
        "--extra-fields",
        default="",
        metavar="COL,...",
        help="frame columns to add to every payload, e.g. visit (default: none, "
        "the payloads are exactly the contract)",
    )


def mqtt_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> MqttSettings:
    """Settings from the environment with --qos applied (errors name the variable)."""
    return MqttSettings.from_env(environ, qos=getattr(args, "qos", None))


def speed_from_args(args: argparse.Namespace) -> float | None:
    try:
        return parse_speed(args.speed)
    except ValueError as error:
        raise UserError(f"--{error}") from None


def extra_fields_from_args(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(name.strip() for name in str(args.extra_fields or "").split(",") if name.strip())


def require_external_broker(settings: MqttSettings, command: str) -> None:
    """One-shot commands need a broker that outlives them: refuse to run without a broker host."""
    if not settings.mock and not settings.host:
        host, mock = MQTT_SETTINGS.env("host"), MQTT_SETTINGS.env("mock")
        raise UserError(
            f"{host} is not set: `{command}` needs an external broker that outlives it (for "
            f"example {host}=127.0.0.1 with mosquitto running there); set "
            f"{mock}=true to only log the messages, or use `customersim run`, which "
            "starts a built-in broker"
        )
