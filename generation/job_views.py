"""Copy for many products at once: pick them in the catalog, watch the job, export what was accepted."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from catalog import selectors as catalog_selectors
from catalog.forms import add_service_errors
from generation import export, selectors, services
from generation.forms import GenerateForm
from generation.models import GenerationJob
from shop_copilot.web import current_merchant, is_partial_request, merchant_required, vary_on_htmx

JOB_DRAFTS_SHOWN = 50


def _selection(request: HttpRequest) -> tuple[list[int], dict[str, str]]:
    """The products asked for: ticked ids, or with scope=all every product matching the filter."""
    params = request.POST if request.method == "POST" else request.GET
    criteria = {name: params.get(name, "").strip() for name in ("q", "category", "status")}
    if params.get("scope") == "all":
        products = catalog_selectors.product_list(
            merchant=current_merchant(request), search=criteria["q"], category=criteria["category"]
        )
        if criteria["status"] in selectors.CopyStatus.values:
            products = selectors.with_copy_status(products).filter(copy_status=criteria["status"])
        return list(products.values_list("pk", flat=True)), {**criteria, "scope": "all"}
    ids = [int(value) for value in params.getlist("product") if value.isdigit()]
    return list(dict.fromkeys(ids)), {}


@require_http_methods(["GET", "POST"])
@merchant_required
def bulk_generate(request: HttpRequest) -> HttpResponse:
    """Options for the selected products, then one job for all of them."""
    product_ids, criteria = _selection(request)
    form = GenerateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.generation_job_create(
                merchant=current_merchant(request),
                user=request.user,
                product_ids=product_ids,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("generation:generation_job_detail", job_id=job.pk)
    # Shown and carried forward: the merchant's own products only (an id typed into the address
    # of another merchant's product is not counted; posting it anyway is refused by the service).
    products = catalog_selectors.product_list(merchant=current_merchant(request)).filter(pk__in=product_ids)
    own_ids = list(products.values_list("pk", flat=True))
    context = {
        "form": form,
        "product_ids": own_ids,
        "criteria": criteria,
        "count": len(own_ids),
        "preview": products[:10],
    }
    return render(request, "generation/bulk_generate.html", context)


def _job_or_404(request: HttpRequest, job_id: int) -> GenerationJob:
    try:
        return selectors.generation_job_get(merchant=current_merchant(request), job_id=job_id)
    except GenerationJob.DoesNotExist as exc:
        raise Http404(_("No such job.")) from exc


@require_GET
@merchant_required
def generation_job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """A job's progress; the drafts appear as they are written (newest first)."""
    job = _job_or_404(request, job_id)
    drafts = selectors.draft_list(merchant=current_merchant(request)).filter(job=job)
    context = {
        "job": job,
        "drafts": drafts[:JOB_DRAFTS_SHOWN],
        "written": drafts.count(),
        "shown": JOB_DRAFTS_SHOWN,
    }
    if not is_partial_request(request):
        return vary_on_htmx(render(request, "generation/job_detail.html", context))
    response = render(request, "generation/job_detail.html#job", context)
    if job.is_finished:
        response = HttpResponseStopPolling(response.content)
    return vary_on_htmx(response)


@require_POST
@merchant_required
def generation_job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(request, job_id)
    try:
        services.generation_job_cancel(job=job)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Job cancelled. Drafts already written are kept."))
    return redirect(reverse("generation:generation_job_detail", kwargs={"job_id": job.pk}))


@require_GET
@merchant_required
def copy_export(request: HttpRequest) -> HttpResponse:
    """The merchant's accepted copy as CSV or JSON Lines (filters: field, language, channel, product)."""
    product = request.GET.get("product", "")
    try:
        return export.export_response(
            merchant=current_merchant(request),
            format=request.GET.get("format", "csv"),
            product_id=int(product) if product.isdigit() else None,
            field=request.GET.get("field", ""),
            language=request.GET.get("language", ""),
            channel=request.GET.get("channel", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("catalog:product_list")
