"""Headless Debian chromium driven by Playwright (``executable_path``: Playwright's own
browser download is never used), and the screenshots the console tests write."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.processes import chromium_or_skip

ROOT = Path(__file__).resolve().parent.parent
#: Not committed (.gitignore): look at them after a run.
SCREENSHOTS = ROOT / "test-artifacts" / "console"
WIDTHS = (1280, 390)
#: No network but loopback: no background calls to Google's hosts, no updates.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


#: The elements sticking out of the page's width, for the failure message.
SCROLL_WIDTH = "() => document.documentElement.scrollWidth"
WIDER_THAN = """(width) => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > width + 1)
  .slice(0, 8)
  .map(e => `${e.tagName}#${e.id}.${e.className.baseVal ?? e.className}`
    + ` ${e.getBoundingClientRect().right} "${(e.textContent ?? "").slice(0, 60)}"`)"""


@contextmanager
def chromium() -> Iterator[Any]:
    """A Playwright ``Browser`` on Debian's chromium (skips when there is none)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    """One page of the console in a fresh browser context (its own sessionStorage), with
    what it logged."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, browser: Any, base: str) -> Tab:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        tab = cls(context.new_page(), base)
        tab.page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
        tab.page.on("pageerror", lambda e: tab.errors.append(f"pageerror: {e}"))
        tab.page.on("request", lambda r: tab.requests.append(r.url))
        return tab

    def go(self, path: str) -> Any:
        self.page.goto(self.base + path)
        self.page.wait_for_selector("body[data-ready='true']", timeout=20_000)
        return self.page

    def snap(self, name: str) -> list[Path]:
        """Full-page screenshots at 1280 and 390 px; the page must fit the phone's width."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        written = []
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            # The layout (and the map) follow the resize; polled from here, not with
            # wait_for_function, whose polling evaluates strings, which the CSP refuses.
            deadline = time.monotonic() + 5.0
            while self.page.evaluate(SCROLL_WIDTH) > width:
                if time.monotonic() > deadline:
                    wide = self.page.evaluate(WIDER_THAN, width)
                    raise AssertionError(f"{name}: wider than {width} px: {wide}")
                self.page.wait_for_timeout(100)
            path = SCREENSHOTS / f"{name}-{width}.png"
            self.page.screenshot(path=str(path), full_page=True)
            written.append(path)
        self.page.set_viewport_size({"width": 1280, "height": 900})
        return written

    def close(self) -> None:
        self.page.context.close()
