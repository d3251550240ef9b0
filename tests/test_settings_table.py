"""The settings tables: one row per setting, read by every front end and listed by the README."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import customersim
from customersim.cli import build_parser
from customersim.cli._logging import LOG_SETTINGS, setup_logging
from customersim.config import SETTINGS, ConfigError, SimConfig
from customersim.mqtt.settings import MQTT_SETTINGS, MqttSettingsError
from customersim.settings_table import (
    NotAllowed,
    Setting,
    SettingsTable,
    all_tables,
    boolean,
    number,
    secret,
    whole,
)

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# What an environment variable of ours looks like in text: capitals with at least one underscore.
VARIABLE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def _variables() -> set[str]:
    return {name for table in all_tables() for name in table.env_names}


def test_all_tables_finds_every_table_of_the_package() -> None:
    found = []
    for module in pkgutil.walk_packages(customersim.__path__, "customersim."):
        if module.name.endswith("__main__"):  # runs the command line when imported
            continue
        loaded = importlib.import_module(module.name)
        found += [value for value in vars(loaded).values() if isinstance(value, SettingsTable)]
    assert {id(table) for table in found} == {id(table) for table in all_tables()}
    assert {table.title for table in all_tables()} >= {"simulation", "MQTT", "logging"}


def test_readme_lists_every_variable_in_a_table_and_no_other() -> None:
    text = README.read_text(encoding="utf-8")
    table_rows = "\n".join(line for line in text.splitlines() if line.startswith("|"))
    listed = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table_rows))
    ours = _variables()
    assert ours - listed == set(), "variables missing from the README's settings tables"
    assert set(VARIABLE.findall(text)) - ours == set(), "the README names variables no table holds"


def test_readme_gives_each_flag_beside_its_variable() -> None:
    rows = [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    for table in all_tables():
        for setting in table.values():
            if setting.flag and setting.env:
                (row,) = [line for line in rows if f"`{setting.env}`" in line]
                assert f"`{setting.flag}`" in row, setting.env


def test_each_variable_is_written_once_in_the_library() -> None:
    sources = [*sorted((ROOT / "customersim").rglob("*.py")), ROOT / "app.py"]
    texts = {path: path.read_text(encoding="utf-8") for path in sources}
    for variable in sorted(_variables()):
        places = [
            f"{path.relative_to(ROOT)}:{number}"
            for path, text in texts.items()
            for number, line in enumerate(text.splitlines(), 1)
            for _ in re.finditer(rf"\b{variable}\b", line)
        ]
        assert len(places) == 1, f"{variable} is written in {places}; only its table row should name it"


def test_a_variable_names_one_setting_in_all_tables() -> None:
    with pytest.raises(ValueError, match="a variable names two settings"):
        SettingsTable("another group", [Setting("wide", "STORE_WIDTH", "grid width", 6, whole, 1, 9)])
    assert "another group" not in {table.title for table in all_tables()}


def test_rows_are_fields_of_their_settings_class() -> None:
    assert set(SETTINGS) == set(SimConfig.__dataclass_fields__)
    for name, row in SETTINGS.items():
        assert getattr(SimConfig(), name) == (row.parse(row.default) if name == "start" else row.default)


def test_allowed_words_come_from_the_bounds() -> None:
    assert SETTINGS["width"].allowed == "a whole number from 1 to 4096"
    assert SETTINGS["customers_average_in_store"].allowed == "a number above 0 and at most 1000000"
    assert SETTINGS["mean_visit_minutes"].allowed == "a number of minutes from 0.5 to 1440"
    assert SETTINGS["neighbourhood"].allowed == "4 or 8"
    assert MQTT_SETTINGS["use_tls"].allowed == "true or false"
    assert LOG_SETTINGS["log_level"].allowed == "DEBUG, INFO, WARNING, ERROR or CRITICAL"
    assert Setting("n", "N_VALUE", "a count", parse=whole, low=0).allowed == "a whole number >= 0"
    with pytest.raises(ValueError, match="say in words"):
        Setting("free", None, "free text")


def test_a_row_checks_bounds_choices_and_says_why() -> None:
    row = Setting("level", "SOME_LEVEL", "a level", 1.0, number, 0, 2, above=True)
    assert row.convert(" 1.5 ") == 1.5 and row.convert(2) == 2.0
    for bad in (0, "0", 2.01, "nan", "inf", True, "x", None):
        with pytest.raises(ConfigError) as caught:
            row.convert(bad)
        assert str(caught.value) == (
            f"level (SOME_LEVEL) = {bad!r} is not allowed: expected a number above 0 and at most 2"
        )

    def parse(value: object) -> str:
        raise NotAllowed("too loud")

    with pytest.raises(MqttSettingsError, match=r"^x = 'a' is not allowed \(too loud\): expected quiet$"):
        Setting("x", None, "x", parse=parse, allowed="quiet").convert("a", MqttSettingsError)


def test_secret_values_and_long_values_are_not_quoted() -> None:
    row = Setting("key", "SOME_KEY", "a key", parse=secret, allowed="text", secret=True)
    with pytest.raises(ConfigError) as caught:
        row.convert(12345)
    assert "12345" not in str(caught.value) and "key (SOME_KEY) is not allowed" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        SimConfig(door="9" * 5000)
    message = str(caught.value)
    assert len(message) < 400 and "5002 characters" in message and "DOOR" in message


@pytest.mark.parametrize(
    "text, value", [("true", True), ("On", True), ("1", True), ("no", False), ("", False), (False, False)]
)
def test_boolean_words(text, value) -> None:
    assert boolean(text) is value


def test_read_env_skips_blank_values_and_keeps_a_secret_verbatim() -> None:
    env = {"MQTT_HOST": "  ", "MQTT_PORT": " 1884 ", "MQTT_PASSWORD": " pw ", "MQTT_USERNAME": "u"}
    assert MQTT_SETTINGS.read_env(env) == {"port": "1884", "password": " pw ", "username": "u"}


def test_flags_come_from_the_rows() -> None:
    parser = build_parser()
    generate = parser._subparsers._group_actions[0].choices["generate"]  # type: ignore[union-attr]
    flags = {action.dest: action for action in generate._actions}
    for name, row in SETTINGS.items():
        action = flags[f"sim_{name}"]
        assert action.option_strings == [row.flag] and action.metavar == row.metavar
        assert row.help in action.help and row.env in action.help
    send = parser._subparsers._group_actions[0].choices["send"]  # type: ignore[union-attr]
    qos = next(action for action in send._actions if action.dest == "qos")
    assert qos.help == "MQTT quality of service [MQTT_QOS, default 1]"


def test_a_bad_flag_gets_the_message_of_its_variable(capsys) -> None:
    from customersim.cli import main

    assert main(["send", "enter", "--id", "1", "--qos", "3"], {"TESTING_MOCK_MQTT": "true"}) == 2
    assert "qos (MQTT_QOS) = '3' is not allowed: expected 0, 1 or 2" in capsys.readouterr().err


def test_logging_settings_name_their_variables(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"log_level \(LOG_LEVEL\) = 'loud' is not allowed: expected DEBUG"):
        setup_logging({"LOG_LEVEL": "loud"})
    folder = tmp_path / "missing" / "m.log"
    with pytest.raises(ConfigError, match=r"log_file \(LOG_FILENAME\) = .* cannot be opened"):
        setup_logging({"LOG_FILENAME": str(folder)})
    assert setup_logging({"LOG_LEVEL": " debug "}).level == 10


def test_start_is_an_int_whatever_form_it_was_given_in() -> None:
    from datetime import UTC, datetime

    for given in ("2026-01-05T00:00:00Z", 1767571200, "1767571200", datetime(2026, 1, 5, tzinfo=UTC)):
        config = SimConfig(start=given)
        assert type(config.start) is int and config.start == 1767571200
    assert type(SimConfig().start) is int
    assert type(SimConfig().replace(hours=2).start) is int
