"""SimConfig: defaults, environment variables, and errors that name the setting."""

import pytest

from customersim.config import SETTINGS, ConfigError, SimConfig, format_start, parse_start


def test_defaults_match_the_old_service():
    config = SimConfig()
    assert (config.width, config.height, config.customers_average_in_store) == (6, 10, 6.0)
    assert config.door == (0, 0) and config.neighbourhood == 8
    assert config.arrival_profile == (1.0,) * 24
    assert config.customers_file is None


def test_issue_example_builds():
    config = SimConfig(
        width=6, height=10, customers_average_in_store=6, hours=24, start="2026-01-05T00:00:00Z", seed=1
    )
    assert config.start == 1767571200
    assert config.end == 1767571200 + 24 * 3600


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-01-05T00:00:00Z", 1767571200),
        ("2026-01-05T01:00:00+01:00", 1767571200),
        ("2026-01-05T00:00:00", 1767571200),
        ("1767571200", 1767571200),
        (1767571200, 1767571200),
    ],
)
def test_start_accepts_iso_and_epoch(text, expected):
    assert parse_start(text) == expected
    assert format_start(expected) == "2026-01-05T00:00:00Z"


def test_from_env_reads_old_and_new_variables():
    env = {
        "STORE_WIDTH": "20",
        "STORE_HEIGHT": "15",
        "CUSTOMERS_AVERAGE_IN_STORE": "25",
        "CUSTOMERS_LIST_FILE": "list.csv",
        "SIM_SEED": "7",
        "DOOR": "3,0",
        "NEIGHBOURHOOD": "4",
        "SIM_START": "2026-02-01T00:00:00Z",
        "ARRIVAL_PROFILE": ",".join(["1"] * 12 + ["3"] * 12),
    }
    config = SimConfig.from_env(env)
    assert (config.width, config.height, config.customers_average_in_store) == (20, 15, 25.0)
    assert config.customers_file == "list.csv" and config.seed == 7
    assert config.door == (3, 0) and config.neighbourhood == 4
    assert config.arrival_profile[-1] == 3.0


def test_overrides_win_over_environment_and_none_is_ignored():
    config = SimConfig.from_env({"STORE_WIDTH": "20"}, width=8, height=None)
    assert config.width == 8 and config.height == 10


def test_to_env_round_trips():
    config = SimConfig(width=9, door=(2, 3), arrival_profile=tuple(range(1, 25)), seed=5)
    assert SimConfig.from_env(config.to_env()) == config


@pytest.mark.parametrize(
    "field, value, env, allowed",
    [
        ("width", 0, "STORE_WIDTH", "whole number from 1"),
        ("width", "six", "STORE_WIDTH", "whole number from 1"),
        ("height", 2.5, "STORE_HEIGHT", "whole number"),
        ("customers_average_in_store", 0, "CUSTOMERS_AVERAGE_IN_STORE", "above 0"),
        ("customers_average_in_store", float("nan"), "CUSTOMERS_AVERAGE_IN_STORE", "above 0"),
        ("neighbourhood", 6, "NEIGHBOURHOOD", "4 or 8"),
        ("start", "next tuesday", "SIM_START", "ISO 8601"),
        ("hours", -1, "SIM_HOURS", "above 0"),
        ("seed", -3, "SIM_SEED", ">= 0"),
        ("arrival_profile", (1.0,) * 23, "ARRIVAL_PROFILE", "24 or 168 weights"),
        ("arrival_profile", (0.0,) * 24, "ARRIVAL_PROFILE", "not all 0"),
        ("door", "1", "DOOR", "x,y"),
        ("dwell_spread", 0, "DWELL_SPREAD", "0.05 to 3"),
    ],
)
def test_bad_values_name_setting_variable_value_and_allowed(field, value, env, allowed):
    with pytest.raises(ConfigError) as caught:
        SimConfig(**{field: value})
    message = str(caught.value)
    assert field in message and env in message and allowed in message
    assert repr(value) in message


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match=r"STORE_HEIGHT\) = '-2'"):
        SimConfig.from_env({"STORE_HEIGHT": "-2"})


def test_door_must_be_inside_the_grid():
    with pytest.raises(ConfigError, match=r"DOOR.*inside the 6 x 10 grid.*x from 0 to 5"):
        SimConfig(door=(6, 0))


def test_every_setting_has_an_environment_variable_and_is_a_field():
    fields = set(SimConfig.__dataclass_fields__)
    assert set(SETTINGS) == fields
    assert len({s.env for s in SETTINGS.values()}) == len(SETTINGS)
