"""Merchant pages for copy: ask for drafts, watch the job, decide on each draft.

Thin like catalog.views: reads through generation.selectors, writes through generation.services,
scoped to the signed-in user's merchant. The full editor (edit in place, revisions, review queue)
builds on these.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from catalog.forms import add_service_errors
from catalog.models import Product
from generation import selectors, services, training
from generation.forms import CopySettingsForm, GenerateForm
from generation.models import CopyField, Draft, DraftStatus, GenerationJob
from shop_copilot.web import (
    current_merchant,
    is_partial_request,
    merchant_required,
    posted,
    product_or_404,
    vary_on_htmx,
)


def _copy_url(product: Product, job: GenerationJob | None = None) -> str:
    url = reverse("generation:product_copy", kwargs={"product_id": product.pk})
    return f"{url}?job={job.pk}" if job else url


def _field_rows(product: Product) -> list[dict]:
    """Per field: the draft waiting for a decision and the accepted copy, newest of each."""
    drafts = selectors.draft_list(merchant=product.merchant, product_id=product.pk).filter(
        status__in=[DraftStatus.PROPOSED, DraftStatus.ACCEPTED]
    )
    rows = {
        value: {"field": value, "label": label, "waiting": None, "accepted": None}
        for value, label in CopyField.choices
    }
    for draft in drafts:  # newest first
        slot = "waiting" if draft.status == DraftStatus.PROPOSED else "accepted"
        rows[draft.field][slot] = rows[draft.field][slot] or draft
    return list(rows.values())


def _job_from_query(request: HttpRequest) -> GenerationJob | None:
    job_id = request.GET.get("job", "")
    if not job_id.isdigit():
        return None
    try:
        return selectors.generation_job_get(merchant=current_merchant(request), job_id=int(job_id))
    except GenerationJob.DoesNotExist:
        return None


@require_http_methods(["GET", "POST"])
@merchant_required
def product_copy(request: HttpRequest, product_id: int) -> HttpResponse:
    """The product's copy: the generate form, a running job's progress, and the drafts."""
    product = product_or_404(request, product_id)
    form = GenerateForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            job = services.generation_job_create(
                merchant=current_merchant(request),
                user=request.user,
                product_ids=[product.pk],
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(_copy_url(product, job))
    job = _job_from_query(request)
    if job is not None and request.method == "GET":
        # Asking again starts from the options of the job on screen.
        form = GenerateForm(
            initial={name: getattr(job, name) for name in ("fields", "language", "tone", "length", "channel")}
        )
    context = {
        "product": product,
        "form": form,
        "job": job,
        "rows": _field_rows(product),
        "training_run": training.training_in_progress(),
    }
    if not is_partial_request(request):
        return vary_on_htmx(render(request, "generation/product_copy.html", context))
    response = render(request, "generation/product_copy.html#panel", context)
    if job is None or job.is_finished:
        response = HttpResponseStopPolling(response.content)
    return vary_on_htmx(response)


def _draft_or_404(request: HttpRequest, draft_id: int) -> Draft:
    try:
        return selectors.draft_get(merchant=current_merchant(request), draft_id=draft_id)
    except Draft.DoesNotExist as exc:
        raise Http404(_("No such draft.")) from exc


@require_POST
@merchant_required
def draft_decide(request: HttpRequest, draft_id: int) -> HttpResponse:
    """Accept or reject a draft at the version the merchant saw."""
    draft = _draft_or_404(request, draft_id)
    action = request.POST.get("action", "")
    version = request.POST.get("version", "")
    if action not in {"accept", "reject"} or not version.isdigit():
        messages.error(request, _("That request was incomplete; nothing was changed."))
        return redirect(_copy_url(draft.product))
    decide = services.draft_accept if action == "accept" else services.draft_reject
    try:
        decide(draft=draft, user=request.user, version=int(version))
    except services.StaleVersion:
        messages.error(
            request,
            _(
                "Someone changed this draft since you loaded the page; nothing was saved. "
                "Here is the current state."
            ),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Draft accepted.") if action == "accept" else _("Draft rejected."))
    return redirect(_copy_url(draft.product))


@require_http_methods(["GET", "POST"])
@merchant_required
def copy_settings(request: HttpRequest) -> HttpResponse:
    merchant = current_merchant(request)
    current = services.copy_settings_get(merchant=merchant)
    form = CopySettingsForm(posted(request), initial={"banned_words": "\n".join(current.banned_words)})
    if request.method == "POST" and form.is_valid():
        try:
            services.copy_settings_update(merchant=merchant, banned_words=form.cleaned_data["banned_words"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Copy settings saved."))
            return redirect("generation:copy_settings")
    return render(request, "generation/copy_settings.html", {"form": form})
