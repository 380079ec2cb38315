"""What every merchant page shares: who may see it, and how it answers htmx."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from catalog import selectors
from catalog.models import Merchant, Product


def merchant_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in (else to the login page) and a member of a merchant (else 403)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.merchant_id is None:
            raise PermissionDenied(_("This account does not belong to a merchant."))
        return view(request, *args, **kwargs)

    return wrapper


def current_merchant(request: HttpRequest) -> Merchant:
    return request.user.merchant


def is_partial_request(request: HttpRequest) -> bool:
    # A history-restore request wants the whole page, though htmx sends it.
    return bool(request.htmx) and not request.htmx.history_restore_request


def posted(request: HttpRequest, *, files: bool = False) -> Any:
    """POST data for a bound form, or None on GET; an empty POST still binds (and fails)."""
    if request.method != "POST":
        return None
    return request.FILES if files else request.POST


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    # The same URL answers a page or a partial; caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def product_or_404(request: HttpRequest, product_id: int) -> Product:
    """The signed-in merchant's product; another merchant's answers 404 exactly like a missing one."""
    try:
        return selectors.product_get(merchant=current_merchant(request), product_id=product_id)
    except Product.DoesNotExist as exc:
        raise Http404(_("No such product.")) from exc
