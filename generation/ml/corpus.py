"""The bootstrap corpus: products with reference copy an excellent copywriter would write.

One product a line of JSON in `generation/corpus/*.jsonl`:

    {"sku", "name", "category", "language", "attributes": {key: value},
     "reference": {"title", "description", "bullets": [...], "tags": [...], "ad_copy"?, "seo_meta"?}}

A fixed 15% of each language is held out for evaluation and never trained on: the products whose
SKU hashes lowest, so the split does not depend on file order and adding a product moves at most
one other. Every reference must pass the project's own grounding check and the channel rules of
the generic shop and of its language's marketplace (Amazon for English, Taobao for Chinese).

Plain Python, no Django: `python -m generation.ml.corpus [FILE ...]` checks files and prints
what is wrong with each line.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from generation.ml.channels import channel_profile, check_rules
from generation.ml.grounding import check_grounding
from generation.ml.prompts import FIELDS, LANGUAGES, ProductFacts

CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus"
HELDOUT_SHARE = 0.15
REQUIRED_FIELDS = ("title", "description", "bullets", "tags")
MIN_ATTRIBUTES, MAX_ATTRIBUTES = 4, 10
MARKETPLACE = {"en": "amazon", "zh": "taobao"}  # the stricter profile each language must pass


class CorpusError(ValueError):
    """A corpus line that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class CorpusProduct:
    sku: str
    name: str
    category: str
    language: str
    attributes: tuple[tuple[str, str], ...]
    references: tuple[tuple[str, str], ...]  # field -> text, as a draft of that field is stored
    source: str = ""  # file:line

    @property
    def facts(self) -> ProductFacts:
        return ProductFacts(name=self.name, category=self.category, attributes=self.attributes)

    def reference(self, field: str) -> str | None:
        return dict(self.references).get(field)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(field for field, _ in self.references)


def reference_text(field: str, value: object, language: str) -> str:
    """A reference as the draft text of its field: bullets one per line with "- ", tags joined."""
    if field == "bullets":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError("bullets must be a list of non-empty strings")
        return "\n".join(f"- {item.strip()}" for item in value)
    if field == "tags":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError("tags must be a list of non-empty strings")
        return ("，" if language == "zh" else ", ").join(item.strip() for item in value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must be a non-empty string")
    return value.strip()


def parse_product(data: object, source: str = "") -> CorpusProduct:
    """One corpus line as a product; ValueError says what is wrong with its shape."""
    if not isinstance(data, dict):
        raise ValueError("a line must be a JSON object")
    missing = [k for k in ("sku", "name", "category", "language", "attributes", "reference") if k not in data]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    unknown = set(data) - {"sku", "name", "category", "language", "attributes", "reference"}
    if unknown:
        raise ValueError(f"unknown keys {', '.join(sorted(unknown))}")
    for key in ("sku", "name", "category"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise ValueError(f"{key} must be a non-empty string")
    language = data["language"]
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    attributes = data["attributes"]
    if not isinstance(attributes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip() for k, v in attributes.items()
    ):
        raise ValueError("attributes must map non-empty strings to non-empty strings")
    reference = data["reference"]
    if not isinstance(reference, dict):
        raise ValueError("reference must be an object")
    unknown_fields = set(reference) - set(FIELDS)
    if unknown_fields:
        raise ValueError(f"unknown reference fields {', '.join(sorted(unknown_fields))}")
    references = []
    for field in FIELDS:
        if field in reference:
            try:
                references.append((field, reference_text(field, reference[field], language)))
            except ValueError as error:
                raise ValueError(f"reference {error}") from None
    return CorpusProduct(
        sku=data["sku"].strip(),
        name=data["name"].strip(),
        category=data["category"].strip(),
        language=language,
        attributes=tuple((k.strip(), v.strip()) for k, v in attributes.items()),
        references=tuple(references),
        source=source,
    )


def corpus_files(directory: Path = CORPUS_DIR) -> list[Path]:
    return sorted(directory.glob("*.jsonl"))


def read_corpus(paths: Iterable[Path] | None = None) -> list[CorpusProduct]:
    """Every product in the files (default: the shipped corpus); CorpusError on the first bad line."""
    products = []
    for path in corpus_files() if paths is None else paths:
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise CorpusError(f"{path.name}: cannot be read as UTF-8 text ({error})") from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            source = f"{path.name}:{number}"
            try:
                products.append(parse_product(json.loads(line), source))
            except ValueError as error:  # JSONDecodeError is a ValueError
                raise CorpusError(f"{source}: {error}") from None
    return products


def product_problems(product: CorpusProduct) -> list[str]:
    """Why a product is not fit for the corpus: sizes, missing fields, unsupported claims, rules."""
    problems = []
    if not MIN_ATTRIBUTES <= len(product.attributes) <= MAX_ATTRIBUTES:
        problems.append(f"has {len(product.attributes)} attributes; {MIN_ATTRIBUTES}-{MAX_ATTRIBUTES} wanted")
    missing = [field for field in REQUIRED_FIELDS if product.reference(field) is None]
    if missing:
        problems.append(f"no reference for {', '.join(missing)}")
    profiles = (channel_profile("generic"), channel_profile(MARKETPLACE[product.language]))
    context = product.facts.grounding_context()
    for field, text in product.references:
        report = check_grounding(text, product.attributes, language=product.language, context=context)
        problems += [f"{field}: {span.reason}" for span in report.ungrounded]
        for profile in profiles:
            problems += [
                f"{field}: {span.reason}" for span in check_rules(text, field=field, profile=profile)
            ]
    return problems


def corpus_problems(products: Sequence[CorpusProduct]) -> list[str]:
    """Every problem in a corpus, each prefixed with where it is."""
    problems = []
    for sku, count in Counter(p.sku for p in products).items():
        if count > 1:
            problems.append(f"sku {sku} appears {count} times")
    for product in products:
        problems += [f"{product.source} {product.sku}: {p}" for p in product_problems(product)]
    return problems


def _split_key(product: CorpusProduct) -> str:
    return hashlib.sha256(f"{product.language}:{product.sku}".encode()).hexdigest()


def split_corpus(products: Sequence[CorpusProduct]) -> tuple[list[CorpusProduct], list[CorpusProduct]]:
    """(train, held-out): per language the 15% of products whose SKUs hash lowest are held out."""
    heldout_keys: set[tuple[str, str]] = set()
    for language in LANGUAGES:
        ranked = sorted((p for p in products if p.language == language), key=_split_key)
        heldout_keys.update((p.language, p.sku) for p in ranked[: round(len(ranked) * HELDOUT_SHARE)])
    train = [p for p in products if (p.language, p.sku) not in heldout_keys]
    heldout = [p for p in products if (p.language, p.sku) in heldout_keys]
    return train, heldout


@functools.lru_cache(maxsize=1)
def shipped_split() -> tuple[tuple[CorpusProduct, ...], tuple[CorpusProduct, ...]]:
    """(train, held-out) of the shipped corpus, read once per process."""
    train, heldout = split_corpus(read_corpus())
    return tuple(train), tuple(heldout)


def main(argv: Sequence[str]) -> int:
    paths = [Path(a) for a in argv] or corpus_files()
    try:
        products = read_corpus(paths)
    except CorpusError as error:
        print(error)
        return 1
    problems = corpus_problems(products)
    for problem in problems:
        print(problem)
    by_language = Counter(p.language for p in products)
    categories = Counter((p.language, p.category) for p in products)
    print(
        f"{len(products)} products ({', '.join(f'{k}: {v}' for k, v in sorted(by_language.items()))}), "
        f"{len({c for _, c in categories})} categories, {len(problems)} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
