"""The app as a user meets it: ``streamlit run app.py`` in a subprocess, and a headless Chromium.

:class:`AppServer` starts the real Streamlit server on a free port of 127.0.0.1 with the
environment a test gives it and waits (with a deadline) until ``/_stcore/health`` answers.
:func:`launch_chromium` starts Debian's ``chromium`` through Playwright's Python API; Playwright's
own browser download is never used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from helpers.mqtt_broker import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def chromium_path() -> str:
    """Debian's chromium; a clear failure (not a skip) when it is missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RuntimeError("chromium is not installed: apt-get install -y chromium (.ci/run installs it)")
    return found


def launch_chromium(playwright: Any) -> Any:
    """A headless Chromium browser from the system package."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)


def watched_page(browser: Any, problems: list[str], **options: Any) -> Any:
    """A new page whose console errors and uncaught page errors are appended to ``problems``."""
    page = browser.new_page(**options)
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return page


class AppServer:
    """``streamlit run app.py`` on a free port with the given environment."""

    def __init__(self, env: dict[str, str], log_path: Path, app: Path = ROOT / "app.py") -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> AppServer:
        streamlit = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(self.app),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(self.port),
            "--browser.gatherUsageStats",
            "false",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            streamlit, cwd=self.app.parent, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as answer:
                    if answer.read().strip() == b"ok":
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"streamlit did not answer /_stcore/health within {timeout} s: {self.log()}"
                )
            time.sleep(0.1)  # poll interval of a condition wait with a deadline

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop the server and wait for it to exit (it takes over a second to let go of the port)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if getattr(self, "_log", None):
            self._log.close()


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any customersim or MQTT setting, plus ``settings``."""
    prefixes = (
        "STORE_",
        "CUSTOMERS_",
        "MEAN_VISIT",
        "DWELL_",
        "PACE_",
        "WALK_",
        "DOOR",
        "NEIGHBOURHOOD",
        "SIM_",
        "ARRIVAL_",
        "MQTT_",
        "ENTER_TOPIC",
        "MOVE_TOPIC",
        "EXIT_TOPIC",
        "TESTING_MOCK",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(settings)
    return env
