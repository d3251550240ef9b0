"""End to end in a real browser: first view, a store tuned and broken, a journey played, two tabs publishing.

``streamlit run app.py`` runs as a subprocess (tests/helpers/app_server.py) against the session's
mosquitto; Debian's chromium, driven by Playwright, opens the printed URL. The test measures the
first view (navigation to the first heatmap drawn), tunes the store to 20 x 15 and finds the door
framed at cell size, enters a bad start and finds the last figures still shown under an error
naming the field, plays a journey and sees its position advance, then publishes from two tabs
at once to one broker: a bare paho subscriber receives every message once, each tab's feed lists
only its own messages, and nobody reconnects. The page must log no console errors. Screenshots
of the whole page go to ``test-artifacts/screenshots/``, and to ``docs/`` (the README shows them)
with ``--update-docs-screenshots``; the password field stays empty.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from helpers.app_server import ROOT, AppServer, clean_environment, launch_chromium, watched_page
from helpers.contract import assert_all_contract
from helpers.mqtt_broker import Collector, publish_sentinel

from customersim import SimConfig, simulate
from customersim.mqtt import encode_frame

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(autouse=True)
def _screenshot_folder(request: pytest.FixtureRequest) -> None:
    """A test run keeps its screenshots apart; the README's pictures change only when asked to."""
    global SCREENSHOTS
    if request.config.getoption("--update-docs-screenshots"):
        SCREENSHOTS = ROOT / "docs"


# A drawn figure's data, read from plotly's own state in the page: the current figure whose
# title holds the given words, as {title, z shape, door outline x, door outline y}.
FIGURE = """(words) => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')]
      .filter(p => !p.closest('[data-stale="true"]'))  // not a figure about to be replaced
      .find(p => p.layout && p.layout.title && p.layout.title.text.includes(words));
  if (!plot || !plot._fullData || !plot._fullData[0].z) return null;
  const z = plot._fullData[0].z;
  const door = plot._fullData.find(t => t.name === 'door');
  return {title: plot.layout.title.text, shape: [z.length, z[0].length],
          doorX: door ? door.x : null, doorY: door ? door.y : null};
}"""
HEATMAP_SHAPE = f"() => {{ const f = ({FIGURE})('Cell entries'); return f && f.shape; }}"
FIRST_HEATMAP = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .some(p => p._fullData && p._fullData.some(t => t.type === 'heatmap' && t.z))"""


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


# The height of the page's content: the main pane's and the sidebar's, whichever is taller.
CONTENT_HEIGHT = """() => 40 + Math.max(...['stMainBlockContainer', 'stSidebarContent']
    .map(id => document.querySelector(`[data-testid="${id}"]`)).filter(e => e).map(e => e.scrollHeight))"""


def idle(page) -> None:
    """Wait until Streamlit has finished the current run (its running indicator is gone)."""
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=30_000)


def screenshot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its own pane, so grow the window to fit it first."""
    size = page.viewport_size
    height = page.evaluate(CONTENT_HEIGHT)
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 6000)})
    time.sleep(0.5)  # let plotly finish its resize redraw; nothing to poll for in the page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    page.set_viewport_size(size)


def set_number(page, label: str, value: str) -> None:
    field = page.get_by_role("spinbutton", name=label)
    field.fill(value)
    field.press("Enter")
    idle(page)


def figure(page, words: str) -> dict:
    """The current figure with ``words`` in its title, once the page shows one."""
    found = page.wait_for_function(f"() => ({FIGURE})({json.dumps(words)})", timeout=15_000)
    return found.json_value()


def heatmap_shape(page) -> list[int]:
    return figure(page, "Cell entries")["shape"]


