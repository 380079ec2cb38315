"""The product's copy page: ask for drafts, watch progress, accept or reject, banned words."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from catalog import services as catalog_services
from generation import services
from generation.models import Draft, DraftStatus, GenerationJob, TrainingExample
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client(merchant_account) -> Client:
    client = Client()
    assert client.login(username="acme", password=PASSWORD)
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


def _copy_url(product) -> str:
    return reverse("generation:product_copy", kwargs={"product_id": product.pk})


def _draft(product, text, **extra) -> Draft:
    draft = Draft.objects.create(
        product=product,
        field="title",
        language="en",
        text=text,
        source_attributes=[[a.key, a.value] for a in product.attributes.all()],
        **extra,
    )
    services._recheck(draft)
    draft.save()
    return draft


def test_generate_from_the_page_then_see_drafts(
    tiny_model, celery_eager, django_capture_on_commit_callbacks, client, product
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _copy_url(product),
            {"fields": ["title", "tags"], "tone": "playful", "length": "short", "channel": "generic"},
        )
    job = GenerationJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{_copy_url(product)}?job={job.pk}"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert job.drafts.count() == 2
    body = page.content.decode()
    assert "Writing drafts" in body and "2 of 2 drafts" in body
    assert 'value="tags" id="id_fields_3" checked' in body  # the form keeps the job's options
    assert '<option value="playful" selected>' in body
    for draft in job.drafts.all():
        assert f'action="{reverse("generation:draft_decide", kwargs={"draft_id": draft.pk})}"' in body


def test_the_progress_poll_stops_when_the_job_ends(client, product, merchant_account) -> None:
    job = services.generation_job_create(
        merchant=merchant_account.merchant, product_ids=[product.pk], fields=["title"], enqueue=False
    )
    running = client.get(f"{_copy_url(product)}?job={job.pk}", **HTMX)
    assert running.status_code == 200
    assert 'hx-trigger="every 1s"' in running.content.decode()
    assert "<html" not in running.content.decode()  # the partial only
    services.generation_job_cancel(job=job)
    done = client.get(f"{_copy_url(product)}?job={job.pk}", **HTMX)
    assert done.status_code == 286
    assert "every 1s" not in done.content.decode()


def test_bad_requests_show_errors_and_queue_nothing(client, product) -> None:
    missing = client.post(_copy_url(product), {"tone": "playful", "length": "short", "channel": "generic"})
    assert missing.status_code == 200 and "This field is required" in missing.content.decode()
    wrong = client.post(
        _copy_url(product),
        {"fields": ["title"], "language": "en", "tone": "playful", "length": "short", "channel": "taobao"},
    )
    assert "written in &#x27;zh&#x27;" in wrong.content.decode()
    assert not GenerationJob.objects.exists()


def test_ungrounded_claims_are_marked_and_generated_text_escaped(client, product) -> None:
    _draft(product, "Apple iPhone 13 with the A16 chip <script>alert(document.cookie)</script>")
    body = client.get(_copy_url(product)).content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in body
    assert (
        '<mark class="flag flag--model" title="&#x27;A16&#x27; is not in the attributes">A16</mark>' in body
    )


def test_accept_and_reject_from_the_page(client, product) -> None:
    draft = _draft(product, "Apple iPhone 13 with the A15 Bionic chip")
    url = reverse("generation:draft_decide", kwargs={"draft_id": draft.pk})
    response = client.post(url, {"action": "accept", "version": "1"}, follow=True)
    draft.refresh_from_db()
    assert draft.status == DraftStatus.ACCEPTED
    assert TrainingExample.objects.filter(draft=draft).exists()
    assert "Draft accepted." in response.content.decode()
    assert "Published copy" in response.content.decode()

    other = _draft(product, "Apple iPhone 13")
    client.post(
        reverse("generation:draft_decide", kwargs={"draft_id": other.pk}),
        {"action": "reject", "version": "1"},
    )
    other.refresh_from_db()
    assert other.status == DraftStatus.REJECTED


def test_a_stale_or_incomplete_decision_changes_nothing(client, product) -> None:
    draft = _draft(product, "Apple iPhone 13")
    Draft.objects.filter(pk=draft.pk).update(version=2)
    url = reverse("generation:draft_decide", kwargs={"draft_id": draft.pk})
    stale = client.post(url, {"action": "accept", "version": "1"})
    assert stale.status_code == 409
    assert "Someone else changed this draft" in stale.content.decode()
    incomplete = client.post(url, {"action": "publish", "version": "2"})
    assert incomplete.status_code == 422
    assert "incomplete" in incomplete.content.decode()
    draft.refresh_from_db()
    assert draft.status == DraftStatus.PROPOSED and draft.version == 2


def test_banned_words_page(client, merchant_account) -> None:
    url = reverse("generation:copy_settings")
    response = client.post(url, {"banned_words": "cheap\n\n knock off \nCheap"}, follow=True)
    assert "Copy settings saved." in response.content.decode()
    assert services.copy_settings_get(merchant=merchant_account.merchant).banned_words == [
        "cheap",
        "knock off",
    ]
    too_long = client.post(url, {"banned_words": "x" * 61})
    assert too_long.status_code == 200 and "longer than 60 characters" in too_long.content.decode()


def test_another_merchants_product_and_draft_are_404(other_merchant_account, product) -> None:
    client = Client()
    client.force_login(other_merchant_account.user)
    draft = _draft(product, "Apple iPhone 13")
    assert client.get(_copy_url(product)).status_code == 404
    assert client.post(_copy_url(product), {"fields": ["title"]}).status_code == 404
    decide = reverse("generation:draft_decide", kwargs={"draft_id": draft.pk})
    assert client.post(decide, {"action": "accept", "version": "1"}).status_code == 404
    draft.refresh_from_db()
    assert draft.status == DraftStatus.PROPOSED


def test_the_page_says_when_the_day_one_model_is_still_training(client, product) -> None:
    from catalog.models import JobStatus
    from generation.models import TrainingRun

    run = TrainingRun.objects.create(language="en", status=JobStatus.RUNNING, total=200, done=50)
    page = client.get(_copy_url(product)).content.decode()
    assert "The English copy model is being fine-tuned on the bootstrap corpus (25% done)" in page
    partial = client.get(_copy_url(product), **HTMX).content.decode()
    assert "25% done" in partial  # the notice updates with the polled panel
    TrainingRun.objects.filter(pk=run.pk).update(status=JobStatus.SUCCEEDED)
    assert "fine-tuned" not in client.get(_copy_url(product)).content.decode()


def test_admins_see_training_runs_and_model_scores(admin_client, merchant_account) -> None:
    from generation.models import ModelVersion, TrainingRun

    version = ModelVersion.objects.create(
        kind="adapter",
        language="en",
        name="bootstrap-en-abc",
        base_model="/base",
        adapter_path="/adapter",
        is_promoted=True,
        decision="Promoted: quality 20.0 → 30.0",
        metrics={"evaluation": {"k": {"metrics": {"chrf": 41.25, "rouge_l": 30.5, "ungrounded_rate": 0.1}}}},
    )
    TrainingRun.objects.create(language="en", total=10, done=4, version=version, log="4 steps")
    versions = admin_client.get(reverse("admin:generation_modelversion_changelist")).content.decode()
    assert "41.2 / 30.5 / 10%" in versions
    assert "Promoted: quality 20.0 → 30.0" in versions
    runs = admin_client.get(reverse("admin:generation_trainingrun_changelist")).content.decode()
    assert "40% (4/10)" in runs
    assert "bootstrap-en-abc" in runs
