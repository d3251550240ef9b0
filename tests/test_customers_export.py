"""``customersim customers export --format visualization-json``: the demo app's customer list.

The demo's visualization app looks customer ``i`` up at position ``i - 1`` of a JSON list. The
export must put every customer there, keep their details, and refuse (in one line that says
why) a customer list whose ids would send the app to the wrong position.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from customersim import SimConfig, simulate
from customersim.cli import main
from customersim.customers import load_customers, synthetic_customers
from customersim.visualization import visualization_records

HEADER = "customer_id,name,family_size,mean_discount_used_by_cust,zip,note\n"


def write(tmp_path, rows: list[str], header: str = HEADER):
    path = tmp_path / "customers.csv"
    path.write_text(header + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def export(tmp_path, capsys, *args: str, environ=None) -> tuple[int, str, str, object]:
    out = tmp_path / "customers.json"
    code = main(
        ["customers", "export", "--format", "visualization-json", "--out", str(out), *args], environ or {}
    )
    captured = capsys.readouterr()
    loaded = json.loads(out.read_text(encoding="utf-8")) if out.exists() else None
    return code, captured.out, captured.err, loaded


def test_built_in_list_puts_customer_i_at_position_i_minus_1(tmp_path, capsys):
    code, out, err, records = export(tmp_path, capsys)
    assert code == 0, err
    assert out.strip().startswith("wrote 1,000 customers to ")
    assert [r["customer_id"] for r in records] == list(range(1, 1001))
    first = synthetic_customers().iloc[0]
    assert records[0]["name"] == first["name"] and records[0]["gender"] == first["gender"]
    assert records[0]["family_size"] == int(first["family_size"])
    assert records[0]["total_price_paid_by_cust"] == float(first["total_price_paid_by_cust"])
    assert list(records[0]) == list(synthetic_customers().columns)


def test_every_simulated_shopper_is_found_at_their_position(tmp_path, capsys):
    order = [*range(40, 0, -2), *range(1, 40, 2)]  # 1..40, not in order
    rows = [f"{i},Customer {i},{i % 4 + 1},-1.5,{i:05d},x" for i in order]
    path = write(tmp_path, rows)
    code, _, err, records = export(tmp_path, capsys, "--customers", str(path))
    assert code == 0, err
    events = simulate(SimConfig(hours=2, seed=4, customers_average_in_store=2, customers_file=str(path)))
    for customer_id in events["customer_id"].unique():
        # What the app does with a payload's id: parse it as an integer, index the list.
        record = records[int(customer_id) - 1]
        assert record["customer_id"] == int(customer_id)
        assert record["name"] == f"Customer {customer_id}"


def test_file_order_does_not_matter_and_columns_keep_their_order(tmp_path, capsys):
    path = write(tmp_path, ["2,Bea,3,-0.5,00420,", "1,Al,1,2,01000,vip"])
    code, _, err, records = export(tmp_path, capsys, "--customers", str(path))
    assert code == 0, err
    assert records == [
        {
            "customer_id": 1,
            "name": "Al",
            "family_size": 1,
            "mean_discount_used_by_cust": 2.0,
            "zip": "01000",
            "note": "vip",
        },
        {
            "customer_id": 2,
            "name": "Bea",
            "family_size": 3,
            "mean_discount_used_by_cust": -0.5,
            "zip": "00420",
            "note": None,
        },
    ]


def test_the_environment_names_the_list_when_no_flag_does(tmp_path, capsys):
    path = write(tmp_path, ["1,Al,1,0,1,a", "2,Bea,2,0,2,b"])
    code, _, err, records = export(tmp_path, capsys, environ={"CUSTOMERS_LIST_FILE": str(path)})
    assert code == 0, err
    assert [r["name"] for r in records] == ["Al", "Bea"]


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (["1", "2", "A3"], "line 4, column customer_id: id 'A3' is not a whole number"),
        (["0", "1", "2"], "line 2, column customer_id: id '0' is not a whole number"),
        (["1", "02", "3"], "line 3, column customer_id: id '02' is not a whole number"),
        (["1", "2", "4"], "the 3 ids are not 1 to 3 (missing 3; above 3: 4)"),
        (["10", "20", "30", "40", "50", "60", "70"], "missing 1, 2, 3, 4, 5 and 2 more; above 7: 10, 20, 30"),
    ],
)
def test_ids_that_are_not_1_to_n_are_refused_in_one_line_that_says_why(tmp_path, capsys, ids, expected):
    path = write(tmp_path, [f"{i},n,1,0,1,x" for i in ids])
    code, out, err, records = export(tmp_path, capsys, "--customers", str(path))
    assert code == 1 and records is None and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"customersim customers: {path}")
    assert expected in err
    assert "position i-1" in err and "1 to N" in err
    assert list(tmp_path.iterdir()) == [path], "a refused export left a file behind"


def test_a_problem_of_the_list_itself_is_the_loaders_one_line(tmp_path, capsys):
    path = write(tmp_path, ["1,a,1,0,1,x", "1,b,1,0,1,x"])
    code, _, err, _ = export(tmp_path, capsys, "--customers", str(path))
    assert code == 1 and "line 3, column customer_id: duplicate id '1'" in err


def test_stdout_and_an_unwritable_target(tmp_path, capsys):
    path = write(tmp_path, ["1,Al,1,0,1,a"])
    assert main(["customers", "export", "--out", "-", "--customers", str(path)], {}) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "Al"
    target = tmp_path / "missing-folder" / "customers.json"
    assert main(["customers", "export", "--out", str(target), "--customers", str(path)], {}) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"customersim customers: cannot write {target}") and err.count("\n") == 1


def test_only_columns_of_numbers_become_numbers():
    customers = pd.DataFrame(
        {
            "customer_id": ["1", "2", "3"],
            "whole": ["1", "-2", ""],
            "decimal": ["1", "2.5", "1e3"],
            "mixed": ["1", "5+", "2"],
            "code": ["007", "8", "9"],
        },
        dtype="str",
    )
    records = visualization_records(customers)
    assert [r["whole"] for r in records] == [1, -2, None]
    assert [r["decimal"] for r in records] == [1.0, 2.5, 1000.0]
    assert [r["mixed"] for r in records] == ["1", "5+", "2"]
    assert [r["code"] for r in records] == ["007", "8", "9"]


def test_the_shipped_file_exports_like_the_built_in_list():
    shipped = visualization_records(load_customers("customers.csv"))
    assert shipped == visualization_records(synthetic_customers())
