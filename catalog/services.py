"""Writes to the catalog. Views, the API, tasks and commands call these and nothing else."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, ImageOps, UnidentifiedImageError
from rest_framework.authtoken.models import Token

from catalog import importing, jobs
from catalog.models import (
    ImportJob,
    JobStatus,
    Merchant,
    Product,
    ProductAttribute,
    ProductImage,
    User,
)

logger = logging.getLogger(__name__)


# --- Merchants --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MerchantAccount:
    merchant: Merchant
    user: User
    token: str


@transaction.atomic
def merchant_create(*, name: str, username: str, password: str, slug: str = "") -> MerchantAccount:
    """Create a merchant with its first user and that user's API token."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A merchant needs a name."})
    slug = slug or slugify(name)[:64]
    if not slug:
        raise ValidationError({"name": "The name needs at least one letter or digit."})
    if Merchant.objects.filter(slug=slug).exists():
        raise ValidationError({"name": f"A merchant with the slug '{slug}' already exists."})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": f"The username '{username}' is taken."})
    merchant = Merchant.objects.create(name=name, slug=slug)
    user = User(username=username, merchant=merchant)
    user.set_password(password)
    user.full_clean()
    user.save()
    token = Token.objects.create(user=user)
    return MerchantAccount(merchant=merchant, user=user, token=token.key)


# --- Products ---------------------------------------------------------------------------------


def _clean_attributes(attributes: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    cleaned: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, value in attributes:
        key, value = str(key).strip().lower(), str(value).strip()
        if not key:
            raise ValidationError({"attributes": "Every attribute needs a key."})
        if len(key) > importing.MAX_KEY:
            raise ValidationError({"attributes": f"Key '{key[:20]}…' is too long."})
        if not importing.ATTRIBUTE_KEY.match(key):
            raise ValidationError(
                {"attributes": f"Key '{key}' may use letters, digits, spaces and - _ / ( ) . & % +."}
            )
        if not value:
            raise ValidationError({"attributes": f"Attribute '{key}' needs a value."})
        if len(value) > importing.MAX_VALUE:
            raise ValidationError({"attributes": f"The value of '{key}' is too long."})
        if key in seen:
            raise ValidationError({"attributes": f"Attribute '{key}' is given twice."})
        seen.add(key)
        cleaned.append((key, value))
    return cleaned


def _check_product(product: Product) -> None:
    product.full_clean(exclude=["merchant"], validate_unique=False)
    if any(ch.isspace() for ch in product.sku):
        raise ValidationError({"sku": f"'{product.sku}' contains spaces; a sku is one word."})
    clash = Product.objects.filter(merchant_id=product.merchant_id, sku=product.sku)
    if product.pk:
        clash = clash.exclude(pk=product.pk)
    if clash.exists():
        raise ValidationError({"sku": f"A product with sku '{product.sku}' already exists."})


@transaction.atomic
def product_create(
    *,
    merchant: Merchant,
    sku: str,
    name: str,
    category: str = "",
    language: str = "",
    attributes: Sequence[tuple[str, str]] = (),
) -> Product:
    product = Product(
        merchant=merchant,
        sku=sku.strip(),
        name=name.strip(),
        category=category.strip(),
        language=language or importing.guess_language(name),
    )
    _check_product(product)
    cleaned = _clean_attributes(attributes)
    product.save()
    _replace_attributes(product, cleaned)
    return product


@transaction.atomic
def product_update(
    *,
    product: Product,
    sku: str | None = None,
    name: str | None = None,
    category: str | None = None,
    language: str | None = None,
    attributes: Sequence[tuple[str, str]] | None = None,
) -> Product:
    """Change a product's fields; `attributes`, when given, replaces the whole set."""
    facts_before = _facts(product)
    for field, value in (("sku", sku), ("name", name), ("category", category), ("language", language)):
        if value is not None:
            setattr(product, field, value.strip())
    _check_product(product)
    if attributes is not None:
        cleaned = _clean_attributes(attributes)
        if cleaned != facts_before[2]:
            _replace_attributes(product, cleaned)
    if _facts(product) != facts_before:
        product.facts_changed_at = timezone.now()
    product.save()
    return product


def _facts(product: Product) -> tuple[str, str, list[tuple[str, str]]]:
    """What copy is written from: name, category and attributes in order."""
    return (product.name, product.category, list(product.attributes.values_list("key", "value")))


def _replace_attributes(product: Product, cleaned: list[tuple[str, str]]) -> None:
    product.attributes.all().delete()
    ProductAttribute.objects.bulk_create(
        ProductAttribute(product=product, key=k, value=v, position=i)
        for i, (k, v) in enumerate(cleaned)
    )


def product_delete(*, product: Product) -> None:
    for image in product.images.all():
        image.image.delete(save=False)
    product.delete()


@transaction.atomic
def product_attribute_add(*, product: Product, key: str, value: str) -> ProductAttribute:
    """Add an attribute, or change the value of the one with the same key."""
    ((key, value),) = _clean_attributes([(key, value)])
    existing = product.attributes.filter(key=key).first()
    if existing and existing.value == value:
        return existing
    if existing:
        existing.value = value
        existing.save(update_fields=["value"])
        attribute = existing
    else:
        last = product.attributes.order_by("-position").values_list("position", flat=True).first()
        attribute = ProductAttribute.objects.create(
            product=product, key=key, value=value, position=(last or 0) + 1
        )
    product.facts_changed_at = timezone.now()
    product.save(update_fields=["facts_changed_at", "updated_at"])
    return attribute


@transaction.atomic
def product_attribute_remove(*, attribute: ProductAttribute) -> None:
    product = attribute.product
    attribute.delete()
    product.facts_changed_at = timezone.now()
    product.save(update_fields=["facts_changed_at", "updated_at"])


# --- Images -----------------------------------------------------------------------------------

IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".png"}


