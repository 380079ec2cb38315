"""Word-level diffs between revisions: English by word, Chinese by character, signs on their own."""

from __future__ import annotations

from generation.diff import DiffPart, change_counts, tokens, word_diff


def _kinds(parts: list[DiffPart]) -> list[tuple[str, str]]:
    return [(p.kind, p.text) for p in parts]


def test_an_english_word_replaced_shows_as_removed_then_added() -> None:
    parts = word_diff("Fast USB-C charger for phones", "Fast USB-C cable for phones")
    assert _kinds(parts) == [
        ("same", "Fast USB-C "),
        ("removed", "charger"),
        ("added", "cable"),
        ("same", " for phones"),
    ]
    assert change_counts(parts) == (1, 1)


def test_words_are_not_split_inside_and_a_whole_word_changes_not_its_letters() -> None:
    # "charger" → "chargers" is one word removed and one added, not an "s" appended.
    parts = word_diff("A charger", "A chargers")
    assert _kinds(parts) == [("same", "A "), ("removed", "charger"), ("added", "chargers")]
    assert tokens("don't 3.5mm e-bike") == ["don't", " ", "3.5mm", " ", "e-bike"]


def test_punctuation_is_a_token_of_its_own() -> None:
    parts = word_diff("Waterproof, light.", "Waterproof; light!")
    assert _kinds(parts) == [
        ("same", "Waterproof"),
        ("removed", ","),
        ("added", ";"),
        ("same", " light"),
        ("removed", "."),
        ("added", "!"),
    ]
    assert change_counts(parts) == (2, 2)


def test_added_and_removed_words_are_counted_without_whitespace() -> None:
    parts = word_diff("Red cotton shirt", "Red organic cotton shirt for summer")
    assert [p for p in parts if p.kind == "removed"] == []
    assert "".join(p.text for p in parts if p.kind == "added").split() == ["organic", "for", "summer"]
    assert change_counts(parts) == (3, 0)
    # Reading the parts back gives the old text (same + removed) and the new one (same + added).
    assert "".join(p.text for p in parts if p.kind != "added") == "Red cotton shirt"
    assert "".join(p.text for p in parts if p.kind != "removed") == "Red organic cotton shirt for summer"


def test_chinese_is_compared_character_by_character() -> None:
    parts = word_diff("轻便防水背包", "轻便防风背包")
    assert _kinds(parts) == [("same", "轻便防"), ("removed", "水"), ("added", "风"), ("same", "背包")]
    assert change_counts(parts) == (1, 1)


def test_chinese_next_to_latin_letters_is_still_split_by_character() -> None:
    assert tokens("苹果iPhone13手机") == ["苹", "果", "iPhone13", "手", "机"]
    parts = word_diff("苹果手机A15芯片", "苹果手机A16芯片")
    assert _kinds(parts) == [
        ("same", "苹果手机"),
        ("removed", "A15"),
        ("added", "A16"),
        ("same", "芯片"),
    ]
    assert change_counts(parts) == (1, 1)


def test_chinese_punctuation_is_its_own_token() -> None:
    parts = word_diff("防水，轻便。", "防水；轻便。")
    assert _kinds(parts) == [("same", "防水"), ("removed", "，"), ("added", "；"), ("same", "轻便。")]


def test_identical_texts_have_one_unchanged_part() -> None:
    parts = word_diff("Same text, 同样的文字.", "Same text, 同样的文字.")
    assert _kinds(parts) == [("same", "Same text, 同样的文字.")]
    assert change_counts(parts) == (0, 0)


def test_empty_texts() -> None:
    assert word_diff("", "") == []
    assert _kinds(word_diff("", "New words")) == [("added", "New words")]
    assert change_counts(word_diff("Old words", "")) == (0, 2)


def test_a_whitespace_only_change_counts_no_words() -> None:
    parts = word_diff("one two", "one  two")
    assert any(p.kind != "same" for p in parts)
    assert change_counts(parts) == (0, 0)
