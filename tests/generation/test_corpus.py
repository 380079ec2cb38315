"""The bootstrap corpus: the shipped files, the checker, the held-out split, the parser and the CLI."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from generation.ml.corpus import (
    HELDOUT_SHARE,
    CorpusError,
    CorpusProduct,
    corpus_files,
    corpus_problems,
    main,
    product_problems,
    read_corpus,
    reference_text,
    shipped_split,
    split_corpus,
)


@pytest.fixture(scope="module")
def corpus() -> list[CorpusProduct]:
    return read_corpus()


def _by_sku(corpus: list[CorpusProduct], sku: str) -> CorpusProduct:
    (product,) = [p for p in corpus if p.sku == sku]
    return product


def _with_reference(product: CorpusProduct, field: str, text: str) -> CorpusProduct:
    references = dict(product.references)
    references[field] = text
    return replace(product, references=tuple(references.items()))


def _skus(products) -> set[str]:
    return {p.sku for p in products}


# --- The shipped corpus ---------------------------------------------------------------------------


def test_shipped_files_exist_and_parse(corpus: list[CorpusProduct]) -> None:
    files = corpus_files()
    assert {f.name for f in files} >= {"en-electronics.jsonl", "zh-1.jsonl"}
    assert all(f.suffix == ".jsonl" for f in files)
    assert len(corpus) >= 300
    # Every product remembers where it came from, as "file:line".
    first = _by_sku(corpus, "EN-ELEC-001")
    assert first.source == "en-electronics.jsonl:1"
    assert first.language == "en"
    assert first.facts.name == first.name == "Corvane Astra 9 Pro 5G Smartphone"
    assert dict(first.attributes)["battery"].startswith("5000 mAh")


def test_shipped_corpus_size_per_language(corpus: list[CorpusProduct]) -> None:
    by_language = Counter(p.language for p in corpus)
    assert set(by_language) == {"en", "zh"}
    assert by_language["en"] >= 200
    assert by_language["zh"] >= 100


def test_shipped_corpus_categories_per_language(corpus: list[CorpusProduct]) -> None:
    for language in ("en", "zh"):
        categories = {p.category for p in corpus if p.language == language}
        assert len(categories) >= 12, (language, sorted(categories))


def test_shipped_skus_are_unique(corpus: list[CorpusProduct]) -> None:
    duplicates = [sku for sku, count in Counter(p.sku for p in corpus).items() if count > 1]
    assert duplicates == []


def test_every_product_has_attributes_and_required_references(corpus: list[CorpusProduct]) -> None:
    for product in corpus:
        assert 4 <= len(product.attributes) <= 10, product.source
        for field in ("title", "description", "bullets", "tags"):
            text = product.reference(field)
            assert text is not None and text.strip(), (product.source, field)
        assert product.reference("bullets").startswith("- ")


def test_at_least_half_of_each_language_has_ad_copy_and_seo_meta(corpus: list[CorpusProduct]) -> None:
    for language in ("en", "zh"):
        products = [p for p in corpus if p.language == language]
        for field in ("ad_copy", "seo_meta"):
            with_field = [p for p in products if p.reference(field) is not None]
            assert 2 * len(with_field) >= len(products), (language, field)


def test_shipped_corpus_has_no_problems(corpus: list[CorpusProduct]) -> None:
    assert corpus_problems(corpus) == []


# --- The checker is not vacuous -------------------------------------------------------------------


def test_invented_spec_in_english_description_is_a_problem(corpus: list[CorpusProduct]) -> None:
    phone = _by_sku(corpus, "EN-ELEC-001")  # a 5000 mAh, 12 GB RAM phone
    assert product_problems(phone) == []
    description = phone.reference("description") + " It also comes with a 9000 mAh battery pack."
    problems = corpus_problems([_with_reference(phone, "description", description)])
    assert len(problems) >= 1
    assert all(p.startswith("en-electronics.jsonl:1 EN-ELEC-001: description: ") for p in problems)
    assert any("9000" in p for p in problems)


def test_invented_memory_size_in_chinese_description_is_a_problem(corpus: list[CorpusProduct]) -> None:
    phone = _by_sku(corpus, "ZH-A-001")  # 12GB+512GB
    assert product_problems(phone) == []
    description = phone.reference("description") + "另有16GB内存版本。"
    problems = product_problems(_with_reference(phone, "description", description))
    assert any(p.startswith("description: ") and "16" in p for p in problems), problems


def test_amazon_banned_term_in_english_reference_is_a_problem(corpus: list[CorpusProduct]) -> None:
    phone = _by_sku(corpus, "EN-ELEC-001")
    ad_copy = "A best seller for a reason. " + phone.reference("ad_copy")
    problems = product_problems(_with_reference(phone, "ad_copy", ad_copy))
    assert len(problems) == 1
    assert problems[0].startswith("ad_copy: ")
    assert "best seller" in problems[0].lower()


@pytest.mark.parametrize("term", ["最", "第一"])
def test_taobao_banned_term_in_chinese_reference_is_a_problem(corpus: list[CorpusProduct], term: str) -> None:
    phone = _by_sku(corpus, "ZH-A-001")
    description = phone.reference("description") + f"它是{term}值得入手的影像手机。"
    problems = product_problems(_with_reference(phone, "description", description))
    assert any(p.startswith("description: ") and term in p for p in problems), problems


def test_a_sixth_bullet_is_a_problem(corpus: list[CorpusProduct]) -> None:
    phone = _by_sku(corpus, "EN-ELEC-001")
    bullets = phone.reference("bullets")
    assert bullets.count("\n- ") == 4  # five bullets: Amazon's limit
    problems = product_problems(
        _with_reference(phone, "bullets", bullets + "\n- Titanium frame: light in hand")
    )
    assert problems
    assert all(p.startswith("bullets: ") for p in problems)
    assert any("6 bullets" in p for p in problems), problems


def test_sizes_missing_fields_and_duplicate_skus_are_problems(corpus: list[CorpusProduct]) -> None:
    phone = _by_sku(corpus, "EN-ELEC-001")
    few = replace(phone, attributes=phone.attributes[:3])
    assert any("has 3 attributes; 4-10 wanted" in p for p in product_problems(few))
    many = replace(phone, attributes=tuple((f"key {i}", f"value {i}") for i in range(11)))
    assert any("has 11 attributes; 4-10 wanted" in p for p in product_problems(many))
    untagged = replace(phone, references=tuple((f, t) for f, t in phone.references if f != "tags"))
    assert "no reference for tags" in product_problems(untagged)
    assert corpus_problems([phone, phone]) == ["sku EN-ELEC-001 appears 2 times"]


# --- The held-out split ---------------------------------------------------------------------------


def test_heldout_is_fifteen_percent_of_each_language(corpus: list[CorpusProduct]) -> None:
    train, heldout = split_corpus(corpus)
    for language in ("en", "zh"):
        total = sum(p.language == language for p in corpus)
        held = sum(p.language == language for p in heldout)
        assert held == round(total * HELDOUT_SHARE)
    # The shipped sizes, by hand: 210 * 0.15 = 31.5 -> 32 and 108 * 0.15 = 16.2 -> 16.
    assert Counter(p.language for p in corpus) == {"en": 210, "zh": 108}
    assert Counter(p.language for p in heldout) == {"en": 32, "zh": 16}
    assert len(train) == 318 - 48


def test_train_and_heldout_partition_the_corpus(corpus: list[CorpusProduct]) -> None:
    train, heldout = split_corpus(corpus)
    assert _skus(train).isdisjoint(_skus(heldout))
    assert _skus(train) | _skus(heldout) == _skus(corpus)
    assert len(train) + len(heldout) == len(corpus)


def test_split_does_not_depend_on_input_order(corpus: list[CorpusProduct]) -> None:
    train, heldout = split_corpus(corpus)
    for seed in (1, 2, 3):
        shuffled = list(corpus)
        random.Random(seed).shuffle(shuffled)
        assert shuffled != corpus
        shuffled_train, shuffled_heldout = split_corpus(shuffled)
        assert _skus(shuffled_heldout) == _skus(heldout)
        assert _skus(shuffled_train) == _skus(train)


def test_adding_a_product_moves_at_most_one_other(corpus: list[CorpusProduct]) -> None:
    _, heldout = split_corpus(corpus)
    before = _skus(heldout)
    template = _by_sku(corpus, "EN-ELEC-001")
    new_heldout_seen = 0
    for i in range(60):
        new = replace(template, sku=f"EN-NEW-{i:03d}")
        _, heldout_after = split_corpus([*corpus, new])
        after = _skus(heldout_after)
        # 211 * 0.15 = 31.65 -> still 32 English products held out.
        assert sum(p.language == "en" for p in heldout_after) == 32
        moved = (before ^ after) - {new.sku}
        assert len(moved) <= 1, (new.sku, moved)
        if new.sku in after:
            new_heldout_seen += 1
            # The newcomer took a held-out place, so exactly one English product went to train.
            assert len(moved) == 1
            (other,) = moved
            assert other in before and other.startswith("EN-")
        else:
            assert after == before
    assert 0 < new_heldout_seen < 60  # both cases were exercised


def test_adding_a_product_that_grows_the_heldout_moves_one_into_it(corpus: list[CorpusProduct]) -> None:
    english = [p for p in corpus if p.language == "en"][:19]
    # 19 * 0.15 = 2.85 -> 3 held out; 20 * 0.15 = 3.0 -> 3; 24 * 0.15 = 3.6 -> 4.
    _, heldout = split_corpus(english)
    assert len(heldout) == 3
    grown = [*english, *(replace(english[0], sku=f"EN-GROW-{i}") for i in range(5))]
    for size in range(20, 25):
        _, before = split_corpus(grown[: size - 1])
        _, after = split_corpus(grown[:size])
        assert len(after) == round(size * HELDOUT_SHARE)
        moved = (_skus(before) ^ _skus(after)) - {grown[size - 1].sku}
        assert len(moved) <= 1


def test_shipped_split_matches_split_of_shipped_corpus(corpus: list[CorpusProduct]) -> None:
    train, heldout = shipped_split()
    assert isinstance(train, tuple) and isinstance(heldout, tuple)
    expected_train, expected_heldout = split_corpus(read_corpus())
    assert [p.sku for p in heldout] == [p.sku for p in expected_heldout]
    assert [p.sku for p in train] == [p.sku for p in expected_train]
    assert shipped_split() is shipped_split()  # read once per process


# --- Parsing --------------------------------------------------------------------------------------


def _product(**changes) -> dict:
    data = {
        "sku": "T-1",
        "name": "Acme Bottle",
        "category": "bottles",
        "language": "en",
        "attributes": {"brand": "Acme", "capacity": "500 ml", "colour": "blue", "material": "glass"},
        "reference": {
            "title": "Acme Glass Bottle, 500 ml, Blue",
            "description": "A 500 ml glass bottle from Acme in blue.",
            "bullets": ["500 ml: enough for a walk", "Glass: no taste in your water"],
            "tags": ["acme bottle", "glass bottle"],
        },
    }
    data.update(changes)
    return data


def _write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_read_corpus_parses_a_file_and_skips_blank_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "mini.jsonl",
        json.dumps(_product()),
        "",
        "   ",
        json.dumps(_product(sku=" T-2 ", language="zh", reference={**_product()["reference"]})),
    )
    products = read_corpus([path])
    assert [p.sku for p in products] == ["T-1", "T-2"]
    assert [p.source for p in products] == ["mini.jsonl:1", "mini.jsonl:4"]
    first = products[0]
    assert first.attributes[:2] == (("brand", "Acme"), ("capacity", "500 ml"))
    assert first.fields == ("title", "description", "bullets", "tags")
    assert first.reference("bullets") == "- 500 ml: enough for a walk\n- Glass: no taste in your water"
    assert first.reference("tags") == "acme bottle, glass bottle"
    assert first.reference("ad_copy") is None
    assert products[1].reference("tags") == "acme bottle，glass bottle"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"sku": "T-1", ', "mini.jsonl:2: "),
        (json.dumps({k: v for k, v in _product().items() if k != "category"}), "missing category"),
        (json.dumps(_product(price="9.99")), "unknown keys price"),
        (json.dumps(_product(language="fr")), "language must be one of en, zh"),
        (
            json.dumps(_product(reference={**_product()["reference"], "bullets": "one, two"})),
            "bullets must be a list",
        ),
        (
            json.dumps(_product(reference={**_product()["reference"], "slogan": "Drink up"})),
            "unknown reference fields slogan",
        ),
        (json.dumps(_product(attributes={"brand": 5})), "attributes must map"),
        (json.dumps(_product(sku="  ")), "sku must be a non-empty string"),
        ("[1, 2]", "a line must be a JSON object"),
    ],
)
def test_bad_lines_raise_corpus_error_naming_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path / "mini.jsonl", json.dumps(_product()), line, json.dumps(_product(sku="T-3")))
    with pytest.raises(CorpusError) as caught:
        read_corpus([path])
    assert str(caught.value).startswith("mini.jsonl:2: ")
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_reference_text_formats_each_field() -> None:
    assert reference_text("bullets", [" Light ", "Strong"], "en") == "- Light\n- Strong"
    assert reference_text("bullets", ["轻巧", "耐用"], "zh") == "- 轻巧\n- 耐用"
    assert reference_text("tags", ["a", " b "], "en") == "a, b"
    assert reference_text("tags", ["保温杯", "水杯"], "zh") == "保温杯，水杯"
    assert reference_text("title", "  Acme Bottle \n", "en") == "Acme Bottle"
    with pytest.raises(ValueError, match="bullets must be a list"):
        reference_text("bullets", ["ok", " "], "en")
    with pytest.raises(ValueError, match="tags must be a list"):
        reference_text("tags", "a, b", "en")
    with pytest.raises(ValueError, match="title must be a non-empty string"):
        reference_text("title", "", "en")


# --- The command line -----------------------------------------------------------------------------


def test_main_passes_the_shipped_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["318 products (en: 210, zh: 108), 36 categories, 0 problems"]


def test_main_fails_on_a_file_with_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _product(
        sku="T-9",
        reference={**_product()["reference"], "description": "A 750 ml glass bottle. Our best seller."},
    )
    path = _write(tmp_path / "bad.jsonl", json.dumps(_product()), json.dumps(bad))
    assert main([str(path)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    problems, summary = lines[:-1], lines[-1]
    assert problems
    assert all(p.startswith("bad.jsonl:2 T-9: description: ") for p in problems)
    assert any("750" in p for p in problems)
    assert any("best seller" in p.lower() for p in problems)
    assert summary == f"2 products (en: 2), 1 categories, {len(problems)} problems"


def test_main_fails_on_an_unreadable_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "broken.jsonl", "not json")
    assert main([str(path)]) == 1
    assert capsys.readouterr().out.startswith("broken.jsonl:1: ")
