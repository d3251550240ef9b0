"""The library refuses bad arguments at its door, naming the argument, like the CLI does."""

import numpy as np
import pandas as pd
import pytest

from customersim import CustomerListError, SimConfig, simulate, simulate_chunks
from customersim.mqtt import MqttSettings, send_event

CONFIG = SimConfig(hours=1, seed=1)
IDS = [str(n) for n in range(100)]


@pytest.mark.parametrize(
    ("customers", "words"),
    [
        # 1000 times the same customer would be inside many times at once (909 broken journeys).
        (["a"] * 1000, r"customers\[1\]: duplicate id 'a' \(first at position 0\)"),
        ([*IDS, ""], r"customers\[100\]: blank id ''"),
        ([*IDS, "   "], r"customers\[100\]: blank id '   '"),
        ([*IDS, None], r"customers\[100\]: missing id \(None\)"),
        ([*IDS, float("nan")], r"customers\[100\]: missing id \(nan\)"),
        (pd.DataFrame({"id": IDS}), r"customers: the frame has no customer_id column"),
        (
            pd.DataFrame({"customer_id": [*IDS, "7"]}),
            r"customers\[100\]: duplicate id '7' \(first at position 7\)",
        ),
    ],
)
def test_bad_customer_lists_are_refused_as_in_the_cli(customers, words):
    with pytest.raises(CustomerListError, match=words):
        simulate(CONFIG, customers=customers)
    with pytest.raises(CustomerListError, match=words):
        simulate_chunks(CONFIG, customers=customers)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: simulate("not a config"), TypeError, "config must be a SimConfig, not str"),
        (lambda: simulate({"hours": 1}), TypeError, "config must be a SimConfig, not dict"),
        (lambda: simulate(CONFIG, customers="abc"), TypeError, "customers must be a customer-list frame"),
        (lambda: simulate(CONFIG, customers=7), TypeError, "customers must be a customer-list frame"),
        (lambda: simulate(CONFIG, workers=0), ValueError, "workers = 0 is not allowed: expected a whole"),
        (lambda: simulate(CONFIG, workers=-2), ValueError, "workers = -2 is not allowed"),
        (lambda: simulate(CONFIG, workers="2"), TypeError, "workers must be a whole number >= 1, not str"),
        (lambda: simulate_chunks(CONFIG, workers=0), ValueError, "workers = 0 is not allowed"),
        (lambda: simulate_chunks(CONFIG, chunk_rows=0), ValueError, "chunk_rows must be a whole number >= 1"),
        (
            lambda: simulate_chunks(CONFIG, chunk_rows=1.5),
            TypeError,
            "chunk_rows must be a whole number >= 1",
        ),
        (lambda: simulate_chunks("x"), TypeError, "config must be a SimConfig"),
    ],
)
def test_wrong_arguments_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_ids_as_numbers_arrays_or_series_still_work():
    expected = simulate(CONFIG, customers=IDS)
    for customers in (range(100), np.arange(100), pd.Series(IDS), pd.DataFrame({"customer_id": IDS})):
        pd.testing.assert_frame_equal(simulate(CONFIG, customers=customers), expected)


MOCK = MqttSettings(mock=True)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"event": "enter", "customer_id": ""}, "customer_id = '' is not allowed: expected a non-blank id"),
        ({"event": "enter", "customer_id": "  "}, "customer_id = '  ' is not allowed"),
        ({"event": "enter", "customer_id": None}, "customer_id = None is not allowed"),
        ({"event": "enter", "customer_id": "1", "ts": -1}, "ts = -1 is not allowed"),
        ({"event": "enter", "customer_id": "1", "ts": 1.5}, "ts = 1.5 is not allowed"),
        ({"event": "move", "customer_id": "1", "x": -1, "y": 0}, "x = -1 is not allowed"),
        ({"event": "move", "customer_id": "1", "x": 65536, "y": 0}, "x = 65536 is not allowed"),
        (
            {"event": "move", "customer_id": "1", "x": 6, "y": 0, "width": 6, "height": 10},
            r"x = 6 is not allowed: expected a whole number from 0 to 5 \(the store is 6 cells wide\)",
        ),
        (
            {"event": "move", "customer_id": "1", "x": 0, "y": 10, "width": 6, "height": 10},
            r"y = 10 is not allowed: expected a whole number from 0 to 9 \(the store is 10 cells high\)",
        ),
    ],
)
def test_send_refuses_what_the_contract_does_not_allow(kwargs, words):
    with pytest.raises(ValueError, match=words):
        send_event(MOCK, **{"ts": 1767571200, **kwargs})


def test_send_takes_a_cell_inside_the_store():
    payload = send_event(MOCK, "move", "7", ts=1767571200, x=5, y=9, width=6, height=10)
    assert payload == b'{"id":"7","ts":1767571200,"x":5,"y":9}'
