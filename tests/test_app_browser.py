"""End to end in a real browser: the page a newcomer sees, a setting changed, events published.

``streamlit run app.py`` runs as a subprocess (tests/helpers/app_server.py) against the session's
mosquitto; Debian's chromium, driven by Playwright, opens the printed URL. The test changes the
store's width and sees the heatmap redraw, starts publishing and sees a bare paho subscriber
receive contract payloads, stops and sees the flow stop; the page must log no console errors.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from helpers.app_server import ROOT, AppServer, clean_environment, launch_chromium
from helpers.contract import assert_all_contract, assert_contract
from helpers.mqtt_broker import Collector, publish_sentinel

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"

# The shape of the drawn "Visits per cell" heatmap, read from plotly's own data in the page.
HEATMAP_SHAPE = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')]
      .find(p => p.layout && p.layout.title && p.layout.title.text.includes('Visits per cell'));
  if (!plot || !plot._fullData || !plot._fullData[0].z) return null;
  const z = plot._fullData[0].z;
  return [z.length, z[0].length];
}"""


@pytest.fixture
def server(mosquitto, topics) -> Iterator[AppServer]:
    env = clean_environment(
        MQTT_HOST="127.0.0.1",
        MQTT_PORT=str(mosquitto.ports["plain"]),
        ENTER_TOPIC=topics["enter"],
        MOVE_TOPIC=topics["move"],
        EXIT_TOPIC=topics["exit"],
    )
    app = AppServer(env, ARTIFACTS / "streamlit.log").start()
    yield app
    app.stop()


def idle(page) -> None:
    """Wait until Streamlit has finished the current run (its running indicator is gone)."""
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=30_000)


def test_browser_tune_see_publish_stop(server, mosquitto, topics) -> None:
    from playwright.sync_api import expect, sync_playwright

    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(server.url)

            # A newcomer's page: key figures, occupancy and heatmaps of the default store.
            expect(page.get_by_text("customersim: shoppers in a store")).to_be_visible(timeout=30_000)
            page.wait_for_function(HEATMAP_SHAPE, timeout=30_000)
            idle(page)
            assert page.evaluate(HEATMAP_SHAPE) == [10, 6]
            expect(page.get_by_text("Mean inside")).to_be_visible()
            expect(page.locator(".js-plotly-plot")).to_have_count(5)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "app.png"))

            # Tune: a wider store redraws the heatmap with the new width.
            width = page.get_by_role("spinbutton", name="Width (cells, x)")
            width.fill("8")
            began = time.perf_counter()
            width.press("Enter")
            page.wait_for_function(f"() => JSON.stringify(({HEATMAP_SHAPE})()) === '[10,8]'", timeout=30_000)
            print(f"heatmap redrawn {time.perf_counter() - began:.2f} s after the change")
            idle(page)

            # Publish, twice: each run is one publisher, and a real subscriber on the same broker
            # receives contract payloads, each once; after Stop the flow stops.
            page.get_by_role("tab", name="Publish").click()
            start = page.get_by_role("button", name="Start publishing")
            stop = page.get_by_role("button", name="Stop")
            for run in range(2):
                expect(start).to_be_enabled()
                first = collector.count()
                start.click()
                received = collector.wait_for(first + 10, timeout=30)[first:]
                for topic, payload in received:
                    body = assert_contract(topic, payload, topics=topics)
                    if topic == topics["move"]:
                        assert 0 <= body["x"] < 8 and 0 <= body["y"] < 10  # the store as tuned
                expect(page.get_by_text(re.compile(r"publishing to 127\.0\.0\.1"))).to_be_visible(
                    timeout=15_000
                )
                expect(
                    page.get_by_text("received by a subscriber on the same broker", exact=False)
                ).to_be_visible(timeout=15_000)
                expect(start).to_be_disabled()
                if run == 0:
                    page.screenshot(path=str(ARTIFACTS / "app-publishing.png"))
                expect(stop).to_be_enabled()
                stop.click()
                expect(page.get_by_text(re.compile(r"stopped; published"))).to_be_visible(timeout=15_000)
                # The flow has stopped: two markers sent now are the next two things heard.
                before = collector.count()
                marker = publish_sentinel(mosquitto.ports["plain"], topics["enter"])
                second = publish_sentinel(mosquitto.ports["plain"], topics["enter"])
                heard = collector.wait_for(before + 2)
                assert [m[1] for m in heard[before:]] == [marker, second], "events kept arriving after Stop"
                this_run = heard[first:before]
                assert_all_contract(this_run, topics=topics)
                assert max(Counter(this_run).values()) == 1, "a message arrived twice within one run"
        finally:
            browser.close()
            collector.close()
    assert not problems, problems
