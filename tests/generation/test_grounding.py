"""The grounding check: every number, model, material, certification and technology in a draft
must come from the product's attributes (or its name and category)."""

from __future__ import annotations

import pytest

from generation.ml.grounding import GroundingReport, Span, check_grounding, extract_claims

PHONE = {"brand": "Apple", "model": "iPhone 13", "chip": "A15 Bionic"}


def ungrounded_texts(text: str, attributes, *, language: str = "en", context: str = "") -> list[str]:
    report = check_grounding(text, attributes, language=language, context=context)
    for span in report.ungrounded:
        assert text[span.start : span.end] == span.text
    return [span.text for span in report.ungrounded]


def claims(text: str, *, language: str = "en") -> list[tuple[str, str]]:
    return [(span.text, span.kind) for span in extract_claims(text, language=language)]


# --- The famous failure -----------------------------------------------------------------------


def test_invented_chip_is_the_one_ungrounded_span() -> None:
    text = "The iPhone 13 with the A15 chip ... the A16 processor"

    report = check_grounding(text, PHONE, language="en")

    assert report.claims == 3
    assert len(report.ungrounded) == 1
    span = report.ungrounded[0]
    assert (span.start, span.end, span.text) == (text.index("A16"), text.index("A16") + 3, "A16")
    assert span.kind == "model"
    assert span.reason == "'A16' is not in the attributes"
    assert not report.grounded


def test_another_model_of_the_same_line_is_ungrounded() -> None:
    assert ungrounded_texts("Fits the iPhone 14 and the iPhone 13", PHONE) == ["iPhone 14"]
    assert ungrounded_texts("Made for iPhone 13 Pro Max", PHONE) == ["iPhone 13 Pro Max"]


def test_model_codes_ignore_case_hyphens_and_spaces() -> None:
    attributes = {"model": "Sony WH-1000XM5"}
    assert ungrounded_texts("The wh1000xm5 and the WH-1000XM5", attributes) == []
    assert ungrounded_texts("Better than the WH-1000XM4", attributes) == ["WH-1000XM4"]


def test_context_grounds_a_model_but_not_coverage() -> None:
    text = "Sony WH-1000XM5 headphones"

    with_name = check_grounding(text, {}, language="en", context="Sony WH-1000XM5\nHeadphones")
    without = check_grounding(text, {}, language="en")

    assert with_name.grounded and with_name.claims == 1
    assert with_name.coverage == 0.0 and with_name.used == ()
    assert [s.text for s in without.ungrounded] == ["WH-1000XM5"]


# --- Numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "draft"),
    [
        ("5000mAh", "a 5,000 mAh battery"),
        ("5,000 mAh", "a 5000mAh battery"),
        ("1.5 L", "holds 1.50 litres"),
        ("1500 ml", "holds 1.5 L"),
        ("40 hours", "up to 40-hour playback"),
        ("6.1 inch", 'a 6.1" screen'),
        ("13 英寸", "a 13-inch laptop"),
        ("25°C", "tested at 25 ℃"),
        ("2千克", "weighs 2 kg"),
        ("500毫升", "500 ml bottle"),
        ("15厘米", "15 cm long"),
        ("65瓦", "65W charger"),
        ("30%", "30 percent lighter"),
        ("30小时", "30 hrs of music"),
        ("5000", "a 5000 mAh cell"),
        ("2万毫安", "20,000 mAh power bank"),
    ],
)
def test_numbers_match_across_formats_and_unit_synonyms(value: str, draft: str) -> None:
    report = check_grounding(draft, {"spec": value}, language="en")
    assert report.grounded, report.ungrounded
    assert report.claims >= 1


def test_a_different_number_with_the_same_unit_names_the_given_one() -> None:
    text = "Packs a 4500 mAh battery"

    report = check_grounding(text, {"battery": "5000 mAh"}, language="en")

    assert [s.to_dict() for s in report.ungrounded] == [
        {
            "start": 8,
            "end": 16,
            "text": "4500 mAh",
            "reason": "'4500 mAh': the attributes give 5000 mAh",
            "kind": "number",
        }
    ]


