"""The merchant's editor in headless Chromium: edit, accept, reject, conflicts, history, the review
queue from the keyboard, the interface language, and bulk generation through a real worker."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.utils import translation
from playwright.sync_api import Page, expect

from catalog import services as catalog_services
from catalog.models import User
from generation import services
from generation.models import Draft, DraftRevision, DraftStatus, GenerationJob, TrainingExample
from tests.browser.conftest import new_page
from tests.browser.test_import_flow import screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser]

GENERATION_TIMEOUT_MS = 300_000


@pytest.fixture
def shop(transactional_db):
    account = catalog_services.merchant_create(name="Acme Outfitters", username="acme", password=PASSWORD)
    phone = catalog_services.product_create(
        merchant=account.merchant,
        sku="PHONE-13",
        name="iPhone 13",
        category="phones",
        attributes=[
            ("brand", "Apple"),
            ("model", "iPhone 13"),
            ("chip", "A15 Bionic"),
            ("colour", "midnight"),
        ],
    )
    lamp = catalog_services.product_create(
        merchant=account.merchant,
        sku="LAMP-8",
        name="Lumo desk lamp",
        category="lighting",
        attributes=[("brand", "Lumo"), ("power", "8 W"), ("colour", "white")],
    )
    bottle = catalog_services.product_create(
        merchant=account.merchant,
        sku="BOTTLE-750",
        name="Hydra Steel Bottle 750 ml",
        category="sports",
        attributes=[("brand", "Hydra"), ("capacity", "750 ml"), ("material", "stainless steel")],
    )
    return account, phone, lamp, bottle


def _draft(product, field: str, text: str, **extra) -> Draft:
    """A draft as a job would store it: checked against the attributes, revision 1 by the model."""
    draft = Draft(
        product=product,
        field=field,
        language="en",
        text=text,
        source_attributes=[[a.key, a.value] for a in product.attributes.all()],
        **extra,
    )
    services._recheck(draft)
    draft.save()
    DraftRevision.objects.create(draft=draft, version=1, text=text, kind=DraftRevision.Kind.GENERATED)
    return draft


def _sign_in(page: Page, base_url: str, username: str = "acme") -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()


def _card(page: Page, heading: str):
    return page.locator(".draft-card", has=page.get_by_role("heading", name=heading, exact=True))


def test_edit_then_accept_reject_and_an_unsaved_edit_survives_a_reload(live_server, shop, page: Page) -> None:
    _account, phone, _lamp, _bottle = shop
    title = _draft(phone, "title", "Apple iPhone 13 with the A16 chip")
    description = _draft(phone, "description", "The iPhone 13 by Apple in midnight.")
    _sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/products/{phone.pk}/copy/")

    title_card = _card(page, "Title")
    mark = title_card.locator(".draft__text mark.flag", has_text="A16")
    expect(mark).to_have_attribute("title", "'A16' is not in the attributes")
    screenshot(page, "editor")

    # Typing (trusted input) updates the live count and makes leaving the page ask first.
    box = title_card.get_by_label("Edit the Title")
    box.click()
    box.press("End")
    for _ in range(len("with the A16 chip")):
        box.press("Backspace")
    page.keyboard.type("in midnight")
    expected = "Apple iPhone 13 in midnight"
    expect(box).to_have_value(expected)
    expect(title_card.locator("[data-count]")).to_have_text(str(len(expected)))
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    page.reload()
    assert dialogs == ["beforeunload"]

    # The edit was kept in the browser and is back after the reload.
    title_card = _card(page, "Title")
    expect(title_card.get_by_label("Edit the Title")).to_have_value(expected)
    expect(title_card.get_by_text("Your unsaved edit was restored.")).to_be_visible()

    title_card.get_by_role("button", name="Accept").click()
    expect(title_card.locator(".draft--accepted .draft__text")).to_have_text(expected)
    title.refresh_from_db()
    assert title.status == DraftStatus.ACCEPTED and title.text == expected
    example = TrainingExample.objects.get(draft=title)
    assert example.source == TrainingExample.Source.EDITED and example.target_text == expected

    _card(page, "Description").get_by_role("button", name="Reject").click()
    expect(_card(page, "Description")).to_contain_text("No draft yet")
    description.refresh_from_db()
    assert description.status == DraftStatus.REJECTED

    # Nothing is left to keep: leaving no longer asks.
    dialogs.clear()
    page.goto(f"{live_server.url}/")
    assert dialogs == []


def test_two_people_editing_one_draft_get_a_conflict_then_history_and_restore(
    live_server, shop, browser
) -> None:
    account, _phone, lamp, _bottle = shop
    User.objects.create_user(username="bea", password=PASSWORD, merchant=account.merchant)
    draft = _draft(lamp, "title", "Lumo desk lamp, 8 W, white")
    ana, bea = new_page(browser), new_page(browser)
    for page, username in ((ana, "acme"), (bea, "bea")):
        _sign_in(page, live_server.url, username)
        page.goto(f"{live_server.url}/products/{lamp.pk}/copy/")

    _card(ana, "Title").get_by_label("Edit the Title").fill("Lumo 8 W desk lamp in white")
    _card(ana, "Title").get_by_role("button", name="Save edit").click()
    expect(_card(ana, "Title").locator(".draft__text").first).to_have_text("Lumo 8 W desk lamp in white")

    bea_card = _card(bea, "Title")
    bea_card.get_by_label("Edit the Title").fill("Lumo white desk lamp, 8 W")
    bea_card.get_by_role("button", name="Save edit").click()
    conflict = bea_card.locator(".conflict")
    expect(conflict).to_contain_text("Someone else changed this draft")
    expect(conflict.locator(".conflict__theirs")).to_have_text("Lumo 8 W desk lamp in white")
    expect(bea_card.get_by_label("Edit the Title")).to_have_value("Lumo white desk lamp, 8 W")
    screenshot(bea, "conflict")
    draft.refresh_from_db()
    assert draft.text == "Lumo 8 W desk lamp in white" and draft.version == 2

    # Having seen both, Bea saves hers on purpose.
    bea_card.get_by_role("button", name="Save edit").click()
    expect(bea_card.locator(".conflict")).to_have_count(0)
    draft.refresh_from_db()
    assert draft.text == "Lumo white desk lamp, 8 W" and draft.version == 3

    # History: the two newest compared word by word; then version 1 restored.
    bea_card.get_by_role("link", name=re.compile("History")).click()
    expect(bea.get_by_role("heading", name="Version 2 → version 3")).to_be_visible()
    diff = bea.locator(".diff")
    expect(diff.locator("ins").first).to_be_visible()
    expect(diff.locator("del").first).to_be_visible()
    bea.get_by_label("Compare from version 1").check()
    expect(bea.get_by_role("heading", name="Version 1 → version 3")).to_be_visible()
    screenshot(bea, "history")
    bea.locator("tr", has=bea.get_by_label("Compare from version 1")).get_by_role(
        "button", name="Restore"
    ).click()
    expect(bea.get_by_text("Revision 1 restored.")).to_be_visible()
    draft.refresh_from_db()
    assert draft.text == "Lumo desk lamp, 8 W, white" and draft.version == 4
    assert list(draft.revisions.values_list("kind", flat=True)) == [
        "generated",
        "edited",
        "edited",
        "restored",
    ]


def test_the_review_queue_from_the_keyboard(live_server, shop, page: Page) -> None:
    _account, phone, lamp, bottle = shop
    first = _draft(phone, "title", "Apple iPhone 13 in midnight")
    second = _draft(lamp, "title", "Lumo desk lamp with a 20 W bulb")  # unsupported: 20 W
    third = _draft(bottle, "title", "Hydra Steel Bottle 750 ml")
    assert second.has_ungrounded and not first.has_ungrounded
    _sign_in(page, live_server.url)
    page.get_by_role("link", name="Review", exact=True).click()
    expect(page.get_by_text("3 drafts waiting")).to_be_visible()
    screenshot(page, "review")

    page.keyboard.press("j")
    expect(page.locator(f"#queue-draft-{first.pk}")).to_have_class(re.compile("queue-item--current"))
    page.keyboard.press("a")
    expect(page.locator(f"#queue-draft-{first.pk}")).to_contain_text("Accepted")
    # The next waiting draft is current after a decision.
    expect(page.locator(f"#queue-draft-{second.pk}")).to_have_class(re.compile("queue-item--current"))
    page.keyboard.press("r")
    expect(page.locator(f"#queue-draft-{second.pk}")).to_contain_text("Rejected")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (DraftStatus.ACCEPTED, DraftStatus.REJECTED)

    # e opens the current draft in the editor.
    expect(page.locator(f"#queue-draft-{third.pk}")).to_have_class(re.compile("queue-item--current"))
    page.keyboard.press("e")
    expect(page).to_have_url(re.compile(rf"/products/{bottle.pk}/copy/#field-title$"))


def test_bulk_accept_of_drafts_with_no_problems(live_server, shop, page: Page) -> None:
    _account, phone, lamp, bottle = shop
    clean = [
        _draft(phone, "title", "Apple iPhone 13 in midnight"),
        _draft(bottle, "title", "Hydra Steel Bottle"),
    ]
    flagged = _draft(lamp, "title", "Lumo desk lamp with a 20 W bulb")
    _sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/review/")
    page.get_by_role("combobox", name="Problems").select_option("ungrounded")
    expect(page.get_by_text("1 draft waiting")).to_be_visible()
    page.get_by_role("combobox", name="Problems").select_option("")
    page.get_by_role("button", name="Accept all 2 drafts with no problems").click()
    expect(page.get_by_text("2 drafts accepted.")).to_be_visible()
    expect(page.get_by_text("1 draft waiting")).to_be_visible()
    assert {d.status for d in Draft.objects.filter(pk__in=[c.pk for c in clean])} == {DraftStatus.ACCEPTED}
    flagged.refresh_from_db()
    assert flagged.status == DraftStatus.PROPOSED


def test_the_interface_language_switches_to_chinese_and_back(live_server, shop, page: Page) -> None:
    with translation.override("zh-hans"):
        catalog_zh = translation.gettext("Catalog")
    assert catalog_zh != "Catalog", "the zh-hans catalog has no translation of 'Catalog'"
    _sign_in(page, live_server.url)
    page.get_by_label("Interface language").select_option("zh-hans")
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name=catalog_zh)).to_be_visible()
    # Product data stays as the merchant wrote it.
    expect(page.get_by_role("link", name="iPhone 13")).to_be_visible()
    screenshot(page, "catalog-zh")
    page.locator("#interface-language").select_option("en")
    page.locator(".language-switch button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()


@pytest.mark.integration
@pytest.mark.slow
def test_bulk_generate_from_the_catalog_with_progress_then_regenerate_one_field(
    live_server, shop, celery_worker_factory, english_base_model, page: Page
) -> None:
    _account, phone, lamp, _bottle = shop
    celery_worker_factory(
        {"COPILOT_MODEL_STORE": str(settings.COPILOT_MODEL_STORE), "COPILOT_BASE_MODEL_EN": ""}
    )
    _sign_in(page, live_server.url)
    page.get_by_label("Tick PHONE-13").check()
    page.get_by_label("Tick LAMP-8").check()
    page.get_by_role("button", name="Write copy for the ticked products").click()
    expect(page.get_by_text("2 products selected.")).to_be_visible()
    page.get_by_label("Description", exact=True).uncheck()
    page.get_by_label("Bullet points").uncheck()
    page.get_by_label("Length").select_option("short")
    page.get_by_role("button", name="Write drafts").click()
    expect(page).to_have_url(re.compile(r"/copy/jobs/\d+/$"))

    # The job page polls until the job ends, then stops (the element loses its hx-get).
    page.wait_for_selector("#job:not([hx-get])", timeout=GENERATION_TIMEOUT_MS)
    job = GenerationJob.objects.get()
    assert job.status == "succeeded", job.error_message
    expect(page.locator("#job")).to_contain_text("2 of 2 drafts")
    for product in (phone, lamp):
        expect(page.locator("#job")).to_contain_text(product.sku)
    screenshot(page, "job")

    page.goto(f"{live_server.url}/?status=waiting")
    expect(page.get_by_text("2 products match")).to_be_visible()
    screenshot(page, "catalog-status")

    first = Draft.objects.get(job=job, product=phone)
    page.goto(f"{live_server.url}/products/{phone.pk}/copy/")
    title_card = _card(page, "Title")
    expect(title_card.locator(".draft__text").first).to_have_text(first.text)
    title_card.get_by_text("Write this field again").click()
    title_card.get_by_label("Tone").select_option("playful")
    title_card.get_by_role("button", name="Regenerate").click()
    expect(page.get_by_role("heading", name="Writing drafts")).to_be_visible()
    # The new draft replaces the old one on the page as soon as it is written.
    page.wait_for_selector("#job-progress:not([hx-get])", timeout=GENERATION_TIMEOUT_MS)
    regenerated = Draft.objects.exclude(job=job).get(product=phone, field="title")
    expect(_card(page, "Title")).to_contain_text("Playful")
    expect(_card(page, "Title").locator(".draft__text").first).to_have_text(regenerated.text)
    first.refresh_from_db()
    assert first.status == DraftStatus.SUPERSEDED and regenerated.tone == "playful"
