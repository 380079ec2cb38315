"""Merchant pages for product images: draw variants, keep or discard them, accept photo suggestions.

The catalog's product page loads the panel with htmx (and links to it without JavaScript), so the
catalog app does not depend on this one.
"""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from catalog.forms import add_service_errors
from catalog.models import Product
from generation import image_services, photo_suggestions
from generation.forms import ImageJobForm
from generation.models import AttributeSuggestion, GeneratedImage, ImageJob
from shop_copilot.web import (
    current_merchant,
    is_partial_request,
    merchant_required,
    posted,
    product_or_404,
    vary_on_htmx,
)


def _images_url(product: Product) -> str:
    return reverse("generation:product_images", kwargs={"product_id": product.pk})


def _panel_context(product: Product, form: ImageJobForm | None = None) -> dict:
    running = product.image_jobs.filter(status__in=["queued", "running"]).first()
    latest = running or product.image_jobs.first()
    return {
        "product": product,
        "form": form or ImageJobForm(),
        "job": latest,
        "running": running,
        "waiting": product.generated_images.filter(status=GeneratedImage.Status.WAITING),
        "suggestions": product.attribute_suggestions.filter(status=AttributeSuggestion.Status.PENDING),
        "model": image_services.promoted_image_model(product.merchant),
    }


@require_http_methods(["GET", "POST"])
@merchant_required
def product_images(request: HttpRequest, product_id: int) -> HttpResponse:
    """Variants and suggestions of one product: the page, or for htmx its polled panel."""
    product = product_or_404(request, product_id)
    form = ImageJobForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            image_services.image_job_create(
                merchant=current_merchant(request), product=product, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(_images_url(product))
    context = _panel_context(product, form)
    if not is_partial_request(request):
        return vary_on_htmx(render(request, "generation/product_images.html", context))
    response = render(request, "generation/product_images.html#panel", context)
    if not context["running"]:
        response = HttpResponseStopPolling(response.content)
    return vary_on_htmx(response)


def _generated_or_404(request: HttpRequest, product_id: int, generated_id: int) -> GeneratedImage:
    try:
        return GeneratedImage.objects.select_related("product").get(
            pk=generated_id, product_id=product_id, product__merchant=current_merchant(request)
        )
    except GeneratedImage.DoesNotExist as exc:
        raise Http404(_("No such image.")) from exc


@require_GET
@merchant_required
def generated_image_file(request: HttpRequest, product_id: int, generated_id: int) -> FileResponse:
    generated = _generated_or_404(request, product_id, generated_id)
    if generated.status == GeneratedImage.Status.DISCARDED:
        raise Http404(_("This image was discarded."))
    content_type = mimetypes.guess_type(generated.image.name)[0] or "application/octet-stream"
    return FileResponse(generated.image.open("rb"), content_type=content_type)


@require_POST
@merchant_required
def generated_image_decide(request: HttpRequest, product_id: int, generated_id: int) -> HttpResponse:
    generated = _generated_or_404(request, product_id, generated_id)
    action = request.POST.get("action", "")
    try:
        if action == "accept":
            image_services.generated_image_accept(generated=generated)
            messages.success(request, _("Image added to the product, labelled as generated."))
        elif action == "discard":
            image_services.generated_image_discard(generated=generated)
            messages.success(request, _("Image discarded."))
        else:
            messages.error(request, _("That request was incomplete; nothing was changed."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_images_url(generated.product))


@require_POST
@merchant_required
def suggestion_decide(request: HttpRequest, product_id: int, suggestion_id: int) -> HttpResponse:
    product = product_or_404(request, product_id)
    try:
        suggestion = product.attribute_suggestions.get(pk=suggestion_id)
    except AttributeSuggestion.DoesNotExist as exc:
        raise Http404(_("No such suggestion.")) from exc
    try:
        if request.POST.get("action") == "accept":
            photo_suggestions.attribute_suggestion_accept(suggestion=suggestion)
            messages.success(request, _("Attribute added."))
        else:
            photo_suggestions.attribute_suggestion_dismiss(suggestion=suggestion)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_images_url(product))


@require_POST
@merchant_required
def image_job_cancel(request: HttpRequest, product_id: int, job_id: int) -> HttpResponse:
    product = product_or_404(request, product_id)
    try:
        job = product.image_jobs.get(pk=job_id)
    except ImageJob.DoesNotExist as exc:
        raise Http404(_("No such job.")) from exc
    try:
        image_services.image_job_cancel(job=job)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    return redirect(_images_url(product))
