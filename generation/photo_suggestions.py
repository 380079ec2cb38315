"""Attributes read off a merchant's product photos, offered for one-click acceptance.

Colours are named in the web request (numpy and Pillow, a few milliseconds); the kind of product is
guessed on the gpu queue by the classifier that judges the image model, once one exists.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from catalog import services as catalog_services
from catalog.models import ProductImage
from generation.image_services import gan_store_dir
from generation.models import AttributeSuggestion


def attribute_suggestions_create(*, product_image: ProductImage) -> list[AttributeSuggestion]:
    """Read the photo's dominant colours (and, with a trained model, its category) as suggestions."""
    from PIL import Image

    from generation.ml.image_attributes import dominant_colours, suggested_attributes

    product = product_image.product
    with product_image.image.open("rb") as handle, Image.open(handle) as image:
        colours = dominant_colours(image)
    existing = {(a.key, a.value.lower()) for a in product.attributes.all()}
    created = []
    shares = {c.name_en: c.share for c in colours} | {c.name_zh: c.share for c in colours}
    for key, value in suggested_attributes(colours, language=product.language):
        if (key, value.lower()) in existing:
            continue
        suggestion, _ = AttributeSuggestion.objects.get_or_create(
            product=product,
            image=product_image,
            key=key,
            value=value,
            defaults={"reason": f"{round(100 * shares.get(value, 0))}% of the product in the photo"},
        )
        created.append(suggestion)
    return created


CATEGORY_GUESS_CONFIDENCE = 0.6  # below this the judge's guess is not worth a merchant's attention
CATEGORY_KEYS = {"en": "garment", "zh": "款式"}


def judge_path() -> Path:
    from generation.ml.gan.labels import JUDGE_FILE

    return gan_store_dir() / JUDGE_FILE


@functools.lru_cache(maxsize=1)
def _judge(path: str, modified: float) -> Any:
    """The classifier, loaded once per worker process (again only when a new one is written)."""
    from generation.ml.gan.classifier import load_classifier

    return load_classifier(Path(path))


def category_guess_enqueue(*, product_image: ProductImage) -> bool:
    """Queue the classifier's guess for a photo, once a classifier exists (it is trained with the GAN)."""
    if not judge_path().exists():
        return False
    from generation.tasks import image_category_guess

    image_category_guess.delay(product_image.pk)
    return True


def attribute_category_guess(*, job_id: int) -> AttributeSuggestion | None:
    """On the gpu queue: the project classifier's guess of what kind of product the photo shows."""
    photo = ProductImage.objects.select_related("product").filter(pk=job_id).first()
    if photo is None or not judge_path().exists():
        return None
    from PIL import Image

    from generation.ml.gan.data import prepare_product_image
    from generation.ml.gan.labels import CATEGORIES

    with photo.image.open("rb") as handle, Image.open(handle) as image:
        tensor = prepare_product_image(image.convert("RGB"), 64)
    path = judge_path()
    probabilities = _judge(str(path), path.stat().st_mtime).category_probabilities(tensor[None])[0]
    best = int(probabilities.argmax())
    confidence = float(probabilities[best])
    if confidence < CATEGORY_GUESS_CONFIDENCE:
        return None
    language = photo.product.language if photo.product.language in CATEGORY_KEYS else "en"
    category = CATEGORIES[best]
    suggestion, _ = AttributeSuggestion.objects.get_or_create(
        product=photo.product,
        image=photo,
        key=CATEGORY_KEYS[language],
        value=category.zh if language == "zh" else category.en,
        defaults={"reason": f"the image classifier is {confidence:.0%} sure"},
    )
    return suggestion


@transaction.atomic
def attribute_suggestion_accept(*, suggestion: AttributeSuggestion) -> None:
    suggestion = AttributeSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != AttributeSuggestion.Status.PENDING:
        raise ValidationError("This suggestion was already decided on.")
    catalog_services.product_attribute_add(
        product=suggestion.product, key=suggestion.key, value=suggestion.value
    )
    suggestion.status = AttributeSuggestion.Status.ACCEPTED
    suggestion.save(update_fields=["status"])


def attribute_suggestion_dismiss(*, suggestion: AttributeSuggestion) -> None:
    AttributeSuggestion.objects.filter(pk=suggestion.pk, status=AttributeSuggestion.Status.PENDING).update(
        status=AttributeSuggestion.Status.DISMISSED
    )
