"""The draft editor: a product's copy, field by field, and every decision a merchant makes on it.

Thin like catalog.views: reads through generation.selectors, writes through generation.services,
scoped to the signed-in user's merchant. Each draft action answers an htmx request with the
field's card (409 with both texts when someone else changed the draft first, 422 when the input is
refused) and a plain form post with a redirect back to the editor, so everything works without
JavaScript too.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from catalog.forms import add_service_errors
from catalog.models import Product
from generation import diff, selectors, services, training
from generation.forms import CopySettingsForm, GenerateForm, RegenerateForm
from generation.ml.channels import channel_profile
from generation.models import CopyField, Draft, DraftStatus, GenerationJob
from generation.review_views import queue_item_response
from shop_copilot.web import (
    current_merchant,
    is_partial_request,
    merchant_required,
    posted,
    product_or_404,
    vary_on_htmx,
)

FIELD_LABELS = dict(CopyField.choices)


def copy_url(product_id: int, *, job: GenerationJob | None = None, field: str = "") -> str:
    url = reverse("generation:product_copy", kwargs={"product_id": product_id})
    if job:
        url += f"?job={job.pk}"
    return f"{url}#field-{field}" if field else url


def _field_cards(product: Product, only_field: str = "") -> list[dict]:
    """Per field: the drafts waiting for a decision and the published copy, per language and channel.

    `product` is already the signed-in merchant's (product_or_404, or a draft fetched through
    selectors.draft_get)."""
    drafts = selectors.draft_list(merchant=product.merchant_id, product_id=product.pk, field=only_field)
    drafts = drafts.filter(status__in=[DraftStatus.PROPOSED, DraftStatus.ACCEPTED]).select_related(
        "decided_by"
    )
    cards = {
        value: {"field": value, "label": label, "waiting": [], "accepted": []}
        for value, label in CopyField.choices
        if not only_field or value == only_field
    }
    for draft in drafts:  # newest first
        draft.product = product  # already loaded, with its facts_changed_at
        draft.limits = channel_profile(draft.channel).rule_for(draft.field)
        draft.is_stale = draft.created_at < product.facts_changed_at
        cards[draft.field]["waiting" if draft.status == DraftStatus.PROPOSED else "accepted"].append(draft)
    return list(cards.values())


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
    """The editor: attributes and the generate form beside each field's drafts and published copy."""
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
            return redirect(copy_url(product.pk, job=job))
    job = _job_from_query(request)
    if job is not None and request.method == "GET":
        # Asking again starts from the options of the job on screen.
        form = GenerateForm(
            initial={name: getattr(job, name) for name in ("fields", "language", "tone", "length", "channel")}
        )
    if not is_partial_request(request):
        return vary_on_htmx(_render_editor(request, product, form=form, job=job))
    # A poll sends the job's field cards only when drafts were written since the last one, so a
    # card someone is typing in is not replaced every second.
    shown = request.GET.get("done", "")
    send_cards = job is not None and (not shown.isdigit() or int(shown) != job.done)
    context = {
        "product": product,
        "job": job,
        "training_run": training.training_in_progress(),
        "send_cards": send_cards,
        "cards": _field_cards(product) if send_cards else [],
        "regenerate_form": RegenerateForm(),
    }
    response = render(request, "generation/product_copy.html#panel", context)
    if job is None or job.is_finished:
        response = HttpResponseStopPolling(response.content)
    return vary_on_htmx(response)


def _render_editor(
    request: HttpRequest, product: Product, *, form: GenerateForm | None = None, status: int = 200, **extra
) -> HttpResponse:
    context = {
        "product": product,
        "attributes": list(product.attributes.all()),
        "form": form or GenerateForm(),
        "cards": _field_cards(product),
        "training_run": training.training_in_progress(),
        "regenerate_form": RegenerateForm(),
        "job": None,
        **extra,
    }
    return render(request, "generation/product_copy.html", context, status=status)


# --- Actions on one draft ---------------------------------------------------------------------


def _draft_or_404(request: HttpRequest, draft_id: int) -> Draft:
    try:
        return selectors.draft_get(merchant=current_merchant(request), draft_id=draft_id)
    except Draft.DoesNotExist as exc:
        raise Http404(_("No such draft.")) from exc


def _posted_int(request: HttpRequest, name: str) -> int | None:
    value = request.POST.get(name, "")
    return int(value) if value.isdigit() else None


