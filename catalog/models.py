"""Tenants, their users, products and the jobs that fill the catalog."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    CHINESE = "zh", _("Chinese")


class Merchant(models.Model):
    """A tenant. Every product, job and draft belongs to exactly one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in. A merchant's staff have a merchant; platform admins may not."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )


class Product(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="products")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=300)
    category = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    facts_changed_at = models.DateTimeField(
        default=timezone.now,
        help_text=_("When the name, category or attributes last changed: copy written before is stale."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "sku"], name="product_sku_unique_per_merchant")
        ]
        indexes = [models.Index(fields=["merchant", "category"])]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:product_detail", kwargs={"product_id": self.pk})


class ProductAttribute(models.Model):
    """One keyword of a product (brand=Apple, colour=black). Keys are unique per product."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="attributes")
    key = models.CharField(max_length=64)
    value = models.CharField(max_length=500)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "key"], name="attribute_key_unique_per_product")
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


def product_image_path(instance: ProductImage, filename: str) -> str:
    # The server chooses the name; the uploaded name is never used on disk.
    suffix = PurePosixPath(filename).suffix.lower()
    return f"products/{instance.product.merchant_id}/{uuid.uuid4().hex}{suffix}"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to=product_image_path, width_field="width", height_field="height")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    original_name = models.CharField(max_length=255, blank=True)
    is_generated = models.BooleanField(
        default=False, help_text=_("Drawn by the image model, not photographed.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name or self.image.name


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")

    @classmethod
    def finished(cls) -> frozenset[str]:
        return frozenset({cls.SUCCEEDED, cls.FAILED, cls.CANCELLED})


class BackgroundJob(models.Model):
    """What every job a person waits on has: a guarded status, progress and a readable error.

    The row, not the Celery result, is the truth; catalog.jobs holds the guarded transitions.
    """

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    celery_task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def is_finished(self) -> bool:
        return self.status in JobStatus.finished()

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.is_finished else 0
        return min(100, round(100 * self.done / self.total))


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSONL = "jsonl", "JSON Lines"


def import_file_path(instance: ImportJob, filename: str) -> str:
    return f"imports/{instance.merchant_id}/{uuid.uuid4().hex}.{instance.file_format}"


class ImportJob(BackgroundJob):
    """A catalog file being imported."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file = models.FileField(upload_to=import_file_path)
    original_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=8, choices=ImportFormat.choices)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text=_("[{row, column, message}]"))

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.original_name}, {self.status})"

    def get_absolute_url(self) -> str:
        return reverse("catalog:import_detail", kwargs={"import_id": self.pk})