@pytest.mark.parametrize(
    ("value", "draft", "flagged"),
    [
        ("13 cm", "a 13 inch tablet", "13 inch"),
        ("40 minutes", "lasts 40 hours", "40 hours"),
        ("2 kg", "only 2 lb", "2 lb"),
    ],
)
def test_the_same_number_with_another_unit_is_ungrounded(value: str, draft: str, flagged: str) -> None:
    report = check_grounding(draft, {"spec": value}, language="en")
    assert [s.text for s in report.ungrounded] == [flagged]
    assert value in report.ungrounded[0].reason


def test_bare_numbers_and_years_are_claims_but_list_numbers_are_not() -> None:
    text = "1. Founded in 2015\n2. Ships in 3 colours"

    assert claims(text) == [("2015", "number"), ("3", "number")]
    assert ungrounded_texts(text, {"colours": "3"}) == ["2015"]


def test_a_number_inside_a_model_backs_only_a_bare_number() -> None:
    assert ungrounded_texts("Number 13 in the line", PHONE) == []
    assert ungrounded_texts("Runs 13 hours", PHONE) == ["13 hours"]


def test_a_brand_before_a_measurement_is_not_a_model() -> None:
    assert claims("HydroFlask 32 oz bottle") == [("32 oz", "number")]
    assert claims("Galaxy S23 Ultra, 256GB") == [("Galaxy S23 Ultra", "model"), ("256GB", "number")]


def test_full_width_digits_are_read_with_offsets_into_the_original() -> None:
    text = "大容量５０００ｍＡｈ电池"

    assert claims(text, language="zh") == [("５０００ｍＡｈ", "number")]
    assert ungrounded_texts(text, {"电池": "5000毫安"}, language="zh") == []


# --- Materials --------------------------------------------------------------------------------


def test_material_synonyms_and_longest_match() -> None:
    text = "A stainless steel body, aluminum frame and carbon fiber plate"

    assert claims(text) == [
        ("stainless steel", "material"),
        ("aluminum", "material"),
        ("carbon fiber", "material"),
    ]
    attributes = {"material": "Stainless steel, aluminium", "plate": "carbon fibre"}
    assert ungrounded_texts(text, attributes) == []


def test_a_stronger_material_backs_a_weaker_one_never_the_reverse() -> None:
    assert ungrounded_texts("Forged from steel", {"material": "stainless steel"}) == []
    assert ungrounded_texts("Forged from stainless steel", {"material": "steel"}) == ["stainless steel"]
    assert ungrounded_texts("A genuine leather strap", {"strap": "PU leather"}) == ["genuine leather"]
    assert ungrounded_texts("A leather strap", {"strap": "PU leather"}) == ["leather"]


def test_an_invented_material_says_so() -> None:
    report = check_grounding("A titanium case", {"material": "aluminium"}, language="en")
    assert [(s.text, s.kind, s.reason) for s in report.ungrounded] == [
        ("titanium", "material", "'titanium' (material) is not in the attributes")
    ]


def test_chinese_materials_and_single_character_exclusions() -> None:
    text = "纯棉面料，棉质内衬，钢琴烤漆，木星图案，实木底座"

    assert claims(text, language="zh") == [
        ("纯棉", "material"),
        ("棉质", "material"),
        ("实木", "material"),
    ]
    assert ungrounded_texts(text, {"材质": "纯棉"}, language="zh") == ["实木"]
    assert ungrounded_texts("柔软的棉", {"材质": "纯棉"}, language="zh") == []
    assert ungrounded_texts("纯棉T恤", {"材质": "棉"}, language="zh") == ["纯棉"]


def test_materials_ground_across_languages() -> None:
    assert ungrounded_texts("铝合金机身", {"material": "aluminium alloy"}, language="zh") == []
    assert ungrounded_texts("An aluminium body", {"材质": "铝合金"}) == []


# --- Certifications ---------------------------------------------------------------------------


def test_ip_ratings_must_match() -> None:
    attributes = {"waterproof": "IPX7"}
    assert ungrounded_texts("Rated IPX7 for the pool", attributes) == []
    assert ungrounded_texts("Rated IPX8 for the pool", attributes) == ["IPX8"]
    assert ungrounded_texts("IP67-rated, so IPX7 too", {"rating": "IP67"}) == []


def test_an_ip_code_is_one_claim_not_also_a_number() -> None:
    assert claims("IPX7 waterproof") == [("IPX7", "certification"), ("waterproof", "technology")]


