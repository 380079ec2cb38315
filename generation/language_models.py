"""Which model writes a language for a merchant, as a `ModelVersion` row, and loading it.

The merchant's own promoted adapter wins, then the shared promoted adapter, then the base model.
Adapters count only for the base model configured now: an adapter trained on another base would
not fit its weights. The choice is made per batch, so workers pick up a newly promoted adapter
without a restart.
"""

from __future__ import annotations

from django.conf import settings

from catalog.models import Merchant
from generation.ml.generator import LanguageModel, load_language_model
from generation.ml.model_store import base_model_location
from generation.models import ModelVersion


def base_version(language: str) -> ModelVersion:
    """The base model's row (converting the shipped model into the store on first use)."""
    configured = {"en": settings.COPILOT_BASE_MODEL_EN, "zh": settings.COPILOT_BASE_MODEL_ZH}[language]
    location = base_model_location(language, store_dir=settings.COPILOT_MODEL_STORE, configured=configured)
    version, _ = ModelVersion.objects.get_or_create(
        kind=ModelVersion.Kind.BASE,
        language=language,
        base_model=str(location.path),
        defaults={"name": location.name, "is_promoted": True},
    )
    return version


def promoted_adapter(
    language: str, base: ModelVersion, merchant: Merchant | None = None
) -> ModelVersion | None:
    """The merchant's promoted adapter (or fully fine-tuned model) on this base, else the shared
    one, else None."""
    adapters = ModelVersion.objects.filter(
        kind__in=[ModelVersion.Kind.ADAPTER, ModelVersion.Kind.FULL],
        language=language,
        base_model=base.base_model,
        is_promoted=True,
    )
    if merchant is not None:
        own = adapters.filter(merchant=merchant).first()
        if own is not None:
            return own
    return adapters.filter(merchant__isnull=True).first()


def current_version(language: str, merchant: Merchant | None = None) -> ModelVersion:
    base = base_version(language)
    return promoted_adapter(language, base, merchant) or base


def load_version(version: ModelVersion) -> LanguageModel:
    """The version's weights, loaded once per worker process."""
    if version.kind == ModelVersion.Kind.FULL:  # a whole model of its own
        return load_language_model(version.adapter_path, version.name)
    return load_language_model(version.base_model, version.name, version.adapter_path)


def language_model(language: str, merchant: Merchant | None = None) -> tuple[LanguageModel, ModelVersion]:
    """The model that writes a language now, and the row drafts record it under."""
    version = current_version(language, merchant)
    return load_version(version), version
