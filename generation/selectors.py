"""Reads, always scoped to the merchant who asks."""

from __future__ import annotations

from django.db.models import QuerySet

from catalog.models import Merchant
from generation.models import Draft, GenerationJob


def generation_job_list(*, merchant: Merchant) -> QuerySet[GenerationJob]:
    return GenerationJob.objects.filter(merchant=merchant)


def generation_job_get(*, merchant: Merchant, job_id: int) -> GenerationJob:
    """Raises GenerationJob.DoesNotExist for another merchant's job, as for a missing one."""
    return GenerationJob.objects.filter(merchant=merchant).get(pk=job_id)


def draft_list(
    *,
    merchant: Merchant,
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