def test_browser_first_view_tune_break_play(server) -> None:
    from playwright.sync_api import expect, sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = watched_page(browser, problems, viewport={"width": 1400, "height": 1000})

            # First view: from navigation to the first heatmap drawn (what a newcomer waits for).
            began = time.perf_counter()
            page.goto(server.url)
            page.wait_for_function(FIRST_HEATMAP, timeout=60_000, polling=50)
            print(f"first view: first heatmap drawn {time.perf_counter() - began:.2f} s after navigation")
            page.wait_for_function(HEATMAP_SHAPE, timeout=30_000)
            idle(page)
            assert heatmap_shape(page) == [10, 6]
            expect(page.get_by_text("What you are looking at:")).to_be_visible()
            expect(page.get_by_text("Mean inside")).to_be_visible()
            expect(page.get_by_role("button", name="Deploy")).to_have_count(0)

            # A 20 x 15 store: the door is framed at the size of its cell.
            set_number(page, "Width (cells, x)", "20")
            set_number(page, "Height (cells, y)", "15")
            page.wait_for_function(f"() => JSON.stringify(({HEATMAP_SHAPE})()) === '[15,20]'", timeout=30_000)
            drawn = figure(page, "Cell entries")
            assert drawn["doorX"][:5] == [-0.5, 0.5, 0.5, -0.5, -0.5]
            assert drawn["doorY"][:5] == [-0.5, -0.5, 0.5, 0.5, -0.5]
            assert "STORE_WIDTH=20" in page.url and "STORE_HEIGHT=15" in page.url  # a link reproduces it
            screenshot(page, "app.png")

            # A bad value: the error names the field, the last figures stay, marked as stale.
            start = page.get_by_role("textbox", name="Start (UTC)")
            good_start = start.input_value()
            start.fill("yesterday")
            start.press("Enter")
            idle(page)
            expect(
                page.get_by_text("Start (UTC): start (SIM_START) = 'yesterday' is not allowed")
            ).to_be_visible()
            expect(page.get_by_text("Stale:", exact=False)).to_be_visible()
            assert heatmap_shape(page) == [15, 20]
            screenshot(page, "app-stale.png")
            start.fill(good_start)
            start.press("Enter")
            idle(page)
            expect(page.get_by_text("Stale:", exact=False)).to_have_count(0)
            idle(page)
            expect(page.get_by_role("tab", name="Journeys")).to_have_count(1)

            # Journeys: Play moves the shopper along; Pause stops it.
            page.get_by_role("tab", name="Journeys").click()
            expect(page.get_by_text(re.compile(r"position \d+ of \d+"))).to_have_count(1, timeout=15_000)

            # The journey's position: a frame may briefly show beside the one it replaces, so
            # read the earliest position among the current figures.
            position_js = """() => {
                const found = [...document.querySelectorAll('.js-plotly-plot')]
                    .filter(p => !p.closest('[data-stale="true"]') && p.layout && p.layout.title)
                    .map(p => p.layout.title.text.match(/Visit .*position ([0-9]+) of ([0-9]+)/))
                    .filter(m => m).map(m => [Number(m[1]), Number(m[2])]);
                return found.length ? found.reduce((a, b) => (a[0] <= b[0] ? a : b)) : null;
            }"""

            def position() -> tuple[int, int]:
                return tuple(page.wait_for_function(position_js, timeout=15_000).json_value())

            play = page.get_by_text("Play", exact=True)
            play.click()
            # Play starts over from the enter and moves on.
            page.wait_for_function(f"() => {{ const p = ({position_js})(); return p && p[0] < p[1]; }}")
            first, total = position()
            page.wait_for_function(
                f"(n) => {{ const p = ({position_js})(); return p && p[0] > n; }}", arg=first, timeout=30_000
            )
            assert first < position()[0] <= total
            play.click()  # pause
            idle(page)
            # Paused: the position settles (the click may land on a frame being drawn) and stays.
            deadline, paused = time.monotonic() + 15, position()
            while True:
                time.sleep(1.0)  # two ticks of the timer, were it still running
                if position() == paused or time.monotonic() > deadline:
                    break
                paused = position()
            assert position() == paused and paused[0] < total
            screenshot(page, "app-journey.png")
        finally:
            browser.close()
    assert not problems, problems


def test_browser_two_tabs_publish_to_one_broker(server, mosquitto, topics) -> None:
    from playwright.sync_api import expect, sync_playwright

    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    problems: list[str] = []
    # Two stores told apart by their seed, so that each tab's feed can be checked against its own.
    seeds = (11, 12)
    own = [{p.decode() for p in encode_frame(simulate(SimConfig(seed=seed, width=8)))} for seed in seeds]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            pages = []
            for seed in seeds:
                page = watched_page(browser, problems, viewport={"width": 1400, "height": 1000})
                page.goto(f"{server.url}/?STORE_WIDTH=8&SIM_SEED={seed}")
                page.wait_for_function(HEATMAP_SHAPE, timeout=60_000)
                idle(page)
                assert heatmap_shape(page) == [10, 8]
                page.get_by_role("tab", name="Publish").click()
                expect(page.get_by_text("Not started")).to_be_visible()
                expect(page.get_by_text("publishing to")).to_have_count(0)  # no banner while idle
                pages.append(page)
            ids = [p.get_by_role("textbox", name="Client id").input_value() for p in pages]
            assert ids[0] != ids[1] and all(i.startswith("demoClient-") for i in ids)

            # Both tabs publish at once, at 300 x real time.
            for page in pages:
                page.get_by_role("slider", name="Speed (x real time)").focus()
                page.keyboard.press("ArrowRight")
                page.keyboard.press("ArrowRight")
                idle(page)
            first = collector.count()
            for page in pages:
                page.get_by_role("button", name="Start publishing").click()
            collector.wait_for(first + 200, timeout=60)
            for page in pages:
                expect(page.get_by_text(re.compile(r"publishing to 127\.0\.0\.1"))).to_be_visible(
                    timeout=15_000
                )
                expect(page.get_by_text(re.compile(r"of [\d,]+ messages · simulated clock"))).to_be_visible(
                    timeout=15_000
                )
                expect(page.get_by_text(re.compile(r"so far · 0 reconnects"))).to_be_visible(timeout=15_000)
            for page in pages:  # both flows are going: each feed lists a few messages
                feed_rows = page.locator('[data-testid="stTable"] tbody tr')
                expect(feed_rows.nth(4)).to_be_visible(timeout=15_000)
            for page, mine, theirs in zip(pages, own, reversed(own), strict=True):
                listed = page.locator('[data-testid="stTable"] tbody tr td:last-child').all_inner_texts()
                assert len(listed) >= 5, listed
                assert all(text in mine for text in listed), "a tab lists a message it did not send"
                assert not any(text in theirs and text not in mine for text in listed)
            screenshot(pages[0], "app-publishing.png")
            for page in pages:
                page.get_by_role("button", name="Stop").click()
                expect(page.get_by_text(re.compile(r"stopped; published"))).to_be_visible(timeout=15_000)
            # The flows have stopped: two markers sent now are the next two things heard.
            before = collector.count()
            marker = publish_sentinel(mosquitto.ports["plain"], topics["enter"])
            second = publish_sentinel(mosquitto.ports["plain"], topics["enter"])
            heard = collector.wait_for(before + 2)
            assert [m[1] for m in heard[before:]] == [marker, second], "events kept arriving after Stop"
            this_run = heard[first:before]
            assert max(Counter(this_run).values()) == 1, "a message arrived twice: the tabs fought"
            payloads = {p.decode() for _, p in this_run}
            assert payloads & own[0] and payloads & own[1]  # both tabs were heard
            assert_all_contract(this_run, topics=topics)
        finally:
            browser.close()
            collector.close()
    assert not problems, problems


