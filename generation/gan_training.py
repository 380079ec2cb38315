"""Training the product-image GAN: runs on the gpu queue (or `manage.py train_gan`), then promotion.

Every run checkpoints into its own folder, so a run handed to another worker resumes; the finished
generator is judged by the project's classifier, saved atomically and promoted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from catalog import jobs
from catalog.models import JobStatus, Merchant, ProductImage
from generation.image_services import COLOUR_KEYS, gan_category_for, gan_store_dir
from generation.models import ImageModelVersion, ImageTrainingRun


def image_training_start(
    *,
    source: str = ImageModelVersion.Source.FASHION_MNIST,
    merchant: Merchant | None = None,
    config: dict | None = None,
    enqueue: bool = True,
) -> ImageTrainingRun:
    """Queue a GAN training run on the gpu queue."""
    if source not in ImageModelVersion.Source.values:
        raise ValidationError({"source": f"Unknown source '{source}'."})
    if source == ImageModelVersion.Source.CATALOG and merchant is None:
        raise ValidationError({"source": "Training on catalog photos needs a merchant."})
    with transaction.atomic():
        run = ImageTrainingRun.objects.create(merchant=merchant, source=source, config=config or {})
        if enqueue:
            transaction.on_commit(lambda: _enqueue_training(run))
    return run


def _enqueue_training(run: ImageTrainingRun) -> None:
    from generation.tasks import image_training_run

    jobs.job_enqueue(run, image_training_run)


def image_training_demo_queue() -> ImageTrainingRun | None:
    """Queue the small demo training once, when no GAN exists and none is training."""
    if ImageModelVersion.objects.exists():
        return None
    if ImageTrainingRun.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists():
        return None
    return image_training_start(config={"max_steps": settings.COPILOT_GAN_DEMO_STEPS})


PROGRESS_EVERY = 5  # steps between progress writes and cancel checks


def _training_dataset(run: ImageTrainingRun, image_size: int) -> Any:
    from PIL import Image

    from generation.ml.gan.data import TintedFashionMNIST, catalog_dataset
    from generation.ml.gan.labels import category_index, colour_index

    if run.source == ImageModelVersion.Source.FASHION_MNIST:
        return TintedFashionMNIST(
            settings.COPILOT_FASHION_MNIST_DIR, "train", image_size=image_size, limit=run.config.get("limit")
        )
    samples = []
    photos = ProductImage.objects.filter(product__merchant=run.merchant, is_generated=False).select_related(
        "product"
    )
    for photo in photos.prefetch_related("product__attributes"):
        category = gan_category_for(photo.product)
        colour = next((a.value for a in photo.product.attributes.all() if a.key in COLOUR_KEYS), "")
        try:
            ids = (category_index(category or ""), colour_index(colour))
        except ValueError:
            continue  # not a kind or colour the model knows
        with photo.image.open("rb") as handle, Image.open(handle) as image:
            samples.append((image.convert("RGB"), *ids))
    if not samples:
        raise ValidationError(
            "None of the catalog's photos shows a product whose category and colour the image model "
            "knows (a clothing kind, and a colour attribute such as red or blue)."
        )
    return catalog_dataset(samples, image_size)


def image_training_run(
    *, job_id: int, report: Callable[[int, int, dict[str, float]], None] | None = None
) -> ImageTrainingRun | None:
    """Train, evaluate with the project's classifier, save atomically, promote. Resumes after a crash."""
    run = ImageTrainingRun.objects.filter(pk=job_id).first()
    if run is None:
        return None
    if run.is_finished or not jobs.job_start(run):
        return run
    from generation.ml.gan import train as gan_train

    config = gan_train.GanConfig.from_dict({"image_size": settings.COPILOT_GAN_IMAGE_SIZE, **run.config})
    try:
        dataset = _training_dataset(run, config.image_size)
    except (ValidationError, FileNotFoundError) as exc:
        message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return jobs.job_finish(run, JobStatus.FAILED, message=message)
    work_dir = training_work_dir(run)
    steps_per_epoch = max(1, len(dataset) // config.batch_size)
    total = min(config.max_steps or 10**9, config.epochs * steps_per_epoch)
    ImageTrainingRun.objects.filter(pk=run.pk).update(total=total)
    stopped = {"value": False}

    def progress(step: int, total_steps: int, losses: dict[str, float]) -> None:
        if report is not None:
            report(step, total_steps, losses)
        if step % PROGRESS_EVERY == 0 or step == total_steps:
            ImageTrainingRun.objects.filter(pk=run.pk).update(done=step)
            stopped["value"] = jobs.job_stopped(run)

    result = gan_train.train_gan(
        config,
        dataset,
        work_dir,
        resume=(work_dir / gan_train.CHECKPOINT_NAME).exists(),
        progress=progress,
        should_stop=lambda: stopped["value"],
    )
    if result.stopped:
        run.refresh_from_db()
        return run
    metrics = _evaluate(result, config)
    target = gan_store_dir() / f"version-{run.pk}"
    gan_train.save_artifact(result, target, metrics=metrics, name=f"gan-{run.source}-{run.pk}")
    with transaction.atomic():
        ImageModelVersion.objects.filter(merchant=run.merchant, is_promoted=True).update(is_promoted=False)
        version = ImageModelVersion.objects.create(
            merchant=run.merchant,
            source=run.source,
            artifact_path=str(target),
            image_size=config.image_size,
            steps=result.steps,
            metrics=metrics,
            is_promoted=True,
        )
        run.version = version
        run.log = f"{result.steps} steps in {result.seconds:.0f} s ({result.images_per_second:.1f} images/s)"
        run.save(update_fields=["version", "log"])
    return jobs.job_finish(run, JobStatus.SUCCEEDED)


def _evaluate(result: Any, config: Any) -> dict[str, Any]:
    """Scores from the project's classifier (trained once on the demo data and kept in the store)."""
    from generation.ml.gan import classifier as gan_classifier

    return gan_classifier.evaluate_checkpoint(
        result.checkpoint,
        store_dir=gan_store_dir(),
        data_root=settings.COPILOT_FASHION_MNIST_DIR,
        judge_steps=settings.COPILOT_GAN_JUDGE_STEPS,
        real_images=settings.COPILOT_GAN_EVAL_IMAGES,
        held_out_images=settings.COPILOT_GAN_EVAL_IMAGES,
    ) | {"steps": result.steps, "images_per_second": round(result.images_per_second, 1)}


def training_work_dir(run: ImageTrainingRun) -> Path:
    """Checkpoints and sample grids of one run; a re-run of the same row resumes from here."""
    return gan_store_dir() / "runs" / str(run.pk)


def image_training_fail(*, job_id: int, message: str) -> None:
    run = ImageTrainingRun.objects.filter(pk=job_id).first()
    if run:
        jobs.job_finish(run, JobStatus.FAILED, message=message)
