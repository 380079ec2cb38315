"""Reads, always scoped to the merchant who asks."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from catalog.models import ImportJob, Merchant, Product, ProductAttribute, ProductImage


def product_list(*, merchant: Merchant, search: str = "", category: str = "") -> QuerySet[Product]:
    products = Product.objects.filter(merchant=merchant)
    search = search.strip()
    if search:
        # A subquery, not a join: a join would make attribute_count count matching rows only.
        matching_attribute = ProductAttribute.objects.filter(
            product=OuterRef("pk"), value__icontains=search
        )
        products = products.filter(
            Q(sku__icontains=search) | Q(name__icontains=search) | Q(Exists(matching_attribute))
        )
    if category:
        products = products.filter(category=category)
    return products.annotate(attribute_count=Count("attributes", distinct=True)).order_by("sku")


def product_get(*, merchant: Merchant, product_id: int) -> Product:
    """Raises Product.DoesNotExist for another merchant's product, exactly as for a missing one."""
    return (
        Product.objects.filter(merchant=merchant)
        .prefetch_related("attributes", "images")
        .get(pk=product_id)
    )


def category_list(*, merchant: Merchant) -> list[str]:
    return list(
        Product.objects.filter(merchant=merchant)
        .exclude(category="")
        .values_list("category", flat=True)
        .distinct()
        .order_by("category")
    )


def product_attribute_get(*, merchant: Merchant, product_id: int, attribute_id: int) -> ProductAttribute:
    return ProductAttribute.objects.select_related("product").get(
        pk=attribute_id, product_id=product_id, product__merchant=merchant
    )


def product_image_get(*, merchant: Merchant, product_id: int, image_id: int) -> ProductImage:
    return ProductImage.objects.select_related("product").get(
        pk=image_id, product_id=product_id, product__merchant=merchant
    )


def import_job_list(*, merchant: Merchant) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(merchant=merchant).order_by("-created_at", "-id")


def import_job_get(*, merchant: Merchant, import_id: int) -> ImportJob:
    return ImportJob.objects.get(merchant=merchant, pk=import_id)
