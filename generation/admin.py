"""Admin for generation rows. Decisions on drafts go through the same services as the editor."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from generation import services
from generation.models import (
    AttributeSuggestion,
    CopySettings,
    Draft,
    DraftRevision,
    GeneratedImage,
    GenerationJob,
    ImageJob,
    ImageModelVersion,
    ImageTrainingRun,
    ModelVersion,
    TrainingExample,
    TrainingRun,
)
from shop_copilot.admin_scoping import MerchantScopedAdmin


class ReadOnlyAdmin(MerchantScopedAdmin):
    """Rows written by services only: admins look, filter and act through actions."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CopySettings)
class CopySettingsAdmin(MerchantScopedAdmin):
    list_display = ["merchant", "banned_words"]

    def save_model(self, request, obj, form, change) -> None:
        if not request.user.is_superuser:
            obj.merchant_id = self.user_merchant_id(request)
        services.copy_settings_update(merchant=obj.merchant, banned_words=obj.banned_words or [])


@admin.register(GenerationJob)
class GenerationJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "status", "done", "total", "channel", "tone", "length", "created_at"]
    list_filter = ["status", "channel", "language", "merchant"]
    list_select_related = ["merchant"]
    actions = ["cancel_jobs"]
    exclude = ["products"]

    @admin.action(description=_("Cancel the selected generation jobs"))
    def cancel_jobs(self, request, queryset) -> None:
        cancelled = finished = 0
        for job in queryset:
            try:
                services.generation_job_cancel(job=job)
            except ValidationError:
                finished += 1
            else:
                cancelled += 1
        message = _("%(count)d jobs cancelled.") % {"count": cancelled}
        if finished:
            message += " " + _("%(count)d had already finished.") % {"count": finished}
        self.message_user(request, message)


class DraftRevisionInline(admin.TabularInline):
    model = DraftRevision
    extra = 0
    fields = ["version", "text", "author", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class VisibleModelVersionFilter(admin.RelatedFieldListFilter):
    """Lists shared models and the staff user's own merchant's adapters, never another's."""

    def field_choices(self, field, request, model_admin):
        versions = ModelVersion.objects.all()
        if not request.user.is_superuser:
            merchant_id = getattr(request.user, "merchant_id", None)
            versions = versions.filter(Q(merchant__isnull=True) | Q(merchant_id=merchant_id))
        return [(version.pk, str(version)) for version in versions]


@admin.register(Draft)
class DraftAdmin(ReadOnlyAdmin):
    merchant_path = "product__merchant"
    list_display = ["id", "product", "field", "language", "channel", "status", "has_ungrounded", "created_at"]
    list_filter = [
        "status",
        "field",
        "language",
        "channel",
        "has_ungrounded",
        ("model_version", VisibleModelVersionFilter),
    ]
    search_fields = ["text", "product__sku", "product__name"]
    list_select_related = ["product"]
    inlines = [DraftRevisionInline]


@admin.register(TrainingExample)
class TrainingExampleAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "merchant",
        "product_name",
        "field",
        "language",
        "source",
        "edit_distance",
        "created_at",
    ]
    list_filter = ["source", "field", "language", "merchant"]
    search_fields = ["product_name", "target_text"]
    list_select_related = ["merchant"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["name", "language", "kind", "merchant", "is_promoted", "scores", "decision", "created_at"]
    list_filter = ["language", "kind", "is_promoted"]
    readonly_fields = ["metrics"]

    @admin.display(description=_("chrF / ROUGE-L / unsupported claims (held-out)"))
    def scores(self, version: ModelVersion) -> str:
        evaluations = (version.metrics or {}).get("evaluation") or {}
        if not evaluations:
            return "—"
        metrics = next(reversed(evaluations.values()))["metrics"]
        return f"{metrics['chrf']:.1f} / {metrics['rouge_l']:.1f} / {metrics['ungrounded_rate']:.0%}"


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "kind", "language", "merchant", "status", "progress", "examples", "version", "created_at"
    ]
    list_filter = ["status", "kind", "language"]
    list_select_related = ["merchant", "version"]
    readonly_fields = ["log", "config", "data_hash", "error_message"]

    @admin.display(description=_("progress"))
    def progress(self, run: TrainingRun) -> str:
        return f"{run.percent}% ({run.done}/{run.total})"


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
