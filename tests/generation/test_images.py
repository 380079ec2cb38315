"""Image variants and photo suggestions: services, API and pages, with a tiny GAN trained here."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from catalog import services as catalog_services
from catalog.models import JobStatus, ProductImage
from generation import gan_training, image_services, photo_suggestions
from generation.models import (
    AttributeSuggestion,
    GeneratedImage,
    ImageJob,
    ImageModelVersion,
    ImageTrainingRun,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def gan_version(tiny_gan_artifact) -> ImageModelVersion:
    return ImageModelVersion.objects.create(
        source="fashion-mnist", artifact_path=str(tiny_gan_artifact), image_size=32, is_promoted=True
    )


@pytest.fixture
def dress(merchant_account):
    return catalog_services.product_create(
        merchant=merchant_account.merchant,
        sku="DRESS-1",
        name="Linen summer dress",
        category="apparel",
        attributes=[("colour", "red"), ("material", "linen")],
    )


def png(rgb=(200, 30, 40), size=(120, 120), background=(255, 255, 255)) -> bytes:
    image = Image.new("RGB", size, background)
    image.paste(Image.new("RGB", (size[0] // 2, size[1] // 2), rgb), (size[0] // 4, size[1] // 4))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# --- what the GAN can draw --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "category", "expected"),
    [
        ("Linen summer dress", "apparel", "dress"),
        ("Trail running shoe", "shoes", "sneaker"),
        ("Oxford shirt", "apparel", "shirt"),
        ("纯棉T恤", "服装", "t-shirt"),
        ("Desk lamp", "home", None),
    ],
)
def test_the_gan_category_is_read_from_the_product(merchant_account, name, category, expected) -> None:
    product = catalog_services.product_create(
        merchant=merchant_account.merchant, sku="X", name=name, category=category
    )
    assert image_services.gan_category_for(product) == expected


def test_without_a_model_an_image_job_says_why(merchant_account, dress) -> None:
    with pytest.raises(image_services.ImageModelUnavailable, match="No image model has been trained yet"):
        image_services.image_job_create(merchant=merchant_account.merchant, product=dress, count=2)
    run = gan_training.image_training_start(enqueue=False)
    ImageTrainingRun.objects.filter(pk=run.pk).update(status="running", total=200, done=50)
    with pytest.raises(image_services.ImageModelUnavailable, match=r"still being trained \(25% done\)"):
        image_services.image_job_create(merchant=merchant_account.merchant, product=dress, count=2)
    assert not ImageJob.objects.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"count": 0}, "Ask for 1 to 16 images"),
        ({"count": 17}, "Ask for 1 to 16 images"),
        ({"count": 1, "colour": "chartreuse"}, "Unknown colour 'chartreuse'"),
        ({"count": 1, "category": "sofa"}, "Unknown category 'sofa'"),
    ],
)
def test_bad_image_requests_are_refused(gan_version, merchant_account, dress, options, message) -> None:
    with pytest.raises(ValidationError, match=message):
        image_services.image_job_create(merchant=merchant_account.merchant, product=dress, **options)


def test_a_product_the_model_cannot_draw_needs_a_category(gan_version, merchant_account) -> None:
    lamp = catalog_services.product_create(
        merchant=merchant_account.merchant, sku="L", name="Desk lamp", attributes=[("colour", "blue")]
    )
    with pytest.raises(ValidationError, match="draws only these kinds of product"):
        image_services.image_job_create(merchant=merchant_account.merchant, product=lamp, count=1)
    job = image_services.image_job_create(
        merchant=merchant_account.merchant, product=lamp, count=1, category="包", enqueue=False
    )
    assert (job.category, job.colour) == ("bag", "blue")


# --- drawing, the gallery ---------------------------------------------------------------------


def test_a_job_draws_into_the_gallery_and_keeping_one_labels_it(gan_version, merchant_account, dress) -> None:
    job = image_services.image_job_create(
        merchant=merchant_account.merchant, product=dress, count=3, colour="蓝色", enqueue=False
    )
    assert (job.colour, job.category, job.total) == ("blue", "dress", 3)
    job = image_services.image_job_run(job_id=job.pk)
    assert job.status == JobStatus.SUCCEEDED and job.done == 3
    images = list(job.images.all())
    assert [(g.width, g.height, g.status) for g in images] == [(32, 32, "waiting")] * 3

    kept = image_services.generated_image_accept(generated=images[0])
    assert kept.is_generated and kept.product == dress and kept.width == 32
    with pytest.raises(ValidationError, match="already"):
        image_services.generated_image_accept(generated=images[0])
    discarded_path = Path(images[1].image.path)
    image_services.generated_image_discard(generated=images[1])
    images[1].refresh_from_db()
    assert images[1].status == GeneratedImage.Status.DISCARDED
    assert not discarded_path.exists() and not images[1].image


def test_a_rerun_draws_only_what_is_missing_and_cancel_stops(gan_version, merchant_account, dress) -> None:
    job = image_services.image_job_create(
        merchant=merchant_account.merchant, product=dress, count=2, enqueue=False
    )
    job = image_services.image_job_run(job_id=job.pk)
    job.images.last().delete()
    ImageJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    job = image_services.image_job_run(job_id=job.pk)
    assert job.images.count() == 2 and job.attempts == 2

    other = image_services.image_job_create(
        merchant=merchant_account.merchant, product=dress, count=2, enqueue=False
    )
    image_services.image_job_cancel(job=other)
    assert image_services.image_job_run(job_id=other.pk).images.count() == 0


def test_image_jobs_api(
    gan_version, celery_eager, django_capture_on_commit_callbacks, api_client, dress
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/image-jobs/", {"product_id": dress.pk, "count": 2}, format="json")
    assert response.status_code == 202, response.json()
    body = api_client.get(f"/api/v1/image-jobs/{response.json()['id']}/").json()
    assert body["status"] == "succeeded" and body["progress"] == {"done": 2, "total": 2}
    assert body["colour"] == "red" and body["category"] == "dress"
    assert [i["status"] for i in body["images"]] == ["waiting", "waiting"]
    client = Client()
    client.force_login(dress.merchant.users.get())
    assert client.get(body["images"][0]["url"])["Content-Type"] == "image/png"


def test_image_jobs_api_errors(api_client, other_api_client, dress) -> None:
    no_model = api_client.post("/api/v1/image-jobs/", {"product_id": dress.pk, "count": 2}, format="json")
    assert no_model.status_code == 409 and "No image model" in no_model.json()["detail"]
    assert api_client.post("/api/v1/image-jobs/", {"count": 2}, format="json").status_code == 400
    rival = other_api_client.post("/api/v1/image-jobs/", {"product_id": dress.pk, "count": 1}, format="json")
    assert rival.status_code == 400 and "No such product" in rival.json()["detail"]


def test_the_images_page(gan_version, merchant_account, dress) -> None:
    client = Client()
    client.force_login(merchant_account.user)
    url = reverse("generation:product_images", kwargs={"product_id": dress.pk})
    assert "Generate image variants" in client.get(url).content.decode()
    response = client.post(url, {"colour": "green", "count": "2"})
    assert response.status_code == 302
    job = ImageJob.objects.get()
    assert job.colour == "green"
    poll = client.get(url, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and 'hx-trigger="every 2s"' in poll.content.decode()
    image_services.image_job_run(job_id=job.pk)
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done.status_code == 286 and done.content.decode().count("<img") == 2
    generated = job.images.first()
    decide = reverse(
        "generation:generated_image_decide", kwargs={"product_id": dress.pk, "generated_id": generated.pk}
    )
    client.post(decide, {"action": "accept"})
    assert ProductImage.objects.get(product=dress).is_generated
    product_page = client.get(dress.get_absolute_url()).content.decode()
    assert "generated" in product_page
    too_many = client.post(url, {"colour": "green", "count": "99"})
    assert "less than or equal to 16" in too_many.content.decode()


# --- photo suggestions ------------------------------------------------------------------------


def test_an_uploaded_photo_suggests_its_colour(django_capture_on_commit_callbacks, merchant_account) -> None:
    product = catalog_services.product_create(merchant=merchant_account.merchant, sku="M", name="Mug")
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.product_image_add(
            product=product,
            upload=SimpleUploadedFile("mug.png", png((30, 60, 200)), content_type="image/png"),
        )
    suggestion = AttributeSuggestion.objects.get(product=product)
    assert (suggestion.key, suggestion.status) == ("colour", "pending")
    assert "blue" in suggestion.value
    photo_suggestions.attribute_suggestion_accept(suggestion=suggestion)
    assert product.attributes.get(key="colour").value == suggestion.value
    with pytest.raises(ValidationError, match="already"):
        photo_suggestions.attribute_suggestion_accept(suggestion=suggestion)


def test_generated_images_and_known_colours_suggest_nothing(
    django_capture_on_commit_callbacks, merchant_account, dress
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.product_image_add(
            product=dress, upload=SimpleUploadedFile("d.png", png((200, 30, 40)), content_type="image/png")
        )
    assert not AttributeSuggestion.objects.filter(key="colour", value="red").exists()


# --- training ---------------------------------------------------------------------------------


@pytest.fixture
def small_training(settings, tmp_path):
    """Training runs write into a fresh store, briefly, at 32 px, with a quickly trained judge."""
    settings.COPILOT_MODEL_STORE = tmp_path / "store"
    settings.COPILOT_GAN_IMAGE_SIZE = 32
    settings.COPILOT_GAN_JUDGE_STEPS = 10
    settings.COPILOT_GAN_EVAL_IMAGES = 64
    return {"limit": 128, "batch_size": 32, "max_steps": 3, "base_channels": 8}


def test_a_training_run_trains_scores_saves_and_promotes(small_training, merchant_account, dress) -> None:
    old = ImageModelVersion.objects.create(
        source="fashion-mnist", artifact_path="/gone", image_size=32, is_promoted=True
    )
    run = gan_training.image_training_start(config=small_training, enqueue=False)
    run = gan_training.image_training_run(job_id=run.pk)
    assert run.status == JobStatus.SUCCEEDED, run.error_message
    assert (run.done, run.total) == (3, 3)
    version = run.version
    assert version.is_promoted and version.steps == 3 and version.image_size == 32
    assert {"category_match", "colour_match", "both_match", "frechet_distance"} <= set(version.metrics)
    assert (Path(version.artifact_path) / "manifest.json").exists()
    old.refresh_from_db()
    assert not old.is_promoted
    assert image_services.promoted_image_model(merchant_account.merchant) == version
    # The new model draws.
    job = image_services.image_job_create(
        merchant=merchant_account.merchant, product=dress, count=1, enqueue=False
    )
    assert image_services.image_job_run(job_id=job.pk).images.get().width == 32


def _run_cancelled_at_step_two(run: ImageTrainingRun, monkeypatch) -> ImageTrainingRun:
    """Run training as if a person cancelled it once two steps were done."""
    real_stopped = gan_training.jobs.job_stopped

    def cancel_at_step_two(job):
        job.refresh_from_db()
        if job.done >= 2 and not job.is_finished:
            gan_training.jobs.job_cancel(job, message="Cancelled.")
        return real_stopped(job)

    with monkeypatch.context() as patch:
        patch.setattr(gan_training, "PROGRESS_EVERY", 1)
        patch.setattr(gan_training.jobs, "job_stopped", cancel_at_step_two)
        return gan_training.image_training_run(job_id=run.pk)


def test_a_cancelled_training_run_stops_with_a_checkpoint(small_training, monkeypatch) -> None:
    small_training["max_steps"] = 50
    run = gan_training.image_training_start(config=small_training, enqueue=False)
    run = _run_cancelled_at_step_two(run, monkeypatch)
    assert run.status == JobStatus.CANCELLED and run.done < 50
    assert (gan_training.training_work_dir(run) / "checkpoint.pt").exists()
    assert not ImageModelVersion.objects.exists()


def test_catalog_training_needs_photos_it_can_use(small_training, merchant_account) -> None:
    run = gan_training.image_training_start(
        source="catalog", merchant=merchant_account.merchant, config=small_training, enqueue=False
    )
    run = gan_training.image_training_run(job_id=run.pk)
    assert run.status == JobStatus.FAILED
    assert "None of the catalog's photos" in run.error_message
    with pytest.raises(ValidationError, match="needs a merchant"):
        gan_training.image_training_start(source="catalog", enqueue=False)


def test_the_demo_training_is_queued_once(small_training) -> None:
    first = gan_training.image_training_demo_queue()
    assert first is not None and first.config == {"max_steps": 300}
    assert gan_training.image_training_demo_queue() is None


def test_train_gan_command(small_training, capsys) -> None:
    from django.core.management import call_command

    call_command("train_gan", "--max-steps", "2", "--limit", "64", "--batch-size", "32", "--image-size", "32")
    out = capsys.readouterr().out
    assert "2/2 steps" in out and "classifier match" in out
    assert ImageModelVersion.objects.get().is_promoted


@pytest.mark.integration
def test_a_worker_draws_an_image_job(celery_worker_process, tiny_gan_artifact, api_client, dress) -> None:
    """The gpu-queue task through a real Celery worker process and Redis."""
    import time

    ImageModelVersion.objects.create(
        source="fashion-mnist", artifact_path=str(tiny_gan_artifact), image_size=32, is_promoted=True
    )
    response = api_client.post(
        "/api/v1/image-jobs/", {"product_id": dress.pk, "count": 2, "colour": "green"}, format="json"
    )
    assert response.status_code == 202
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = api_client.get(f"/api/v1/image-jobs/{response.json()['id']}/").json()
        if body["status"] in {"succeeded", "failed", "cancelled"}:
            break
        time.sleep(0.5)
    assert body["status"] == "succeeded", body
    assert len(body["images"]) == 2
    assert GeneratedImage.objects.filter(product=dress, width=32).count() == 2


def test_the_classifier_guesses_what_a_photo_shows(settings, tmp_path, monkeypatch, merchant_account) -> None:
    from generation.ml.gan.classifier import demo_judge
    from generation.ml.gan.data import TintedFashionMNIST, to_pil
    from generation.ml.gan.labels import CATEGORIES

    settings.COPILOT_MODEL_STORE = tmp_path / "store"
    product = catalog_services.product_create(
        merchant=merchant_account.merchant, sku="Z", name="连衣裙", language="zh"
    )
    photo = catalog_services.product_image_add(
        product=product, upload=SimpleUploadedFile("d.png", png(), content_type="image/png")
    )
    # No classifier yet: nothing is queued and nothing is guessed.
    assert photo_suggestions.category_guess_enqueue(product_image=photo) is False
    assert photo_suggestions.attribute_category_guess(job_id=photo.pk) is None

    demo_judge(settings.COPILOT_MODEL_STORE / "gan", steps=150)
    dress_image, _, _ = TintedFashionMNIST(image_size=64, categories=[3], limit=1)[0]
    out = io.BytesIO()
    to_pil(dress_image).save(out, "PNG")
    dress_photo = catalog_services.product_image_add(
        product=product, upload=SimpleUploadedFile("dress.png", out.getvalue(), content_type="image/png")
    )
    monkeypatch.setattr(photo_suggestions, "CATEGORY_GUESS_CONFIDENCE", 0.0)
    suggestion = photo_suggestions.attribute_category_guess(job_id=dress_photo.pk)
    # A 150-step judge is not always right; the suggestion names one of the kinds, in Chinese.
    assert suggestion.key == "款式" and suggestion.value in {c.zh for c in CATEGORIES}
    assert "sure" in suggestion.reason
    monkeypatch.setattr(photo_suggestions, "CATEGORY_GUESS_CONFIDENCE", 1.01)
    other = catalog_services.product_image_add(
        product=product, upload=SimpleUploadedFile("dress2.png", out.getvalue(), content_type="image/png")
    )
    assert photo_suggestions.attribute_category_guess(job_id=other.pk) is None  # not sure enough


def test_train_gan_resume_continues_the_unfinished_run(small_training, monkeypatch, capsys) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no unfinished run"):
        call_command("train_gan", "--resume")
    small_training.update(max_steps=6, epochs=2)
    run = gan_training.image_training_start(config=small_training, enqueue=False)
    assert _run_cancelled_at_step_two(run, monkeypatch).status == JobStatus.CANCELLED

    call_command("train_gan", "--resume")
    resumed = ImageTrainingRun.objects.exclude(pk=run.pk).get()
    assert resumed.status == JobStatus.SUCCEEDED and resumed.config == run.config
    assert resumed.version.steps == 6
    assert "3/6 steps" in capsys.readouterr().out  # it started after the checkpoint, not at step 1
