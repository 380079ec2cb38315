"""Admin for trained models and their training runs: metrics side by side, promote, roll back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from generation import promotion, training
from generation.admin.base import ReadOnlyAdmin
from generation.ml.metrics import METRIC_LABELS
from generation.models import (
    ModelVersion,
    TrainingRun,
)
from generation.promotion import TRAINED_KINDS

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
