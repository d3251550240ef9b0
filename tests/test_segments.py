"""Customer segments drive who comes, how often, and where they stop."""

import pandas as pd
import pytest

from customersim import SimConfig, metrics, simulate
from customersim.customers import load_customers
from customersim.errors import ConfigError
from customersim.segments import customer_segments, load_segments

WEEK = 24 * 7


@pytest.fixture(scope="module")
def supermarket_week():
    config = SimConfig(layout="supermarket", customers_average_in_store=12, hours=WEEK, seed=5)
    return simulate(config)


@pytest.fixture(scope="module")
def customers():
    return load_customers(None).set_index("customer_id")


def test_baby_department_is_stopped_at_mostly_by_parents(supermarket_week, customers) -> None:
    # A stop shows as a focus event; moves would also count shoppers walking through.
    stops = supermarket_week[supermarket_week["event"] == "focus"]
    parent = stops["customer_id"].astype(str).map(customers["no_of_children"].astype(int) > 0)
    baby = parent[stops["dep"].astype(str) == "Baby"]
    others = parent[stops["dep"].astype(str) == "Produce"]
    assert len(baby) > 200
    # Nearly all of the baby department's stops are parents', clearly more than elsewhere.
    assert baby.mean() > 0.85
    assert baby.mean() > others.mean() + 0.1


def test_repeat_visits_follow_the_frequency_weights(supermarket_week, customers) -> None:
    visits = supermarket_week[supermarket_week["event"] == "enter"]["customer_id"].astype(str).value_counts()
    visits = visits.reindex(customers.index.astype(str), fill_value=0)
    age = customers["age_range"].astype(str)
    children = customers["no_of_children"].astype(int)
    parents = visits[(children > 0).to_numpy()]
    young = visits[((children == 0) & age.isin(["18-25", "26-35"])).to_numpy()]
    # frequency 1.5 against 0.7: parents come about twice as often (within 25 %).
    ratio = parents.mean() / young.mean()
    assert 1.5 / 0.7 * 0.75 < ratio < 1.5 / 0.7 * 1.25, ratio
    # A week has regulars and occasional customers: repeat visits are common.
    assert (visits >= 2).mean() > 0.3 and (visits == 1).any()


def test_no_segments_is_everyone_alike(customers) -> None:
    config = SimConfig(layout="fashion", customers_average_in_store=6, hours=WEEK, seed=2, segments="none")
    visits = metrics.visits_per_customer(simulate(config), customers.index).reindex(customers.index)
    children = customers["no_of_children"].astype(int).to_numpy()
    young = customers["age_range"].isin(["18-25", "26-35"]).to_numpy() & (children == 0)
    # The default table has parents come about twice as often as young adults; without it, alike.
    assert visits[children > 0].mean() / visits[young].mean() == pytest.approx(1, abs=0.25)


def test_ids_without_columns_fall_back_to_the_default_segment() -> None:
    config = SimConfig(layout="fashion", customers_average_in_store=3, hours=6, seed=2)
    frame = simulate(config, [f"c{i}" for i in range(200)])
    assert frame["customer_id"].nunique() > 10


def test_mean_inside_keeps_the_target_with_segments(supermarket_week) -> None:
    from customersim.metrics import mean_occupancy

    config = SimConfig(layout="supermarket", hours=WEEK)
    # The bar: within 2 % of the target over a week (weights, lengths and paces all vary).
    assert mean_occupancy(supermarket_week, config.start, config.end) == pytest.approx(12, rel=0.02)


def test_unknown_department_names_the_line(tmp_path) -> None:
    table = tmp_path / "segments.toml"
    table.write_text('[[segment]]\nname = "x"\nfrequency = 2\n[segment.affinity]\nBaby = 2\nToys = 3\n')
    config = SimConfig(layout="supermarket", hours=1, seed=1, segments=str(table))
    with pytest.raises(ConfigError, match=r"segments.toml, line 6: unknown department 'Toys'"):
        simulate(config)


def test_a_missing_column_falls_back(tmp_path) -> None:
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(300)], "gender": ["F"] * 300})
    segments = load_segments("default")
    assert segments[0].conditions == {"children_min": 1}
    config = SimConfig(layout="fashion", customers_average_in_store=3, hours=4, seed=1)
    # No rule can hold without its column (gender alone decides none): everyone is in the default.
    assert (customer_segments(config, frame) == "default").all()
    result = simulate(config, frame)
    assert result["customer_id"].nunique() > 5


def test_bad_factor_is_refused(tmp_path) -> None:
    table = tmp_path / "bad.toml"
    table.write_text("[[segment]]\nfrequency = -1\n")
    with pytest.raises(ConfigError, match=r"bad.toml, line 1: frequency = -1"):
        load_segments(str(table))


def test_customer_segments_name_each_customer_by_the_first_rule_that_holds(customers) -> None:
    segment = customer_segments(SimConfig(layout="supermarket"))
    assert segment.index.equals(customers.index)
    children = customers["no_of_children"].astype(int)
    # parents is the first rule: every customer with children is in it, and nobody else.
    assert ((segment == "parents") == (children > 0)).all()
    assert set(segment) <= {"parents", "seniors", "young", "affluent", "default"}
    assert (customer_segments(SimConfig(segments="none")) == "default").all()
