"""Floor plans: the layout file format, shipped layouts, trips over them and focus events."""

import re

import numpy as np
import pandas as pd
import pytest

from customersim import SimConfig, metrics, simulate, simulate_chunks, validate_events
from customersim.cli import main
from customersim.errors import ConfigError, LayoutError
from customersim.floorplan import CHECKOUT, load_floorplan, parse_floorplan, shipped_layouts
from customersim.layout import StoreLayout
from customersim.mqtt.payloads import encode_frame

FIVE = {"Women", "Men", "Boys", "Girls", "Sports"}
GOOD = """name = "tiny"
map = '''
#######
#AA.BB#
#.....#
#.$...#
##>#<##
'''

[departments]
A = "Apples"
B = { name = "Bread", attraction = 2 }
"""


def test_a_small_map_parses_with_y_upwards():
    plan = parse_floorplan(GOOD, "tiny.toml")
    assert (plan.width, plan.height, plan.departments, plan.attraction) == (
        7,
        5,
        ("Apples", "Bread"),
        (1.0, 2.0),
    )
    # The first map line is the highest y: the departments are at y = 3, the doors at y = 0.
    assert plan.department[3, 1] == 0 and plan.department[3, 5] == 1
    assert plan.cells_of(CHECKOUT) == [(2, 1)]
    assert not plan.walkable[0, 0] and plan.walkable[0, 2]


@pytest.mark.parametrize(
    "change, message",
    [
        (("#AA.BB#", "#AA.BX#"), r"tiny\.toml, line 4, column 6: unknown character 'X'"),
        (("#.....#", "#......#"), r"tiny\.toml, line 5, column 8: ragged map: this row has 8 cells"),
        (("##>#<##", "#######"), r"no entrance"),
        (("##>#<##", "##>####"), r"no exit"),
        (
            ("#.$...#\n", "#######\n"),
            r"line 4, column 2: this department 'Apples' at x=1, y=3 cannot be reached",
        ),
        (('B = { name = "Bread", attraction = 2 }', 'B = "Bread"\nC = "Cheese"'), r"'Cheese' has no cell"),
        (('B = { name = "Bread", attraction = 2 }', 'B = { name = "Bread", attraction = 0 }'), "attraction"),
    ],
)
def test_mistakes_are_reported_with_line_and_column(change, message):
    with pytest.raises(LayoutError, match=message):
        parse_floorplan(GOOD.replace(*change), "tiny.toml")


def test_layout_errors_are_config_errors_and_reach_the_command_line(tmp_path, capsys):
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace("#AA.BB#", "#AA.B?#"))
    assert issubclass(LayoutError, ConfigError)
    assert (
        main(["generate", "--layout", str(path), "--hours", "1", "--out", str(tmp_path / "e.csv")], {}) == 2
    )
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and re.search(r"broken\.toml, line 4, column 6: unknown character '\?'", err)


def test_shipped_layouts_and_unknown_names():
    assert shipped_layouts() == ["open", "fashion", "supermarket"]
    assert set(load_floorplan("fashion").departments) == FIVE
    market = load_floorplan("supermarket")
    assert (market.width, market.height) == (40, 25)
    assert {"Produce", "Bakery", "Dairy", "Meat"} <= set(market.departments)
    layout = StoreLayout.from_floorplan(market)
    assert len(layout.checkouts) >= 5 and not set(layout.entrances) & set(layout.doors)
    with pytest.raises(ConfigError, match=r"layout \(STORE_LAYOUT\) = 'mall'.*open, fashion, supermarket"):
        SimConfig(layout="mall")


def test_grid_size_comes_from_the_map_and_a_conflict_names_both():
    config = SimConfig.from_env({"STORE_LAYOUT": "supermarket"})
    assert (config.width, config.height) == (40, 25)
    assert SimConfig.from_env({"STORE_LAYOUT": "fashion", "STORE_WIDTH": "24"}).width == 24
    with pytest.raises(
        ConfigError, match=r"STORE_WIDTH.*= 6 conflicts with layout \(STORE_LAYOUT\) = 'fashion'"
    ):
        SimConfig.from_env({"STORE_LAYOUT": "fashion", "STORE_WIDTH": "6"})
    assert SimConfig().replace(layout="fashion").width == 24
    assert SimConfig(layout="fashion").replace(layout="open").width == 6


def test_diagonal_steps_never_cut_a_shelf_corner():
    walkable = np.ones((3, 3), bool)
    walkable[1, 1] = False  # a shelf in the middle
    layout = StoreLayout.build(3, 3, [(0, 0)], 8, walkable)
    # From (0,0) the diagonal to (1,1) is the shelf; (0,1)->(1,2) would pass its corner.
    assert 5 not in layout.neighbours[3, : layout.degree[3]]  # (0,1) -> (2,1)? not adjacent anyway
    assert 7 not in layout.neighbours[3, : layout.degree[3]]  # (0,1) -> (1,2) cuts the corner
    assert layout.door_distance[8] == 4  # (2,2) is 4 steps round the shelf, not 2