def _card_response(
    request: HttpRequest,
    draft: Draft,
    *,
    status: int = 200,
    conflict: dict | None = None,
    error: str = "",
    typed: str | None = None,
) -> HttpResponse:
    """The field's card for htmx. Without htmx: a redirect back to the editor on success, or the
    whole editor with the problem shown, so the text the person typed is still in the box."""
    problem = {
        "conflict": conflict,
        "error": error,
        "problem_draft_id": draft.pk if (conflict or error) else None,
        "typed": typed,
    }
    if not request.htmx:
        if not (conflict or error):
            return redirect(copy_url(draft.product_id, field=draft.field))
        return _render_editor(request, product_or_404(request, draft.product_id), status=status, **problem)
    product = draft.product  # fetched with the draft, through the merchant's own drafts
    (card,) = _field_cards(product, only_field=draft.field)
    context = {"product": product, "card": card, "regenerate_form": RegenerateForm(), **problem}
    return render(request, "generation/_field_card.html", context, status=status)


def _conflict(request: HttpRequest, current: Draft, typed: str | None) -> HttpResponse:
    """Someone changed the draft first: show their text beside what this person typed; save nothing."""
    who = current.decided_by if current.status != DraftStatus.PROPOSED else None
    latest = current.revisions.select_related("author").order_by("-version").first()
    who = who or (latest.author if latest else None)
    if current.status == DraftStatus.PROPOSED:
        message = _(
            "Someone else changed this draft while you were editing; nothing was saved. Their text "
            "and yours are both below: save yours to replace theirs, or keep theirs."
        )
    else:
        message = {
            DraftStatus.ACCEPTED: _("Someone else accepted this draft; your change was not saved."),
            DraftStatus.REJECTED: _("Someone else rejected this draft; your change was not saved."),
        }.get(current.status, _("A newer draft replaced this one; your change was not saved."))
    conflict = {
        "draft_id": current.pk,
        "field": current.field,  # the full page shows it on this field's card only
        "message": message,
        "theirs": current.text,
        "who": who.get_username() if who else _("the model"),
        "when": current.updated_at,
        "still_waiting": current.status == DraftStatus.PROPOSED,
    }
    return _card_response(request, current, status=409, conflict=conflict, typed=typed)


def _refused(request: HttpRequest, draft: Draft, exc: ValidationError, typed: str | None) -> HttpResponse:
    return _card_response(request, draft, status=422, error=" ".join(exc.messages), typed=typed)


@require_POST
@merchant_required
def draft_save(request: HttpRequest, draft_id: int) -> HttpResponse:
    """Save an edit without deciding yet (a new revision)."""
    draft = _draft_or_404(request, draft_id)
    text = request.POST.get("text")
    version = _posted_int(request, "version")
    if text is None or version is None:
        return _refused(
            request, draft, ValidationError(_("That request was incomplete; nothing was saved.")), text
        )
    try:
        draft = services.draft_edit(draft=draft, user=request.user, version=version, text=text)
    except services.StaleVersion as exc:
        return _conflict(request, exc.draft, text)
    except ValidationError as exc:
        return _refused(request, draft, exc, text)
    if not request.htmx:
        messages.success(request, _("Edit saved."))
    return _card_response(request, draft)


@require_POST
@merchant_required
def draft_decide(request: HttpRequest, draft_id: int) -> HttpResponse:
    """Accept (as written, or with the edit in the text box) or reject, at the version seen."""
    draft = _draft_or_404(request, draft_id)
    action = request.POST.get("action", "")
    version = _posted_int(request, "version")
    text = request.POST.get("text")  # absent: accept as written
    # Decided in the review queue: answer with the queue's item, not the editor's field card.
    in_queue = request.POST.get("view") == "queue"
    try:
        if action not in {"accept", "reject"} or version is None:
            raise ValidationError(_("That request was incomplete; nothing was changed."))
        if action == "accept":
            draft = services.draft_accept(draft=draft, user=request.user, version=version, text=text)
        else:
            draft = services.draft_reject(draft=draft, user=request.user, version=version)
    except services.StaleVersion as exc:
        if in_queue:
            message = _(
                "Someone else changed this draft while you were reviewing; nothing was changed. "
                "Here is its current text."
            )
            return queue_item_response(request, exc.draft, status=409, error=message)
        return _conflict(request, exc.draft, text)
    except ValidationError as exc:
        if in_queue:
            return queue_item_response(request, draft, status=422, error=" ".join(exc.messages))
        return _refused(request, draft, exc, text)
    if in_queue:
        return queue_item_response(request, draft)
    if not request.htmx:
        messages.success(request, _("Draft accepted.") if action == "accept" else _("Draft rejected."))
    return _card_response(request, draft)


