"""A merchant asks for copy in the browser; a real worker writes it with the shipped model."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from catalog import services as catalog_services
from generation.models import Draft, DraftStatus, GenerationJob, TrainingExample
from tests.browser.test_import_flow import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

GENERATION_TIMEOUT_MS = 240_000


def test_write_drafts_watch_progress_and_accept_one(
    transactional_db, live_server, celery_worker_factory, english_base_model, page: Page
):
    account = catalog_services.merchant_create(name="Acme Outdoor", username="acme", password="pw-acme-123")
    product = catalog_services.product_create(
        merchant=account.merchant,
        sku="BOTTLE-1",
        name="Hydra Steel Bottle 750 ml",
        category="sports",
        attributes=[
            ("brand", "Hydra"),
            ("capacity", "750 ml"),
            ("material", "stainless steel"),
            ("colour", "forest green"),
            ("insulation", "keeps drinks cold for 24 hours"),
        ],
    )
    celery_worker_factory(
        {"COPILOT_MODEL_STORE": str(settings.COPILOT_MODEL_STORE), "COPILOT_BASE_MODEL_EN": ""}
    )

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("acme")
    page.get_by_label("Password").fill("pw-acme-123")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}{product.get_absolute_url()}")
    page.get_by_role("link", name="Write and review copy").click()
    expect(page.get_by_role("heading", name="Copy for Hydra Steel Bottle 750 ml")).to_be_visible()

    # Title and tags only, short, playful.
    page.get_by_role("checkbox", name="Description", exact=True).uncheck()
    page.get_by_role("checkbox", name="Bullet points").uncheck()
    page.get_by_role("checkbox", name="Search tags").check()
    page.get_by_label("Tone").select_option("playful")
    page.get_by_label("Length").select_option("short")
    page.get_by_role("button", name="Write drafts").click()
    expect(page).to_have_url(re.compile(r"/copy/\?job=\d+$"))
    expect(page.get_by_role("heading", name="Writing drafts")).to_be_visible()

    # The panel polls until the job ends, then stops (the panel loses its hx-get).
    page.wait_for_selector("#job-progress:not([hx-get])", timeout=GENERATION_TIMEOUT_MS)
    job = GenerationJob.objects.get()
    assert job.status == "succeeded", job.error_message
    expect(page.locator("#job-progress")).to_contain_text("2 of 2 drafts")
    title = Draft.objects.get(job=job, field="title")
    title_card = page.locator(".draft-card", has=page.get_by_role("heading", name="Title"))
    expect(title_card.locator(".draft__text").first).to_have_text(title.text)
    screenshot(page, "copy")

    title_card.get_by_role("button", name="Accept").click()
    expect(title_card).to_contain_text("Published copy")
    title.refresh_from_db()
    assert title.status == DraftStatus.ACCEPTED
    assert TrainingExample.objects.get(draft=title).target_text == title.text