@pytest.fixture(scope="module")
def fashion_day():
    config = SimConfig(layout="fashion", customers_average_in_store=12, hours=24, seed=4)
    return config, simulate(config)


@pytest.fixture(scope="module")
def market_day():
    config = SimConfig(layout="supermarket", customers_average_in_store=40, hours=24, seed=2)
    return config, simulate(config)


@pytest.mark.parametrize("which", ["fashion_day", "market_day"])
def test_trips_keep_every_rule_of_the_floor_plan(request, which):
    config, frame = request.getfixturevalue(which)
    report = validate_events(frame, config)
    assert report.ok, report.violations.head(10).to_string()
    plan = config.floorplan
    assert plan.walkable[frame["y"], frame["x"]].all()
    assert (
        abs(report.mean_inside - config.customers_average_in_store) < 0.1 * config.customers_average_in_store
    )


def test_every_whole_visit_pays_at_a_checkout_and_leaves_by_an_exit(market_day):
    config, frame = market_day
    layout = StoreLayout.from_floorplan(config.floorplan)
    cell = frame["y"].to_numpy().astype(int) * config.width + frame["x"].to_numpy()
    paid = pd.Series(np.isin(cell, layout.checkouts)).groupby(frame["visit"].to_numpy()).any()
    whole = metrics.visit_table(frame).query("complete")["visit"]
    assert paid[whole].all()
    exits = cell[(frame["event"] == "exit").to_numpy()]
    enters = cell[(frame["event"] == "enter").to_numpy()]
    assert np.isin(exits, layout.doors).all() and np.isin(enters, layout.entrances).all()
    assert not np.isin(exits, layout.entrances).any()


def test_focus_events_name_the_department_once_per_long_stay(fashion_day):
    config, frame = fashion_day
    focus = frame[frame["event"] == "focus"]
    assert len(focus) > 100 and set(focus["dep"]) <= FIVE
    assert list(frame["dep"].cat.categories) == ["Women", "Men", "Boys", "Girls", "Sports"]
    # Moves inside a department carry its name; doors and aisles carry none.
    moves = frame[frame["event"] == "move"]
    plan = config.floorplan
    expected = plan.department[moves["y"], moves["x"]]
    assert (moves["dep"].cat.codes.to_numpy() == expected).all()
    assert frame.loc[frame["event"].isin(["enter", "exit"]), "dep"].isna().all()
    stats = metrics.department_stats(frame)
    assert stats["focus"].sum() == len(focus)
    assert (stats["focus"] <= stats["stays"]).all()


def test_a_longer_focus_threshold_gives_fewer_focus_events():
    config = SimConfig(layout="fashion", customers_average_in_store=8, hours=12, seed=1)
    short = simulate(config.replace(focus_seconds=30))
    long = simulate(config.replace(focus_seconds=300))
    assert (short["event"] == "focus").sum() > 2 * (long["event"] == "focus").sum() > 0
    assert validate_events(long, config.replace(focus_seconds=300)).ok
    # Only focus events differ: the walks are the same.
    assert (
        short[short["event"] != "focus"]
        .reset_index(drop=True)
        .equals(long[long["event"] != "focus"].reset_index(drop=True))
    )


def test_same_seed_same_frame_and_chunks_and_longer_windows_agree():
    config = SimConfig(layout="supermarket", customers_average_in_store=30, hours=8, seed=7)
    whole = simulate(config)
    pd.testing.assert_frame_equal(whole, simulate(config), check_exact=True)
    chunks = pd.concat(list(simulate_chunks(config, chunk_rows=997)), ignore_index=True)
    pd.testing.assert_frame_equal(chunks, whole, check_exact=True)
    longer = simulate(config.replace(hours=20))
    pd.testing.assert_frame_equal(whole, longer.iloc[: len(whole)].reset_index(drop=True), check_exact=True)
    pd.testing.assert_frame_equal(simulate(config, workers=2), whole, check_exact=True)


def test_shoppers_reach_the_far_end_of_an_open_store():
    config = SimConfig(width=20, height=15, customers_average_in_store=25, hours=24, seed=1)
    frame = simulate(config)
    layout = StoreLayout.from_floorplan(config.floorplan)
    visits = metrics.visits_per_cell(frame, config.width, config.height).ravel()
    by_distance = np.argsort(layout.door_distance, kind="stable")
    quarter = len(by_distance) // 4
    near, far = visits[by_distance[:quarter]].mean(), visits[by_distance[-quarter:]].mean()
    assert far / near > 0.3  # a random walk from the door gave about 0
    assert (visits > 0).all()