def test_short_certifications_match_whole_uppercase_words() -> None:
    assert claims("CE and FCC certified") == [("CE", "certification"), ("FCC", "certification")]
    assert claims("Ce produit est ACE") == []
    assert ungrounded_texts("CE and FCC certified", {"certification": "ce"}) == ["FCC"]


def test_standards_and_labels() -> None:
    attributes = {"certification": "ISO 9001, BPA-free"}
    assert ungrounded_texts("ISO 9001 factory, BPA free bottle", attributes) == []
    assert ungrounded_texts("ISO 14001 factory, FDA approved", attributes) == ["ISO 14001", "FDA"]
    assert ungrounded_texts("通过3C认证", {"认证": "CCC"}, language="zh") == []


# --- Technologies -----------------------------------------------------------------------------


def test_bluetooth_version_must_be_grounded() -> None:
    assert ungrounded_texts("Bluetooth 5.3 pairing", {"bluetooth": "5.3"}) == []
    assert ungrounded_texts("Bluetooth 5.0 pairing", {"connectivity": "Bluetooth 5"}) == []

    report = check_grounding("Bluetooth 5.3 pairing", {"connectivity": "Bluetooth 5.0"}, language="en")

    assert [s.text for s in report.ungrounded] == ["Bluetooth 5.3"]
    assert "version 5" in report.ungrounded[0].reason


def test_technology_synonyms() -> None:
    attributes = {"audio": "ANC", "port": "Type-C", "network": "WiFi 6"}
    text = "Active noise cancelling, a USB-C port and Wi-Fi 6"
    assert ungrounded_texts(text, attributes) == []
    assert ungrounded_texts("主动降噪", {"audio": "noise cancelling"}, language="zh") == []
    assert ungrounded_texts("NFC and wireless charging", attributes) == ["NFC", "wireless charging"]


def test_waterproof_needs_a_water_rating_or_the_word() -> None:
    assert ungrounded_texts("Waterproof for swims", {"rating": "IPX7"}) == []
    assert ungrounded_texts("防水设计", {"waterproof": "yes"}, language="zh") == []
    assert ungrounded_texts("Waterproof for swims", {"waterproof": "no"}) == ["Waterproof"]
    assert ungrounded_texts("Waterproof for swims", {"rating": "IPX2"}) == ["Waterproof"]


def test_compatibility_targets_must_be_in_the_sources() -> None:
    text = "Compatible with Samsung Galaxy S23. Works with Alexa."
    assert ungrounded_texts(text, {}, context="Galaxy S23 case") == ["Samsung Galaxy S23", "Alexa"]
    assert ungrounded_texts(text, {"works with": "Alexa"}, context="Samsung Galaxy S23 case") == []


# --- Chinese drafts ---------------------------------------------------------------------------


def test_chinese_draft() -> None:
    attributes = {"品牌": "小米", "电池": "5000毫安", "材质": "铝合金"}
    text = "小米手机配备5000mAh大电池，机身采用钛合金，支持蓝牙5.3，另有6000毫安版本。"

    report = check_grounding(text, attributes, language="zh")

    assert [(s.text, s.kind) for s in report.ungrounded] == [
        ("钛合金", "material"),
        ("蓝牙5.3", "technology"),
        ("6000毫安", "number"),
    ]
    for span in report.ungrounded:
        assert text[span.start : span.end] == span.text
    assert report.ungrounded[2].reason == "'6000毫安': the attributes give 5000毫安"
    assert report.claims == 4  # 5000mAh is a claim, grounded through the unit synonym
    assert report.used == ("品牌", "电池") and report.unused == ("材质",)


# --- Coverage ---------------------------------------------------------------------------------


def test_coverage_lists_used_and_unused_keys_in_attribute_order() -> None:
    attributes = [
        ("colour", "Midnight Blue"),
        ("chip", "A15 Bionic"),
        ("storage", "128GB"),
        ("brand", "Apple"),
        ("waterproof", "yes"),
    ]
    text = "The blue Apple phone with the A15 chip, 1128GB, water resistant"

    report = check_grounding(text, attributes, language="en")

    assert report.used == ("colour", "chip", "brand", "waterproof")
    assert report.unused == ("storage",)
    assert report.coverage == pytest.approx(4 / 5)


def test_coverage_needs_half_the_significant_words() -> None:
    attributes = {"feature": "Extra Soft Memory Foam Cushion"}
    assert check_grounding("A soft cushion", attributes, language="en").unused == ("feature",)
    assert check_grounding("Soft memory foam", attributes, language="en").used == ("feature",)


