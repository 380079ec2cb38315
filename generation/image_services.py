"""Writes for product images: GAN training runs, image jobs, the gallery, photo suggestions.

The GAN code (generation.ml.gan) is plain torch and is imported inside the functions that run on
the worker, so web processes never load it.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction

from catalog import jobs
from catalog import services as catalog_services
from catalog.models import JobStatus, Merchant, Product, ProductImage, User
from generation.models import (
    AttributeSuggestion,
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


# --- Attribute suggestions from photos --------------------------------------------------------


def attribute_suggestions_create(*, product_image: ProductImage) -> list[AttributeSuggestion]:
    """Read the photo's dominant colours (and, with a trained model, its category) as suggestions."""
    from PIL import Image

    from generation.ml.image_attributes import dominant_colours, suggested_attributes

    product = product_image.product
    with product_image.image.open("rb") as handle, Image.open(handle) as image:
        colours = dominant_colours(image)
    existing = {(a.key, a.value.lower()) for a in product.attributes.all()}
    created = []
    shares = {c.name_en: c.share for c in colours} | {c.name_zh: c.share for c in colours}
    for key, value in suggested_attributes(colours, language=product.language):
        if (key, value.lower()) in existing:
            continue
        suggestion, _ = AttributeSuggestion.objects.get_or_create(
            product=product,
            image=product_image,
            key=key,
            value=value,
            defaults={"reason": f"{round(100 * shares.get(value, 0))}% of the product in the photo"},
        )
        created.append(suggestion)
    return created


CATEGORY_GUESS_CONFIDENCE = 0.6  # below this the judge's guess is not worth a merchant's attention
CATEGORY_KEYS = {"en": "garment", "zh": "款式"}


def judge_path() -> Path:
    from generation.ml.gan.labels import JUDGE_FILE

    return Path(settings.COPILOT_MODEL_STORE) / "gan" / JUDGE_FILE


def category_guess_enqueue(*, product_image: ProductImage) -> bool:
    """Queue the classifier's guess for a photo, once a classifier exists (it is trained with the GAN)."""
    if not judge_path().exists():
        return False
    from generation.tasks import image_category_guess

    image_category_guess.delay(product_image.pk)
    return True


def attribute_category_guess(*, job_id: int) -> AttributeSuggestion | None:
    """On the gpu queue: the project classifier's guess of what kind of product the photo shows."""
    photo = ProductImage.objects.select_related("product").filter(pk=job_id).first()
    if photo is None or not judge_path().exists():
        return None
    from PIL import Image

    from generation.ml.gan.classifier import load_classifier
    from generation.ml.gan.data import prepare_product_image
    from generation.ml.gan.labels import CATEGORIES

    with photo.image.open("rb") as handle, Image.open(handle) as image:
        tensor = prepare_product_image(image.convert("RGB"), 64)
    probabilities = load_classifier(judge_path()).category_probabilities(tensor[None])[0]
    best = int(probabilities.argmax())
    confidence = float(probabilities[best])
    if confidence < CATEGORY_GUESS_CONFIDENCE:
        return None
    language = photo.product.language if photo.product.language in CATEGORY_KEYS else "en"
    category = CATEGORIES[best]
    suggestion, _ = AttributeSuggestion.objects.get_or_create(
        product=photo.product,
        image=photo,
        key=CATEGORY_KEYS[language],
        value=category.zh if language == "zh" else category.en,
        defaults={"reason": f"the image classifier is {confidence:.0%} sure"},
    )
    return suggestion


@transaction.atomic
def attribute_suggestion_accept(*, suggestion: AttributeSuggestion) -> None:
    suggestion = AttributeSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != AttributeSuggestion.Status.PENDING:
        raise ValidationError("This suggestion was already decided on.")
    catalog_services.product_attribute_add(
        product=suggestion.product, key=suggestion.key, value=suggestion.value
    )
    suggestion.status = AttributeSuggestion.Status.ACCEPTED
    suggestion.save(update_fields=["status"])


def attribute_suggestion_dismiss(*, suggestion: AttributeSuggestion) -> None:
    AttributeSuggestion.objects.filter(pk=suggestion.pk, status=AttributeSuggestion.Status.PENDING).update(
        status=AttributeSuggestion.Status.DISMISSED
    )


# --- Training the GAN -------------------------------------------------------------------------


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
    target = Path(settings.COPILOT_MODEL_STORE) / "gan" / f"version-{run.pk}"
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
        store_dir=Path(settings.COPILOT_MODEL_STORE) / "gan",
        data_root=settings.COPILOT_FASHION_MNIST_DIR,
        judge_steps=settings.COPILOT_GAN_JUDGE_STEPS,
        real_images=settings.COPILOT_GAN_EVAL_IMAGES,
        held_out_images=settings.COPILOT_GAN_EVAL_IMAGES,
    ) | {"steps": result.steps, "images_per_second": round(result.images_per_second, 1)}


def training_work_dir(run: ImageTrainingRun) -> Path:
    """Checkpoints and sample grids of one run; a re-run of the same row resumes from here."""
    return Path(settings.COPILOT_MODEL_STORE) / "gan" / "runs" / str(run.pk)


def image_training_fail(*, job_id: int, message: str) -> None:
    run = ImageTrainingRun.objects.filter(pk=job_id).first()
    if run:
        jobs.job_finish(run, JobStatus.FAILED, message=message)
