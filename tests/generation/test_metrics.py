"""Evaluation metrics against hand-computed values, and the promotion decision built on them."""

from __future__ import annotations

import math
from dataclasses import fields, replace

import pytest

from generation.ml.channels import channel_profile
from generation.ml.metrics import (
    METRIC_LABELS,
    RATE_TOLERANCE,
    Metrics,
    ScoredDraft,
    bleu,
    chrf,
    compute_metrics,
    format_table,
    lcs_length,
    metrics_by_field,
    promotion_decision,
    rouge_l,
)
from generation.ml.prompts import ProductFacts
from generation.ml.scoring import check_candidate

CAT_HYP = "the cat sat on the mat"
CAT_REF = "the cat is on the mat"

BOTTLE = ProductFacts(
    name="Acme Steel Bottle",
    category="bottles",
    attributes=(
        ("brand", "Acme"),
        ("capacity", "500 ml"),
        ("material", "stainless steel"),
        ("colour", "blue"),
    ),
)


# --- LCS and ROUGE-L ------------------------------------------------------------------------------


def test_lcs_length_by_hand() -> None:
    assert lcs_length(CAT_HYP.split(), CAT_REF.split()) == 5  # the cat _ on the mat
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4  # the textbook example: BCBA
    assert lcs_length(list("BDCABA"), list("ABCBDAB")) == 4  # symmetric
    assert lcs_length(["a", "b"], []) == 0
    assert lcs_length([], []) == 0
    assert lcs_length(["x", "y"], ["y", "x"]) == 1
    assert lcs_length(["a", "b", "c"], ["a", "b", "c"]) == 3


def test_rouge_l_english_words() -> None:
    # LCS 5 of 6 hypothesis and 6 reference words: P = R = 5/6, so F = 5/6.
    assert rouge_l(CAT_HYP, CAT_REF) == pytest.approx(5 / 6)
    assert rouge_l(CAT_HYP, CAT_REF) == pytest.approx(0.8333, abs=1e-4)
    # P = 2/2, R = 2/6: F = 2 * 1 * (1/3) / (4/3) = 0.5.
    assert rouge_l("the cat", CAT_REF) == pytest.approx(0.5)
    # Case and punctuation do not count: tokens are lowercased words.
    assert rouge_l("The Cat, sat on the MAT!", CAT_REF) == pytest.approx(5 / 6)


def test_rouge_l_chinese_by_character() -> None:
    # 今天天气 in common: LCS 4 of 6 characters each, F = 4/6.
    assert rouge_l("今天天气很好", "今天天气不错") == pytest.approx(4 / 6)
    # P = 4/4, R = 4/6: F = 2 * (2/3) / (5/3) = 0.8.
    assert rouge_l("今天天气", "今天天气不错") == pytest.approx(0.8)


def test_rouge_l_edges() -> None:
    assert rouge_l("", CAT_REF) == 0.0
    assert rouge_l(CAT_HYP, "") == 0.0
    assert rouge_l("...", CAT_REF) == 0.0  # no tokens at all
    assert rouge_l("dog runs", CAT_REF) == 0.0
    assert rouge_l(CAT_REF, CAT_REF) == 1.0
    assert rouge_l("今天天气不错", "今天天气不错") == 1.0


# --- BLEU and chrF --------------------------------------------------------------------------------


def test_bleu_identical_is_100() -> None:
    assert bleu([CAT_REF], [CAT_REF], language="en") == pytest.approx(100.0)
    assert bleu(["今天天气不错"], ["今天天气不错"], language="zh") == pytest.approx(100.0)


def test_bleu_cat_example_by_hand() -> None:
    # Clipped matches: 1-grams 5/6, 2-grams 3/5, 3-grams 1/4, 4-grams 0/3, which sacrebleu's
    # default "exp" smoothing turns into 1/(2*3) = 1/6. Equal lengths, so the brevity penalty is 1.
    precisions = [5 / 6, 3 / 5, 1 / 4, 1 / 6]
    expected = 100 * math.exp(sum(math.log(p) for p in precisions) / 4)
    assert expected == pytest.approx(37.99, abs=0.005)
    assert bleu([CAT_HYP], [CAT_REF], language="en") == pytest.approx(expected, abs=0.01)


