"""The app served as `make run` serves it (`streamlit run app.py`) on a free localhost port, and Debian's
Chromium driven by Playwright, for the browser tests (FACTS.md: launch arguments, readiness checks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from weakref import WeakKeyDictionary

from playwright.sync_api import Browser, Dialog, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_app(warehouse: Path, timeout_s: float = 60, root: Path = ROOT) -> Iterator[str]:
    """`streamlit run app.py` on the given warehouse; yields the base URL once it is healthy. `root`:
    the checkout to serve (bench/audio.py serves an older one beside this one)."""
    port = _free_port()
    env = {**os.environ, "CALLBOARD_DB": str(warehouse)}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1"]
    server = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read().decode() if server.stdout else ""
                    raise RuntimeError(f"streamlit did not start:\n{output}") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


_DIALOGS: WeakKeyDictionary[Page, list[str]] = WeakKeyDictionary()


def scripts_ran(page: Page) -> list[str]:
    """The messages of the dialogs scripts opened on a `watched_page` (an `alert` planted in customer
    text that ran shows here)."""
    return _DIALOGS[page]


@contextmanager
def watched_page(browser: Browser, width: int = 1600, height: int = 1000) -> Iterator[Page]:
    """A fresh page that records every dialog a script opens (`scripts_ran`), on no address yet: each
    test opens its own link, and a link opens its page even as a server's first request
    (tests/test_shared_links.py), so a first visit to the front page would only cost a run of the
    Overview in the server and in Chromium."""
    context = browser.new_context(viewport={"width": width, "height": height})
    opened = context.new_page()
    seen = _DIALOGS.setdefault(opened, [])

    def record(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    opened.on("dialog", record)
    try:
        yield opened
    finally:
        context.close()


def start_review(page: Page, app_url: str, size: int) -> None:
    """Draw a weekly review of `size` calls (the page's default period) and wait for its first call."""
    page.goto(f"{app_url}/review")
    settle(page)
    page.get_by_label("Calls to review").fill(str(size))
    page.get_by_role("button", name="Draw the calls").click()
    page.wait_for_selector(f"text=Call 1 of {size}")
    settle(page)


def settle(page: Page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished running the script for what is on screen."""
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
