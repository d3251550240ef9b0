"""The fidelity report: distances that tell alike from unlike, and a page that draws offline."""

from __future__ import annotations

import numpy as np
import pytest

from customersim import SimConfig, simulate
from customersim.cli import main
from customersim.report import compare, describe, ks_distance


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    paths = {}
    for name, overrides in {
        "seed1": {"seed": 1},
        "seed2": {"seed": 2},
        "busy": {"seed": 1, "customers_average_in_store": 20, "mean_visit_minutes": 40},
    }.items():
        config = SimConfig(hours=48, start="2026-01-05T00:00:00Z", **overrides)
        path = folder / f"{name}.parquet"
        assert main(["generate", "--quiet", "--out", str(path), *_flags(config)]) == 0
        paths[name] = path
    return paths


def _flags(config: SimConfig) -> list[str]:
    return [
        "--hours",
        str(config.hours),
        "--seed",
        str(config.seed),
        "--average-inside",
        str(config.customers_average_in_store),
        "--mean-visit-minutes",
        str(config.mean_visit_minutes),
    ]


def test_ks_distance_of_equal_and_disjoint_samples():
    assert ks_distance(np.arange(10), np.arange(10)) == 0
    assert ks_distance(np.arange(10), np.arange(100, 110)) == 1


def test_two_seeds_of_one_config_are_close_and_two_configs_are_far():
    alike = [describe(simulate(SimConfig(hours=48, seed=s)), target=6) for s in (1, 2)]
    unlike = describe(
        simulate(SimConfig(hours=48, seed=1, customers_average_in_store=20, mean_visit_minutes=40))
    )
    near, far = compare(*alike), compare(alike[0], unlike)
    assert near["ks_visit_minutes"] < 0.1 and near["ks_dwell_seconds"] < 0.05
    assert far["ks_visit_minutes"] > 0.3
    assert abs(near["mean_inside_difference"]) < 1 < abs(far["mean_inside_difference"])
    assert far["hourly_occupancy_mae"] > 4 * near["hourly_occupancy_mae"]


def test_describe_reads_the_headline_figures():
    frame = simulate(SimConfig(hours=24, seed=3))
    described = describe(frame, target=6)
    assert described.headline["visits"] == frame["visit"].nunique()
    assert 3 < described.headline["mean_inside"] < 9
    assert 10 < described.headline["mean_visit_minutes"] < 30  # the default mean is 20
    assert described.visits_per_customer.sum() == frame["customer_id"].nunique()
    assert len(described.hourly_occupancy) == 24
    # A stay is part of one visit: never longer than the longest visit, and about the dwell mean.
    assert described.dwell_seconds.max() <= 8 * 20 * 60
    # Trips mix walking steps (3 s a cell) with browsing dwells (45 s mean): the stays longer
    # than a walking step average about the dwell mean.
    stays = described.dwell_seconds
    assert 30 < stays[stays > 3].mean() < 60 and (stays == 3).mean() > 0.3


@pytest.mark.browser
def test_report_opens_offline_with_every_figure_drawn(events, tmp_path):
    from helpers.app_server import launch_chromium, watched_page
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report.html"
    args = ["report", str(events["seed1"]), "--against", str(events["busy"]), "--out", str(out)]
    assert main([*args, "--target", "6"]) == 0
    page_text = out.read_text()
    assert "http://" not in page_text.split("<body>", 1)[1].split("plotly.js", 1)[0]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        errors: list[str] = []
        page = watched_page(browser, errors)
        # No network: every request but the file itself is refused, so the page must be whole.
        page.route(
            "**/*",
            lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
        )
        page.goto(out.as_uri())
        figures = page.locator(".js-plotly-plot")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.js-plotly-plot')].every(f => f.querySelector('.main-svg'))"
        )
        drawn = figures.count()
        browser.close()
    assert drawn >= 4
    assert page_text.count('class="figure"') == drawn
    assert errors == []


def test_report_of_a_missing_file_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert "nope.csv" in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def test_report_draws_the_checkout_time_of_a_layout_with_checkouts(tmp_path, capsys):
    config = SimConfig(layout="supermarket", customers_average_in_store=10, hours=24, seed=2)
    frame = simulate(config)
    without = describe(frame)
    assert "mean_queue_wait_seconds" not in without.headline and not len(without.checkout_minutes)
    from customersim.layout import StoreLayout

    described = describe(frame, layout=StoreLayout.from_floorplan(config.floorplan, config.neighbourhood))
    # The default service is 100 s; at 10 inside the seven lanes rarely keep anyone waiting.
    assert 90 < described.headline["mean_queue_wait_seconds"] < 140
    assert len(described.checkout_minutes) > 0.9 * frame["visit"].nunique() - 50
    path = tmp_path / "day.parquet"
    frame.to_parquet(path)
    out = tmp_path / "report.html"
    assert main(["report", str(path), "--layout", "supermarket", "--out", str(out)]) == 0
    page = out.read_text()
    assert "Checkout: from joining the lane to leaving" in page and "Mean time at the checkout" in page
    assert main(["report", str(path), "--layout", "nowhere", "--out", str(out)]) == 1
    assert "nowhere" in capsys.readouterr().err