def test_bleu_brevity_penalty_by_hand() -> None:
    # "the cat is on the" against the 6-word reference: every n-gram matches (5/5, 4/4, 3/3, 2/2),
    # so only the brevity penalty exp(1 - 6/5) is left.
    assert bleu(["the cat is on the"], [CAT_REF], language="en") == pytest.approx(
        100 * math.exp(1 - 6 / 5), abs=0.01
    )


def test_bleu_chinese_counts_characters() -> None:
    # Characters: 1-grams 4/6, 2-grams 3/5 (今天 天天 天气), 3-grams 2/4, 4-grams 1/3 (今天天气).
    expected = 100 * (4 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** (1 / 4)
    assert expected == pytest.approx(50.81, abs=0.005)
    assert bleu(["今天天气很好"], ["今天天气不错"], language="zh") == pytest.approx(expected, abs=0.01)
    # The English tokenizer sees each sentence as one word, so nothing matches.
    assert bleu(["今天天气很好"], ["今天天气不错"], language="en") == 0.0


def test_bleu_without_hypotheses_is_zero() -> None:
    assert bleu([], [], language="en") == 0.0
    assert bleu([], [], language="zh") == 0.0


def test_chrf_bounds() -> None:
    assert chrf([CAT_REF], [CAT_REF]) == pytest.approx(100.0)
    assert chrf(["今天天气不错"], ["今天天气不错"]) == pytest.approx(100.0)
    assert chrf(["xyz"], ["abc"]) == 0.0
    assert chrf(["鸟"], ["鱼"]) == 0.0
    assert chrf([], []) == 0.0
    partial = chrf([CAT_HYP], [CAT_REF])
    assert 30.0 < partial < 100.0
    # A closer hypothesis scores higher.
    assert chrf(["the cat sat on the mat"], [CAT_REF]) > chrf(["a dog sat on a rug"], [CAT_REF])


# --- compute_metrics ------------------------------------------------------------------------------


def _draft(text: str, reference: str, seconds: float, *, field: str = "title", channel: str = "amazon"):
    check = check_candidate(
        text,
        facts=BOTTLE,
        field=field,
        language="en",
        length="short",
        profile=channel_profile(channel),
    )
    return ScoredDraft(field=field, reference=reference, check=check, seconds=seconds)


@pytest.fixture(scope="module")
def drafts() -> list[ScoredDraft]:
    return [
        # brand, capacity, colour used: coverage 3/4; 6 words.
        _draft("Acme 500 ml bottle in blue", "Acme 500 ml bottle in blue", 0.5),
        # brand, material used: 2/4; 7 words; 3-grams: 5, "acme stainless steel" twice -> 2/5 repeated.
        _draft(
            "Acme stainless steel bottle, Acme stainless steel",
            "Acme stainless steel bottle, Acme stainless steel",
            1.0,
        ),
        # brand used: 1/4; 750 ml and 12 hour are not in the facts: two unsupported claims; 7 words.
        _draft("Acme 750 ml bottle, 12 hour insulation", "Acme 750 ml bottle, 12 hour insulation", 1.5),
        # brand, colour used: 2/4; "best seller" breaks Amazon's rules; 6 words.
        _draft("Best seller: Acme bottle in blue", "Acme bottle in blue", 3.0),
    ]


def test_the_drafts_are_checked_as_intended(drafts: list[ScoredDraft]) -> None:
    assert [d.check.grounding.coverage for d in drafts] == [0.75, 0.5, 0.25, 0.5]
    assert [len(d.check.grounding.ungrounded) for d in drafts] == [0, 0, 2, 0]
    assert [len(d.check.violations) for d in drafts] == [0, 0, 0, 1]
    assert drafts[1].check.repetition == pytest.approx(0.4)
    assert drafts[0].text == "Acme 500 ml bottle in blue"


def test_compute_metrics_by_hand(drafts: list[ScoredDraft]) -> None:
    m = compute_metrics(drafts, language="en")
    assert m.drafts == 4
    assert m.coverage == pytest.approx((0.75 + 0.5 + 0.25 + 0.5) / 4)  # 0.5
    assert m.ungrounded_rate == pytest.approx(0.25)  # one draft of four
    assert m.ungrounded_claims == 2  # both in that one draft
    assert m.violation_rate == pytest.approx(0.25)
    assert m.repeated_ngrams == pytest.approx((0 + 0.4 + 0 + 0) / 4)  # 0.1
    assert m.mean_length == pytest.approx((6 + 7 + 7 + 6) / 4)  # 6.5
    assert m.seconds_per_draft == pytest.approx((0.5 + 1.0 + 1.5 + 3.0) / 4)  # 1.5
    # Bigrams: 5 + 6 + 6 + 5 = 22 in all; new ones 5 + 4 (acme stainless, stainless steel,
    # steel bottle, bottle acme) + 5 (all but ml bottle) + 3 (best seller, seller acme, acme bottle).
    assert m.distinct_2 == pytest.approx(17 / 22)
    # Three drafts equal their reference; the last has LCS 4, P = 4/6, R = 4/4, F = 0.8.
    assert m.rouge_l == pytest.approx(100 * (1 + 1 + 1 + 0.8) / 4)  # 95, on the 0-100 scale
    assert 0 < m.bleu < 100
    assert 0 < m.chrf < 100
    assert m.quality == pytest.approx((m.chrf + m.rouge_l) / 2)


def test_compute_metrics_of_perfect_drafts(drafts: list[ScoredDraft]) -> None:
    perfect = [replace(d, reference=d.text) for d in drafts]
    m = compute_metrics(perfect, language="en")
    assert m.bleu == pytest.approx(100.0)
    assert m.chrf == pytest.approx(100.0)
    assert m.rouge_l == pytest.approx(100.0)


def _zh_draft(text: str) -> ScoredDraft:
    facts = ProductFacts(
        name="澜图保温杯", category="水杯", attributes=(("品牌", "澜图"), ("容量", "500毫升"))
    )
    check = check_candidate(
        text, facts=facts, field="title", language="zh", length="short", profile=channel_profile("taobao")
    )
    return ScoredDraft("title", text, check, 2.0)


def test_compute_metrics_chinese_length_counts_characters() -> None:
    m = compute_metrics([_zh_draft("澜图保温杯 500 毫升")], language="zh")
    # 澜 图 保 温 杯 500 毫 升: five characters, one number, two characters.
    assert m.mean_length == 8
    assert m.ungrounded_rate == 0.0
    assert m.violation_rate == 0.0
    assert m.coverage == 1.0
    assert m.bleu == pytest.approx(100.0)
    assert m.rouge_l == pytest.approx(100.0)


def test_chinese_characters_after_a_number_are_counted_one_by_one() -> None:
    assert compute_metrics([_zh_draft("澜图保温杯，500毫升")], language="zh").mean_length == 8
    # 500 毫 升 in common, out of 6 tokens each: F = 3/6.
    assert rouge_l("500毫升大容量", "500毫升保温杯") == pytest.approx(0.5)


def test_compute_metrics_of_nothing_is_zero() -> None:
    m = compute_metrics([], language="en")
    assert m.drafts == 0
    assert m.ungrounded_claims == 0
    for f in fields(Metrics):
        assert getattr(m, f.name) == 0, f.name
    assert m.quality == 0


def test_to_dict_has_every_field_rounded(drafts: list[ScoredDraft]) -> None:
    m = compute_metrics(drafts, language="en")
    data = m.to_dict()
    assert list(data) == [f.name for f in fields(Metrics)]
    assert data["drafts"] == 4
    assert data["ungrounded_claims"] == 2
    assert data["distinct_2"] == round(17 / 22, 4) == 0.7727
    assert data["ungrounded_rate"] == 0.25
    assert data["rouge_l"] == 95.0
    assert set(METRIC_LABELS) <= set(data)


def test_metrics_by_field_groups(drafts: list[ScoredDraft]) -> None:
    description = _draft("A 500 ml Acme bottle.", "A 500 ml Acme bottle.", 4.0, field="description")
    grouped = metrics_by_field([drafts[0], description, *drafts[1:]], language="en")
    assert list(grouped) == ["title", "description"]
    assert grouped["title"].drafts == 4
    assert grouped["title"] == compute_metrics(drafts, language="en")
    assert grouped["description"].drafts == 1
    assert grouped["description"].seconds_per_draft == 4.0
    assert grouped["description"].ungrounded_rate == 0.0
    assert metrics_by_field([], language="en") == {}


# --- Promotion ------------------------------------------------------------------------------------

BASE = Metrics(
    drafts=200,
    bleu=20.0,
    chrf=40.0,
    rouge_l=30.0,
    coverage=0.6,
    ungrounded_rate=0.05,
    ungrounded_claims=12,
    violation_rate=0.02,
    distinct_2=0.8,
    repeated_ngrams=0.01,
    mean_length=40.0,
    seconds_per_draft=1.2,
)


def test_better_quality_and_equal_grounding_is_promoted() -> None:
    candidate = replace(BASE, chrf=44.0, rouge_l=32.0)
    promoted, reason = promotion_decision(candidate, BASE)
    assert promoted is True
    assert "chrF 40.0 → 44.0" in reason
    assert "ROUGE-L 30.0 → 32.0" in reason
    assert "quality 35.0 → 38.0" in reason
    assert "5.0% → 5.0%" in reason


def test_grounding_within_tolerance_still_promoted() -> None:
    candidate = replace(BASE, chrf=44.0, ungrounded_rate=BASE.ungrounded_rate + RATE_TOLERANCE / 2)
    assert promotion_decision(candidate, BASE)[0] is True


def test_more_unsupported_claims_is_rejected() -> None:
    candidate = replace(
        BASE, chrf=60.0, rouge_l=60.0, ungrounded_rate=BASE.ungrounded_rate + 2 * RATE_TOLERANCE
    )
    promoted, reason = promotion_decision(candidate, BASE)
    assert promoted is False
    assert "unsupported claims" in reason
    assert "6.0% vs 5.0%" in reason


def test_more_rule_breaks_is_rejected() -> None:
    candidate = replace(BASE, chrf=60.0, rouge_l=60.0, violation_rate=0.05)
    promoted, reason = promotion_decision(candidate, BASE)
    assert promoted is False
    assert "channel rules" in reason
    assert "5.0% vs 2.0%" in reason


def test_equal_quality_is_rejected() -> None:
    promoted, reason = promotion_decision(BASE, BASE)
    assert promoted is False
    assert "not better" in reason
    # Better chrF bought with worse ROUGE-L, for the same mean, is not better either.
    promoted, reason = promotion_decision(replace(BASE, chrf=42.0, rouge_l=28.0), BASE)
    assert promoted is False
    assert "not better" in reason
    assert promotion_decision(replace(BASE, chrf=39.0), BASE)[0] is False


def test_no_drafts_is_rejected() -> None:
    empty = compute_metrics([], language="en")
    promoted, reason = promotion_decision(empty, BASE)
    assert promoted is False
    assert "no drafts" in reason


# --- Table ----------------------------------------------------------------------------------------


def test_format_table() -> None:
    worse = replace(BASE, chrf=35.5, ungrounded_rate=0.125)
    table = format_table([("base", BASE), ("candidate", worse)])
    lines = table.splitlines()
    assert len(lines) == 3
    header = lines[0]
    assert "drafts" in header
    for label in METRIC_LABELS.values():
        assert label in header
    assert lines[1].startswith("base ")
    assert lines[2].startswith("candidate ")
    assert lines[1].split() == [
        "base", "200", "20.0", "40.0", "30.0", "60%", "5.0%", "2.0%", "0.80", "1.0%", "40", "1.20",
    ]  # fmt: skip
    assert "35.5" in lines[2].split()
    assert "12.5%" in lines[2].split()
    # Columns line up: every line is as wide as the header.
    assert {len(line) for line in lines} == {len(header)}