def product_image_add(*, product: Product, upload: UploadedFile) -> ProductImage:
    """Store a verified image, re-encoded so that EXIF and anything else hidden is dropped."""
    max_bytes = settings.COPILOT_IMAGE_MAX_BYTES
    if upload.size and upload.size > max_bytes:
        raise ValidationError({"image": f"The image is larger than {_megabytes(max_bytes)}."})
    data = upload.read()
    max_pixels = settings.COPILOT_IMAGE_MAX_PIXELS
    too_big = f"the limit is {max_pixels:,} pixels."
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.width * probe.height > max_pixels:
                raise ValidationError(
                    {"image": f"The image is {probe.width}×{probe.height} pixels; {too_big}"}
                )
            # Phones save JPEGs with a second, preview picture (MPO); the first one is the photo.
            image_format = "JPEG" if probe.format == "MPO" else probe.format
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            # Turn the pixels the way the camera meant before its EXIF (and Orientation) is dropped.
            upright = ImageOps.exif_transpose(image)
            clean = _reencode(upright, image_format)
    except Image.DecompressionBombError as exc:
        raise ValidationError({"image": f"The image has far too many pixels; {too_big}"}) from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValidationError(
            {"image": "This is not an image we can read (JPEG, PNG, WebP or GIF)."}
        ) from exc
    if image_format not in IMAGE_FORMATS:
        raise ValidationError({"image": "Only JPEG, PNG, WebP and GIF images are accepted."})
    suffix = IMAGE_FORMATS[image_format]
    product_image = ProductImage(product=product, original_name=(upload.name or "")[:255])
    # Django 5.2 reads width/height from the content; a nameless ContentFile gives NULLs.
    name = f"upload{suffix}"
    product_image.image.save(name, ContentFile(clean, name=name), save=False)
    product_image.save()
    return product_image


def _megabytes(size: int) -> str:
    return f"{round(size / (1024 * 1024), 1):g} MB"  # 10 MB, 1 MB, 0.5 MB


