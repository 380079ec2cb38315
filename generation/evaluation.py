"""Score a model version on held-out corpus products: `manage.py evaluate` and promotion share this."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from django.core.exceptions import ValidationError

from generation.language_models import base_version, current_version, load_version
from generation.ml.corpus import CorpusError, CorpusProduct, read_corpus, shipped_split
from generation.ml.evaluation import EvaluationOptions, EvaluationResult, evaluate_model
from generation.ml.prompts import FIELDS, LANGUAGES
from generation.models import ModelVersion

# Bump when writing or scoring changes, so stored results of the old code are not compared with new.
EVALUATION_VERSION = 2  # 2: repetition guards see only the new tokens, not the prompt


def resolve_version(spec: str, language: str) -> ModelVersion:
    """'base', 'current' (what writes the language now for a merchant with no adapter), or an id."""
    if language not in LANGUAGES:
        raise ValidationError(f"Unknown language '{language}'; choose one of {', '.join(LANGUAGES)}.")
    if spec == "base":
        return base_version(language)
    if spec == "current":
        return current_version(language)
    if not spec.isdigit():
        raise ValidationError(f"--model takes 'current', 'base' or a model version id, not '{spec}'.")
    version = ModelVersion.objects.filter(pk=int(spec)).first()
    if version is None:
        raise ValidationError(f"There is no model version {spec}.")
    if version.language != language:
        raise ValidationError(f"Model version {spec} writes '{version.language}', not '{language}'.")
    return version


def evaluation_products(language: str, *, data: Path | None = None, limit: int = 0) -> list[CorpusProduct]:
    """The held-out split of the shipped corpus, or every product of a corpus-format file."""
    if data is not None:
        try:
            products = read_corpus([data])
        except (OSError, CorpusError) as error:
            raise ValidationError(f"Cannot read {data}: {error}") from None
    else:
        _, products = shipped_split()
    products = [p for p in products if p.language == language]
    if not products:
        raise ValidationError(f"There are no '{language}' products to evaluate on.")
    return products[:limit] if limit else products


def evaluation_key(products: Sequence[CorpusProduct], options: EvaluationOptions) -> str:
    """Identifies an evaluation's work: results with the same key are comparable (and reusable)."""
    payload = [
        EVALUATION_VERSION,
        [p.sku for p in products],
        [p.references for p in products],
        list(options.fields),
        options.few_shot_examples,
        options.candidates,
        options.tone,
        options.profile.slug,
        options.seed,
    ]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:16]


def evaluate_version(
    version: ModelVersion,
    products: Sequence[CorpusProduct],
    options: EvaluationOptions,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Write and score with the version's weights; few-shot examples come from the training split."""
    pool = shipped_split()[0] if options.few_shot_examples else ()
    return evaluate_model(load_version(version), products, options, pool=pool, progress=progress)


def report_header(
    version: ModelVersion, mode: str, source: str, products: Sequence[CorpusProduct], key: str
) -> dict:
    """What every evaluation report starts with: which model, how, on what."""
    return {
        "model": {"id": version.pk, "name": version.name, "kind": version.kind},
        "mode": mode,
        "language": version.language,
        "data": source,
        "products": len(products),
        "key": key,
    }


def parse_fields(value: str) -> tuple[str, ...]:
    fields = tuple(dict.fromkeys(f.strip() for f in value.split(",") if f.strip()))
    unknown = [f for f in fields if f not in FIELDS]
    if unknown or not fields:
        raise ValidationError(
            f"Unknown field(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(FIELDS)}."
        )
    return fields
