"""Headless Chromium for the browser tests (the Celery worker comes from tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def browser(monkeypatch):
    """Headless Chromium. Function-scoped because while Playwright's sync API is open its event
    loop counts as running on this thread, and Django's ORM then refuses to run."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    # The test's own ORM calls between browser steps are plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # With a loop running, Django keeps connections per context, not per thread: the
            # test's queries opened one that would otherwise stay open and block dropping the
            # test database.
            connections.close_all()


def new_page(browser):
    """A page in its own context: its own cookies and storage, like another person's browser."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    return context.new_page()


@pytest.fixture
def page(browser):
    page = new_page(browser)
    try:
        yield page
    finally:
        page.context.close()
