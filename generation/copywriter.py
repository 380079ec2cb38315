"""From products to checked candidates: the one place where the catalog meets the language model.

Services decide what to write and store the results; this module turns products into prompts,
samples candidates in batches, checks each one and ranks them. The model is loaded on first use in
the worker process and kept for the next job.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from catalog.models import Merchant, Product
from generation.ml.channels import ChannelProfile
from generation.ml.generator import LanguageModel, SamplingOptions, load_language_model
from generation.ml.model_store import base_model_location
from generation.ml.prompts import Example, ProductFacts, PromptOptions, build_prompt, clean_output
from generation.ml.retrieval import select_examples
from generation.ml.scoring import CandidateCheck, check_candidate, rank
from generation.models import ModelVersion, TrainingExample

FEW_SHOT_POOL = 200  # most recent accepted examples considered per field and language


@dataclass(frozen=True)
class WriteOptions:
    tone: str
    length: str
    profile: ChannelProfile
    banned_words: tuple[str, ...] = ()
    few_shot: bool = True
    seed: int = 0


@dataclass(frozen=True)
class WorkItem:
    product: Product
    field: str
    language: str


@dataclass
class WrittenDraft:
    item: WorkItem
    facts: ProductFacts
    ranked: list[CandidateCheck]
    few_shot_count: int
    model_version: ModelVersion

    @property
    def best(self) -> CandidateCheck:
        return self.ranked[0]


@dataclass
class WriteStats:
    seconds: float = 0.0
    new_tokens: int = 0
    drafts: int = 0
    batches: list[float] = field(default_factory=list)


def product_facts(product: Product) -> ProductFacts:
    """The product as the model sees it (attributes prefetched by the caller)."""
    return ProductFacts(
        name=product.name,
        category=product.category,
        attributes=tuple((a.key, a.value) for a in product.attributes.all()),
    )


def language_model(language: str) -> tuple[LanguageModel, ModelVersion]:
    """The model that writes a language now, and the row drafts record it under."""
    configured = {"en": settings.COPILOT_BASE_MODEL_EN, "zh": settings.COPILOT_BASE_MODEL_ZH}[language]
    location = base_model_location(language, store_dir=settings.COPILOT_MODEL_STORE, configured=configured)
    model = load_language_model(str(location.path), location.name)
    version, _ = ModelVersion.objects.get_or_create(
        kind=ModelVersion.Kind.BASE,
        language=language,
        base_model=str(location.path),
        defaults={"name": location.name, "is_promoted": True},
    )
    return model, version


def few_shot_pool(merchant: Merchant, field: str, language: str) -> list[tuple[int | None, Example]]:
    """This merchant's accepted copy for the field, newest first; never another merchant's."""
    rows = TrainingExample.objects.filter(merchant=merchant, field=field, language=language).order_by(
        "-created_at"
    )[:FEW_SHOT_POOL]
    return [
        (
            row.product_id,
            Example(
                facts=ProductFacts(
                    name=row.product_name,
                    category=row.category,
                    attributes=tuple((str(k), str(v)) for k, v in row.input_attributes),
                ),
                text=row.target_text,
            ),
        )
        for row in rows
    ]


def write_batch(
    items: Sequence[WorkItem], options: WriteOptions, *, merchant: Merchant, stats: WriteStats | None = None
) -> list[WrittenDraft]:
    """Write one batch: every item must share its field and language (one generate() call)."""
    if not items:
        return []
    field_name, language = items[0].field, items[0].language
    if any(i.field != field_name or i.language != language for i in items):
        raise ValueError("A batch must share one field and one language")
    model, version = language_model(language)
    rule = options.profile.rule_for(field_name)
    pool = few_shot_pool(merchant, field_name, language) if options.few_shot else []
    prompts, facts_list, shots = [], [], []
    for item in items:
        facts = product_facts(item.product)
        others = [example for product_id, example in pool if product_id != item.product.pk]
        examples = select_examples(facts, others, k=settings.COPILOT_FEW_SHOT_EXAMPLES)
        prompt_options = PromptOptions(
            field=field_name,
            language=language,
            tone=options.tone,
            length=options.length,
            channel_label=options.profile.label if options.profile.slug != "generic" else "",
            # Banned words are not listed in the prompt: small models copy what they are shown.
            # Candidates that use one lose the ranking instead.
            max_chars=rule.max_chars,
        )
        prompts.append(build_prompt(facts, prompt_options, examples))
        facts_list.append(facts)
        shots.append(len(examples))

    started = time.monotonic()
    sampling = SamplingOptions(num_candidates=settings.COPILOT_GENERATION_CANDIDATES, seed=options.seed)
    outputs = model.generate(prompts, sampling, max_new_tokens=prompts[0].max_new_tokens)
    if stats is not None:
        elapsed = time.monotonic() - started
        stats.seconds += elapsed
        stats.batches.append(elapsed)
        stats.new_tokens += sum(o.new_tokens for o in outputs)
        stats.drafts += len(items)

    written = []
    for item, facts, output, shot_count in zip(items, facts_list, outputs, shots, strict=True):
        checks = [
            check_candidate(
                clean_output(raw, field_name, language),
                facts=facts,
                field=field_name,
                language=language,
                length=options.length,
                profile=options.profile,
                extra_banned=options.banned_words,
            )
            for raw in output.candidates
        ]
        written.append(
            WrittenDraft(
                item=item, facts=facts, ranked=rank(checks), few_shot_count=shot_count, model_version=version
            )
        )
    return written
