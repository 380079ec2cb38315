"""Drafts of product copy, the jobs that write them, and what accepted copy teaches the model."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import BackgroundJob, Language, Merchant, Product


class CopyField(models.TextChoices):
    TITLE = "title", _("Title")
    DESCRIPTION = "description", _("Description")
    BULLETS = "bullets", _("Bullet points")
    TAGS = "tags", _("Search tags")
    AD_COPY = "ad_copy", _("Ad copy")
    SEO_META = "seo_meta", _("SEO meta description")


class Tone(models.TextChoices):
    PROFESSIONAL = "professional", _("Professional")
    PLAYFUL = "playful", _("Playful")
    LUXURY = "luxury", _("Luxury")
    TECHNICAL = "technical", _("Technical")
    FRIENDLY = "friendly", _("Friendly")


class Length(models.TextChoices):
    SHORT = "short", _("Short")
    MEDIUM = "medium", _("Medium")
    LONG = "long", _("Long")


class CopySettings(models.Model):
    """A merchant's house rules for generated copy."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="copy_settings")
    banned_words = models.JSONField(
        default=list, blank=True, help_text=_("Words and phrases drafts must never use.")
    )
    share_for_training = models.BooleanField(
        default=False,
        help_text=_(
            "Let this merchant's accepted copy train the shared model every merchant uses. "
            "Off: it trains only this merchant's own adapter."
        ),
    )

    class Meta:
        verbose_name_plural = "copy settings"

    def __str__(self) -> str:
        return f"Copy settings of {self.merchant}"


class ModelVersion(models.Model):
    """A model that writes drafts: a base model, or an adapter trained on top of one."""

    class Kind(models.TextChoices):
        BASE = "base", _("Base model")
        ADAPTER = "adapter", _("LoRA adapter")
        FULL = "full", _("Fully fine-tuned model")

    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="model_versions",
        help_text=_("Empty for models shared by every merchant."),
    )
    language = models.CharField(max_length=2, choices=Language.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.BASE)
    name = models.CharField(max_length=200)
    base_model = models.CharField(max_length=500, help_text=_("Folder of the base model."))
    adapter_path = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("The adapter's folder; for a full fine-tune, the whole model's."),
    )
    is_promoted = models.BooleanField(default=False)
    promoted_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When it last started writing copy; empty once rolled back.")
    )
    metrics = models.JSONField(default=dict, blank=True)
    decision = models.TextField(blank=True, help_text=_("Why it was promoted or not."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["language", "base_model"],
                condition=models.Q(kind="base"),
                name="one_base_version_per_model_folder",
            )
        ]

    def __str__(self) -> str:
        owner = self.merchant.slug if self.merchant_id else "shared"
        return f"{self.name} ({self.language}, {owner})"


class TrainingRun(BackgroundJob):
    """Fine-tuning a LoRA adapter on the gpu queue (or `manage.py retrain`); progress counts steps."""

    class Kind(models.TextChoices):
        BOOTSTRAP = "bootstrap", _("Bootstrap corpus")
        MERCHANT = "merchant", _("A merchant's accepted copy")
        GLOBAL = "global", _("Accepted copy of merchants who opted in")

    class Method(models.TextChoices):
        LORA = "lora", _("LoRA adapter")
        FULL = "full", _("Full fine-tuning")

    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="training_runs",
        help_text=_("Empty for the shared adapter."),
    )
    language = models.CharField(max_length=2, choices=Language.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.BOOTSTRAP)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.LORA)
    config = models.JSONField(default=dict, blank=True, help_text=_("LoraConfig fields"))
    dataset = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("What the dataset builder kept, held out and excluded, and why."),
    )
    data_hash = models.CharField(max_length=64, blank=True, help_text=_("What the run learns from."))
    examples = models.PositiveIntegerField(default=0)
    version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="training_runs"
    )
    log = models.TextField(blank=True)

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"Training {self.pk} ({self.kind}, {self.language}, {self.status})"


class GenerationJob(BackgroundJob):
    """Drafts being written for one or many products and fields."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="generation_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    products = models.ManyToManyField(Product, related_name="generation_jobs")
    fields = models.JSONField(help_text=_('Copy fields to write, e.g. ["title", "bullets"].'))
    language = models.CharField(
        max_length=2,
        choices=Language.choices,
        blank=True,
        help_text=_("Empty: each product's own language."),
    )
    tone = models.CharField(max_length=16, choices=Tone.choices, default=Tone.PROFESSIONAL)
    length = models.CharField(max_length=8, choices=Length.choices, default=Length.MEDIUM)
    channel = models.CharField(max_length=32, default="generic")
    few_shot = models.BooleanField(default=True, help_text=_("Show the model accepted examples."))
    errors = models.JSONField(default=list, blank=True, help_text=_("[{product, sku, field, message}]"))

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"Generation {self.pk} ({self.status})"


class DraftStatus(models.TextChoices):
    PROPOSED = "proposed", _("Waiting for a decision")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    SUPERSEDED = "superseded", _("Superseded")


class Draft(models.Model):
    """One field's copy for one product. `version` increases on every change (optimistic lock)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="drafts")
    job = models.ForeignKey(
        GenerationJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="drafts"
    )
    field = models.CharField(max_length=16, choices=CopyField.choices)
    language = models.CharField(max_length=2, choices=Language.choices)
    channel = models.CharField(max_length=32, default="generic")
    tone = models.CharField(max_length=16, choices=Tone.choices, default=Tone.PROFESSIONAL)
    length = models.CharField(max_length=8, choices=Length.choices, default=Length.MEDIUM)
    text = models.TextField()
    status = models.CharField(max_length=16, choices=DraftStatus.choices, default=DraftStatus.PROPOSED)
    version = models.PositiveIntegerField(default=1)
    grounding = models.JSONField(default=dict, blank=True)
    violations = models.JSONField(default=list, blank=True, help_text=_("Channel-rule problems."))
    has_ungrounded = models.BooleanField(default=False)
    score = models.FloatField(default=0.0)
    alternatives = models.JSONField(
        default=list, blank=True, help_text=_("The other candidates, best first.")
    )
    source_attributes = models.JSONField(
        default=list, help_text=_("The [key, value] pairs the draft was written from.")
    )
    few_shot_count = models.PositiveSmallIntegerField(default=0)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="drafts"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["product", "field", "status"]),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_field_display()} of {self.product.sku} ({self.status})"


