"""The draft editor: the page, each htmx partial, edits, decisions, conflicts and history."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from catalog import services as catalog_services
from catalog.models import JobStatus
from generation import services
from generation.models import (
    CopyField,
    Draft,
    DraftRevision,
    DraftStatus,
    GenerationJob,
    TrainingExample,
)
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}

CLEAN = "Apple iPhone 13 with the A15 Bionic chip"
UNGROUNDED = "Apple iPhone 13 with the A16 chip"
A16_MARK = '<mark class="flag flag--model" title="&#x27;A16&#x27; is not in the attributes">A16</mark>'


# --- Fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client(merchant_account) -> Client:
    client = Client()
    assert client.login(username="acme", password=PASSWORD)
    return client


@pytest.fixture
def colleague(merchant_account):
    """A second person of the same merchant."""
    return UserFactory(username="bea", merchant=merchant_account.merchant)


@pytest.fixture
def colleague_client(colleague) -> Client:
    client = Client()
    client.force_login(colleague)
    return client


@pytest.fixture
def product(merchant_account):
    return catalog_services.product_create(
        merchant=merchant_account.merchant,
        sku="PHONE-13",
        name="iPhone 13",
        category="phones",
        attributes=[("brand", "Apple"), ("model", "iPhone 13"), ("chip", "A15 Bionic")],
    )


def make_draft(product, text: str, *, field: str = "title", alternatives=(), **extra) -> Draft:
    """A waiting draft as a generation job leaves it: checked, with its generated revision 1."""
    draft = Draft.objects.create(
        product=product,
        field=field,
        language=extra.pop("language", product.language),
        text=text,
        alternatives=[{"text": t, "score": 0.1, "grounding": {}, "violations": []} for t in alternatives],
        source_attributes=[[a.key, a.value] for a in product.attributes.all()],
        **extra,
    )
    services._recheck(draft)
    draft.save()
    DraftRevision.objects.create(draft=draft, version=1, text=text, kind=DraftRevision.Kind.GENERATED)
    return draft


def copy_url(product) -> str:
    return reverse("generation:product_copy", kwargs={"product_id": product.pk})


def url(name: str, draft: Draft) -> str:
    return reverse(f"generation:{name}", kwargs={"draft_id": draft.pk})


def card(html: str, field: str) -> str:
    """One field's card out of a page or partial."""
    match = re.search(rf'<section id="field-card-{field}".*?</section>', html, re.DOTALL)
    assert match, f"no card for {field}"
    return match.group(0)


def textarea(html: str, draft: Draft) -> str:
    match = re.search(rf'<textarea id="text-{draft.pk}"[^>]*>(.*?)</textarea>', html, re.DOTALL)
    assert match, f"no textarea for draft {draft.pk}"
    return match.group(0)


