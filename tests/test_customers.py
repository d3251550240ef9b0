"""Customer lists: the shipped file, the built-in list, and errors with file, line and column."""

from pathlib import Path

import pytest

from customersim.customers import CUSTOMER_COLUMNS, CustomerListError, load_customers, synthetic_customers

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


def test_missing_file_names_the_setting(tmp_path):
    with pytest.raises(CustomerListError, match=r"not found.*CUSTOMERS_LIST_FILE"):
        load_customers(tmp_path / "nope.csv")


def test_changed_file_is_read_again(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("customer_id\n1\n")
    assert len(load_customers(path)) == 1
    path.write_text("customer_id\n1\n2\n3\n")
    assert len(load_customers(path)) == 3
