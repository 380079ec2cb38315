"""Training sets from accepted copy: one merchant's, or the opted-in merchants' for the shared model.

Reads `TrainingExample` rows and the shipped corpus, and leaves the filtering, deduping, split and
mixing to `generation.ml.dataset.build_dataset`. A merchant's examples only ever reach its own
adapter, or the shared one when it opted in (`CopySettings.share_for_training`).
"""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings

from catalog.models import Merchant
from generation.ml.channels import channel_profiles
from generation.ml.corpus import CorpusProduct, shipped_split
from generation.ml.dataset import Dataset, Example, build_dataset
from generation.ml.prompts import ProductFacts
from generation.models import CopySettings, TrainingExample


def sharing_merchant_ids() -> list[int]:
    """Merchants who let their accepted copy train the shared model."""
    return list(CopySettings.objects.filter(share_for_training=True).values_list("merchant_id", flat=True))


def merchant_examples(*, merchant_ids: list[int], language: str) -> list[Example]:
    """The merchants' accepted copy in a language, newest first."""
    rows = TrainingExample.objects.filter(merchant_id__in=merchant_ids, language=language).order_by(
        "-created_at", "-id"
    )
    return [
        Example(
            group=f"m{row.merchant_id}/"
            + (f"p{row.product_id}" if row.product_id else f"n:{row.product_name}"),
            facts=ProductFacts(
                name=row.product_name,
                category=row.category,
                attributes=tuple((str(k), str(v)) for k, v in row.input_attributes),
            ),
            field=row.field,
            language=row.language,
            channel=row.channel,
            text=row.target_text,
            source=row.source,
        )
        for row in rows.iterator(chunk_size=500)
    ]


def corpus_examples(products: tuple[CorpusProduct, ...], language: str) -> list[Example]:
    return [
        Example(
            group=f"corpus/{p.sku}",
            facts=p.facts,
            field=name,
            language=language,
            channel="generic",
            text=text,
            source="corpus",
        )
        for p in products
        if p.language == language
        for name, text in p.references
    ]


def build(*, merchant: Merchant | None, language: str) -> Dataset:
    """The training set of a merchant's adapter (merchant given) or of the shared one (None)."""
    merchant_ids = [merchant.pk] if merchant is not None else sharing_merchant_ids()
    train_split, _ = shipped_split()
    profiles = defaultdict(lambda: channel_profiles()["generic"], channel_profiles())
    return build_dataset(
        merchant_examples(merchant_ids=merchant_ids, language=language),
        profiles=profiles,
        general_pool=corpus_examples(train_split, language),
        general_share=settings.COPILOT_RETRAIN_GENERAL_SHARE,
        salt=str(merchant.pk) if merchant is not None else "shared",
    )


def held_out_products(dataset: Dataset, language: str) -> list[CorpusProduct]:
    """The held-out examples as products with references, the shape evaluation takes."""
    by_group: dict[str, list[Example]] = defaultdict(list)
    for example in dataset.held_out:
        by_group[example.group].append(example)
    products = []
    for group, examples in sorted(by_group.items()):
        facts = examples[0].facts
        references = {}
        for example in examples:  # one text per field: the first (newest) channel's
            references.setdefault(example.field, example.text)
        products.append(
            CorpusProduct(
                sku=group,
                name=facts.name,
                category=facts.category,
                language=language,
                attributes=facts.attributes,
                references=tuple(references.items()),
                source="held out",
            )
        )
    return products