class DraftRevision(models.Model):
    """The text of a draft at one version: generated, or as a person edited it."""

    class Kind(models.TextChoices):
        GENERATED = "generated", _("Written by the model")
        ALTERNATIVE = "alternative", _("Another candidate chosen")
        EDITED = "edited", _("Edited")
        RESTORED = "restored", _("Restored")

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.GENERATED)
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the model wrote it."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["draft", "version"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "version"], name="one_revision_per_draft_version")
        ]

    def __str__(self) -> str:
        return f"Revision {self.version} of draft {self.draft_id}"

    @property
    def written_by_model(self) -> bool:
        return self.kind in (self.Kind.GENERATED, self.Kind.ALTERNATIVE)


class TrainingExample(models.Model):
    """Accepted copy and what it was written from: what fine-tuning learns from."""

    class Source(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted as written")
        EDITED = "edited", _("Edited, then accepted")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="training_examples")
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="training_examples"
    )
    draft = models.OneToOneField(
        Draft, on_delete=models.SET_NULL, null=True, blank=True, related_name="training_example"
    )
    field = models.CharField(max_length=16, choices=CopyField.choices)
    language = models.CharField(max_length=2, choices=Language.choices)
    channel = models.CharField(max_length=32, default="generic")
    product_name = models.CharField(max_length=300)
    category = models.CharField(max_length=100, blank=True)
    input_attributes = models.JSONField(help_text=_("[[key, value], ...] as the model saw them."))
    target_text = models.TextField()
    source = models.CharField(max_length=16, choices=Source.choices)
    edit_distance = models.PositiveIntegerField(
        default=0, help_text=_("Words inserted, deleted or changed by the merchant.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["merchant", "field", "language"])]

    def __str__(self) -> str:
        return f"{self.get_field_display()} example for {self.product_name}"


# --- Images -----------------------------------------------------------------------------------


class ImageModelVersion(models.Model):
    """A trained conditional GAN (EMA generator) with the classifier scores it earned."""

    class Source(models.TextChoices):
        FASHION_MNIST = "fashion-mnist", _("Fashion-MNIST demo data")
        CATALOG = "catalog", _("Catalog photos")

    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="image_model_versions",
        help_text=_("Empty for the shared demo model."),
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    artifact_path = models.CharField(max_length=500)
    image_size = models.PositiveSmallIntegerField()
    steps = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    is_promoted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        owner = self.merchant.slug if self.merchant_id else "shared"
        return f"GAN {self.pk} ({self.source}, {self.image_size}px, {owner})"


class ImageTrainingRun(BackgroundJob):
    """Training a GAN on the gpu queue; progress counts optimisation steps."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, null=True, blank=True, related_name="image_training_runs"
    )
    source = models.CharField(max_length=16, choices=ImageModelVersion.Source.choices)
    config = models.JSONField(default=dict, blank=True, help_text=_("GanConfig fields"))
    version = models.ForeignKey(
        ImageModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    log = models.TextField(blank=True)

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"Image training {self.pk} ({self.source}, {self.status})"


class ImageJob(BackgroundJob):
    """Image variants of one product being drawn by the GAN."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="image_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="image_jobs")
    category = models.CharField(max_length=32)
    colour = models.CharField(max_length=32)
    model_version = models.ForeignKey(
        ImageModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="image_jobs"
    )

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"Image job {self.pk} ({self.colour} {self.category}, {self.status})"


def generated_image_path(instance: GeneratedImage, filename: str) -> str:
    return f"generated/{instance.product.merchant_id}/{uuid.uuid4().hex}.png"


class GeneratedImage(models.Model):
    """A drawn variant waiting in the gallery until the merchant accepts or discards it."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting for a decision")
        ACCEPTED = "accepted", _("Accepted into the product's images")
        DISCARDED = "discarded", _("Discarded")

    job = models.ForeignKey(ImageJob, on_delete=models.CASCADE, related_name="images")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="generated_images")
    image = models.ImageField(upload_to=generated_image_path, width_field="width", height_field="height")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Generated image {self.pk} of {self.product.sku} ({self.status})"


class AttributeSuggestion(models.Model):
    """An attribute read off a product photo, offered to the merchant for one-click acceptance."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Suggested")
        ACCEPTED = "accepted", _("Accepted")
        DISMISSED = "dismissed", _("Dismissed")

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="attribute_suggestions")
    image = models.ForeignKey(
        "catalog.ProductImage", on_delete=models.CASCADE, related_name="attribute_suggestions"
    )
    key = models.CharField(max_length=64)
    value = models.CharField(max_length=200)
    reason = models.CharField(
        max_length=200,
        blank=True,
        # xgettext:no-python-format
        help_text=_("e.g. '62% of the product's pixels'"),
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["image", "key", "value"], name="one_suggestion_per_image_value")
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value} for {self.product.sku} ({self.status})"