def test_coverage_of_numbers_is_numeric() -> None:
    attributes = {"battery": "5,000 mAh", "weight": "1.50 kg"}
    report = check_grounding("5000mAh cell, 1.5 kg", attributes, language="en")
    assert report.used == ("battery", "weight")
    assert check_grounding("15000mAh, 11.5 kg", attributes, language="en").used == ()


def test_coverage_of_chinese_values() -> None:
    attributes = {"机身": "铝合金机身", "颜色": "黑色", "电池": "5000毫安"}
    report = check_grounding("铝合金打造，5000mAh", attributes, language="zh")
    assert report.used == ("机身", "电池")
    assert report.unused == ("颜色",)


# --- Shapes and edges -------------------------------------------------------------------------


def test_to_dict_shapes() -> None:
    report = check_grounding("The A16 chip", PHONE, language="en")
    data = report.to_dict()

    assert set(data) == {"coverage", "used", "unused", "claims", "ungrounded"}
    assert data["used"] == [] and data["unused"] == ["brand", "model", "chip"]
    assert data["ungrounded"] == [
        {"start": 4, "end": 7, "text": "A16", "reason": "'A16' is not in the attributes", "kind": "model"}
    ]
    assert Span(0, 1, "x", "", "number").to_dict() == {
        "start": 0, "end": 1, "text": "x", "reason": "", "kind": "number"
    }


def test_empty_text_and_no_attributes() -> None:
    assert check_grounding("", {}, language="en") == GroundingReport(0.0, (), (), 0, ())
    empty = check_grounding("", PHONE, language="zh")
    assert empty.grounded and empty.coverage == 0.0 and empty.unused == ("brand", "model", "chip")
    assert extract_claims("", language="en") == []


def test_extract_claims_gives_kinds_and_empty_reasons() -> None:
    spans = extract_claims("Bluetooth 5.3, 5000mAh, WH-1000XM5, cotton, RoHS", language="en")
    assert [(s.text, s.kind) for s in spans] == [
        ("Bluetooth 5.3", "technology"),
        ("5000mAh", "number"),
        ("WH-1000XM5", "model"),
        ("cotton", "material"),
        ("RoHS", "certification"),
    ]
    assert {s.reason for s in spans} == {""}


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown language 'fr'"):
        check_grounding("Bonjour", {}, language="fr")


def test_long_text_with_emoji_and_html() -> None:
    chunk = (
        "<h2>Meet the iPhone 13</h2> 😀🔥 <p class='x1'>With the A15 chip &amp; 5,000 mAh &#128512; "
        "a 钛合金 frame, Bluetooth 5.3 and https://example.com/p/A99 inside.</p>\n"
    )
    text = (chunk * 60)[:5000]

    report = check_grounding(text, PHONE, language="en")

    assert len(text) == 5000
    assert {s.text for s in report.ungrounded} <= {"5,000 mAh", "钛合金", "Bluetooth 5.3", "5,000"}
    assert "h2" not in {s.text.lower() for s in report.ungrounded}
    for span in report.ungrounded:
        assert text[span.start : span.end] == span.text


def test_a_verb_after_a_model_code_is_not_a_unit() -> None:
    # Corpus writers hit this: "pairs" after "TR-5" was read as "5 pairs".
    attributes = {"model": "TR-5", "cushioning": "5 mm EVA foam", "motor": "1200 W"}
    for text in ("The Ridgeline TR-5 pairs 5 mm EVA foam with grip.", "The PB-1200 pairs a 1200 W motor."):
        report = check_grounding(text, attributes | {"code": "PB-1200"}, language="en")
        assert report.grounded, report.ungrounded
    # A real count is still checked.
    assert not check_grounding("Comes with 5 pairs of laces.", attributes, language="en").grounded


def test_a_chinese_list_comma_keeps_two_numbers_apart() -> None:
    attributes = {"连接": "蓝牙5.2，3.5mm有线", "续航": "30小时、快充10分钟"}
    report = check_grounding("支持3.5mm有线连接，续航30小时，快充10分钟", attributes, language="zh")
    assert report.grounded, report.ungrounded
    assert not check_grounding("支持2.5mm有线连接", attributes, language="zh").grounded
