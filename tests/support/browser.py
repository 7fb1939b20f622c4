"""Debian's chromium, driven by Playwright: the package's own browser download cannot run
here, so it launches the system's binary by path (``scripts/system-deps.sh`` installs it).

``Watched`` is a page that keeps every console error and uncaught exception it sees."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Page, sync_playwright


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    found = shutil.which("chromium")
    assert found, "chromium is missing: make test installs it (scripts/system-deps.sh)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=found,
            headless=True,
            args=["--no-sandbox"],  # the tests may run as root, where chromium's sandbox cannot
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Watched:
    page: Page
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    """A page in a fresh context (its own cookies), its console errors collected."""
    context = browser.new_context()
    page = context.new_page()
    seen = Watched(page)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    try:
        yield seen
    finally:
        context.close()
