"""Write one field for a batch of products: prompts, one generate() call, checked and ranked candidates.

The one write path: jobs (through `generation.copywriter`) and evaluation both call `write_field`,
so what `manage.py evaluate` measures is what merchants get.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from generation.ml.channels import ChannelProfile
from generation.ml.generator import LanguageModel, SamplingOptions
from generation.ml.prompts import Example, ProductFacts, PromptOptions, build_prompt, clean_output
from generation.ml.scoring import CandidateCheck, check_candidate, rank


@dataclass(frozen=True)
class FieldRequest:
    """What to write: the field, language, voice and channel shared by one batch."""

    field: str
    language: str
    tone: str
    length: str
    profile: ChannelProfile
    banned_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldResult:
    ranked: list[CandidateCheck]  # best first
    new_tokens: int

    @property
    def best(self) -> CandidateCheck:
        return self.ranked[0]


def prompt_options(request: FieldRequest) -> PromptOptions:
    rule = request.profile.rule_for(request.field)
    return PromptOptions(
        field=request.field,
        language=request.language,
        tone=request.tone,
        length=request.length,
        channel_label=request.profile.label if request.profile.slug != "generic" else "",
        # Banned words are not listed in the prompt: small models copy what they are shown.
        # Candidates that use one lose the ranking instead.
        max_chars=rule.max_chars,
    )


def write_field(
    model: LanguageModel,
    request: FieldRequest,
    products: Sequence[tuple[ProductFacts, Iterable[Example]]],
    sampling: SamplingOptions,
) -> list[FieldResult]:
    """Candidates for every product (with its few-shot examples), checked and ranked."""
    if not products:
        return []
    options = prompt_options(request)
    prompts = [build_prompt(facts, options, tuple(examples)) for facts, examples in products]
    outputs = model.generate(prompts, sampling, max_new_tokens=prompts[0].max_new_tokens)
    results = []
    for (facts, _), output in zip(products, outputs, strict=True):
        checks = [
            check_candidate(
                clean_output(raw, request.field, request.language),
                facts=facts,
                field=request.field,
                language=request.language,
                length=request.length,
                profile=request.profile,
                extra_banned=request.banned_words,
            )
            for raw in output.candidates
        ]
        results.append(FieldResult(ranked=rank(checks), new_tokens=output.new_tokens))
    return results
