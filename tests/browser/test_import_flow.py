"""A merchant signs in, imports a CSV through a real Celery worker and finds the products."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from catalog import services
from catalog.models import ImportJob, JobStatus

pytestmark = [pytest.mark.browser, pytest.mark.integration]

IMPORT_TIMEOUT_MS = 60_000
CATALOG_CSV = """sku,name,category,brand,colour
SHOE-1,Trail runner,Shoes,Acme,black
SHOE-2,Road racer,Shoes,Acme,white
MUG-1,Enamel mug,Kitchen,Campfire,blue
CUP-1,保温杯 500ml,Kitchen,象印,银色
"""
# Set SHOP_SCREENSHOT_DIR to keep screenshots of each page for a look at the styling.
SCREENSHOT_DIR = os.environ.get("SHOP_SCREENSHOT_DIR", "")


def screenshot(page: Page, name: str) -> None:
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}.png"), full_page=True)


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (36, 86, 199)).save(out, "PNG")
    return out.getvalue()


def test_import_a_csv_and_browse_the_catalog(
    transactional_db, live_server, celery_worker_process, page: Page
):
    account = services.merchant_create(name="Acme Outdoor", username="acme", password="pw-acme-123")
    base = live_server.url

    # Sign in through the login page.
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill("acme")
    page.get_by_label("Password").fill("pw-acme-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    expect(page.get_by_text("No products yet.")).to_be_visible()

    # Upload the file; the page follows the job as the worker runs it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    page.get_by_label("Catalog file").set_input_files(
        {"name": "catalog.csv", "mimeType": "text/csv", "buffer": CATALOG_CSV.encode()}
    )
    page.get_by_role("button", name="Start import").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
    progress = page.locator("#import-progress")
    # The poll stops once the job ends: the section loses its hx-get.
    page.wait_for_selector("#import-progress:not([hx-get])", timeout=IMPORT_TIMEOUT_MS)
    job = ImportJob.objects.get(merchant=account.merchant)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    expect(progress.locator(".badge")).to_have_text("Succeeded")
    expect(progress).to_contain_text("4 of 4 rows (100%)")
    expect(progress.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    # The final poll's out-of-band swap took the Cancel button away.
    expect(page.get_by_role("button", name="Cancel import")).to_have_count(0)
    assert job.created_count == 4
    screenshot(page, "import_detail")

    # The final answer (286) stopped the polling.
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if "/imports/" in request.url else None)
    time.sleep(2.5)
    assert polls == []

    page.get_by_role("link", name="View the catalog").click()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#results")).to_contain_text("保温杯 500ml")
    screenshot(page, "catalog")

    # Search as you type: the table updates in place and the URL follows.
    page.get_by_label("Search").fill("保温")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("CUP-1")
    expect(page).to_have_url(re.compile(r"\?q=%E4%BF%9D%E6%B8%A9"))
    page.get_by_label("Search").fill("acme")  # an attribute value, not in any name
    expect(rows).to_have_count(2)

    # Category filter on top of the search; then clear both.
    page.get_by_label("Search").fill("")
    expect(rows).to_have_count(4)
    page.get_by_label("Category").select_option("Kitchen")
    expect(rows).to_have_count(2)
    expect(page.locator("#results")).not_to_contain_text("Trail runner")
    expect(page).to_have_url(re.compile(r"category=Kitchen"))

    # Product page: add an attribute inline (htmx) and an image.
    page.get_by_role("link", name="Enamel mug").click()
    expect(page.get_by_role("heading", name="Enamel mug")).to_be_visible()
    attributes = page.locator("#attributes")
    attributes.get_by_label("Key").fill("material")
    attributes.get_by_label("Value").fill("enamelled steel")
    url_before = page.url
    attributes.get_by_role("button", name="Add attribute").click()
    expect(attributes.get_by_role("row", name=re.compile("material"))).to_contain_text(
        "enamelled steel"
    )
    assert page.url == url_before  # swapped in place, no page load
    page.get_by_label("Image", exact=True).set_input_files(
        {"name": "mug.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    page.get_by_role("button", name="Upload image").click()
    image = page.locator("#images img").first
    expect(image).to_be_visible()
    image.scroll_into_view_if_needed()
    # Served by the image_file view, not /media/: a broken link would load with naturalWidth 0.
    page.wait_for_function(
        "() => { const img = document.querySelector('#images img'); return img && img.complete; }"
    )
    assert image.evaluate("img => img.naturalWidth") == 320
    screenshot(page, "product_detail")
