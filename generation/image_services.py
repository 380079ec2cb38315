"""Writes for image variants: what the GAN can draw, image jobs and the gallery of drawn images.

The GAN code (generation.ml.gan) is plain torch and is imported inside the functions that run on
the worker, so web processes never load it. Training lives in gan_training, photo suggestions in
photo_suggestions.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction

from catalog import jobs
from catalog.models import JobStatus, Merchant, Product, ProductImage, User
from generation.models import (
    GeneratedImage,
    ImageJob,
    ImageModelVersion,
    ImageTrainingRun,
)

logger = logging.getLogger(__name__)

# Words in a product's name, category or attributes that name one of the GAN's categories.
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "t-shirt": ("t-shirt", "tshirt", "tee", "top", "t恤", "短袖"),
    "trouser": ("trouser", "trousers", "pants", "jeans", "chinos", "裤"),
    "pullover": ("pullover", "sweater", "jumper", "hoodie", "sweatshirt", "毛衣", "套头衫", "卫衣"),
    "dress": ("dress", "gown", "连衣裙", "裙"),
    "coat": ("coat", "jacket", "parka", "blazer", "外套", "夹克", "大衣"),
    "sandal": ("sandal", "sandals", "flip-flop", "slide", "凉鞋", "拖鞋"),
    "shirt": ("shirt", "blouse", "衬衫"),
    "sneaker": ("sneaker", "sneakers", "trainer", "trainers", "running shoe", "shoe", "运动鞋", "跑鞋"),
    "bag": ("bag", "handbag", "backpack", "tote", "purse", "包"),
    "ankle boot": ("boot", "boots", "ankle boot", "靴"),
}
COLOUR_KEYS = ("colour", "color", "颜色")


class ImageModelUnavailable(ValidationError):
    """No GAN is trained yet; the message says what is happening instead."""


def gan_store_dir() -> Path:
    """Where GAN runs, artifacts and the judging classifier live, inside the model store."""
    return Path(settings.COPILOT_MODEL_STORE) / "gan"


# --- What the GAN can draw --------------------------------------------------------------------


def gan_category_for(product: Product) -> str | None:
    """The GAN category a product is, judged from its category, name and attributes."""
    text = " ".join(
        [product.category, product.name, *(f"{a.key} {a.value}" for a in product.attributes.all())]
    ).lower()
    best: tuple[int, str] | None = None
    for category, words in CATEGORY_WORDS.items():
        for word in words:
            pattern = re.escape(word) if re.search(r"[\u4e00-\u9fff]", word) else rf"\b{re.escape(word)}\b"
            match = re.search(pattern, text)
            # The longest matching word wins ("running shoe" over "shoe", "t-shirt" over "shirt").
            if match and (best is None or len(word) > best[0]):
                best = (len(word), category)
    return best[1] if best else None


def _colour_choice(name: str) -> str:
    from generation.ml.gan.labels import COLOURS, colour_index

    try:
        return COLOURS[colour_index(name)].en
    except ValueError as exc:
        raise ValidationError({"colour": str(exc)}) from exc


def promoted_image_model(merchant: Merchant | None) -> ImageModelVersion | None:
    """The merchant's own promoted GAN if it has one, else the shared one."""
    versions = ImageModelVersion.objects.filter(is_promoted=True)
    own = versions.filter(merchant=merchant).first() if merchant else None
    return own or versions.filter(merchant__isnull=True).first()


def _training_message() -> str:
    run = ImageTrainingRun.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).first()
    if run is None:
        return (
            "No image model has been trained yet. An operator can train the demo model with "
            "`manage.py train_gan` (or `make run`, which queues it)."
        )
    return f"The image model is still being trained ({run.percent}% done); try again when it has finished."


# --- Image jobs -------------------------------------------------------------------------------


