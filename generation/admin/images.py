"""Admin for the image models, their training runs, image jobs and photo suggestions."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from generation.admin.base import ReadOnlyAdmin
from generation.models import (
    AttributeSuggestion,
    GeneratedImage,
    ImageJob,
    ImageModelVersion,
    ImageTrainingRun,
)


@admin.register(ImageModelVersion)
class ImageModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["id", "source", "image_size", "steps", "merchant", "is_promoted", "scores", "created_at"]
    list_filter = ["source", "is_promoted"]
    readonly_fields = ["metrics"]

    @admin.display(description=_("classifier match / Fréchet distance"))
    def scores(self, version: ImageModelVersion) -> str:
        metrics = version.metrics or {}
        if "both_match" not in metrics:
            return "—"
        return f"{metrics['both_match']:.0%} / {metrics.get('frechet_distance', float('nan')):.2f}"


@admin.register(ImageTrainingRun)
class ImageTrainingRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "source", "merchant", "status", "done", "total", "created_at"]
    list_filter = ["status", "source"]


class GeneratedImageInline(admin.TabularInline):
    model = GeneratedImage
    extra = 0
    fields = ["preview", "status", "width", "height", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("preview"))
    def preview(self, generated: GeneratedImage) -> str:
        url = f"/products/{generated.product_id}/variants/{generated.pk}/"
        return format_html('<img src="{}" alt="" style="max-height:64px">', url)


@admin.register(ImageJob)
class ImageJobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "product",
        "merchant",
        "colour",
        "category",
        "status",
        "done",
        "total",
        "created_at",
    ]
    list_filter = ["status", "colour", "category", "merchant"]
    list_select_related = ["product", "merchant"]
    inlines = [GeneratedImageInline]


@admin.register(AttributeSuggestion)
class AttributeSuggestionAdmin(ReadOnlyAdmin):
    merchant_path = "product__merchant"
    list_display = ["id", "product", "key", "value", "status", "created_at"]
    list_filter = ["status", "key"]
    list_select_related = ["product"]