def _reencode(image: Image.Image, image_format: str | None) -> bytes:
    # Pillow writes a JPEG's comment back unless it is dropped; nothing hidden may survive.
    image.info.pop("comment", None)
    out = io.BytesIO()
    if image_format == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=90)
    elif image_format == "WEBP":
        image.save(out, "WEBP", quality=90)
    else:
        if image.mode not in {"RGB", "RGBA", "L", "LA"}:
            image = image.convert("RGBA")
        image.save(out, "PNG")
    return out.getvalue()


def product_image_delete(*, product_image: ProductImage) -> None:
    product_image.image.delete(save=False)
    product_image.delete()


# --- Imports ----------------------------------------------------------------------------------


def import_job_create(
    *, merchant: Merchant, upload: UploadedFile, user: User | None = None, enqueue: bool = True
) -> ImportJob:
    """Store an uploaded catalog file and queue its import once the row is committed."""
    filename = (upload.name or "").strip()
    file_format = importing.detect_format(filename)
    if file_format is None:
        raise ValidationError({"file": "Upload a .csv or .jsonl (JSON Lines) file."})
    if upload.size > settings.COPILOT_IMPORT_MAX_BYTES:
        limit_mb = settings.COPILOT_IMPORT_MAX_BYTES // (1024 * 1024)
        raise ValidationError({"file": f"The file is larger than {limit_mb} MB; split it."})
    if upload.size == 0:
        raise ValidationError({"file": "The file is empty."})
    with transaction.atomic():
        job = ImportJob(
            merchant=merchant, created_by=user, original_name=filename[:255], file_format=file_format
        )
        job.file.save(filename, upload, save=False)
        job.save()
        if enqueue:
            transaction.on_commit(lambda: _enqueue_import(job))
    return job


def _enqueue_import(job: ImportJob) -> None:
    from catalog.tasks import import_run

    jobs.job_enqueue(job, import_run)


IMPORT_MAX_ATTEMPTS = 3


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run an import. Safe to run again after a crash: products are upserted by sku."""
    job = ImportJob.objects.select_related("merchant").filter(pk=job_id).first()
    if job is None:
        logger.warning("Import job %s no longer exists; nothing to do", job_id)
        return None
    if job.is_finished:
        logger.info("Import job %s already %s; nothing to do", job_id, job.status)
        return job
    if job.attempts >= IMPORT_MAX_ATTEMPTS:
        # Each attempt died with its worker (out of memory, say): stop handing it out.
        return _import_finish(
            job,
            JobStatus.FAILED,
            message=f"The import was interrupted {job.attempts} times and was stopped. "
            "Importing the same file again is safe: products are matched by sku.",
        )
    if not jobs.job_start(job, done=0):  # cancelled a moment ago
        return job

    try:
        with job.file.open("rb") as handle:
            data = handle.read()
        parsed = importing.parse_catalog(
            data, job.file_format, max_rows=settings.COPILOT_IMPORT_MAX_ROWS
        )
    except importing.ImportFileError as exc:
        return _import_finish(job, JobStatus.FAILED, message=str(exc))
    except FileNotFoundError:
        return _import_finish(job, JobStatus.FAILED, message="The uploaded file is missing.")

    if parsed.error_count:
        job.errors = [e.as_dict() for e in parsed.errors]
        rows = len({e.row for e in parsed.errors})
        shown = "" if parsed.error_count <= len(parsed.errors) else (
            f" (the first {len(parsed.errors)} of {parsed.error_count} are listed)"
        )
        message = (
            f"{parsed.error_count} problem{'s' if parsed.error_count != 1 else ''} in "
            f"{rows} row{'s' if rows != 1 else ''}{shown}; nothing was imported. "
            "Fix the rows and upload the file again."
        )
        return _import_finish(job, JobStatus.FAILED, message=message)

    job.total = len(parsed.rows)
    job.created_count = job.updated_count = 0
    job.save(update_fields=["total", "created_count", "updated_count"])
    batch_size = settings.COPILOT_IMPORT_BATCH_SIZE
    for start in range(0, len(parsed.rows), batch_size):
        if jobs.job_stopped(job):
            logger.info("Import job %s cancelled after %s of %s rows", job.pk, job.done, job.total)
            job.refresh_from_db()
            return job
        batch = parsed.rows[start : start + batch_size]
        created, updated = _upsert_rows(job.merchant, batch)
        job.done += len(batch)
        job.created_count += created
        job.updated_count += updated
        job.save(update_fields=["done", "created_count", "updated_count"])
    return _import_finish(job, JobStatus.SUCCEEDED)


def import_job_cancel(*, job: ImportJob) -> ImportJob:
    """Stop a queued or running import. Batches already written stay; the rest are skipped."""
    try:
        return jobs.job_cancel(
            job,
            message="Cancelled. Products written before the cancel are kept; importing the file "
            "again is safe.",
        )
    except ValidationError:
        raise ValidationError("This import has already finished.") from None


def import_job_fail(*, job_id: int, message: str) -> None:
    """Mark a job failed after an error nobody can retry away."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job:
        _import_finish(job, JobStatus.FAILED, message=message)


