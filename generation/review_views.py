"""The review queue: every draft waiting for a decision across the catalog, one keystroke each."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from catalog.models import Language
from generation import selectors, services
from generation.models import CopyField, Draft, DraftStatus
from shop_copilot.web import current_merchant, is_partial_request, merchant_required, vary_on_htmx

DRAFTS_PER_PAGE = 20
FILTER_NAMES = ("field", "language", "channel", "problems", "model")
PROBLEM_CHOICES = [
    ("ungrounded", gettext_lazy("Unsupported claims")),
    ("rules", gettext_lazy("Channel rules broken")),
    ("clean", gettext_lazy("No problems")),
]


def _filters(params: QueryDict) -> dict[str, str]:
    """The queue's filters from a query or a form; unknown values are ignored, not errors."""
    values = {name: params.get(name, "").strip() for name in FILTER_NAMES}
    if values["field"] not in CopyField.values:
        values["field"] = ""
    if values["language"] not in Language.values:
        values["language"] = ""
    if values["problems"] not in {value for value, _label in PROBLEM_CHOICES}:
        values["problems"] = ""
    if not values["model"].isdigit():
        values["model"] = ""
    return values


def _queue(request: HttpRequest, filters: dict[str, str]):
    return selectors.review_queue(
        merchant=current_merchant(request),
        field=filters["field"],
        language=filters["language"],
        channel=filters["channel"],
        problems=filters["problems"],
        model_version_id=int(filters["model"]) if filters["model"] else None,
    )


def _query(filters: dict[str, str]) -> str:
    query = QueryDict(mutable=True)
    query.update({name: value for name, value in filters.items() if value})
    return query.urlencode()


@require_GET
@merchant_required
def review_queue(request: HttpRequest) -> HttpResponse:
    merchant = current_merchant(request)
    filters = _filters(request.GET)
    drafts = _queue(request, filters)
    page = Paginator(drafts, DRAFTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "drafts": page.object_list,
        "filters": filters,
        "query": _query(filters),
        "filtered": any(filters.values()),
        "clean_count": drafts.filter(has_ungrounded=False, violations=[]).count(),
        "as_of": timezone.now().isoformat(),
        "field_choices": CopyField.choices,
        "language_choices": Language.choices,
        "problem_choices": PROBLEM_CHOICES,
        "channel_choices": selectors.draft_list(merchant=merchant)
        .order_by()
        .values_list("channel", flat=True)
        .distinct(),
        "model_choices": selectors.model_version_choices(merchant=merchant),
    }
    template = "generation/review_queue.html"
    if is_partial_request(request):
        template += "#queue"
    return vary_on_htmx(render(request, template, context))


def queue_item_response(
    request: HttpRequest, draft: Draft, *, status: int = 200, error: str = ""
) -> HttpResponse:
    """After a decision made in the queue: the item as it is now for htmx (decided, or still
    waiting with the error when the decision was refused), else back to the queue."""
    filters = _filters(request.POST)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(
                request,
                _("Draft accepted.") if draft.status == DraftStatus.ACCEPTED else _("Draft rejected."),
            )
        back = reverse("generation:review_queue")
        query = _query(filters)
        return redirect(f"{back}?{query}" if query else back)
    context = {
        "draft": draft,
        "decided": draft.status != DraftStatus.PROPOSED,
        "error": error,
        "filters": filters,
    }
    return render(request, "generation/review_queue.html#queue_item", context, status=status)


@require_POST
@merchant_required
def review_accept_clean(request: HttpRequest) -> HttpResponse:
    """Accept every draft in the filtered queue with no unsupported claim and no broken rule,
    as long as it has not changed since the merchant loaded the queue."""
    filters = _filters(request.POST)
    try:
        as_of = parse_datetime(request.POST.get("as_of", ""))
    except ValueError:  # well formed but not a date, e.g. month 13
        as_of = None
    back = reverse("generation:review_queue")
    query = _query(filters)
    back = f"{back}?{query}" if query else back
    if not isinstance(as_of, datetime) or timezone.is_naive(as_of):
        messages.error(request, _("That request was incomplete; nothing was accepted."))
        return redirect(back)
    result = services.drafts_accept_clean(drafts=_queue(request, filters), user=request.user, as_of=as_of)
    messages.success(
        request,
        ngettext("%(count)d draft accepted.", "%(count)d drafts accepted.", result.accepted)
        % {"count": result.accepted},
    )
    if result.skipped:
        messages.info(
            request,
            ngettext(
                "%(count)d draft changed while you were looking and was left for you to review.",
                "%(count)d drafts changed while you were looking and were left for you to review.",
                result.skipped,
            )
            % {"count": result.skipped},
        )
    return redirect(back)
