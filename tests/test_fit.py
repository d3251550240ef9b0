"""customersim fit recovers the settings of a generated week, and generate --settings reads them.

Tolerances (a week of a small fashion store, about 4,000 visits): mean visit length, mean
inside and dwell spread within 10 %, mean dwell within 15 % (the last stop of a visit is cut
short), pace spread within 0.1, the walking step exactly, department attractions within 15 %,
each day's share of the arrival profile within 15 % and the hourly shape correlated above 0.95.
"""

import tomllib

import numpy as np
import pytest

from customersim import SimConfig, simulate
from customersim.cli import main
from customersim.files import read_events
from customersim.fit import fit_events
from customersim.profiles import PRESETS

TRUTH = SimConfig(
    layout="fashion",
    customers_average_in_store=10,
    hours=24 * 7,
    seed=3,
    segments="none",
    arrival_profile="supermarket-week",
    mean_visit_minutes=25,
    dwell_mean_seconds=40,
    dwell_spread=0.5,
    pace_spread=0.3,
    walk_seconds_per_cell=2,
    # A fashion basket is paid faster than a supermarket's; the shop's two tills keep up with
    # the week's busiest hour.
    checkout_service_seconds=60,
)


@pytest.fixture(scope="module")
def fitted():
    return fit_events(simulate(TRUTH)).settings


def test_fit_recovers_a_generated_week(fitted) -> None:
    assert fitted["MEAN_VISIT_MINUTES"] == pytest.approx(25, rel=0.1)
    assert fitted["CUSTOMERS_AVERAGE_IN_STORE"] == pytest.approx(10, rel=0.1)
    assert fitted["DWELL_MEAN_SECONDS"] == pytest.approx(40, rel=0.15)
    assert fitted["DWELL_SPREAD"] == pytest.approx(0.5, rel=0.1)
    assert fitted["PACE_SPREAD"] == pytest.approx(0.3, abs=0.1)
    assert fitted["WALK_SECONDS_PER_CELL"] == 2
    truth = dict(zip(("Women", "Men", "Boys", "Girls", "Sports"), (3, 2, 1.5, 1.5, 1), strict=True))
    mean = np.mean(list(truth.values()))
    for name, value in truth.items():
        assert fitted["DEPARTMENT_ATTRACTIONS"][name] == pytest.approx(value / mean, rel=0.15), name
    weights = np.asarray(fitted["ARRIVAL_PROFILE"])
    expected = np.asarray(PRESETS["supermarket-week"])
    assert len(weights) == 168
    days, true_days = weights.reshape(7, 24).sum(1), expected.reshape(7, 24).sum(1)
    np.testing.assert_allclose(days / days.sum(), true_days / true_days.sum(), rtol=0.15)
    assert np.corrcoef(weights, expected)[0, 1] > 0.95


def test_fit_writes_settings_that_generate_reads(tmp_path, capsys) -> None:
    small = TRUTH.replace(hours=24, customers_average_in_store=4)
    log = tmp_path / "store.csv"
    simulate(small).to_csv(log, index=False)
    settings = tmp_path / "settings.toml"
    assert main(["fit", str(log), "--out", str(settings)], environ={}) == 0
    data = tomllib.loads(settings.read_text())
    assert len(data["ARRIVAL_PROFILE"].split(",")) == 24
    out = tmp_path / "again.csv"
    # The file wins over the environment; a flag wins over the file.
    # Five-minute visits bring four times the checkouts: quick tills keep up with them.
    environ = {"MEAN_VISIT_MINUTES": "90", "STORE_LAYOUT": "fashion", "CHECKOUT_SERVICE_SECONDS": "20"}
    assert (
        main(["generate", "--settings", str(settings), "--seed", "9", "--quiet", "--out", str(out)], environ)
        == 0
    )
    again = fit_events(read_events(out)).settings
    assert again["MEAN_VISIT_MINUTES"] == pytest.approx(data["MEAN_VISIT_MINUTES"], rel=0.2)
    assert set(again["DEPARTMENT_ATTRACTIONS"]) == {"Women", "Men", "Boys", "Girls", "Sports"}
    flags = ["--mean-visit-minutes", "5", "--quiet", "--out", str(out)]
    assert main(["generate", "--settings", str(settings), *flags], environ) == 0
    assert fit_events(read_events(out)).settings["MEAN_VISIT_MINUTES"] == pytest.approx(5, rel=0.2)


def test_bad_settings_file_is_one_line(tmp_path, capsys) -> None:
    settings = tmp_path / "bad.toml"
    settings.write_text("NOT_A_SETTING = 1\n")
    assert main(["generate", "--settings", str(settings), "--out", str(tmp_path / "x.csv")], environ={}) == 2
    assert "bad.toml: unknown setting 'NOT_A_SETTING'" in capsys.readouterr().err


def test_a_broken_log_is_one_line_naming_file_line_and_column(tmp_path, capsys) -> None:
    log = tmp_path / "store.csv"
    log.write_text("ts,event,customer_id,x,y\n1,enter,a,0,0\nzz,move,a,1,1\n")
    assert main(["fit", str(log), "--out", str(tmp_path / "s.toml")], environ={}) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"customersim fit: {log}, line 3, column ts: 'zz' is not allowed: expected")
    assert "\n" not in err
    log.write_text("ts,event,customer_id,x,y\n1,enter,a,0,0\n")
    assert main(["fit", str(log), "--out", str(tmp_path / "s.toml")], environ={}) == 1
    assert "at least 20 are needed" in capsys.readouterr().err
    assert not (tmp_path / "s.toml").exists()
