"""Which trained model writes copy: promoting a version, and rolling back to the one before.

Promotion is per scope, a merchant (or the shared models) and a language: at most one adapter or
fully fine-tuned model of a scope is promoted. Generation picks the promoted version per batch, so
workers follow a promotion or a rollback without a restart.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import Merchant
from generation.models import ModelVersion

TRAINED_KINDS = (ModelVersion.Kind.ADAPTER, ModelVersion.Kind.FULL)


def scope_versions(*, merchant: Merchant | None, language: str) -> QuerySet[ModelVersion]:
    """The trained versions of a scope: a merchant's own, or the shared ones (merchant None)."""
    versions = ModelVersion.objects.filter(kind__in=TRAINED_KINDS, language=language)
    return (
        versions.filter(merchant=merchant) if merchant is not None else versions.filter(merchant__isnull=True)
    )


@transaction.atomic
def model_version_promote(*, version: ModelVersion, reason: str = "") -> ModelVersion:
    """Make `version` the one that writes its scope's copy from the next batch on."""
    if version.kind not in TRAINED_KINDS:
        raise ValidationError("Only a trained model can be promoted; the base model is always the fallback.")
    scope = scope_versions(merchant=version.merchant, language=version.language).select_for_update()
    scope.exclude(pk=version.pk).update(is_promoted=False)
    version.is_promoted = True
    version.promoted_at = timezone.now()
    if reason:
        version.decision = reason
    version.save(update_fields=["is_promoted", "promoted_at", "decision"])
    return version


@transaction.atomic
def model_rollback(*, merchant: Merchant | None, language: str) -> tuple[ModelVersion, ModelVersion | None]:
    """Retire the scope's promoted version; the one promoted before it writes again.

    Returns (retired, restored). restored is None when there was no earlier one: the scope then
    falls back to the shared model (for a merchant) or the base model.
    """
    scope = scope_versions(merchant=merchant, language=language).select_for_update()
    current = scope.filter(is_promoted=True).first()
    if current is None:
        owner = merchant.slug if merchant is not None else "the shared models"
        raise ValidationError(f"Nothing to roll back: {owner} has no promoted {language} model.")
    previous = (
        scope.exclude(pk=current.pk).filter(promoted_at__isnull=False).order_by("-promoted_at", "-pk").first()
    )
    now = timezone.now()
    current.is_promoted = False
    current.promoted_at = None  # retired: a later rollback goes further back, not here again
    current.decision = f"{current.decision}\nRolled back on {now:%Y-%m-%d %H:%M} UTC.".strip()
    current.save(update_fields=["is_promoted", "promoted_at", "decision"])
    if previous is not None:
        previous.is_promoted = True
        previous.save(update_fields=["is_promoted"])
    return current, previous