def version_input(html: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="version" value="(\d+)">', html)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def snapshot(draft: Draft) -> tuple:
    draft.refresh_from_db()
    return (
        draft.text,
        draft.version,
        draft.status,
        list(draft.revisions.order_by("version").values_list("version", "kind", "text")),
    )


# --- The page -------------------------------------------------------------------------------------


def test_the_page_has_a_card_for_each_of_the_six_fields(client, product) -> None:
    response = client.get(copy_url(product))
    assert response.status_code == 200
    body = response.content.decode()
    for value, label in CopyField.choices:
        assert "No draft yet" in card(body, value)
        assert f'<h2 id="field-{value}">{label}</h2>' in body
    assert body.count('class="card draft-card') == 6
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_waiting_accepted_and_stale_notices(client, product, merchant_account) -> None:
    waiting = make_draft(product, CLEAN)
    published = make_draft(product, "A phone by Apple.", field="description")
    services.draft_accept(draft=published, user=merchant_account.user, version=1)

    body = client.get(copy_url(product)).content.decode()
    title, description = card(body, "title"), card(body, "description")
    assert "Waiting for your decision" in title and "Published copy" not in title
    assert f'id="draft-{waiting.pk}"' in title
    assert "Published copy" in description and "accepted by acme" in description
    assert "Waiting for your decision" not in description
    assert "attributes changed" not in body

    catalog_services.product_attribute_add(product=product, key="colour", value="Midnight")
    body = client.get(copy_url(product)).content.decode()
    assert "The product's attributes changed after this draft was written" in card(body, "title")
    assert "Stale: the product's attributes changed" in card(body, "description")


def test_the_character_count_shows_the_channels_limit(client, product) -> None:
    title = make_draft(product, CLEAN)  # 40 characters
    bullets = make_draft(product, "Apple\nA15 Bionic", field="bullets", channel="amazon")
    body = client.get(copy_url(product)).content.decode()
    title_card, bullets_card = card(body, "title"), card(body, "bullets")
    assert 'data-max-chars="150"' in textarea(title_card, title)
    assert re.search(r"<span data-count>40</span> / 150 \(generic\)", title_card)
    assert 'data-max-chars="2500"' in textarea(bullets_card, bullets)
    assert 'data-max-item-chars="500"' in textarea(bullets_card, bullets)
    assert re.search(r"<span data-count>16</span> / 2500 \(amazon\)", bullets_card)
    assert "items longer than 500" in bullets_card


def test_other_candidates_are_listed_and_escaped(client, product) -> None:
    draft = make_draft(
        product,
        "Apple <b>iPhone 13</b>",
        alternatives=["Apple iPhone 13 <b>bold</b> <script>x()</script>", "iPhone 13 by Apple"],
    )
    body = card(client.get(copy_url(product)).content.decode(), "title")
    assert "2 other candidates" in body
    assert "<b>" not in body and "<script>" not in body
    assert "Apple iPhone 13 &lt;b&gt;bold&lt;/b&gt; &lt;script&gt;x()&lt;/script&gt;" in body
    assert "iPhone 13 by Apple" in body
    assert "Apple &lt;b&gt;iPhone 13&lt;/b&gt;</textarea>" in textarea(body, draft)
    action = url("draft_alternative", draft)
    assert body.count(f'action="{action}"') == 2
    assert '<input type="hidden" name="index" value="0">' in body
    assert '<input type="hidden" name="index" value="1">' in body


def test_the_page_asks_for_a_login(product) -> None:
    response = Client().get(copy_url(product))
    assert response.status_code == 302 and "/login" in response["Location"]


# --- Saving an edit -------------------------------------------------------------------------------


def test_saving_an_edit_returns_the_card_with_the_new_version(client, product, merchant_account) -> None:
    draft = make_draft(product, CLEAN)
    assert not draft.has_ungrounded
    response = client.post(url("draft_save", draft), {"text": UNGROUNDED, "version": "1"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<section id="field-card-title"')
    assert version_input(html) == ["2"]
    assert A16_MARK in html  # checked again: the new claim is marked
    draft.refresh_from_db()
    assert (draft.text, draft.version, draft.has_ungrounded) == (UNGROUNDED, 2, True)
    revision = draft.revisions.get(version=2)
    assert (revision.kind, revision.text, revision.author) == (
        DraftRevision.Kind.EDITED,
        UNGROUNDED,
        merchant_account.user,
    )

    fixed = client.post(url("draft_save", draft), {"text": CLEAN, "version": "2"}, **HTMX)
    assert fixed.status_code == 200
    assert A16_MARK not in fixed.content.decode()
    draft.refresh_from_db()
    assert (draft.version, draft.has_ungrounded, draft.grounding["ungrounded"]) == (3, False, [])


def test_saving_the_same_text_again_writes_no_revision(client, product) -> None:
    draft = make_draft(product, CLEAN)
    response = client.post(url("draft_save", draft), {"text": f"  {CLEAN}\r\n", "version": "1"}, **HTMX)
    assert response.status_code == 200
    assert version_input(response.content.decode()) == ["1"]
    assert draft.revisions.count() == 1


def test_saving_without_htmx_redirects_to_the_field(client, product) -> None:
    draft = make_draft(product, CLEAN)
    response = client.post(url("draft_save", draft), {"text": "Apple iPhone 13", "version": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"{copy_url(product)}#field-title"
    assert messages_of(response) == ["Edit saved."]
    draft.refresh_from_db()
    assert draft.text == "Apple iPhone 13"


# --- Deciding -------------------------------------------------------------------------------------


def test_accepting_with_an_edit_learns_an_edited_example(client, product, merchant_account) -> None:
    draft = make_draft(product, CLEAN)
    edited = "Apple iPhone 13, A15 Bionic inside"
    response = client.post(
        url("draft_decide", draft), {"action": "accept", "version": "1", "text": edited}, **HTMX
    )
    assert response.status_code == 200
    assert "Published copy" in response.content.decode()
    draft.refresh_from_db()
    assert (draft.status, draft.text, draft.version) == (DraftStatus.ACCEPTED, edited, 2)
    assert draft.decided_by == merchant_account.user
    example = TrainingExample.objects.get(draft=draft)
    assert example.source == TrainingExample.Source.EDITED
    assert example.target_text == edited
    assert example.edit_distance > 0
    assert list(draft.revisions.values_list("version", "kind")) == [(1, "generated"), (2, "edited")]


def test_accepting_as_written_learns_an_accepted_example(client, product) -> None:
    draft = make_draft(product, CLEAN)
    response = client.post(url("draft_decide", draft), {"action": "accept", "version": "1", "text": CLEAN})
    assert response.status_code == 302 and response["Location"].endswith("#field-title")
    assert messages_of(response) == ["Draft accepted."]
    example = TrainingExample.objects.get(draft=draft)
    assert (example.source, example.edit_distance) == (TrainingExample.Source.ACCEPTED, 0)
    draft.refresh_from_db()
    assert draft.revisions.count() == 1 and draft.version == 2


def test_a_browsers_line_endings_are_not_an_edit(client, product) -> None:
    draft = make_draft(product, "Apple\nA15 Bionic chip", field="bullets")
    posted = "Apple\r\nA15 Bionic chip\r\n"  # what a textarea sends back
    response = client.post(url("draft_decide", draft), {"action": "accept", "version": "1", "text": posted})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.text == "Apple\nA15 Bionic chip" and draft.revisions.count() == 1
    assert TrainingExample.objects.get(draft=draft).source == TrainingExample.Source.ACCEPTED


def test_accepting_after_a_saved_edit_is_still_an_edit_of_the_models_text(client, product) -> None:
    draft = make_draft(product, CLEAN)
    edited = "Apple iPhone 13 with a fast A15 Bionic chip"
    assert client.post(url("draft_save", draft), {"text": edited, "version": "1"}, **HTMX).status_code == 200
    response = client.post(
        url("draft_decide", draft), {"action": "accept", "version": "2", "text": edited}, **HTMX
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert (draft.status, draft.version, draft.revisions.count()) == (DraftStatus.ACCEPTED, 3, 2)
    example = TrainingExample.objects.get(draft=draft)
    assert example.source == TrainingExample.Source.EDITED
    assert example.edit_distance == 2  # "a fast" inserted


def test_rejecting_removes_the_draft_from_the_card(client, product, merchant_account) -> None:
    draft = make_draft(product, CLEAN)
    response = client.post(url("draft_decide", draft), {"action": "reject", "version": "1"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="draft-{draft.pk}"' not in html and "No draft yet" in html
    draft.refresh_from_db()
    assert (draft.status, draft.decided_by, draft.version) == (
        DraftStatus.REJECTED,
        merchant_account.user,
        2,
    )
    assert not TrainingExample.objects.exists()


def test_choosing_another_candidate_swaps_the_texts(client, product, merchant_account) -> None:
    draft = make_draft(product, UNGROUNDED, alternatives=["Apple iPhone 13", CLEAN])
    response = client.post(url("draft_alternative", draft), {"index": "1", "version": "1"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert version_input(html)[0] == "2"
    assert f">{CLEAN}</textarea>" in textarea(html, draft)
    draft.refresh_from_db()
    assert draft.text == CLEAN and not draft.has_ungrounded
    assert [a["text"] for a in draft.alternatives] == ["Apple iPhone 13", UNGROUNDED]
    revision = draft.revisions.get(version=2)
    assert (revision.kind, revision.author, revision.text) == ("alternative", merchant_account.user, CLEAN)

    # The candidate is the model's own text: accepting it unchanged is not an edit.
    client.post(url("draft_decide", draft), {"action": "accept", "version": "2", "text": CLEAN}, **HTMX)
    assert TrainingExample.objects.get(draft=draft).source == TrainingExample.Source.ACCEPTED


def test_choosing_a_candidate_without_htmx_redirects(client, product) -> None:
    draft = make_draft(product, CLEAN, alternatives=["Apple iPhone 13"])
    response = client.post(url("draft_alternative", draft), {"index": "0", "version": "1"})
    assert response.status_code == 302 and response["Location"] == f"{copy_url(product)}#field-title"
    assert messages_of(response) == ["Candidate swapped in."]


def test_restoring_an_old_revision_keeps_the_whole_history(client, product, merchant_account) -> None:
    draft = make_draft(product, CLEAN)
    services.draft_edit(draft=draft, user=merchant_account.user, version=1, text="Apple iPhone 13")
    services.draft_edit(draft=draft, user=merchant_account.user, version=2, text="iPhone 13")
    response = client.post(url("draft_restore", draft), {"revision": "1", "version": "3"})
    assert response.status_code == 302
    assert response["Location"] == f"{copy_url(product)}#field-title"
    assert messages_of(response) == ["Revision 1 restored."]
    draft.refresh_from_db()
    assert (draft.text, draft.version) == (CLEAN, 4)
    assert list(draft.revisions.order_by("version").values_list("version", "kind", "text")) == [
        (1, "generated", CLEAN),
        (2, "edited", "Apple iPhone 13"),
        (3, "edited", "iPhone 13"),
        (4, "restored", CLEAN),
    ]
    assert draft.revisions.get(version=4).author == merchant_account.user


def test_restoring_with_an_old_version_restores_nothing(client, product, merchant_account) -> None:
    draft = make_draft(product, CLEAN)
    services.draft_edit(draft=draft, user=merchant_account.user, version=1, text="Apple iPhone 13")
    before = snapshot(draft)
    response = client.post(url("draft_restore", draft), {"revision": "1", "version": "1"})
    assert response["Location"] == url("draft_revisions", draft)
    assert "nothing was restored" in messages_of(response)[0]
    assert snapshot(draft) == before


# --- Regenerating and the progress poll -----------------------------------------------------------


def test_regenerating_queues_a_job_for_that_field_with_the_new_tone(
    client, product, merchant_account
) -> None:
    draft = make_draft(product, CLEAN, channel="amazon", length="short")
    response = client.post(url("draft_regenerate", draft), {"tone": "playful", "length": ""})
    job = GenerationJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{copy_url(product)}?job={job.pk}#field-title"
    assert job.fields == ["title"]
    assert (job.tone, job.length, job.language, job.channel) == ("playful", "short", "en", "amazon")
    assert list(job.products.all()) == [product]
    assert (job.merchant, job.created_by, job.total) == (merchant_account.merchant, merchant_account.user, 1)
    assert job.status == JobStatus.QUEUED
    draft.refresh_from_db()
    assert draft.status == DraftStatus.PROPOSED  # replaced only when the new one is written

    page = client.get(response["Location"]).content.decode()
    assert "Writing drafts" in page and "Waiting for a worker" in page
    assert '<option value="playful" selected>' in page  # the form starts from the job's options


def test_regenerating_with_a_bad_option_or_without_attributes_queues_nothing(
    client, product, merchant_account
) -> None:
    draft = make_draft(product, CLEAN)
    bad = client.post(url("draft_regenerate", draft), {"tone": "shouty"})
    assert bad.status_code == 302 and bad["Location"] == f"{copy_url(product)}#field-title"
    assert "shouty" in messages_of(bad)[0]
    for attribute in product.attributes.all():
        catalog_services.product_attribute_remove(attribute=attribute)
    bare = client.post(url("draft_regenerate", draft), {"tone": "luxury"})
    assert bare.status_code == 302
    assert "has attributes yet" in messages_of(bare)[-1]
    assert not GenerationJob.objects.exists()


def test_the_poll_sends_field_cards_only_when_more_drafts_were_written(
    client, product, merchant_account
) -> None:
    job = services.generation_job_create(
        merchant=merchant_account.merchant,
        product_ids=[product.pk],
        fields=["title", "tags"],
        enqueue=False,
    )
    poll = f"{copy_url(product)}?job={job.pk}"
    quiet = client.get(f"{poll}&done=0", **HTMX)
    assert quiet.status_code == 200
    html = quiet.content.decode()
    assert "hx-swap-oob" not in html and "<html" not in html
    assert f"?job={job.pk}&amp;done=0" in html and 'hx-trigger="every 1s"' in html

    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, done=1)
    draft = make_draft(product, CLEAN, job=job)
    news = client.get(f"{poll}&done=0", **HTMX)
    assert news.status_code == 200
    html = news.content.decode()
    assert f"?job={job.pk}&amp;done=1" in html
    assert re.search(r'<section id="field-card-title"[^>]*hx-swap-oob="true"', html)
    assert re.search(r'<section id="field-card-tags"[^>]*hx-swap-oob="true"', html)
    assert "field-card-description" not in html  # not one of the job's fields
    assert f'id="draft-{draft.pk}"' in html

    same = client.get(f"{poll}&done=1", **HTMX)
    assert same.status_code == 200 and "hx-swap-oob" not in same.content.decode()

    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, done=2)
    finished = client.get(f"{poll}&done=1", **HTMX)
    assert finished.status_code == 286
    html = finished.content.decode()
    assert "every 1s" not in html and "2 of 2 drafts" in html
    assert "hx-swap-oob" in html  # the last drafts still arrive with the final answer


def test_a_poll_without_a_job_stops(client, product) -> None:
    for query in ("", "?job=abc", "?job=999999", "?job=99999999999999999999999"):
        response = client.get(f"{copy_url(product)}{query}", **HTMX)
        assert response.status_code == 286, query
        assert "hx-swap-oob" not in response.content.decode()


# --- Two people, one draft ------------------------------------------------------------------------


def test_a_save_on_an_old_version_is_a_conflict_that_keeps_both_texts(
    client, colleague_client, colleague, product
) -> None:
    draft = make_draft(product, CLEAN)
    theirs, mine = "Apple iPhone 13 (acme's edit)", "Apple iPhone 13 <b>Bea's edit</b>"
    assert client.post(url("draft_save", draft), {"text": theirs, "version": "1"}, **HTMX).status_code == 200
    before = snapshot(draft)

    conflict = colleague_client.post(url("draft_save", draft), {"text": mine, "version": "1"}, **HTMX)
    assert conflict.status_code == 409
    html = conflict.content.decode()
    assert "<html" not in html
    assert "Someone else changed this draft while you were editing; nothing was saved." in html
    assert "saved by acme" in html
    assert '<div class="draft__text conflict__theirs">Apple iPhone 13 (acme&#x27;s edit)</div>' in html
    box = textarea(html, draft)
    assert "data-unsaved" in box
    assert "Apple iPhone 13 &lt;b&gt;Bea&#x27;s edit&lt;/b&gt;</textarea>" in box
    assert version_input(html) == ["2"]  # saving again replaces theirs knowingly
    assert snapshot(draft) == before

    again = colleague_client.post(url("draft_save", draft), {"text": mine, "version": "2"}, **HTMX)
    assert again.status_code == 200
    assert "data-unsaved" not in textarea(again.content.decode(), draft)
    draft.refresh_from_db()
    assert (draft.text, draft.version) == (mine, 3)
    assert draft.revisions.get(version=3).author == colleague


def test_a_conflict_without_htmx_shows_the_whole_page_with_the_typed_text(
    client, colleague_client, product
) -> None:
    draft = make_draft(product, CLEAN)
    client.post(url("draft_save", draft), {"text": "Apple iPhone 13", "version": "1"})
    before = snapshot(draft)
    response = colleague_client.post(url("draft_save", draft), {"text": "Bea typed this", "version": "1"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "<html" in html and html.count('class="card draft-card') == 6
    box = textarea(card(html, "title"), draft)
    assert "data-unsaved" in box and ">Bea typed this</textarea>" in box
    assert html.count("Someone else changed this draft") == 1
    assert snapshot(draft) == before


def test_a_decision_on_an_old_version_is_a_conflict(client, colleague_client, product) -> None:
    draft = make_draft(product, CLEAN)
    client.post(url("draft_save", draft), {"text": "Apple iPhone 13", "version": "1"}, **HTMX)
    response = colleague_client.post(
        url("draft_decide", draft), {"action": "accept", "version": "1", "text": CLEAN}, **HTMX
    )
    assert response.status_code == 409
    assert "data-unsaved" in textarea(response.content.decode(), draft)
    rejected = colleague_client.post(url("draft_decide", draft), {"action": "reject", "version": "1"}, **HTMX)
    assert rejected.status_code == 409
    draft.refresh_from_db()
    assert (draft.status, draft.text, draft.version) == (DraftStatus.PROPOSED, "Apple iPhone 13", 2)
    assert not TrainingExample.objects.exists()


def test_a_save_after_someone_else_accepted_says_so_and_keeps_the_typed_text(
    client, colleague_client, product
) -> None:
    draft = make_draft(product, CLEAN)
    client.post(url("draft_decide", draft), {"action": "accept", "version": "1"}, **HTMX)
    before = snapshot(draft)
    typed = "Bea's late <edit>"
    message = "Someone else accepted this draft; your change was not saved."

    response = colleague_client.post(url("draft_save", draft), {"text": typed, "version": "1"}, **HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert message in html
    assert (
        f'<textarea id="typed-{draft.pk}" readonly rows="4">Bea&#x27;s late &lt;edit&gt;</textarea>' in html
    )
    assert "Published copy" in html

    page = colleague_client.post(url("draft_save", draft), {"text": typed, "version": "1"})
    assert page.status_code == 409
    html = page.content.decode()
    assert html.count(message) == 1  # on the draft's own card, not on all six
    assert message in card(html, "title")
    assert "Bea&#x27;s late &lt;edit&gt;</textarea>" in card(html, "title")
    assert snapshot(draft) == before


# --- Bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_an_empty_text_is_refused_and_the_typed_text_kept(client, product, htmx) -> None:
    draft = make_draft(product, CLEAN)
    before = snapshot(draft)
    response = client.post(
        url("draft_save", draft), {"text": "  \n ", "version": "1"}, **(HTMX if htmx else {})
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "The text is empty; reject the draft instead." in html
    box = textarea(html, draft)
    assert "data-unsaved" in box and ">  \n </textarea>" in box
    assert snapshot(draft) == before


def test_an_empty_text_cannot_be_accepted(client, product) -> None:
    draft = make_draft(product, CLEAN)
    before = snapshot(draft)
    response = client.post(
        url("draft_decide", draft), {"action": "accept", "version": "1", "text": ""}, **HTMX
    )
    assert response.status_code == 422
    assert "The text is empty" in response.content.decode()
    assert snapshot(draft) == before and not TrainingExample.objects.exists()


@pytest.mark.parametrize("version", [None, "", "abc", "-1", "1.0"])
def test_a_save_without_a_usable_version_is_refused(client, product, version) -> None:
    draft = make_draft(product, CLEAN)
    before = snapshot(draft)
    data = {"text": "Typed and kept"} | ({} if version is None else {"version": version})
    response = client.post(url("draft_save", draft), data, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "That request was incomplete; nothing was saved." in html
    assert ">Typed and kept</textarea>" in textarea(html, draft)
    assert snapshot(draft) == before


def test_a_save_without_text_is_refused(client, product) -> None:
    draft = make_draft(product, CLEAN)
    response = client.post(url("draft_save", draft), {"version": "1"}, **HTMX)
    assert response.status_code == 422
    assert "incomplete" in response.content.decode()
    assert draft.revisions.count() == 1


def test_a_too_long_text_is_refused(client, product) -> None:
    draft = make_draft(product, CLEAN)
    before = snapshot(draft)
    too_long = "word " * 4001  # 20,005 characters, trimmed to 20,004
    response = client.post(url("draft_save", draft), {"text": too_long, "version": "1"}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "The text is longer than 20,000 characters." in html
    assert "data-unsaved" in textarea(html, draft)
    assert snapshot(draft) == before


def test_restoring_a_revision_that_does_not_exist(client, product) -> None:
    draft = make_draft(product, CLEAN)
    before = snapshot(draft)
    missing = client.post(url("draft_restore", draft), {"revision": "9", "version": "1"})
    assert missing.status_code == 302 and missing["Location"] == url("draft_revisions", draft)
    assert messages_of(missing) == ["This draft has no revision 9."]
    huge = client.post(url("draft_restore", draft), {"revision": "9" * 30, "version": "1"})
    assert huge.status_code == 302 and messages_of(huge)[-1] == f"This draft has no revision {'9' * 30}."
    incomplete = client.post(url("draft_restore", draft), {"revision": "x", "version": "1"})
    assert messages_of(incomplete)[-1] == "That request was incomplete; nothing was changed."
    assert snapshot(draft) == before


def test_restoring_an_accepted_draft_is_refused(client, product, merchant_account) -> None:
    draft = make_draft(product, CLEAN)
    services.draft_edit(draft=draft, user=merchant_account.user, version=1, text="Apple iPhone 13")
    services.draft_accept(draft=draft, user=merchant_account.user, version=2)
    before = snapshot(draft)
    response = client.post(url("draft_restore", draft), {"revision": "1", "version": "3"})
    assert "only a waiting draft can be changed" in messages_of(response)[0]
    assert snapshot(draft) == before


@pytest.mark.parametrize("index", ["2", "99999999999999999999", "-1", "", "one"])
def test_choosing_a_candidate_that_does_not_exist(client, product, index) -> None:
    draft = make_draft(product, CLEAN, alternatives=["Apple iPhone 13", "iPhone 13"])
    before = snapshot(draft)
    response = client.post(url("draft_alternative", draft), {"index": index, "version": "1"}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    expected = "no longer exists" if index.isdigit() else "incomplete"
    assert expected in html
    assert snapshot(draft) == before


def test_ids_that_are_not_numbers_are_not_found(client, product) -> None:
    draft = make_draft(product, CLEAN)
    for action in ("save", "decide", "alternative", "regenerate", "revisions", "restore"):
        path = url(f"draft_{action}", draft).replace(f"/{draft.pk}/", "/abc/")
        assert client.post(path, {"version": "1"}).status_code == 404, path
    assert client.get(f"/products/{product.pk}x/copy/").status_code == 404
    assert client.post(url("draft_save", draft).replace(str(draft.pk), "999999"), {}).status_code == 404


def test_actions_refuse_the_wrong_method(client, product) -> None:
    draft = make_draft(product, CLEAN)
    for action in ("save", "decide", "alternative", "regenerate", "restore"):
        assert client.get(url(f"draft_{action}", draft)).status_code == 405
    assert client.post(url("draft_revisions", draft)).status_code == 405


# --- History --------------------------------------------------------------------------------------


@pytest.fixture
def history(product, merchant_account) -> Draft:
    draft = make_draft(product, "Apple iPhone 13 <b>smart</b> phone")
    user = merchant_account.user
    services.draft_edit(draft=draft, user=user, version=1, text="Apple iPhone 13 <b>smart</b> phone, A15")
    services.draft_edit(draft=draft, user=user, version=2, text="Apple iPhone 13 <i>clever</i> phone, A15")
    return draft


def test_the_history_compares_the_two_newest_revisions_by_default(client, history) -> None:
    response = client.get(url("draft_revisions", history))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Version 2 → version 3" in html
    assert re.search(r'name="a" value="2"[^>]*checked', html)
    assert re.search(r'name="b" value="3"[^>]*checked', html)
    assert not re.search(r'name="a" value="1"[^>]*checked', html)
    assert (
        "Apple iPhone 13 &lt;<del>b</del><ins>i</ins>&gt;<del>smart</del><ins>clever</ins>&lt;/"
        "<del>b</del><ins>i</ins>&gt; phone, A15</div>"
    ) in html
    assert "3 words added, 3 removed" in html
    assert "Edited" in html and "Written by the model" in html and "acme" in html


def test_the_history_diffs_any_two_revisions_escaped(client, history) -> None:
    html = client.get(url("draft_revisions", history), {"a": "1", "b": "3"}).content.decode()
    assert "Version 1 → version 3" in html
    diff = re.search(r'<div class="diff draft__text">(.*?)</div>', html, re.DOTALL).group(1)
    assert "<b>" not in diff and "<i>" not in diff
    assert diff == (
        "Apple iPhone 13 &lt;<del>b</del><ins>i</ins>&gt;<del>smart</del><ins>clever</ins>&lt;/"
        "<del>b</del><ins>i</ins>&gt; phone<ins>, A15</ins>"
    )


def test_the_history_diff_alone_for_htmx(client, history) -> None:
    response = client.get(url("draft_revisions", history), {"a": "1", "b": "2"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="diff"')
    assert "<html" not in html and "Revisions" not in html
    assert "Version 1 → version 2" in html and "<ins>, A15</ins>" in html
    assert "HX-Request" in response["Vary"]


def test_the_history_without_two_known_versions_asks_to_pick(client, history) -> None:
    html = client.get(url("draft_revisions", history), {"a": "1", "b": "9"}).content.decode()
    assert "Pick two versions to compare." in html and "<ins>" not in html
    fallback = client.get(url("draft_revisions", history), {"a": "x", "b": "-1"}).content.decode()
    assert "Version 2 → version 3" in fallback


def test_the_history_diffs_chinese_by_character(client, merchant_account) -> None:
    product = catalog_services.product_create(
        merchant=merchant_account.merchant,
        sku="BAG-1",
        name="背包",
        language="zh",
        attributes=[("材质", "尼龙")],
    )
    draft = make_draft(product, "轻便防水背包", language="zh")
    services.draft_edit(draft=draft, user=merchant_account.user, version=1, text="轻便防风背包")
    html = client.get(url("draft_revisions", draft)).content.decode()
    assert "轻便防<del>水</del><ins>风</ins>背包" in html
    assert "1 words added, 1 removed" in html


def test_the_history_offers_restore_only_while_waiting(client, history, merchant_account) -> None:
    html = client.get(url("draft_revisions", history)).content.decode()
    restore = url("draft_restore", history)
    assert html.count(f'action="{restore}"') == 2  # not for the current text (version 3)
    assert '<button type="submit" form="restore-1"' in html
    assert 'form="restore-3"' not in html
    services.draft_accept(draft=history, user=merchant_account.user, version=3)
    assert restore not in client.get(url("draft_revisions", history)).content.decode()


# --- Another merchant -----------------------------------------------------------------------------


def test_another_merchants_drafts_and_jobs_are_not_found(
    other_merchant_account, product, merchant_account
) -> None:
    other = Client()
    other.force_login(other_merchant_account.user)
    draft = make_draft(product, CLEAN, alternatives=["Apple iPhone 13"])
    job = services.generation_job_create(
        merchant=merchant_account.merchant, product_ids=[product.pk], fields=["title"], enqueue=False
    )
    before = snapshot(draft)
    assert other.get(copy_url(product)).status_code == 404
    assert other.get(f"{copy_url(product)}?job={job.pk}", **HTMX).status_code == 404
    posts = {
        "draft_save": {"text": "hacked", "version": "1"},
        "draft_decide": {"action": "accept", "version": "1", "text": "hacked"},
        "draft_alternative": {"index": "0", "version": "1"},
        "draft_regenerate": {"tone": "playful"},
        "draft_restore": {"revision": "1", "version": "1"},
    }
    for name, data in posts.items():
        assert other.post(url(name, draft), data).status_code == 404, name
        assert other.post(url(name, draft), data, **HTMX).status_code == 404, name
    assert other.get(url("draft_revisions", draft)).status_code == 404
    job_url = reverse("generation:generation_job_detail", kwargs={"job_id": job.pk})
    assert other.get(job_url).status_code == 404
    assert other.get(job_url, **HTMX).status_code == 404
    cancel = reverse("generation:generation_job_cancel", kwargs={"job_id": job.pk})
    assert other.post(cancel).status_code == 404
    assert snapshot(draft) == before
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert GenerationJob.objects.count() == 1 and not TrainingExample.objects.exists()
