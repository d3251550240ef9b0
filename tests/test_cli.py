"""The command line, called as main([...]) the way a user types it."""

import re
import subprocess
import sys

import pytest

from customersim.cli import main

WEEK = ["--hours", "168", "--seed", "11", "--start", "2026-01-05T00:00:00Z"]


@pytest.mark.parametrize(
    "store", [[], ["--width", "20", "--height", "15", "--average-inside", "25"]], ids=["default", "20x15-25"]
)
def test_week_through_the_cli_meets_the_target_and_validates(tmp_path, capsys, store):
    out = tmp_path / "week.csv"
    assert main(["generate", *WEEK, *store, "--out", str(out)], environ={}) == 0
    summary = capsys.readouterr().out
    mean, target = map(float, re.search(r"mean inside ([\d.]+) \(target ([\d.]+)\)", summary).groups())
    assert abs(mean - target) <= 0.05 * target
    assert main(["validate", str(out), *WEEK, *store], environ={}) == 0
    assert "no violations" in capsys.readouterr().out


def test_validate_takes_the_window_from_the_file_unless_told(tmp_path, capsys):
    out = tmp_path / "days.parquet"
    days = ["--hours", "72", "--seed", "5", "--start", "2026-01-07T00:00:00Z", "--average-inside", "8"]
    assert main(["generate", *days, "--out", str(out), "--quiet"], environ={}) == 0
    capsys.readouterr()
    assert main(["validate", str(out), "--average-inside", "8"], environ={}) == 0
    printed = capsys.readouterr().out
    assert f"{out}: window from the file: 2026-01-07T00:00:00Z + 72 h" in printed
    whole = float(re.search(r"mean inside ([\d.]+)", printed).group(1))
    assert whole == pytest.approx(8, rel=0.02)
    # A window given in the environment (or by flags) is the window measured.
    env = {"SIM_START": "2026-01-07T00:00:00Z", "SIM_HOURS": "2"}
    main(["validate", str(out), "--average-inside", "8", "--no-occupancy"], environ=env)
    assert "window from the file" not in capsys.readouterr().out


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    paths = [tmp_path / name for name in ("a.csv", "b.csv", "c.csv")]
    for path, seed in zip(paths, ("11", "11", "12"), strict=True):
        assert (
            main(["generate", "--hours", "48", "--seed", seed, "--out", str(path), "--quiet"], environ={})
            == 0
        )
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_environment_supplies_defaults_and_flags_win(tmp_path, capsys):
    out = tmp_path / "e.parquet"
    env = {"STORE_WIDTH": "3", "STORE_HEIGHT": "4", "SIM_HOURS": "2"}
    assert main(["generate", "--out", str(out), "--width", "5"], environ=env) == 0
    from customersim.files import read_events

    frame = read_events(out)
    assert frame["x"].max() <= 4 and frame["y"].max() <= 3 and frame["x"].max() >= 3


def test_bad_setting_is_one_line_naming_the_variable(tmp_path, capsys):
    assert main(["generate", "--out", str(tmp_path / "x.csv")], environ={"STORE_WIDTH": "wide"}) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "STORE_WIDTH" in err and "'wide'" in err and "Traceback" not in err


def test_unknown_output_type_and_broken_customer_list(tmp_path, capsys):
    assert main(["generate", "--out", str(tmp_path / "x.json")], environ={}) == 1
    assert ".csv or .parquet" in capsys.readouterr().err
    broken = tmp_path / "customers.csv"
    broken.write_text("customer_id,name\n1,Ada\n1,Ben\n")
    assert (
        main(["generate", "--out", str(tmp_path / "x.csv")], environ={"CUSTOMERS_LIST_FILE": str(broken)})
        == 1
    )
    assert "line 3, column customer_id: duplicate id '1'" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_validate_reports_lines_and_exits_1(tmp_path, capsys):
    out = tmp_path / "e.csv"
    main(["generate", "--hours", "6", "--out", str(out)], environ={})
    lines = out.read_text().splitlines()
    fields = lines[10].split(",")
    fields[3] = "42"  # x far outside the 6-wide grid
    lines[10] = ",".join(fields)
    out.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["validate", str(out), "--hours", "6"], environ={}) == 1
    report = capsys.readouterr().out
    assert "line 11: [grid] cell (42," in report


def test_validate_missing_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "none.csv")], environ={}) == 1
    assert "no such file" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "customersim", "generate", "--hours", "1", "--out", str(tmp_path / "e.csv")],
        capture_output=True,
        check=False,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote ")
