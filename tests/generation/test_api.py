"""The generation API: jobs (202 + polling), drafts, decisions, errors and scoping."""

from __future__ import annotations

import pytest

from catalog import services as catalog_services
from generation.models import Draft, DraftStatus, GenerationJob, TrainingExample

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(merchant_account):
    return catalog_services.product_create(
        merchant=merchant_account.merchant,
        sku="LAMP-1",
        name="Desk lamp",
        category="home",
        attributes=[("brand", "Lumo"), ("power", "8 W"), ("colour", "<b>white</b><script>x()</script>")],
    )


def _draft(product, text="Lumo desk lamp, 8 W") -> Draft:
    return Draft.objects.create(
        product=product,
        field="title",
        language="en",
        text=text,
        source_attributes=[[a.key, a.value] for a in product.attributes.all()],
    )


def test_create_a_job_then_poll_it(
    tiny_model, celery_eager, django_capture_on_commit_callbacks, api_client, product
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/generation-jobs/",
            {
                "product_ids": [product.pk],
                "fields": ["title", "tags"],
                "tone": "technical",
                "length": "short",
            },
            format="json",
        )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"] == f"/api/v1/generation-jobs/{body['id']}/"
    assert body["status"] == "queued"

    job = api_client.get(f"/api/v1/generation-jobs/{body['id']}/").json()
    assert job["status"] == "succeeded"
    assert job["progress"] == {"done": 2, "total": 2}
    assert job["error"] == "" and job["product_ids"] == [product.pk]

    drafts = api_client.get(f"/api/v1/drafts/?product={product.pk}&field=tags").json()["results"]
    assert len(drafts) == 1
    draft = drafts[0]
    assert draft["field"] == "tags" and draft["tone"] == "technical" and draft["status"] == "proposed"
    assert set(draft["grounding"]) >= {"coverage", "ungrounded"}
    assert draft["model_version"].startswith(tiny_model.name)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fields": ["title"]}, "product_ids"),
        ({"product_ids": "all", "fields": ["title"]}, "product_ids"),
        ({"product_ids": [1], "fields": ["poem"]}, "fields"),
        ({"product_ids": [1], "fields": ["title"], "tone": "rude"}, "tone"),
        ({"product_ids": [1], "fields": ["title"], "channel": "ebay"}, "channel"),
    ],
)
def test_bad_job_requests_get_400_and_a_reason(api_client, body, field) -> None:
    response = api_client.post("/api/v1/generation-jobs/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert response.json()["detail"]
    assert not GenerationJob.objects.exists()


def test_another_merchant_cannot_generate_for_my_products(other_api_client, product) -> None:
    response = other_api_client.post(
        "/api/v1/generation-jobs/", {"product_ids": [product.pk], "fields": ["title"]}, format="json"
    )
    assert response.status_code == 400
    assert "No product with id" in response.json()["detail"]
    assert "Desk lamp" not in response.content.decode()


def test_cancel_a_queued_job(api_client, product, merchant_account) -> None:
    response = api_client.post(
        "/api/v1/generation-jobs/", {"product_ids": [product.pk], "fields": ["title"]}, format="json"
    )
    job_id = response.json()["id"]
    cancelled = api_client.post(f"/api/v1/generation-jobs/{job_id}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api_client.post(f"/api/v1/generation-jobs/{job_id}/cancel/")
    assert again.status_code == 409 and "already finished" in again.json()["detail"]


def test_accept_with_version_and_edit(api_client, product) -> None:
    draft = _draft(product)
    response = api_client.post(
        f"/api/v1/drafts/{draft.pk}/accept/", {"version": 1, "text": "Lumo 8 W desk lamp"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "accepted" and response.json()["version"] == 2
    assert response.json()["text"] == "Lumo 8 W desk lamp"
    assert TrainingExample.objects.get().source == "edited"


def test_a_stale_accept_answers_409_and_changes_nothing(api_client, product) -> None:
    draft = _draft(product)
    Draft.objects.filter(pk=draft.pk).update(version=3)
    response = api_client.post(
        f"/api/v1/drafts/{draft.pk}/accept/", {"version": 2, "text": "Overwrite"}, format="json"
    )
    assert response.status_code == 409
    assert "version 3" in response.json()["detail"]
    assert response.json()["draft"]["text"] == "Lumo desk lamp, 8 W"
    draft.refresh_from_db()
    assert (draft.status, draft.text, draft.version) == (DraftStatus.PROPOSED, "Lumo desk lamp, 8 W", 3)
    assert not TrainingExample.objects.exists()


def test_accept_needs_a_version(api_client, product) -> None:
    response = api_client.post(f"/api/v1/drafts/{_draft(product).pk}/accept/", {}, format="json")
    assert response.status_code == 400 and "version" in response.json()["errors"]


def test_reject_and_regenerate(api_client, product) -> None:
    draft = _draft(product)
    rejected = api_client.post(f"/api/v1/drafts/{draft.pk}/reject/", {}, format="json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    again = api_client.post(f"/api/v1/drafts/{draft.pk}/reject/", {}, format="json")
    assert again.status_code == 400
    regenerated = api_client.post(
        f"/api/v1/drafts/{draft.pk}/regenerate/", {"tone": "playful"}, format="json"
    )
    assert regenerated.status_code == 202
    job = GenerationJob.objects.get(pk=regenerated.json()["id"])
    assert (job.fields, job.tone, job.language, list(job.products.all())) == (
        ["title"],
        "playful",
        "en",
        [product],
    )
    bad = api_client.post(f"/api/v1/drafts/{draft.pk}/regenerate/", {"length": "huge"}, format="json")
    assert bad.status_code == 400


def test_draft_filters_and_bad_filter(api_client, product) -> None:
    accepted = _draft(product)
    Draft.objects.filter(pk=accepted.pk).update(status=DraftStatus.ACCEPTED)
    waiting = _draft(product, "Another")
    ids = [d["id"] for d in api_client.get("/api/v1/drafts/?status=proposed").json()["results"]]
    assert ids == [waiting.pk]
    assert api_client.get("/api/v1/drafts/?product=abc").status_code == 400


def test_generated_markup_stays_text_in_json(api_client, product) -> None:
    draft = _draft(product, "<script>alert(1)</script> lamp")
    body = api_client.get(f"/api/v1/drafts/{draft.pk}/")
    assert body["Content-Type"] == "application/json"
    assert body.json()["text"] == "<script>alert(1)</script> lamp"


def test_drafts_of_another_merchant_are_not_found(other_api_client, product) -> None:
    draft = _draft(product)
    assert other_api_client.get(f"/api/v1/drafts/{draft.pk}/").status_code == 404
    assert (
        other_api_client.post(f"/api/v1/drafts/{draft.pk}/accept/", {"version": 1}, format="json").status_code
        == 404
    )
    assert other_api_client.get("/api/v1/drafts/").json()["results"] == []


def test_the_worker_reports_an_unavailable_model_as_a_readable_failure(
    settings, celery_eager, django_capture_on_commit_callbacks, api_client, product, tmp_path
) -> None:
    settings.COPILOT_BASE_MODEL_EN = str(tmp_path / "no-model-here")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/generation-jobs/", {"product_ids": [product.pk], "fields": ["title"]}, format="json"
        )
    job = api_client.get(f"/api/v1/generation-jobs/{response.json()['id']}/").json()
    assert job["status"] == "failed"
    assert job["error"].startswith("The language model is unavailable:")
    assert "COPILOT_BASE_MODEL_EN" in job["error"]