# Every line trace called ``name`` in the visits heatmap, split into its pieces (null between).
OUTLINE = """(name) => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')]
      .filter(p => !p.closest('[data-stale="true"]'))
      .find(p => p.layout && p.layout.title && p.layout.title.text.includes('Cell entries'));
  const t = plot && plot._fullData.find(d => d.name === name);
  if (!t) return null;
  const pieces = []; let piece = [];
  t.x.forEach((x, i) => {
    if (x === null) { if (piece.length) pieces.push(piece); piece = []; } else piece.push([x, t.y[i]]);
  });
  if (piece.length) pieces.push(piece);
  return pieces;
}"""


def cell_square(cell: tuple[int, int]) -> list[list[float]]:
    x, y = cell
    return [
        [x - 0.5, y - 0.5],
        [x + 0.5, y - 0.5],
        [x + 0.5, y + 0.5],
        [x - 0.5, y + 0.5],
        [x - 0.5, y - 0.5],
    ]


def outline(page, name: str) -> list:
    return page.wait_for_function(f"() => ({OUTLINE})({json.dumps(name)})", timeout=15_000).json_value()


@pytest.mark.parametrize(
    ("layout", "query", "shape"),
    [
        ("open", "STORE_WIDTH=20&STORE_HEIGHT=15&CUSTOMERS_AVERAGE_IN_STORE=25", [15, 20]),
        ("fashion", "STORE_LAYOUT=fashion&CUSTOMERS_AVERAGE_IN_STORE=25", None),
        ("supermarket", "STORE_LAYOUT=supermarket&CUSTOMERS_AVERAGE_IN_STORE=40", None),
    ],
)
def test_browser_layouts_are_drawn_as_stores(server, layout, query, shape) -> None:
    from playwright.sync_api import sync_playwright

    from customersim.floorplan import ENTRANCE, EXIT, TWO_WAY_DOOR

    config = SimConfig.from_env(dict(part.split("=") for part in query.split("&")))
    plan = config.floorplan
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = watched_page(browser, problems, viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.url}?{query}")
            expected = json.dumps(shape or [plan.height, plan.width]).replace(" ", "")
            page.wait_for_function(
                f"() => JSON.stringify(({HEATMAP_SHAPE})()) === '{expected}'", timeout=60_000
            )
            idle(page)
            # Every door is framed at the size of its cell, entrance and exit apart.
            for name, kind in (("door", TWO_WAY_DOOR), ("entrance", ENTRANCE), ("exit", EXIT)):
                cells = plan.cells_of(kind)
                if cells:
                    drawn = outline(page, name)
                    for cell in cells:
                        assert cell_square(cell) in drawn, (name, cell, drawn)
            # Department outlines run along cell edges, one cell long per piece.
            if plan.departments:
                pieces = outline(page, "department")
                assert pieces
                for (x0, y0), (x1, y1) in pieces:
                    assert x0 % 1 == 0.5 and y0 % 1 == 0.5 and abs(x1 - x0) + abs(y1 - y0) == 1
                labels = page.evaluate(
                    """() => [...document.querySelectorAll('.js-plotly-plot')]
                        .find(p => p.layout.title.text.includes('Cell entries'))
                        .layout.annotations.map(a => a.text)"""
                )
                assert set(plan.departments) <= set(labels)
                page.get_by_text("Departments: visits, dwell and focus").wait_for(timeout=15_000)
            screenshot(page, f"app-layout-{layout}.png")
        finally:
            browser.close()
    assert not problems, problems
