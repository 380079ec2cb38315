"""Write copy for corpus products with a model and score it against their reference copy.

The drafts go through the one write path (`writer.write_field`), so evaluation measures what
merchants get. Decoding is greedy by default: the same model gives the same numbers every run.
No Django here; `generation.evaluation` picks the model and the products.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from generation.ml.channels import ChannelProfile, channel_profile
from generation.ml.corpus import CorpusProduct
from generation.ml.generator import LanguageModel, SamplingOptions
from generation.ml.lora import length_for
from generation.ml.metrics import Metrics, ScoredDraft, compute_metrics, metrics_by_field
from generation.ml.prompts import FIELDS, Example
from generation.ml.retrieval import select_examples
from generation.ml.writer import FieldRequest, write_field

MODES = ("zero-shot", "few-shot", "adapter")


@dataclass(frozen=True)
class EvaluationOptions:
    language: str
    fields: tuple[str, ...] = FIELDS
    few_shot_examples: int = 0  # examples from the training split in each prompt
    batch_size: int = 8
    candidates: int = 1  # 1: greedy decoding; more: sampled and ranked as in production
    tone: str = "professional"
    profile: ChannelProfile = field(default_factory=lambda: channel_profile("generic"))
    seed: int = 0

    def sampling(self) -> SamplingOptions:
        if self.candidates == 1:
            return SamplingOptions(num_candidates=1, temperature=0.0, seed=self.seed)
        return SamplingOptions(num_candidates=self.candidates, seed=self.seed)


@dataclass
class EvaluationResult:
    drafts: list[ScoredDraft]
    metrics: Metrics
    by_field: dict[str, Metrics]

    def to_dict(self) -> dict:
        return {
            "metrics": self.metrics.to_dict(),
            "by_field": {name: m.to_dict() for name, m in self.by_field.items()},
        }


def evaluation_items(products: Sequence[CorpusProduct], options: EvaluationOptions) -> int:
    """How many drafts an evaluation will write."""
    return sum(
        1
        for product in products
        if product.language == options.language
        for name in options.fields
        if product.reference(name) is not None
    )


def evaluate_model(
    model: LanguageModel,
    products: Sequence[CorpusProduct],
    options: EvaluationOptions,
    *,
    pool: Sequence[CorpusProduct] = (),
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Write every field of every product that has a reference, and score the drafts."""
    products = [p for p in products if p.language == options.language]
    total = evaluation_items(products, options)
    drafts: list[ScoredDraft] = []
    for name in options.fields:
        items = [p for p in products if p.reference(name) is not None]
        examples = [
            (p.sku, Example(facts=p.facts, text=p.reference(name)))
            for p in pool
            if p.language == options.language and p.reference(name) is not None
        ]
        # Products of a similar reference length share a batch: one generate() call, one token budget.
        for length in ("short", "medium", "long"):
            group = [p for p in items if length_for(name, options.language, p.reference(name)) == length]
            for start in range(0, len(group), options.batch_size):
                batch = group[start : start + options.batch_size]
                request = FieldRequest(
                    field=name,
                    language=options.language,
                    tone=options.tone,
                    length=length,
                    profile=options.profile,
                )
                inputs = [
                    (
                        product.facts,
                        select_examples(
                            product.facts,
                            [e for sku, e in examples if sku != product.sku],
                            k=options.few_shot_examples,
                        ),
                    )
                    for product in batch
                ]
                started = time.monotonic()
                results = write_field(model, request, inputs, options.sampling())
                seconds = (time.monotonic() - started) / len(batch)
                drafts += [
                    ScoredDraft(
                        field=name, reference=product.reference(name), check=result.best, seconds=seconds
                    )
                    for product, result in zip(batch, results, strict=True)
                ]
                if progress is not None:
                    progress(len(drafts), total)
    return EvaluationResult(
        drafts=drafts,
        metrics=compute_metrics(drafts, language=options.language),
        by_field=metrics_by_field(drafts, language=options.language),
    )
