"""Reactions to catalog events, so the catalog app does not need to know about this one."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from catalog.models import ProductImage

logger = logging.getLogger(__name__)


@receiver(post_save, sender=ProductImage, dispatch_uid="generation.suggest_from_photo")
def suggest_attributes_from_photo(sender, instance: ProductImage, created: bool, **kwargs) -> None:
    """A merchant's new photo: offer its colours, and (on a worker) its kind, as attributes."""
    if not created or instance.is_generated:
        return

    def suggest() -> None:
        from generation import photo_suggestions

        try:
            photo_suggestions.attribute_suggestions_create(product_image=instance)
            photo_suggestions.category_guess_enqueue(product_image=instance)
        except Exception:  # a suggestion is a courtesy; the upload itself has succeeded
            logger.exception("Could not read attributes from image %s", instance.pk)

    transaction.on_commit(suggest)