def image_job_create(
    *,
    merchant: Merchant,
    product: Product,
    count: int,
    colour: str = "",
    category: str = "",
    user: User | None = None,
    enqueue: bool = True,
) -> ImageJob:
    """Queue `count` variants of a product in a colour; refuse clearly what cannot be drawn."""
    if product.merchant_id != merchant.pk:
        raise ValidationError({"product_id": "No such product in your catalog."})
    if not 1 <= count <= settings.COPILOT_IMAGE_JOB_MAX_COUNT:
        raise ValidationError({"count": f"Ask for 1 to {settings.COPILOT_IMAGE_JOB_MAX_COUNT} images."})
    version = promoted_image_model(merchant)
    if version is None:
        raise ImageModelUnavailable(_training_message())
    from generation.ml.gan.labels import CATEGORIES, category_index

    if category:
        try:
            category = CATEGORIES[category_index(category)].en
        except ValueError as exc:
            raise ValidationError({"category": str(exc)}) from exc
    else:
        category = gan_category_for(product) or ""
        if not category:
            known = ", ".join(c.en for c in CATEGORIES)
            raise ValidationError(
                {
                    "category": f"The image model draws only these kinds of product: {known}. None of them "
                    "is in this product's name, category or attributes; pick one."
                }
            )
    if not colour:
        colour = next((a.value for a in product.attributes.all() if a.key in COLOUR_KEYS), "")
        if not colour:
            raise ValidationError({"colour": "Pick a colour (the product has no colour attribute)."})
    colour = _colour_choice(colour)
    with transaction.atomic():
        job = ImageJob.objects.create(
            merchant=merchant,
            created_by=user,
            product=product,
            category=category,
            colour=colour,
            total=count,
            model_version=version,
        )
        if enqueue:
            transaction.on_commit(lambda: _enqueue(job))
    return job


def _enqueue(job: ImageJob) -> None:
    from generation.tasks import image_job_run

    jobs.job_enqueue(job, image_job_run)


@functools.lru_cache(maxsize=2)
def _sampler(artifact_path: str) -> Any:
    from generation.ml.gan.train import load_sampler

    return load_sampler(Path(artifact_path))


def image_job_run(*, job_id: int) -> ImageJob | None:
    """Draw the job's images one by one into the gallery; a re-run draws only what is missing."""
    job = ImageJob.objects.select_related("product", "model_version").filter(pk=job_id).first()
    if job is None:
        logger.warning("Image job %s no longer exists; nothing to do", job_id)
        return None
    if job.is_finished or not jobs.job_start(job):
        return job
    version = job.model_version
    if version is None:
        return jobs.job_finish(job, JobStatus.FAILED, message="The image model was deleted; start a new job.")
    from generation.ml.gan.labels import category_index, colour_index

    sampler = _sampler(version.artifact_path)
    drawn = job.images.count()
    for index in range(drawn, job.total):
        if jobs.job_stopped(job):
            return job
        [image] = sampler.sample(
            category_index(job.category), colour_index(job.colour), 1, seed=job.pk * 1000 + index
        )
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        generated = GeneratedImage(job=job, product=job.product)
        generated.image.save("variant.png", ContentFile(buffer.getvalue(), name="variant.png"), save=False)
        generated.save()
        job.done = index + 1
        job.save(update_fields=["done"])
    return jobs.job_finish(job, JobStatus.SUCCEEDED)


def image_job_fail(*, job_id: int, message: str) -> None:
    job = ImageJob.objects.filter(pk=job_id).first()
    if job:
        jobs.job_finish(job, JobStatus.FAILED, message=message)


def image_job_cancel(*, job: ImageJob) -> ImageJob:
    return jobs.job_cancel(job, message="Cancelled. Images drawn before the cancel are in the gallery.")


@transaction.atomic
def generated_image_accept(*, generated: GeneratedImage) -> ProductImage:
    """Copy a drawn variant into the product's images, labelled as generated."""
    generated = GeneratedImage.objects.select_for_update().select_related("product").get(pk=generated.pk)
    if generated.status != GeneratedImage.Status.WAITING:
        raise ValidationError(f"This image was already {generated.get_status_display().lower()}.")
    with generated.image.open("rb") as handle:
        data = handle.read()
    product_image = ProductImage(
        product=generated.product, original_name=f"generated-{generated.pk}.png", is_generated=True
    )
    product_image.image.save("generated.png", ContentFile(data, name="generated.png"), save=False)
    product_image.save()
    generated.status = GeneratedImage.Status.ACCEPTED
    generated.save(update_fields=["status"])
    return product_image


def generated_image_discard(*, generated: GeneratedImage) -> GeneratedImage:
    updated = GeneratedImage.objects.filter(pk=generated.pk, status=GeneratedImage.Status.WAITING).update(
        status=GeneratedImage.Status.DISCARDED
    )
    if not updated:
        raise ValidationError("This image was already decided on.")
    generated.refresh_from_db()
    # The file goes; the row stays (the job's history) with no file to point at.
    generated.image.delete(save=False)
    GeneratedImage.objects.filter(pk=generated.pk).update(image="")
    return generated