def test_metrics_per_department(fashion_day):
    _, frame = fashion_day
    stats = metrics.department_stats(frame)
    assert list(stats.index) == ["Women", "Men", "Boys", "Girls", "Sports"]
    assert (stats["visits"] > 0).all() and (stats["dwell_seconds"] > 0).all()
    # Women has the highest attraction in the file.
    assert stats["dwell_seconds"].idxmax() == "Women"
    moves = metrics.department_transitions(frame)
    assert moves.shape == (5, 5) and (np.diag(moves) == 0).all() and moves.to_numpy().sum() > 0
    lengths = metrics.path_lengths(frame)
    assert (lengths >= 0).all() and lengths.median() > 10


def _story(rows):
    frame = pd.DataFrame(rows, columns=["ts", "event", "customer_id", "x", "y"])
    return frame.assign(customer_id=frame["customer_id"].astype(str))


TINY = """map = '''
.#.
...
+..
'''
"""


def test_validator_catches_walls_corners_and_doors(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    config = SimConfig(layout=str(path))
    fine = [(1, "enter", 1, 0, 0), (2, "move", 1, 0, 1), (3, "move", 1, 0, 2), (4, "move", 1, 0, 1)]
    fine += [(5, "move", 1, 0, 0), (6, "exit", 1, 0, 0)]
    assert validate_events(_story(fine), config, check_occupancy=False).ok
    corner = [*fine[:3], (4, "move", 1, 1, 1), (5, "move", 1, 0, 0), (6, "exit", 1, 0, 0)]
    report = validate_events(_story(corner), config, check_occupancy=False)
    assert report.counts == {"step": 1} and "shelf's corner" in report.violations["message"][0]
    wall = [*fine[:2], (3, "move", 1, 1, 2), (4, "move", 1, 0, 1), (5, "move", 1, 0, 0), (6, "exit", 1, 0, 0)]
    assert validate_events(_story(wall), config, check_occupancy=False).counts["wall"] == 1
    door = [(1, "enter", 1, 1, 0), (2, "move", 1, 0, 0), (3, "exit", 1, 0, 0)]
    report = validate_events(_story(door), config, check_occupancy=False)
    assert (
        report.counts == {"door": 1} and "not at an entrance door (0, 0)" in report.violations["message"][0]
    )


def test_validator_catches_focus_events_that_do_not_match_a_stay(fashion_day):
    config, good = fashion_day
    focus_rows = np.flatnonzero(good["event"].to_numpy() == "focus")
    row = int(focus_rows[20])

    def check(frame):
        return validate_events(frame, config, check_occupancy=False)

    missing = good.drop(index=row).reset_index(drop=True)
    assert check(missing).counts == {"focus": 1}
    assert "without a focus event" in check(missing).violations["message"][0]
    twice = pd.concat(
        [good.iloc[: row + 1], good.iloc[row : row + 1], good.iloc[row + 1 :]], ignore_index=True
    )
    assert "second focus event" in check(twice).violations["message"][0]
    renamed = good.copy()
    renamed["dep"] = renamed["dep"].astype(object)
    other = "Sports" if renamed.loc[row, "dep"] != "Sports" else "Men"
    renamed.loc[row, "dep"] = other
    assert "names dep" in check(renamed).violations["message"][0]
    early = good.copy()
    early.loc[row, "ts"] -= 1
    assert "is not 60 s after" in " ".join(check(early).violations["message"])


def test_focus_payloads_have_exactly_id_ts_and_dep(fashion_day):
    import json

    _, frame = fashion_day
    part = frame.iloc[:3000]
    payloads = [json.loads(p) for p in encode_frame(part)]
    events = part["event"].to_numpy()
    focus = [p for p, e in zip(payloads, events, strict=True) if e == "focus"]
    assert focus and all(list(p) == ["id", "ts", "dep"] and p["dep"] in FIVE for p in focus)
    assert all(
        list(p) == ["id", "ts", "x", "y"] for p, e in zip(payloads, events, strict=True) if e == "move"
    )
    with_dep = [json.loads(p) for p in encode_frame(part, ("dep",))]
    moves = [p for p, e in zip(with_dep, events, strict=True) if e == "move"]
    assert all(list(p) == ["id", "ts", "x", "y", "dep"] for p in moves)
    assert {p["dep"] for p in moves} - FIVE == {None}
    assert all("dep" not in p for p, e in zip(with_dep, events, strict=True) if e in ("enter", "exit"))