def _import_finish(job: ImportJob, status: str, *, message: str = "") -> ImportJob:
    return jobs.job_finish(job, status, message=message, errors=job.errors)


@transaction.atomic
def _upsert_rows(merchant: Merchant, rows: list[importing.CatalogRow]) -> tuple[int, int]:
    """Create or update one batch by sku. Attributes in the file are set; others are kept."""
    existing = {
        p.sku: p
        for p in Product.objects.select_for_update().filter(
            merchant=merchant, sku__in=[r.sku for r in rows]
        )
    }
    to_create = [
        Product(merchant=merchant, sku=r.sku, name=r.name, category=r.category, language=r.language)
        for r in rows
        if r.sku not in existing
    ]
    to_update = []
    now = timezone.now()
    for r in rows:
        product = existing.get(r.sku)
        if product and (product.name, product.category, product.language) != (
            r.name, r.category, r.language
        ):
            if (product.name, product.category) != (r.name, r.category):
                product.facts_changed_at = now
            product.name, product.category, product.language = r.name, r.category, r.language
            product.updated_at = now
            to_update.append(product)
    # bulk_create sets primary keys on the backends we run on (Postgres, SQLite 3.35+).
    Product.objects.bulk_create(to_create)
    Product.objects.bulk_update(
        to_update, ["name", "category", "language", "facts_changed_at", "updated_at"]
    )
    products = existing | {p.sku: p for p in to_create}
    current: dict[tuple[int, str], ProductAttribute] = {
        (a.product_id, a.key): a
        for a in ProductAttribute.objects.filter(product__in=existing.values())  # new ones have none
    }
    new_attributes, changed_attributes, touched = [], [], set()
    for r in rows:
        product = products[r.sku]
        for position, (key, value) in enumerate(r.attributes):
            attribute = current.get((product.pk, key))
            if attribute is None:
                new_attributes.append(
                    ProductAttribute(product=product, key=key, value=value, position=position)
                )
                touched.add(product.pk)
            elif attribute.value != value:
                attribute.value = value
                changed_attributes.append(attribute)
                touched.add(product.pk)
    ProductAttribute.objects.bulk_create(new_attributes)
    ProductAttribute.objects.bulk_update(changed_attributes, ["value"])
    stale = touched - {p.pk for p in to_create} - {p.pk for p in to_update}
    if stale:
        Product.objects.filter(pk__in=stale).update(updated_at=now, facts_changed_at=now)
    if touched & {p.pk for p in to_update}:
        Product.objects.filter(pk__in=touched & {p.pk for p in to_update}).update(facts_changed_at=now)
    return len(to_create), len(rows) - len(to_create)


def import_catalog_file(*, merchant: Merchant, path: str) -> ImportJob:
    """Import a file from disk in this process (for `manage.py import_catalog`), keeping a row."""
    from django.core.files import File

    with open(path, "rb") as handle:
        upload = File(handle, name=path.rsplit("/", 1)[-1])
        upload.size  # noqa: B018 - File computes size lazily; read it before the handle closes
        job = import_job_create(merchant=merchant, upload=upload, enqueue=False)  # type: ignore[arg-type]
    return import_job_run(job_id=job.pk) or job

