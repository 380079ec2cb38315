"""Admin for generation rows. Decisions on drafts go through the same services as the editor."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from generation import promotion, services, training
from generation.ml.metrics import METRIC_LABELS
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
from generation.promotion import TRAINED_KINDS
from generation.templatetags.copy_tags import highlighted, problems
from shop_copilot.admin_scoping import MerchantScopedAdmin


class ReadOnlyAdmin(MerchantScopedAdmin):
    """Rows written by services only: admins look, filter and act through actions."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


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


# --- Trained models and their training runs ---------------------------------------------------

# How each metric reads in a table (as `generation.ml.metrics.format_table` prints them).
METRIC_FORMATS = {
    "drafts": "{:d}",
    "bleu": "{:.1f}",
    "chrf": "{:.1f}",
    "rouge_l": "{:.1f}",
    "coverage": "{:.0%}",
    "ungrounded_rate": "{:.1%}",
    "violation_rate": "{:.1%}",
    "distinct_2": "{:.2f}",
    "repeated_ngrams": "{:.1%}",
    "mean_length": "{:.0f}",
    "seconds_per_draft": "{:.2f}",
}
# Names that are words rather than the metric's own name (BLEU, chrF ...) are translated.
METRIC_NAMES = {
    "drafts": _("drafts written"),
    "coverage": _("attribute coverage"),
    "ungrounded_rate": _("drafts with unsupported claims"),
    "violation_rate": _("drafts breaking channel rules"),
    "repeated_ngrams": _("repeated 3-grams"),
    "mean_length": _("mean length (words; characters in Chinese)"),
    "seconds_per_draft": _("seconds per draft"),
}
EXCLUSION_NAMES = {
    "instructions": _("instructions to a model"),
    "link": _("links"),
    "markup": _("markup"),
    "ungrounded": _("unsupported claims"),
    "rules": _("channel-rule breaks"),
    "duplicate": _("duplicates"),
    "empty": _("empty"),
}
LOG_TAIL_LINES = 40


def metric_value(metrics: dict[str, Any] | None, key: str) -> str:
    value = (metrics or {}).get(key)
    if value is None:
        return "—"
    try:
        return METRIC_FORMATS.get(key, "{:.2f}").format(value)
    except (TypeError, ValueError):
        return str(value)


def own_evaluation(version: ModelVersion, *, match_compared: bool = True) -> dict[str, Any] | None:
    """The version's held-out result, the one its comparison was made on where that can be told.

    A version evaluated again later (as the current model beside a newer candidate) holds several
    results, and JSON objects keep no order in Postgres: the one to show is the result under the
    evaluation key whose stored result of the compared version matches `compared_with`.
    """
    evaluations = (version.metrics or {}).get("evaluation") or {}
    if not evaluations:
        return None
    compared = (version.metrics or {}).get("compared_with") or {}
    if match_compared and compared.get("version") and compared.get("metrics"):
        stored = (
            ModelVersion.objects.filter(pk=compared["version"]).values_list("metrics", flat=True).first()
            or {}
        )
        for key, result in (stored.get("evaluation") or {}).items():
            if key in evaluations and (result or {}).get("metrics") == compared["metrics"]:
                return evaluations[key]
    return next(reversed(evaluations.values()))


def dataset_summary(dataset: dict[str, Any] | None) -> str:
    """What the dataset builder kept, held out, mixed in and left out (and why), as a list."""
    if not dataset:
        return "—"
    held_out = str(dataset.get("held_out", 0))
    if "held_out_products" in dataset:
        held_out = ngettext(
            "%(count)d (from %(products)d product)",
            "%(count)d (from %(products)d products)",
            dataset["held_out_products"],
        ) % {"count": dataset.get("held_out", 0), "products": dataset["held_out_products"]}
    excluded = dataset.get("excluded") or {}
    reasons = (
        ", ".join(f"{EXCLUSION_NAMES.get(reason, reason)}: {count}" for reason, count in excluded.items())
        if excluded
        else gettext("none")
    )
    rows = [
        (gettext("kept for training"), dataset.get("train", 0)),
        (gettext("held out for judging"), held_out),
        (gettext("general data mixed in"), dataset.get("general", 0)),
        (gettext("excluded"), reasons),
    ]
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", rows))


