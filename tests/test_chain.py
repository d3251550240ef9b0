"""A chain of stores: the stores table, per-store seeds and chain frames (no cluster needed)."""

import pandas as pd
import pytest

from customersim.chain import (
    Chain,
    StoresTableError,
    read_stores_table,
    simulate_chain,
    simulate_store,
    single_store,
    store_seed,
)
from customersim.config import SimConfig
from customersim.simulation import simulate

BASE = SimConfig(hours=6, seed=21)


def test_store_seed_is_stable_across_processes_and_differs_by_store_and_chain_seed():
    # A literal: Python's salted hash() would change it from run to run.
    assert store_seed(21, "north") == store_seed(21, "north")
    assert store_seed(21, "north") != store_seed(21, "south")
    assert store_seed(21, "north") != store_seed(22, "north")
    assert 0 <= store_seed(2**63 - 1, "x" * 64) < 2**63
    assert store_seed(0, "a") == 3427638366338224383


def test_adding_or_reordering_stores_leaves_the_others_unchanged():
    small = Chain.from_rows([{"store_id": "a"}, {"store_id": "b", "customers_average_in_store": 9}], BASE)
    rows = [{"store_id": "c", "mean_visit_minutes": 7}, {"store_id": "b", "customers_average_in_store": 9}]
    bigger = Chain.from_rows([*rows, {"store_id": "a"}], BASE)
    for store_id in ("a", "b"):
        assert small.store(store_id) == bigger.store(store_id)
    assert simulate_store(small.store("b")).equals(simulate_store(bigger.store("b")))
    assert not simulate_store(small.store("a")).equals(simulate_store(small.store("b")))


def test_chain_frame_is_each_store_in_table_order_with_a_store_id_category():
    chain = Chain.from_rows([{"store_id": "z"}, {"store_id": "a", "width": 3, "height": 4}], BASE)
    frame = simulate_chain(chain)
    assert list(frame.columns) == ["store_id", *simulate(BASE).columns]
    assert isinstance(frame["store_id"].dtype, pd.CategoricalDtype)
    assert list(frame["store_id"].cat.categories) == ["z", "a"]
    for store in chain:
        part = frame[frame["store_id"] == store.store_id].drop(columns="store_id").reset_index(drop=True)
        assert part.equals(simulate(store.config))
    assert frame.loc[frame["store_id"] == "a", "x"].max() <= 2


def test_single_store_keeps_its_seed_and_frames():
    chain = single_store(BASE)
    assert chain.stores[0].config == BASE
    assert simulate_store(chain.stores[0]).equals(simulate(BASE))


def test_csv_table_with_defaults_env_names_profiles_and_relative_customer_lists(tmp_path):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "few.csv").write_text("customer_id\n" + "\n".join(f"c{i}" for i in range(60)))
    profile = ";".join(["0"] * 8 + ["1"] * 12 + ["0"] * 4)
    table = tmp_path / "stores.csv"
    table.write_text(
        "store_id,CUSTOMERS_AVERAGE_IN_STORE,arrival_profile,customers_file,seed\n"
        "north,12,,,\n"
        f"harbour,,{profile},lists/few.csv,\n"
        "old,,,,5\n"
    )
    chain = read_stores_table(table, BASE)
    assert chain.store_ids == ["north", "harbour", "old"]
    north, harbour, old = chain.stores
    assert north.config.customers_average_in_store == 12 and north.config.hours == 6
    assert north.config.seed == store_seed(21, "north")
    assert harbour.config.arrival_profile[7] == 0 and harbour.config.arrival_profile[8] == 1
    assert harbour.config.customers_file == str(tmp_path / "lists" / "few.csv")
    assert set(simulate_store(harbour)["customer_id"]) <= {f"c{i}" for i in range(60)}
    assert old.config.seed == 5


def test_toml_table(tmp_path):
    table = tmp_path / "stores.toml"
    table.write_text(
        '[[stores]]\nstore_id = "a"\nwidth = 8\narrival_profile = ['
        + ", ".join(["1"] * 24)
        + ']\n\n[[stores]]\nstore_id = "b"\ndoor = [1, 1]\n'
    )
    chain = read_stores_table(table, BASE)
    assert chain.store("a").config.width == 8
    assert chain.store("b").config.door == (1, 1)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("store_id,floors\na,2\n", ["stores.csv, line 2", "'floors'", "not a store setting"]),
        ("store_id,width\na,wide\n", ["stores.csv, line 2", "store a", "width (STORE_WIDTH)", "'wide'"]),
        ("store_id,width\na,3\na,4\n", ["stores.csv", "'a' appears twice"]),
        ("store_id,width\nx/y,3\n", ["line 2", "store_id = 'x/y'", "letters, digits"]),
        ("width\n3\n", ["line 1", "no store_id column"]),
        ("store_id,width\na,3,4\n", ["line 2", "3 values for 2 columns"]),
        ("store_id\n", ["no stores"]),
    ],
    ids=["unknown-column", "bad-value", "duplicate", "bad-id", "no-id", "ragged", "empty"],
)
def test_bad_csv_tables_are_one_line_naming_file_line_and_column(tmp_path, text, words):
    table = tmp_path / "stores.csv"
    table.write_text(text)
    with pytest.raises(StoresTableError) as caught:
        read_stores_table(table, BASE)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_bad_toml_and_missing_and_unknown_table_files(tmp_path):
    (tmp_path / "s.toml").write_text('[store]\nstore_id = "a"\n')
    with pytest.raises(StoresTableError, match=r"s\.toml: expected an array of \[\[stores\]\]"):
        read_stores_table(tmp_path / "s.toml", BASE)
    with pytest.raises(StoresTableError, match="cannot read the stores table"):
        read_stores_table(tmp_path / "none.csv", BASE)
    with pytest.raises(StoresTableError, match=r"use \.csv or \.toml"):
        read_stores_table(tmp_path / "s.json", BASE)
