"""Admin for copy: settings, jobs, drafts (decided through the editor's services), examples."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from generation import services
from generation.admin.base import ReadOnlyAdmin
from generation.models import (
    CopySettings,
    Draft,
    DraftRevision,
    GenerationJob,
    ModelVersion,
    TrainingExample,
)
from generation.templatetags.copy_tags import highlighted, problems
from shop_copilot.admin_scoping import MerchantScopedAdmin


@admin.register(CopySettings)
class CopySettingsAdmin(MerchantScopedAdmin):
    list_display = ["merchant", "banned_words", "share_for_training"]

    def save_model(self, request, obj, form, change) -> None:
        if not request.user.is_superuser:
            obj.merchant_id = self.user_merchant_id(request)
        services.copy_settings_update(
            merchant=obj.merchant,
            banned_words=obj.banned_words or [],
            share_for_training=obj.share_for_training,
        )


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


class UngroundedFilter(admin.BooleanFieldListFilter):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.title = _("has ungrounded claims")


@admin.register(Draft)
class DraftAdmin(ReadOnlyAdmin):
    """Review drafts: filter, read the grounding report, accept or reject through the services."""

    merchant_path = "product__merchant"
    list_display = [
        "id",
        "product_link",
        "merchant",
        "field",
        "language",
        "channel",
        "status",
        "ungrounded",
        "model_version",
        "created_at",
    ]
    list_filter = [
        "product__merchant",
        "status",
        "field",
        "language",
        "channel",
        ("has_ungrounded", UngroundedFilter),
        ("model_version", VisibleModelVersionFilter),
    ]
    search_fields = ["text", "product__sku", "product__name"]
    list_select_related = ["product__merchant", "model_version"]
    inlines = [DraftRevisionInline]
    actions = ["accept_drafts", "reject_drafts"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "product_links",
                    "job_link",
                    "field",
                    "language",
                    "channel",
                    "tone",
                    "length",
                    "status",
                    "version",
                    "model_version",
                    "few_shot_count",
                    "score",
                    "decided_by",
                    "decided_at",
                    "created_at",
                ]
            },
        ),
        (
            _("Grounding report"),
            {"fields": ["marked_text", "problem_list", "coverage", "used_attributes", "unused_attributes"]},
        ),
        (
            _("Stored data"),
            {
                "classes": ["collapse"],
                "fields": ["text", "alternatives", "source_attributes", "grounding", "violations"],
            },
        ),
    ]
    readonly_fields = [
        "product_links",
        "job_link",
        "marked_text",
        "problem_list",
        "coverage",
        "used_attributes",
        "unused_attributes",
    ]

    def get_list_filter(self, request: HttpRequest):
        # The merchant filter is on the product here; it too would list every merchant's name.
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        return [f for f in filters if f != self.merchant_path]

    def has_review_permission(self, request: HttpRequest) -> bool:
        """Deciding on a draft is its change permission, though the draft's form stays read-only."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    # --- the changelist ---

    @admin.display(description=_("product"), ordering="product__sku")
    def product_link(self, draft: Draft) -> str:
        url = reverse("admin:catalog_product_change", args=[draft.product_id])
        return format_html('<a href="{}">{}</a>', url, draft.product)

    @admin.display(description=_("merchant"), ordering="product__merchant__name")
    def merchant(self, draft: Draft) -> str:
        return str(draft.product.merchant)

    @admin.display(description=_("ungrounded claims"), boolean=True, ordering="has_ungrounded")
    def ungrounded(self, draft: Draft) -> bool:
        return draft.has_ungrounded

    # --- the change page ---

    @admin.display(description=_("product"))
    def product_links(self, draft: Draft) -> str:
        return format_html(
            '{} (<a href="{}">{}</a> · <a href="{}">{}</a>)',
            draft.product,
            reverse("generation:product_copy", kwargs={"product_id": draft.product_id}),
            gettext("copy editor"),
            reverse("admin:catalog_product_change", args=[draft.product_id]),
            gettext("product in the admin"),
        )

    @admin.display(description=_("generation job"))
    def job_link(self, draft: Draft) -> str:
        if not draft.job_id:
            return self.get_empty_value_display()
        url = reverse("admin:generation_generationjob_change", args=[draft.job_id])
        return format_html('<a href="{}">{}</a>', url, gettext("Job %(id)d") % {"id": draft.job_id})

    @admin.display(description=_("text, problems marked"))
    def marked_text(self, draft: Draft) -> str:
        return format_html('<div style="white-space: pre-wrap">{}</div>', highlighted(draft))

    @admin.display(description=_("problems"))
    def problem_list(self, draft: Draft) -> str:
        spans = problems(draft)
        if not spans:
            return gettext("No unsupported claims and no channel-rule problems.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li>'{}': {}</li>", ((span.get("text", ""), span.get("reason", "")) for span in spans)
            ),
        )

    @admin.display(description=_("attribute coverage"))
    def coverage(self, draft: Draft) -> str:
        grounding = draft.grounding or {}
        if "coverage" not in grounding:
            return self.get_empty_value_display()
        return f"{grounding['coverage']:.0%}"

    @admin.display(description=_("attributes used"))
    def used_attributes(self, draft: Draft) -> str:
        return self._attribute_keys(draft, "used")

    @admin.display(description=_("attributes not used"))
    def unused_attributes(self, draft: Draft) -> str:
        return self._attribute_keys(draft, "unused")

    def _attribute_keys(self, draft: Draft, which: str) -> str:
        keys = (draft.grounding or {}).get(which) or []
        return ", ".join(map(str, keys)) or self.get_empty_value_display()

    # --- actions ---

    @admin.action(description=_("Accept the selected drafts"), permissions=["review"])
    def accept_drafts(self, request: HttpRequest, queryset: QuerySet[Draft]) -> None:
        decided, skipped = self._decide_each(request, queryset, services.draft_accept)
        message = ngettext("%(count)d draft accepted", "%(count)d drafts accepted", decided)
        self._report(request, message % {"count": decided}, skipped)

    @admin.action(description=_("Reject the selected drafts"), permissions=["review"])
    def reject_drafts(self, request: HttpRequest, queryset: QuerySet[Draft]) -> None:
        decided, skipped = self._decide_each(request, queryset, services.draft_reject)
        message = ngettext("%(count)d draft rejected", "%(count)d drafts rejected", decided)
        self._report(request, message % {"count": decided}, skipped)

    def _decide_each(
        self, request: HttpRequest, queryset: QuerySet[Draft], decide: Callable[..., Draft]
    ) -> tuple[int, int]:
        """Decide each draft through the service; one that is not waiting for a decision is skipped."""
        decided = skipped = 0
        for draft in queryset.order_by("pk"):
            try:
                decide(draft=draft, user=request.user, version=None)
            except ValidationError:
                skipped += 1
            else:
                decided += 1
        return decided, skipped

    def _report(self, request: HttpRequest, decided: str, skipped: int) -> None:
        if not skipped:
            self.message_user(request, gettext("%(decided)s.") % {"decided": decided}, messages.SUCCESS)
            return
        message = gettext("%(decided)s; %(skipped)d skipped (not waiting for a decision).")
        self.message_user(request, message % {"decided": decided, "skipped": skipped}, messages.WARNING)


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
