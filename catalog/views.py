"""Merchant pages. One view renders the page, or for an htmx request one named partial.

Views stay thin: reads go through catalog.selectors with the signed-in user's merchant, writes
through catalog.services. Another merchant's row answers 404, exactly like a missing one.
"""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from catalog import selectors, services
from catalog.forms import (
    AttributeForm,
    ImageUploadForm,
    ImportUploadForm,
    ProductCreateForm,
    ProductForm,
    add_service_errors,
)
from catalog.models import ImportJob, Product, ProductAttribute, ProductImage
from generation import selectors as copy_selectors
from shop_copilot.web import (
    current_merchant,
    is_partial_request,
    merchant_required,
    posted,
    product_or_404,
    vary_on_htmx,
)

PRODUCTS_PER_PAGE = 25


def _image_or_404(request: HttpRequest, product_id: int, image_id: int) -> ProductImage:
    try:
        return selectors.product_image_get(
            merchant=current_merchant(request), product_id=product_id, image_id=image_id
        )
    except ProductImage.DoesNotExist as exc:
        raise Http404(_("No such image.")) from exc


# --- Catalog ----------------------------------------------------------------------------------


@require_GET
@merchant_required
def product_list(request: HttpRequest) -> HttpResponse:
    merchant = current_merchant(request)
    search = request.GET.get("q", "").strip()
    category = request.GET.get("category", "").strip()
    status = request.GET.get("status", "").strip()
    products = copy_selectors.with_copy_status(
        selectors.product_list(merchant=merchant, search=search, category=category)
    )
    if status in copy_selectors.CopyStatus.values:
        products = products.filter(copy_status=status)
    else:
        status = ""
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "products": page.object_list,
        "search": search,
        "category": category,
        "status": status,
        "statuses": copy_selectors.CopyStatus.choices,
        "categories": selectors.category_list(merchant=merchant),
        "filtered": bool(search or category or status),
    }
    template = "catalog/product_list.html"
    if is_partial_request(request):
        template += "#results"
    return vary_on_htmx(render(request, template, context))


@require_http_methods(["GET", "POST"])
@merchant_required
def product_create(request: HttpRequest) -> HttpResponse:
    form = ProductCreateForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(merchant=current_merchant(request), **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Product created."))
            return redirect(product)
    return render(request, "catalog/product_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@merchant_required
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    product = product_or_404(request, product_id)
    form = ProductForm(posted(request), initial=_product_initial(product))
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(product=product, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            # product_update set the rejected values on the instance; show the stored ones.
            product = product_or_404(request, product_id)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(product)
    return _render_detail(request, product, form=form)


def _render_detail(
    request: HttpRequest,
    product: Product,
    *,
    form: ProductForm | None = None,
    attribute_form: AttributeForm | None = None,
    image_form: ImageUploadForm | None = None,
    partial: str = "",
) -> HttpResponse:
    """The product page, or one of its partials ("attributes", "images") for htmx."""
    context = {
        "product": product,
        "attributes": list(product.attributes.all()),
        "images": list(product.images.all()),
        "form": form or ProductForm(initial=_product_initial(product)),
        "attribute_form": attribute_form or AttributeForm(),
        "image_form": image_form or ImageUploadForm(),
    }
    template = "catalog/product_detail.html"
    if partial:
        template += f"#{partial}"
    return render(request, template, context)


def _product_initial(product: Product) -> dict[str, str]:
    return {field: getattr(product, field) for field in ("sku", "name", "category", "language")}


@require_POST
@merchant_required
def product_delete(request: HttpRequest, product_id: int) -> HttpResponse:
    product = product_or_404(request, product_id)
    label = str(product)
    services.product_delete(product=product)
    messages.success(request, _("Deleted %(product)s.") % {"product": label})
    return redirect("catalog:product_list")


@require_POST
@merchant_required
def attribute_add(request: HttpRequest, product_id: int) -> HttpResponse:
    product = product_or_404(request, product_id)
    form = AttributeForm(request.POST)
    if form.is_valid():
        try:
            services.product_attribute_add(product=product, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if not request.htmx:
                messages.success(request, _("Attribute saved."))
                return redirect(product)
            product = product_or_404(request, product_id)
            form = AttributeForm()
    return _render_detail(
        request,
        product,
        attribute_form=form,
        partial="attributes" if request.htmx else "",
    )


@require_POST
@merchant_required
def attribute_remove(request: HttpRequest, product_id: int, attribute_id: int) -> HttpResponse:
    try:
        attribute = selectors.product_attribute_get(
            merchant=current_merchant(request), product_id=product_id, attribute_id=attribute_id
        )
    except ProductAttribute.DoesNotExist as exc:
        raise Http404(_("No such attribute.")) from exc
    services.product_attribute_remove(attribute=attribute)
    if not request.htmx:
        messages.success(request, _("Attribute removed."))
        return redirect("catalog:product_detail", product_id=product_id)
    return _render_detail(request, product_or_404(request, product_id), partial="attributes")


# --- Images -----------------------------------------------------------------------------------


@require_POST
@merchant_required
def image_upload(request: HttpRequest, product_id: int) -> HttpResponse:
    product = product_or_404(request, product_id)
    form = ImageUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.product_image_add(product=product, upload=form.cleaned_data["image"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Image added."))
            return redirect(product)
    return _render_detail(request, product, image_form=form)


@require_GET
@merchant_required
def image_file(request: HttpRequest, product_id: int, image_id: int) -> FileResponse:
    product_image = _image_or_404(request, product_id, image_id)
    try:
        handle = product_image.image.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("The image file is missing.")) from exc
    content_type = mimetypes.guess_type(product_image.image.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    patch_cache_control(response, private=True, max_age=3600)
    return response


@require_POST
@merchant_required
def image_delete(request: HttpRequest, product_id: int, image_id: int) -> HttpResponse:
    product_image = _image_or_404(request, product_id, image_id)
    services.product_image_delete(product_image=product_image)
    if request.htmx:
        return _render_detail(request, product_or_404(request, product_id), partial="images")
    messages.success(request, _("Image removed."))
    return redirect("catalog:product_detail", product_id=product_id)


# --- Imports ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@merchant_required
def import_list(request: HttpRequest) -> HttpResponse:
    merchant = current_merchant(request)
    form = ImportUploadForm(posted(request), posted(request, files=True))
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_job_create(
                merchant=merchant, user=request.user, upload=form.cleaned_data["file"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(job)
    context = {"form": form, "jobs": selectors.import_job_list(merchant=merchant)[:50]}
    return render(request, "catalog/import_list.html", context)


def _import_or_404(request: HttpRequest, import_id: int) -> ImportJob:
    try:
        return selectors.import_job_get(merchant=current_merchant(request), import_id=import_id)
    except ImportJob.DoesNotExist as exc:
        raise Http404(_("No such import.")) from exc


@require_GET
@merchant_required
def import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    job = _import_or_404(request, import_id)
    context = {"job": job}
    if not is_partial_request(request):
        return vary_on_htmx(render(request, "catalog/import_detail.html", context))
    response = render(request, "catalog/import_detail.html#progress", context)
    if job.is_finished:
        # 286 tells htmx to stop polling; the final state is still swapped in.
        response = HttpResponseStopPolling(response.content)
    return vary_on_htmx(response)


@require_POST
@merchant_required
def import_cancel(request: HttpRequest, import_id: int) -> HttpResponse:
    job = _import_or_404(request, import_id)
    try:
        services.import_job_cancel(job=job)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Import cancelled."))
    return redirect(job)
