"""Channel profiles come from channels.json; check_rules reports where copy breaks them."""

from __future__ import annotations

import copy
import json

import pytest

from generation.ml.channels import (
    FIELDS,
    PROFILES_PATH,
    FieldRule,
    channel_profile,
    channel_profiles,
    check_rules,
    profiles_from_data,
)

MINIMAL = {
    "format": 1,
    "profiles": [
        {
            "slug": "shop",
            "label": "My Shop",
            "language": None,
            "banned_phrases": ["miracle"],
            "default_rule": {"max_chars": 50},
            "fields": {"title": {"max_chars": 10, "max_word_repeats": 1}},
        }
    ],
}


def rules(text: str, channel: str, field: str = "title", extra: tuple[str, ...] = ()) -> list:
    spans = check_rules(text, field=field, profile=channel_profile(channel), extra_banned=extra)
    for span in spans:
        assert text[span.start : span.end] == span.text
        assert span.kind == "rule"
    return spans


# --- The file ---------------------------------------------------------------------------------


def test_the_shipped_profiles_validate() -> None:
    profiles = profiles_from_data(json.loads(PROFILES_PATH.read_text(encoding="utf-8")))

    assert {"generic", "amazon", "taobao"} <= set(profiles)
    assert profiles == channel_profiles()
    assert (profiles["generic"].language, profiles["amazon"].language, profiles["taobao"].language) == (
        None,
        "en",
        "zh",
    )
    for profile in profiles.values():
        for field in FIELDS:
            assert profile.rule_for(field).max_chars, (profile.slug, field)
    assert profiles["amazon"].rule_for("title") == FieldRule(max_chars=200, max_word_repeats=2)
    assert profiles["taobao"].rule_for("title").max_chars == 30
    assert profiles["generic"].banned_phrases == ()


def test_a_field_without_its_own_rule_takes_the_default() -> None:
    profile = profiles_from_data(MINIMAL)["shop"]

    assert profile.rule_for("description") == FieldRule(max_chars=50)
    assert profile.rule_for("title") == FieldRule(max_chars=10, max_word_repeats=1)


def _broken(change) -> dict:
    data = copy.deepcopy(MINIMAL)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format=2), "format must be 1"),
        (lambda d: d.update(profiles=[]), "profiles must be a non-empty list"),
        (lambda d: d["profiles"][0].pop("label"), "lacks label"),
        (lambda d: d["profiles"][0].update(slug="My Shop"), "slug must be lowercase"),
        (lambda d: d["profiles"][0].update(language="fr"), "language must be null, 'en' or 'zh'"),
        (lambda d: d["profiles"][0]["fields"].update(titel={}), "fields.titel is not a field"),
        (lambda d: d["profiles"][0]["fields"]["title"].update(max_chars=0), "max_chars must be a positive"),
        (lambda d: d["profiles"][0]["fields"]["title"].update(max_char=5), "unknown keys ['max_char']"),
        (lambda d: d["profiles"][0].update(banned_phrases=["x", ""]), "list of non-empty strings"),
        (lambda d: d["profiles"][0].update(banned_phrases=["Free-Shipping", "free shipping"]), "twice"),
        (lambda d: d["profiles"][0].update(banned_reason="not allowed"), "banned_reason must be text"),
        (lambda d: d["profiles"].append(copy.deepcopy(d["profiles"][0])), "'shop' is defined twice"),
        (lambda d: d["profiles"][0].update(colour="red"), "unknown keys ['colour']"),
    ],
)
def test_a_broken_file_is_refused_with_the_problem_named(change, message: str) -> None:
    with pytest.raises(ValueError) as error:
        profiles_from_data(_broken(change), source="channels.json")
    assert message in str(error.value)
    assert str(error.value).startswith("channels.json")


def test_unknown_channel_and_field() -> None:
    with pytest.raises(ValueError, match=r"Unknown channel 'ebay'; choose one of amazon, generic, taobao"):
        channel_profile("ebay")
    with pytest.raises(ValueError, match="Unknown field 'subtitle'"):
        check_rules("x", field="subtitle", profile=channel_profile("generic"))


# --- Amazon -----------------------------------------------------------------------------------


