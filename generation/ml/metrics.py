"""How good a set of drafts is, against reference copy and against the product's facts.

One implementation for `manage.py evaluate`, the bootstrap adapter's promotion and retraining's
promotion: BLEU and chrF (sacrebleu), ROUGE-L, attribute coverage, ungrounded-claim rate,
channel-rule violations, distinct-2, repeated n-grams, length and speed.

Plain Python, no Django and no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from generation.ml.scoring import CandidateCheck, distinct_n, text_length, tokenize

# Reported with every table, so a number is never read without what it measures.
METRIC_LABELS = {
    "bleu": "BLEU",
    "chrf": "chrF",
    "rouge_l": "ROUGE-L",
    "coverage": "coverage",
    "ungrounded_rate": "ungrounded",
    "violation_rate": "rule breaks",
    "distinct_2": "distinct-2",
    "repeated_ngrams": "repeated 3-grams",
    "mean_length": "length",
    "seconds_per_draft": "s/draft",
}


def bleu(hypotheses: Sequence[str], references: Sequence[str], *, language: str) -> float:
    """Corpus BLEU, 0-100: sacrebleu's 13a tokenizer for English, its Chinese tokenizer for zh."""
    from sacrebleu.metrics import BLEU

    if not hypotheses:
        return 0.0
    metric = BLEU(tokenize="zh" if language == "zh" else "13a")
    return metric.corpus_score(list(hypotheses), [list(references)]).score


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF, 0-100: character n-grams, so it works the same for English and Chinese."""
    from sacrebleu.metrics import CHRF

    if not hypotheses:
        return 0.0
    return CHRF().corpus_score(list(hypotheses), [list(references)]).score


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for token_a in a:
        current = [0]
        for j, token_b in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if token_a == token_b else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(hypothesis: str, reference: str) -> float:
    """ROUGE-L F1, 0-1, over words (Chinese by character, as `tokenize` splits them)."""
    hyp, ref = tokenize(hypothesis), tokenize(reference)
    if not hyp or not ref:
        return 0.0
    common = lcs_length(hyp, ref)
    if common == 0:
        return 0.0
    precision, recall = common / len(hyp), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class ScoredDraft:
    """One written draft beside its reference, with its checks."""

    field: str
    reference: str
    check: CandidateCheck
    seconds: float

    @property
    def text(self) -> str:
        return self.check.text


@dataclass(frozen=True)
class Metrics:
    drafts: int
    bleu: float
    chrf: float
    rouge_l: float  # 0-100 like BLEU and chrF, so one table reads the same way
    coverage: float  # mean share of attributes used, 0-1
    ungrounded_rate: float  # share of drafts with at least one unsupported claim, 0-1
    ungrounded_claims: int
    violation_rate: float  # share of drafts that break a channel rule, 0-1
    distinct_2: float
    repeated_ngrams: float  # mean share of repeated 3-grams per draft, 0-1
    mean_length: float  # words (en) or characters (zh)
    seconds_per_draft: float

    def to_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}

    @property
    def quality(self) -> float:
        """The single quality number promotion compares: the mean of chrF and ROUGE-L."""
        return (self.chrf + self.rouge_l) / 2


def compute_metrics(drafts: Sequence[ScoredDraft], *, language: str) -> Metrics:
    if not drafts:
        return Metrics(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
    count = len(drafts)
    texts = [d.text for d in drafts]
    references = [d.reference for d in drafts]
    return Metrics(
        drafts=count,
        bleu=bleu(texts, references, language=language),
        chrf=chrf(texts, references),
        rouge_l=100 * sum(rouge_l(t, r) for t, r in zip(texts, references, strict=True)) / count,
        coverage=sum(d.check.grounding.coverage for d in drafts) / count,
        ungrounded_rate=sum(bool(d.check.grounding.ungrounded) for d in drafts) / count,
        ungrounded_claims=sum(len(d.check.grounding.ungrounded) for d in drafts),
        violation_rate=sum(bool(d.check.violations) for d in drafts) / count,
        distinct_2=distinct_n(texts, 2),
        repeated_ngrams=sum(d.check.repetition for d in drafts) / count,
        mean_length=sum(text_length(t) for t in texts) / count,
        seconds_per_draft=sum(d.seconds for d in drafts) / count,
    )


def metrics_by_field(drafts: Sequence[ScoredDraft], *, language: str) -> dict[str, Metrics]:
    fields = dict.fromkeys(d.field for d in drafts)
    return {f: compute_metrics([d for d in drafts if d.field == f], language=language) for f in fields}


# A candidate may be this much worse on grounding or rules and still count as "no worse":
# a single draft in a few hundred, the noise of one sampled word.
RATE_TOLERANCE = 0.005


def promotion_decision(candidate: Metrics, current: Metrics) -> tuple[bool, str]:
    """Promote only a model no worse on grounding and rules and better on quality, with the reason."""
    if candidate.drafts == 0:
        return False, "the candidate wrote no drafts"
    if candidate.ungrounded_rate > current.ungrounded_rate + RATE_TOLERANCE:
        return False, (
            f"more drafts with unsupported claims ({candidate.ungrounded_rate:.1%} vs "
            f"{current.ungrounded_rate:.1%})"
        )
    if candidate.violation_rate > current.violation_rate + RATE_TOLERANCE:
        return False, (
            f"more drafts breaking channel rules ({candidate.violation_rate:.1%} vs "
            f"{current.violation_rate:.1%})"
        )
    if candidate.quality <= current.quality:
        return False, f"quality not better (chrF/ROUGE-L {candidate.quality:.1f} vs {current.quality:.1f})"
    return True, (
        f"quality {current.quality:.1f} → {candidate.quality:.1f} (chrF {current.chrf:.1f} → "
        f"{candidate.chrf:.1f}, ROUGE-L {current.rouge_l:.1f} → {candidate.rouge_l:.1f}); unsupported claims "
        f"{current.ungrounded_rate:.1%} → {candidate.ungrounded_rate:.1%}"
    )


def format_table(rows: Sequence[tuple[str, Metrics]]) -> str:
    """A plain-text table, one row per labelled result."""
    headers = ["", "drafts", *METRIC_LABELS.values()]
    lines = []
    for label, m in rows:
        lines.append(
            [
                label,
                str(m.drafts),
                f"{m.bleu:.1f}",
                f"{m.chrf:.1f}",
                f"{m.rouge_l:.1f}",
                f"{m.coverage:.0%}",
                f"{m.ungrounded_rate:.1%}",
                f"{m.violation_rate:.1%}",
                f"{m.distinct_2:.2f}",
                f"{m.repeated_ngrams:.1%}",
                f"{m.mean_length:.0f}",
                f"{m.seconds_per_draft:.2f}",
            ]
        )
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *lines, strict=True)]
    out = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    ]
    out += [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    return "\n".join(out)