def _scope(version: ModelVersion) -> str:
    language = version.get_language_display()
    if version.merchant_id:
        return gettext("%(merchant)s, %(language)s") % {"merchant": version.merchant, "language": language}
    return gettext("the shared models, %(language)s") % {"language": language}


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    """Trained models with their scores; promoted or rolled back by an action or the page's buttons.

    A merchant's staff see and act on their own merchant's models only; the shared models (no
    merchant) write every merchant's copy, so only superusers see, promote or roll them back.
    """

    change_form_template = "admin/generation/modelversion/change_form.html"
    list_display = [
        "name",
        "language",
        "kind",
        "merchant",
        "is_promoted",
        "promoted_at",
        "scores",
        "decision",
        "created_at",
    ]
    list_filter = ["language", "kind", "is_promoted", "merchant"]
    list_select_related = ["merchant"]
    actions = ["promote_model", "roll_back_model"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "merchant",
                    "language",
                    "kind",
                    "base_model",
                    "adapter_path",
                    "is_promoted",
                    "promoted_at",
                    "created_at",
                    "decision",
                ]
            },
        ),
        (_("Held-out evaluation"), {"fields": ["comparison"]}),
        (_("Training"), {"fields": ["training_stats", "dataset"]}),
        (_("Stored data"), {"classes": ["collapse"], "fields": ["metrics"]}),
    ]
    readonly_fields = ["comparison", "training_stats", "dataset", "metrics", "created_at"]

    # --- the changelist ---

    @admin.display(description=_("chrF / ROUGE-L / unsupported claims (held-out)"))
    def scores(self, version: ModelVersion) -> str:
        evaluation = own_evaluation(version, match_compared=False)
        if not evaluation:
            return "—"
        metrics = evaluation["metrics"]
        return f"{metrics['chrf']:.1f} / {metrics['rouge_l']:.1f} / {metrics['ungrounded_rate']:.0%}"

    # --- the change page ---

    @admin.display(description=_("scores side by side"))
    def comparison(self, version: ModelVersion) -> str:
        evaluation = own_evaluation(version)
        compared = (version.metrics or {}).get("compared_with") or {}
        if not evaluation and not compared:
            return gettext("Not evaluated yet.")
        ours = (evaluation or {}).get("metrics") or {}
        theirs = compared.get("metrics")
        header = format_html(
            "<tr><th>{}</th><th>{}</th>{}</tr>",
            gettext("metric"),
            gettext("this model"),
            format_html(
                "<th>{}</th>",
                gettext("compared with %(name)s") % {"name": compared.get("name", "?")},
            )
            if theirs is not None
            else "",
        )
        rows = format_html_join(
            "",
            "<tr><th scope='row'>{}</th><td>{}</td>{}</tr>",
            (
                (
                    METRIC_NAMES.get(key, label),
                    metric_value(ours, key),
                    format_html("<td>{}</td>", metric_value(theirs, key)) if theirs is not None else "",
                )
                for key, label in {"drafts": "drafts", **METRIC_LABELS}.items()
            ),
        )
        return format_html('<table class="metric-comparison">{}{}</table>', header, rows)

    @admin.display(description=_("statistics"))
    def training_stats(self, version: ModelVersion) -> str:
        training = (version.metrics or {}).get("training") or {}
        if not training:
            return "—"
        steps = gettext("%(steps)s of %(total)s") % {
            "steps": training.get("steps", "?"),
            "total": training.get("total_steps", "?"),
        }
        if training.get("early_stopped"):
            steps += " " + gettext("(stopped early: the validation loss stopped improving)")
        losses = training.get("validation_losses") or []
        rows = [
            (gettext("steps"), steps),
            (gettext("seconds"), f"{training.get('seconds', 0):.0f}"),
            (gettext("examples per second"), f"{training.get('examples_per_second', 0):.2f}"),
            (gettext("training loss"), f"{training['train_loss']:.3f}" if "train_loss" in training else "—"),
            (gettext("validation losses"), ", ".join(f"{loss:.3f}" for loss in losses) or "—"),
            (gettext("peak memory"), f"{training.get('peak_memory_mb', 0):.0f} MB"),
        ]
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", rows),
        )

    @admin.display(description=_("dataset"))
    def dataset(self, version: ModelVersion) -> str:
        return dataset_summary((version.metrics or {}).get("dataset"))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        version = self.get_object(request, unquote(object_id))
        buttons: dict[str, bool] = {}
        if version is not None and self._may_act_on(request, version) and version.kind in TRAINED_KINDS:
            buttons = {"can_promote": not version.is_promoted, "can_roll_back": version.is_promoted}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **buttons})

    # --- promote and roll back ---

    def has_promote_permission(self, request: HttpRequest) -> bool:
        """Choosing the model that writes copy is the version's change permission."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    def _may_act_on(self, request: HttpRequest, version: ModelVersion) -> bool:
        if not self.has_promote_permission(request):
            return False
        if request.user.is_superuser:
            return True
        # The shared models write every merchant's copy: not a merchant's staff's to change.
        return version.merchant_id is not None and version.merchant_id == self.user_merchant_id(request)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/promote/",
                self.admin_site.admin_view(self.promote_view),
                name="{}_{}_promote".format(*info),
            ),
            path(
                "<path:object_id>/rollback/",
                self.admin_site.admin_view(self.rollback_view),
                name="{}_{}_rollback".format(*info),
            ),
            *super().get_urls(),
        ]

    def promote_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._button(request, object_id, self._promote)

    def rollback_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._button(request, object_id, self._roll_back)

    def _button(
        self, request: HttpRequest, object_id: str, act: Callable[[HttpRequest, ModelVersion], None]
    ) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        version = self.get_object(request, unquote(object_id))
        if version is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self._may_act_on(request, version):
            raise PermissionDenied
        act(request, version)
        return redirect(reverse("admin:generation_modelversion_change", args=[version.pk]))

    @admin.action(description=_("Promote the selected model"), permissions=["promote"])
    def promote_model(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        version = self._only_one(request, queryset)
        if version is not None:
            self._promote(request, version)

    @admin.action(description=_("Roll back to the previous model"), permissions=["promote"])
    def roll_back_model(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        version = self._only_one(request, queryset)
        if version is not None:
            self._roll_back(request, version)

    def _only_one(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> ModelVersion | None:
        versions = list(queryset.select_related("merchant")[:2])
        if len(versions) != 1:
            self.message_user(request, gettext("Select exactly one model."), messages.WARNING)
            return None
        if not self._may_act_on(request, versions[0]):
            self.message_user(
                request,
                gettext("Only a superuser may promote or roll back the shared models."),
                messages.ERROR,
            )
            return None
        return versions[0]

    def _promote(self, request: HttpRequest, version: ModelVersion) -> None:
        values = {"name": version.name, "scope": _scope(version)}
        if version.is_promoted:
            message = gettext("Nothing changed: %(name)s already writes the copy of %(scope)s.")
            self.message_user(request, message % values, messages.INFO)
            return
        try:
            promotion.model_version_promote(
                version=version, reason=f"Promoted by {request.user} in the admin."
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        message = gettext("Promoted %(name)s: it writes the copy of %(scope)s from the next batch on.")
        self.message_user(request, message % values, messages.SUCCESS)

    def _roll_back(self, request: HttpRequest, version: ModelVersion) -> None:
        values = {"name": version.name, "scope": _scope(version)}
        if not version.is_promoted or version.kind not in TRAINED_KINDS:
            message = gettext(
                "Nothing rolled back: %(name)s is not the promoted model of %(scope)s; select that one."
            )
            self.message_user(request, message % values, messages.WARNING)
            return
        try:
            retired, restored = promotion.model_rollback(merchant=version.merchant, language=version.language)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        values["name"] = retired.name
        if restored is not None:
            message = gettext("Rolled back %(scope)s: %(name)s retired; %(restored)s writes the copy again.")
            values["restored"] = restored.name
        elif version.merchant_id:
            message = gettext(
                "Rolled back %(scope)s: %(name)s retired. There is no earlier model of this merchant, so "
                "the shared model takes over (the shared adapter if one is promoted, else the base model)."
            )
        else:
            message = gettext(
                "Rolled back %(scope)s: %(name)s retired. There is no earlier shared model, so the base "
                "model takes over."
            )
        self.message_user(request, message % values, messages.SUCCESS)


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    """Fine-tuning runs: progress, what they learnt from, their log, and the model they made.

    A merchant's staff see their own merchant's runs only. Shared runs (no merchant) are hidden
    from them: a global run learns from every merchant who opted in, and its dataset counts and
    log describe other merchants' copy.
    """

    list_display = [
        "id",
        "merchant",
        "language",
        "kind",
        "method",
        "status",
        "progress",
        "examples",
        "version",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "kind", "method", "language", "merchant"]
    list_select_related = ["merchant", "version"]
    actions = ["cancel_runs"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "merchant",
                    "language",
                    "kind",
                    "method",
                    "status",
                    "progress",
                    "error_message",
                    "examples",
                    "version_link",
                    "created_at",
                    "started_at",
                    "finished_at",
                ]
            },
        ),
        (_("What it learnt from"), {"fields": ["dataset_summary", "data_hash"]}),
        (_("Settings"), {"fields": ["config_json"]}),
        (_("Log"), {"fields": ["log_tail"]}),
        (_("Stored data"), {"classes": ["collapse"], "fields": ["attempts", "celery_task_id"]}),
    ]
    readonly_fields = [
        "progress",
        "version_link",
        "dataset_summary",
        "config_json",
        "log_tail",
        "created_at",
    ]

    @admin.display(description=_("progress"))
    def progress(self, run: TrainingRun) -> str:
        return f"{run.percent}% ({run.done}/{run.total})"

    @admin.display(description=_("model it made"))
    def version_link(self, run: TrainingRun) -> str:
        if not run.version_id:
            return self.get_empty_value_display()
        url = reverse("admin:generation_modelversion_change", args=[run.version_id])
        return format_html('<a href="{}">{}</a>', url, run.version)

    @admin.display(description=_("dataset"))
    def dataset_summary(self, run: TrainingRun) -> str:
        return dataset_summary(run.dataset)

    @admin.display(description=_("settings"))
    def config_json(self, run: TrainingRun) -> str:
        return format_html("<pre>{}</pre>", json.dumps(run.config or {}, indent=2, sort_keys=True))

    @admin.display(description=_("log (the last lines)"))
    def log_tail(self, run: TrainingRun) -> str:
        lines = (run.log or "").splitlines()
        if not lines:
            return self.get_empty_value_display()
        note = ""
        if len(lines) > LOG_TAIL_LINES:
            note = gettext("The last %(shown)d of %(count)d lines.") % {
                "shown": LOG_TAIL_LINES,
                "count": len(lines),
            }
        return format_html(
            '{}<pre style="white-space: pre-wrap">{}</pre>', note, "\n".join(lines[-LOG_TAIL_LINES:])
        )

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        """Stopping a run is the run's change permission, though its page stays read-only."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    @admin.action(description=_("Cancel the selected runs"), permissions=["cancel"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[TrainingRun]) -> None:
        cancelled = finished = 0
        for run in queryset.order_by("pk"):
            try:
                training.training_run_cancel(run)
            except ValidationError:
                finished += 1
            else:
                cancelled += 1
        message = ngettext("%(count)d run cancelled.", "%(count)d runs cancelled.", cancelled) % {
            "count": cancelled
        }
        if finished:
            message += " " + gettext("%(count)d had already finished.") % {"count": finished}
        self.message_user(request, message, messages.SUCCESS if not finished else messages.WARNING)


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