def test_amazon_title_length() -> None:
    text = "Trail Running Shoe " + "x" * 212

    [span] = rules(text, "amazon")

    assert len(text) == 231
    assert (span.start, span.end) == (200, 231)
    assert span.reason == "Title is 231 characters; Amazon allows 200"
    assert rules("x" * 200, "amazon") == []


def test_amazon_promotional_phrases_on_word_boundaries() -> None:
    text = "Trail Shoe - Best  Seller, FREE shipping, #1 pick; wholesale #10 pack"

    spans = rules(text, "amazon")

    assert [(s.start, s.text) for s in spans] == [(13, "Best  Seller"), (27, "FREE shipping"), (42, "#1")]
    assert spans[1].reason == "'free shipping' is a promotional phrase Amazon does not allow"


def test_amazon_title_repeats_no_word_more_than_twice() -> None:
    text = "Shoe for Men, Running Shoe for Trail and Road, Light Shoe for Gym and Walking"

    spans = rules(text, "amazon")

    assert [(s.start, s.text, s.reason) for s in spans] == [
        (53, "Shoe", "'shoe' appears 3 times; Amazon allows 2")
    ]
    assert rules(text, "amazon", field="description") == []


def test_amazon_bullets_each_line_and_the_count() -> None:
    long_line = "Grippy outsole " + "y" * 500
    text = "\n".join([f"- {long_line}", "• Breathable mesh", "* Light", "Cushioned", "Wide fit", "Vegan"])

    spans = rules(text, "amazon", field="bullets")

    assert [s.reason for s in spans] == [
        "Bullet 1 is 515 characters; Amazon allows 500",
        "There are 6 bullets; Amazon allows 5",
    ]
    assert (spans[0].start, spans[0].end) == (2 + 500, 2 + 515)
    assert spans[1].text == "Vegan"
    assert rules("- Grippy outsole\n- Breathable mesh", "amazon", field="bullets") == []


# --- Taobao -----------------------------------------------------------------------------------


def test_taobao_absolute_terms_with_offsets() -> None:
    text = "最新款跑鞋，销量第一，国家级品质，顶级做工"

    spans = rules(text, "taobao", field="description")

    assert [(s.start, s.end, s.text) for s in spans] == [
        (0, 1, "最"),
        (6, 10, "销量第一"),
        (11, 14, "国家级"),
        (17, 19, "顶级"),
    ]
    assert spans[2].reason == "'国家级' is an absolute term China's Advertising Law (art. 9) forbids"


def test_taobao_reports_the_longest_listed_term() -> None:
    assert [s.text for s in rules("最佳之选，第一品牌", "taobao")] == ["最佳", "第一"]


def test_taobao_title_counts_characters() -> None:
    title = "李宁男子轻便透气缓震跑步鞋运动鞋夏季新款网面休闲鞋子男款黑白"
    assert len(title) == 30
    assert rules(title, "taobao") == []

    [span] = rules(title + "色", "taobao")

    assert (span.start, span.end, span.text) == (30, 31, "色")
    assert span.reason == "Title is 31 characters; Taobao allows 30"


# --- Generic and merchant words ---------------------------------------------------------------


@pytest.mark.parametrize("field", FIELDS)
def test_generic_passes_clean_copy(field: str) -> None:
    assert rules("Light trail shoe, breathable mesh", "generic", field=field) == []


def test_generic_length_limit() -> None:
    [span] = rules("x" * 161, "generic", field="seo_meta")
    assert span.reason == "SEO description is 161 characters; Generic web shop allows 160"


def test_merchant_banned_words() -> None:
    spans = rules("Cheap shoes, not cheapest; 超值特价", "generic", extra=("cheap", "特价", " "))

    assert [(s.text, s.reason) for s in spans] == [
        ("Cheap", "'cheap' is on your banned words list"),
        ("特价", "'特价' is on your banned words list"),
    ]


def test_a_channel_phrase_keeps_the_channel_reason_when_the_merchant_lists_it_too() -> None:
    [span] = rules("cheap shoe", "amazon", extra=("cheap",))
    assert span.reason == "'cheap' is a promotional phrase Amazon does not allow"


def test_generic_tags_are_counted_by_commas() -> None:
    tags = ", ".join(f"tag{i}" for i in range(22))

    spans = rules(tags, "generic", field="tags")

    assert [s.text for s in spans] == ["tag20", "tag21"]
    assert spans[0].reason == "There are 22 tags; Generic web shop allows 20"
