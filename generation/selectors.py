"""Reads, always scoped to the merchant who asks."""

from __future__ import annotations

from django.db import models
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _

from catalog.models import Merchant, Product
from generation.models import Draft, DraftRevision, DraftStatus, GenerationJob, ModelVersion


def generation_job_list(*, merchant: Merchant) -> QuerySet[GenerationJob]:
    return GenerationJob.objects.filter(merchant=merchant)


def generation_job_get(*, merchant: Merchant, job_id: int) -> GenerationJob:
    """Raises GenerationJob.DoesNotExist for another merchant's job, as for a missing one."""
    return GenerationJob.objects.filter(merchant=merchant).get(pk=job_id)


def draft_list(
    *,
    merchant: Merchant | int,
    product_id: int | None = None,
    field: str = "",
    status: str = "",
    language: str = "",
    channel: str = "",
) -> QuerySet[Draft]:
    drafts = Draft.objects.filter(product__merchant=merchant).select_related("product", "model_version")
    if product_id is not None:
        drafts = drafts.filter(product_id=product_id)
    if field:
        drafts = drafts.filter(field=field)
    if status:
        drafts = drafts.filter(status=status)
    if language:
        drafts = drafts.filter(language=language)
    if channel:
        drafts = drafts.filter(channel=channel)
    return drafts.order_by("-created_at", "-id")


def draft_get(*, merchant: Merchant, draft_id: int) -> Draft:
    """Raises Draft.DoesNotExist for another merchant's draft, as for a missing one."""
    return Draft.objects.filter(product__merchant=merchant).select_related("product").get(pk=draft_id)


# --- The editor -------------------------------------------------------------------------------


class CopyStatus(models.TextChoices):
    """Where a product's copy stands, most urgent first."""

    WAITING = "waiting", _("Draft waiting")
    STALE = "stale", _("Accepted, but stale")
    ACCEPTED = "accepted", _("Accepted")
    NONE = "none", _("No copy")


def with_copy_status(products: QuerySet[Product]) -> QuerySet[Product]:
    """Annotate `copy_status`: a waiting draft first, then accepted copy written before the
    product's facts last changed, then accepted copy; three EXISTS subqueries, no join fan-out."""
    drafts = Draft.objects.filter(product=OuterRef("pk"))
    accepted = drafts.filter(status=DraftStatus.ACCEPTED)
    return products.annotate(
        copy_status=Case(
            When(Exists(drafts.filter(status=DraftStatus.PROPOSED)), then=Value(CopyStatus.WAITING)),
            When(
                Exists(accepted.filter(created_at__lt=OuterRef("facts_changed_at"))),
                then=Value(CopyStatus.STALE),
            ),
            When(Exists(accepted), then=Value(CopyStatus.ACCEPTED)),
            default=Value(CopyStatus.NONE),
            output_field=models.CharField(),
        )
    )


def review_queue(
    *,
    merchant: Merchant,
    field: str = "",
    language: str = "",
    channel: str = "",
    problems: str = "",
    model_version_id: int | None = None,
) -> QuerySet[Draft]:
    """Drafts waiting for a decision, oldest first (the order they were asked for).

    `problems`: "ungrounded" (unsupported claims), "rules" (channel rules broken), "clean" (neither).
    """
    drafts = draft_list(
        merchant=merchant, field=field, status=DraftStatus.PROPOSED, language=language, channel=channel
    )
    if problems == "ungrounded":
        drafts = drafts.filter(has_ungrounded=True)
    elif problems == "rules":
        drafts = drafts.exclude(violations=[])
    elif problems == "clean":
        drafts = drafts.filter(has_ungrounded=False, violations=[])
    if model_version_id is not None:
        drafts = drafts.filter(model_version_id=model_version_id)
    return drafts.order_by("created_at", "id")


def model_version_choices(*, merchant: Merchant) -> QuerySet[ModelVersion]:
    """Models that wrote this merchant's drafts: shared ones and its own, never another's."""
    return ModelVersion.objects.filter(Q(merchant__isnull=True) | Q(merchant=merchant)).filter(
        drafts__product__merchant=merchant
    ).distinct().order_by("language", "name")


def draft_revisions(*, draft: Draft) -> list[DraftRevision]:
    """The draft's history, newest first (the caller already scoped the draft)."""
    return list(draft.revisions.select_related("author").order_by("-version"))
