"""First view of the app: from navigation to the first store heatmap drawn, in headless Chromium.

Starts ``streamlit run app.py`` of this tree and, as the reference in the same run, of a git
revision (``--reference``, default ``main``; or a folder with an ``app.py``) unpacked into a
temporary folder; opens each in a
fresh Chromium page, alternating, and prints the times and their ratio. The clock runs from
``page.goto`` until plotly has drawn a heatmap (its ``_fullData`` holds ``z``), which is what a
newcomer waits for.

    python benchmarks/app_first_view.py [--reference main] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers.app_server import AppServer, clean_environment, launch_chromium  # noqa: E402

FIRST_HEATMAP = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .some(p => p._fullData && p._fullData.some(t => t.type === 'heatmap' && t.z))"""


def unpack(revision: str, folder: Path) -> Path:
    """The files of ``revision`` in ``folder`` (git archive, no checkout)."""
    data = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as archive:
        archive.extractall(folder, filter="data")
    return folder


def first_view(browser, url: str) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    try:
        began = time.perf_counter()
        page.goto(url)
        page.wait_for_function(FIRST_HEATMAP, timeout=60_000, polling=50)
        return time.perf_counter() - began
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference", default="main", help="git revision (or a folder holding app.py) to compare with"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    env = clean_environment(TESTING_MOCK_MQTT="true")
    with tempfile.TemporaryDirectory() as folder:
        given = Path(args.reference)
        reference = given if (given / "app.py").is_file() else unpack(args.reference, Path(folder))
        trees = {"reference": reference, "this tree": ROOT}
        servers = {}
        for name, tree in trees.items():
            servers[name] = AppServer(env, Path(folder) / f"{name}.log", tree / "app.py").start()
        times: dict[str, list[float]] = {name: [] for name in trees}
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                for server in servers.values():  # warm the caches: the first simulation
                    first_view(browser, server.url)
                for _ in range(args.repeat):
                    for name, server in servers.items():
                        times[name].append(first_view(browser, server.url))
                browser.close()
        finally:
            for server in servers.values():
                server.stop()
    for name, values in times.items():
        print(f"{name:>10}: first heatmap after {statistics.median(values):.2f} s (median of {values})")
    ratio = statistics.median(times["this tree"]) / statistics.median(times["reference"])
    print(f"this tree / reference: {ratio:.2f}")


if __name__ == "__main__":
    main()
