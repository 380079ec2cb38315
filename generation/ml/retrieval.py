"""Pick the few-shot examples most like the product being written about.

Similarity is a weighted overlap of the category, the attribute keys and the words of the values
(Chinese by character bigrams). It is cheap, needs no model, and favours examples that show the
model how to write about the same kind of facts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from generation.ml.prompts import Example, ProductFacts

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _terms(text: str) -> set[str]:
    terms = {w.lower() for w in _WORD.findall(_CJK_RUN.sub(" ", text)) if len(w) > 1}
    for run in _CJK_RUN.findall(text):
        terms.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    return terms


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def similarity(a: ProductFacts, b: ProductFacts) -> float:
    same_category = 1.0 if a.category and a.category.lower() == b.category.lower() else 0.0
    keys = _jaccard({k for k, _ in a.attributes}, {k for k, _ in b.attributes})
    words = _jaccard(
        _terms(a.name + " " + " ".join(v for _, v in a.attributes)),
        _terms(b.name + " " + " ".join(v for _, v in b.attributes)),
    )
    return 0.4 * same_category + 0.3 * keys + 0.3 * words


def select_examples(facts: ProductFacts, pool: Sequence[Example], *, k: int = 2) -> list[Example]:
    """The k most similar examples, most similar last (nearest the request in the prompt)."""
    if k <= 0 or not pool:
        return []
    scored = sorted(pool, key=lambda e: similarity(facts, e.facts), reverse=True)[:k]
    return list(reversed(scored))
