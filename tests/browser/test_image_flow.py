"""A merchant draws image variants of a product in the browser and keeps one, via a real worker."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from catalog import services as catalog_services
from generation.models import GeneratedImage, ImageModelVersion
from tests.browser.test_import_flow import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_draw_variants_and_keep_one(
    transactional_db, live_server, celery_worker_process, tiny_gan_artifact, page: Page
):
    account = catalog_services.merchant_create(name="Acme Outdoor", username="acme", password="pw-acme-123")
    product = catalog_services.product_create(
        merchant=account.merchant,
        sku="DRESS-1",
        name="Linen summer dress",
        category="apparel",
        attributes=[("colour", "red")],
    )
    ImageModelVersion.objects.create(
        source="fashion-mnist", artifact_path=str(tiny_gan_artifact), image_size=32, is_promoted=True
    )
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("acme")
    page.get_by_label("Password").fill("pw-acme-123")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}{product.get_absolute_url()}")

    # The product page loads the images panel with htmx.
    panel = page.locator("#images-panel")
    expect(panel.get_by_role("heading", name="Image variants")).to_be_visible()
    panel.get_by_label("Colour").select_option("blue")
    panel.get_by_label("How many").fill("3")
    panel.get_by_role("button", name="Generate image variants").click()
    expect(page).to_have_url(re.compile(r"/variants/$"))
    # The panel polls until the job ends, then shows the gallery.
    page.wait_for_selector("#images-panel:not([hx-get])", timeout=60_000)
    gallery = page.locator("#images-panel .gallery img")
    expect(gallery).to_have_count(3)
    assert gallery.first.evaluate("img => img.complete && img.naturalWidth") == 32
    screenshot(page, "variants")

    page.locator("#images-panel .gallery__item").first.get_by_role("button", name="Keep").click()
    expect(page.get_by_text("Image added to the product, labelled as generated.")).to_be_visible()
    expect(page.locator("#images-panel .gallery img")).to_have_count(2)
    assert GeneratedImage.objects.filter(status="accepted").count() == 1
    page.goto(f"{live_server.url}{product.get_absolute_url()}")
    expect(page.locator("#images .gallery__meta").first).to_contain_text("generated")
