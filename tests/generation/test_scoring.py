from __future__ import annotations

from generation.ml.channels import channel_profile
from generation.ml.prompts import Example, ProductFacts
from generation.ml.retrieval import select_examples, similarity
from generation.ml.scoring import (
    check_candidate,
    distinct_n,
    edit_distance,
    is_chatter,
    rank,
    repeated_ngram_rate,
    tokenize,
)

PHONE = ProductFacts(
    name="iPhone 13",
    category="phones",
    attributes=(("brand", "Apple"), ("model", "iPhone 13"), ("chip", "A15 Bionic"), ("colour", "blue")),
)


def _check(text: str, channel: str = "generic", banned: tuple[str, ...] = ()) -> object:
    return check_candidate(
        text,
        facts=PHONE,
        field="title",
        language="en",
        length="short",
        profile=channel_profile(channel),
        extra_banned=banned,
    )


def test_tokenize_words_and_chinese_characters() -> None:
    assert tokenize("USB-C cable, 2 m") == ["usb-c", "cable", "2", "m"]
    assert tokenize("小米 5000mAh") == ["小", "米", "5000mah"]


def test_repetition_measures() -> None:
    assert repeated_ngram_rate("a fresh line of copy with no loops") == 0.0
    assert repeated_ngram_rate("buy it now buy it now buy it now") > 0.8
    assert distinct_n(["one two three", "one two four"], 2) == 3 / 4
    assert edit_distance("light and fast shoe", "light fast trail shoe") == 2
    assert edit_distance("防水跑鞋", "防水跑鞋") == 0


def test_grounded_candidate_outranks_an_inventive_one() -> None:
    grounded = _check("Apple iPhone 13 in blue with the A15 Bionic chip")
    inventive = _check("Apple iPhone 13 in blue with the A16 chip and 1 TB of storage")
    assert grounded.grounding.grounded and not inventive.grounding.grounded
    assert grounded.score > inventive.score
    assert rank([inventive, grounded])[0] is grounded


def test_rule_violations_and_banned_words_cost_score() -> None:
    clean = _check("Apple iPhone 13 in blue with the A15 Bionic chip", channel="amazon")
    promotional = _check("Apple iPhone 13 in blue, best seller, free shipping", channel="amazon")
    banned = _check("Apple iPhone 13 in blue with the A15 Bionic chip", banned=("blue",))
    assert not clean.violations
    assert len(promotional.violations) >= 2 and promotional.score < clean.score
    assert [v.text for v in banned.violations] == ["blue"]


def test_a_reply_to_the_requester_loses_to_copy() -> None:
    chatter = _check("Here's a title for Apple iPhone 13 in blue")
    copy = _check("Apple iPhone 13 in blue")
    assert chatter.score < copy.score
    assert is_chatter("以下是标题：小米") and not is_chatter("Apple iPhone 13")


def test_empty_candidate_is_last() -> None:
    assert _check("").score < _check("Apple").score


def test_rank_keeps_identical_texts_once() -> None:
    a, b = _check("Apple iPhone 13"), _check("Apple iPhone 13")
    assert len(rank([a, b])) == 1


def test_examples_are_chosen_by_similarity_most_similar_last() -> None:
    phone = Example(
        facts=ProductFacts(
            name="Pixel 8", category="phones", attributes=(("brand", "Google"), ("chip", "Tensor G3"))
        ),
        text="Google Pixel 8",
    )
    kettle = Example(
        facts=ProductFacts(name="Kettle", category="kitchen", attributes=(("capacity", "1.7 L"),)),
        text="A kettle",
    )
    other_phone = Example(
        facts=ProductFacts(name="Galaxy", category="phones", attributes=(("colour", "black"),)),
        text="Samsung Galaxy",
    )
    assert similarity(PHONE, phone.facts) > similarity(PHONE, kettle.facts)
    assert select_examples(PHONE, [kettle, phone, other_phone], k=2) == [other_phone, phone]
    assert select_examples(PHONE, [kettle], k=0) == []


def test_repetition_guards_leave_the_prompt_alone() -> None:
    """The facts sit in the prompt and must be copyable; only the new text may not repeat itself."""
    import torch

    from generation.ml.generator import SamplingOptions, _repetition_guards

    options = SamplingOptions(repetition_penalty=2.0, no_repeat_ngram_size=2)
    guards = _repetition_guards(options, prompt_length=3)
    prompt, new = [5, 6, 7], [8, 9, 8]
    scores = guards(torch.tensor([prompt + new]), torch.ones(1, 12))
    assert scores[0, 5] == scores[0, 6] == scores[0, 7] == 1.0  # facts in the prompt: not penalised
    assert scores[0, 8] == 0.5  # repeated in the new text: penalised
    assert scores[0, 9] == float("-inf")  # "8 9" already written, and the text ends in 8
    # With the guards off, nothing changes.
    off = SamplingOptions(repetition_penalty=1.0, no_repeat_ngram_size=0)
    plain = _repetition_guards(off, prompt_length=3)
    assert torch.equal(plain(torch.tensor([prompt + new]), torch.ones(1, 12)), torch.ones(1, 12))
