"""Customer lists: the shipped file, the built-in list, and errors with file, line and column."""

import io
import os
from pathlib import Path

import pandas as pd
import pytest

from customersim import SimConfig
from customersim.app.support import customers_for, read_upload
from customersim.customers import (
    CUSTOMER_COLUMNS,
    CustomerListError,
    load_customer_ids,
    load_customers,
    synthetic_customers,
)

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_file_is_the_built_in_list():
    shipped = load_customers(ROOT / "customers.csv")
    built_in = load_customers(None)
    assert list(shipped.columns) == list(CUSTOMER_COLUMNS)
    assert len(shipped) == 1000 and shipped["customer_id"].is_unique
    assert shipped.equals(built_in)


def test_built_in_list_is_reproducible():
    assert synthetic_customers(50, 1).equals(synthetic_customers(50, 1))
    assert not synthetic_customers(50, 1).equals(synthetic_customers(50, 2))


def test_only_customer_id_is_required_and_other_columns_are_kept(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("tier,customer_id\ngold, 007 \nsilver,8\n")
    frame = load_customers(path)
    assert list(frame.columns) == ["customer_id", "tier"]
    assert frame["customer_id"].tolist() == ["007", "8"]


@pytest.mark.parametrize(
    "content, where",
    [
        ("", "the file is empty"),
        ("name,age\nAda,3\n", "line 1: no customer_id column"),
        ("customer_id,name\n", "header but no customers"),
        ("customer_id,name\n1,Ada\n ,Ben\n", "line 3, column customer_id: blank id"),
        (
            "customer_id,name\n1,Ada\n2,Ben\n1,Cy\n",
            "line 4, column customer_id: duplicate id '1' (first on line 2)",
        ),
        ("customer_id,name\n1,Ada\n2\n", "line 3: 1 fields where the header has 2"),
    ],
)
def test_broken_lists_name_file_line_and_column(tmp_path, content, where):
    path = tmp_path / "broken.csv"
    path.write_text(content)
    with pytest.raises(CustomerListError) as caught:
        load_customers(path)
    assert str(path) in str(caught.value)
    assert where in str(caught.value)
    with pytest.raises(CustomerListError) as caught_ids:  # the ids alone are checked the same
        load_customer_ids(path)
    assert str(caught_ids.value) == str(caught.value)


def test_ids_alone_are_the_lists_ids(tmp_path):
    assert load_customer_ids(None) == load_customers(None)["customer_id"].tolist()
    path = tmp_path / "c.csv"
    path.write_text("name,customer_id\nAda, 007 \nBen,x\n")
    assert load_customer_ids(path) == load_customers(path)["customer_id"].tolist() == ["007", "x"]


def test_missing_file_names_the_setting(tmp_path):
    with pytest.raises(CustomerListError, match=r"not found.*CUSTOMERS_LIST_FILE"):
        load_customers(tmp_path / "nope.csv")


def test_changed_file_is_read_again(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("customer_id\n1\n")
    assert len(load_customers(path)) == 1
    path.write_text("customer_id\n1\n2\n3\n")
    assert len(load_customers(path)) == 3


def _parquet_list() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"customer_id": ["1", "2"]}).to_parquet(buffer)
    return buffer.getvalue()


# Files that are not UTF-8 CSV text: refused in one line that says what the file is.
NOT_TEXT = [
    pytest.param(
        "customer_id,name\n1,José\n".encode("latin-1"), "line 2: not UTF-8 text (byte 0xe9", id="latin-1"
    ),
    pytest.param("customer_id,name\n1,Ada\n".encode("utf-16"), "is UTF-16 text", id="utf-16"),
    pytest.param(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8, "is a binary file", id="binary"),
    pytest.param(_parquet_list(), "is a Parquet file", id="parquet"),
]


@pytest.mark.parametrize(("data", "words"), NOT_TEXT)
def test_a_list_that_is_not_utf8_text_is_named_for_what_it_is(tmp_path, data, words):
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    for load in (lambda: load_customers(path), lambda: read_upload(data, str(path))):  # CLI and app
        with pytest.raises(CustomerListError) as caught:
            load()
        message = str(caught.value)
        assert message.startswith(f"{path}") and words in message, message
        assert "expected a CSV text file in UTF-8" in message and message.isprintable()


def test_a_folder_or_a_pipe_is_not_a_list(tmp_path):
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "pipe")  # opening it for reading would wait for a writer forever
    for name, words in (("folder", "is a directory"), ("pipe", "is not a regular file")):
        config = SimConfig(customers_file=str(tmp_path / name))
        with pytest.raises(CustomerListError, match=f"{name}: {words}.*CUSTOMERS_LIST_FILE"):
            customers_for(config, None)  # the app's way; the CLI's goes through load_customers too


def test_junk_in_a_header_is_quoted_short_and_printable(tmp_path):
    path = tmp_path / "junk.csv"
    path.write_text("\x1b[2J\x0bname" * 30 + ",x\r\n1,2\n")
    with pytest.raises(CustomerListError) as caught:
        load_customers(path)
    message = str(caught.value)
    assert "line 1: no customer_id column" in message and message.isprintable() and len(message) < 250, (
        message
    )
