"""Check a candidate draft and rank candidates: grounded first, then useful, then well written.

The text statistics here (tokens, repeated n-grams, distinct-n) are the ones evaluation reports,
so a draft is chosen by the same measures it is later judged on.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from generation.ml.channels import ChannelProfile, check_rules
from generation.ml.grounding import GroundingReport, Span, check_grounding
from generation.ml.prompts import FIELD_SPECS, ProductFacts

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Latin-script words never swallow Chinese characters: "500毫升" is "500", "毫", "升".
_WORD_CHAR = rf"[^\W_{_CJK}]"
_TOKEN = re.compile(rf"[{_CJK}]|{_WORD_CHAR}+(?:[-'.]{_WORD_CHAR}+)*", re.UNICODE)

# Weights of the ranking. An ungrounded claim costs more than any amount of coverage can win.
UNGROUNDED_COST = 2.0
VIOLATION_COST = 1.0
REPETITION_COST = 2.0
LENGTH_COST = 0.5
CHATTER_COST = 1.0

# Small chat models often answer the request instead of writing the copy ("Here's a title ...").
_CHATTER = re.compile(
    r"^\W*(?:here(?:'s| is| are)|sure\b|certainly|of course|i(?:'m| am| can| will|'d| would)\b|"
    r"as an ai|please\b|let me|product facts|好的|当然|以下是|我(?:会|将|可以))",
    re.IGNORECASE,
)


def is_chatter(text: str) -> bool:
    """The text talks to the requester instead of being copy."""
    return bool(_CHATTER.match(text))


def tokenize(text: str) -> list[str]:
    """Words for Latin script, single characters for Chinese (as chrF and ROUGE on zh do)."""
    return [t.lower() for t in _TOKEN.findall(text)]


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def repeated_ngram_rate(text: str, n: int = 3) -> float:
    """Share of n-grams that occur more than once: 0 for fresh text, near 1 for a loop."""
    grams = ngrams(tokenize(text), n)
    if not grams:
        return 0.0
    counts = Counter(grams)
    return sum(c for c in counts.values() if c > 1) / len(grams)


def distinct_n(texts: Iterable[str], n: int = 2) -> float:
    """Distinct n-grams over all n-grams across texts (higher is more varied)."""
    total, unique = 0, set()
    for text in texts:
        grams = ngrams(tokenize(text), n)
        total += len(grams)
        unique.update(grams)
    return len(unique) / total if total else 0.0


def text_length(text: str) -> int:
    """Words in Latin script plus Chinese characters: the unit of the fields' length targets."""
    return len(tokenize(text))


@dataclass(frozen=True)
class CandidateCheck:
    text: str
    grounding: GroundingReport
    violations: tuple[Span, ...]
    repetition: float
    score: float

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "grounding": self.grounding.to_dict(),
            "violations": [v.to_dict() for v in self.violations],
            "repetition": round(self.repetition, 4),
            "score": round(self.score, 4),
        }


def check_candidate(
    text: str,
    *,
    facts: ProductFacts,
    field: str,
    language: str,
    length: str,
    profile: ChannelProfile,
    extra_banned: Iterable[str] = (),
) -> CandidateCheck:
    grounding = check_grounding(text, facts.attributes, language=language, context=facts.grounding_context())
    violations = tuple(check_rules(text, field=field, profile=profile, extra_banned=extra_banned))
    repetition = repeated_ngram_rate(text)
    if not text.strip():
        score = -100.0
    else:
        low, high = FIELD_SPECS[field].target[length]
        size = text_length(text)
        off_by = (low - size) / low if size < low else (size - high) / high if size > high else 0.0
        score = (
            grounding.coverage
            - UNGROUNDED_COST * len(grounding.ungrounded)
            - VIOLATION_COST * len(violations)
            - REPETITION_COST * repetition
            - LENGTH_COST * min(1.0, off_by)
            - CHATTER_COST * is_chatter(text)
        )
    return CandidateCheck(text, grounding, violations, repetition, score)


def rank(checks: Iterable[CandidateCheck]) -> list[CandidateCheck]:
    """Best first; identical texts kept once."""
    unique: dict[str, CandidateCheck] = {}
    for check in checks:
        if check.text not in unique or unique[check.text].score < check.score:
            unique[check.text] = check
    return sorted(unique.values(), key=lambda c: c.score, reverse=True)


def edit_distance(before: str, after: str) -> int:
    """Word-level Levenshtein distance (Chinese by character): how much a person changed."""
    a, b = tokenize(before), tokenize(after)
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, token_a in enumerate(a, start=1):
        current = [i]
        for j, token_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (token_a != token_b)))
        previous = current
    return previous[-1]