@require_POST
@merchant_required
def draft_alternative(request: HttpRequest, draft_id: int) -> HttpResponse:
    """Use another of the model's candidates instead of the current text."""
    draft = _draft_or_404(request, draft_id)
    index, version = _posted_int(request, "index"), _posted_int(request, "version")
    if index is None or version is None:
        return _refused(
            request, draft, ValidationError(_("That request was incomplete; nothing was changed.")), None
        )
    try:
        draft = services.draft_choose_alternative(
            draft=draft, user=request.user, version=version, index=index
        )
    except services.StaleVersion as exc:
        return _conflict(request, exc.draft, None)
    except ValidationError as exc:
        return _refused(request, draft, exc, None)
    if not request.htmx:
        messages.success(request, _("Candidate swapped in."))
    return _card_response(request, draft)


@require_POST
@merchant_required
def draft_regenerate(request: HttpRequest, draft_id: int) -> HttpResponse:
    """Write this field again with other options; the job's progress shows on the editor."""
    draft = _draft_or_404(request, draft_id)
    form = RegenerateForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(copy_url(draft.product_id, field=draft.field))
    try:
        job = services.draft_regenerate(draft=draft, user=request.user, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(copy_url(draft.product_id, field=draft.field))
    return redirect(copy_url(draft.product_id, job=job, field=draft.field))


# --- Revisions --------------------------------------------------------------------------------


def _revision_number(request: HttpRequest, name: str, default: int) -> int:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else default


@require_GET
@merchant_required
def draft_revisions(request: HttpRequest, draft_id: int) -> HttpResponse:
    """A draft's history, with a word-level diff between any two revisions."""
    draft = _draft_or_404(request, draft_id)
    revisions = selectors.draft_revisions(draft=draft)
    by_version = {r.version: r for r in revisions}
    newest = revisions[0].version if revisions else 0
    older = revisions[1].version if len(revisions) > 1 else newest
    old_version = _revision_number(request, "a", older)
    new_version = _revision_number(request, "b", newest)
    old, new = by_version.get(old_version), by_version.get(new_version)
    parts = diff.word_diff(old.text, new.text) if old and new else []
    added, removed = diff.change_counts(parts)
    context = {
        "draft": draft,
        "product": draft.product,
        "field_label": FIELD_LABELS.get(draft.field, draft.field),
        "revisions": revisions,
        "old": old,
        "new": new,
        "parts": parts,
        "added": added,
        "removed": removed,
        "can_restore": draft.status == DraftStatus.PROPOSED,
    }
    template = "generation/draft_revisions.html"
    if is_partial_request(request):
        template += "#diff"
    return vary_on_htmx(render(request, template, context))


@require_POST
@merchant_required
def draft_restore(request: HttpRequest, draft_id: int) -> HttpResponse:
    draft = _draft_or_404(request, draft_id)
    revision, version = _posted_int(request, "revision"), _posted_int(request, "version")
    history = reverse("generation:draft_revisions", kwargs={"draft_id": draft.pk})
    if revision is None or version is None:
        messages.error(request, _("That request was incomplete; nothing was changed."))
        return redirect(history)
    try:
        services.draft_restore(draft=draft, user=request.user, version=version, revision=revision)
    except services.StaleVersion:
        messages.error(
            request, _("Someone changed this draft since you loaded the history; nothing was restored.")
        )
        return redirect(history)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(history)
    messages.success(request, _("Revision %(number)s restored.") % {"number": revision})
    return redirect(copy_url(draft.product_id, field=draft.field))


# --- Settings ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@merchant_required
def copy_settings(request: HttpRequest) -> HttpResponse:
    merchant = current_merchant(request)
    current = services.copy_settings_get(merchant=merchant)
    form = CopySettingsForm(
        posted(request),
        initial={
            "banned_words": "\n".join(current.banned_words),
            "share_for_training": current.share_for_training,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.copy_settings_update(
                merchant=merchant,
                banned_words=form.cleaned_data["banned_words"],
                share_for_training=form.cleaned_data["share_for_training"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Copy settings saved."))
            return redirect("generation:copy_settings")
    return render(request, "generation/copy_settings.html", {"form": form})
