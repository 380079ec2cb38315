"""catalog.selectors: every read is scoped to the merchant who asks."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import selectors, services
from catalog.models import ImportJob, Product, ProductAttribute, ProductImage
from catalog.services import MerchantAccount
from tests.factories import ProductAttributeFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogs(merchant_account: MerchantAccount, other_merchant_account: MerchantAccount):
    mine, theirs = merchant_account.merchant, other_merchant_account.merchant
    lamp = ProductFactory(merchant=mine, sku="LAMP-1", name="Desk lamp", category="Lighting")
    ProductAttributeFactory(product=lamp, key="brand", value="Ikea")
    ProductAttributeFactory(product=lamp, key="colour", value="white")
    ProductFactory(merchant=mine, sku="MUG-1", name="Mug", category="Kitchen")
    ProductFactory(merchant=mine, sku="BOX-1", name="Box", category="")
    ProductFactory(merchant=theirs, sku="LAMP-9", name="Their lamp", category="Garden")
    return mine, theirs


def test_product_list_is_scoped_ordered_and_counts_attributes(catalogs) -> None:
    mine, _ = catalogs
    products = list(selectors.product_list(merchant=mine))
    assert [p.sku for p in products] == ["BOX-1", "LAMP-1", "MUG-1"]
    assert {p.sku: p.attribute_count for p in products} == {"BOX-1": 0, "LAMP-1": 2, "MUG-1": 0}


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("lamp", ["LAMP-1"]),  # name, case-insensitive; not the other merchant's lamp
        ("mug-1", ["MUG-1"]),  # sku
        ("ikea", ["LAMP-1"]),  # attribute value
        ("i", ["LAMP-1"]),  # two of its attributes match: listed once
        ("x", ["BOX-1"]),  # sku and name both match: listed once
        ("  ", ["BOX-1", "LAMP-1", "MUG-1"]),
        ("nothing", []),
    ],
)
def test_product_list_search(catalogs, search: str, expected: list[str]) -> None:
    mine, _ = catalogs
    found = selectors.product_list(merchant=mine, search=search)
    assert [p.sku for p in found] == expected


def test_product_list_search_keeps_attribute_count_exact(catalogs) -> None:
    mine, _ = catalogs
    (lamp,) = selectors.product_list(merchant=mine, search="white")
    assert lamp.attribute_count == 2


def test_product_list_category_filter(catalogs) -> None:
    mine, _ = catalogs
    assert [p.sku for p in selectors.product_list(merchant=mine, category="Kitchen")] == ["MUG-1"]
    assert list(selectors.product_list(merchant=mine, category="Garden")) == []


def test_category_list_is_scoped_sorted_and_skips_blank(catalogs) -> None:
    mine, theirs = catalogs
    ProductFactory(merchant=mine, sku="MUG-2", category="Kitchen")
    assert selectors.category_list(merchant=mine) == ["Kitchen", "Lighting"]
    assert selectors.category_list(merchant=theirs) == ["Garden"]


def test_product_get_answers_does_not_exist_for_another_merchants_product(catalogs) -> None:
    mine, theirs = catalogs
    theirs_lamp = Product.objects.get(sku="LAMP-9")
    assert selectors.product_get(merchant=theirs, product_id=theirs_lamp.pk) == theirs_lamp
    with pytest.raises(Product.DoesNotExist):
        selectors.product_get(merchant=mine, product_id=theirs_lamp.pk)


def test_attribute_get_checks_product_and_merchant(catalogs) -> None:
    mine, theirs = catalogs
    lamp = Product.objects.get(sku="LAMP-1")
    mug = Product.objects.get(sku="MUG-1")
    brand = lamp.attributes.get(key="brand")
    assert selectors.product_attribute_get(merchant=mine, product_id=lamp.pk, attribute_id=brand.pk) == brand
    with pytest.raises(ProductAttribute.DoesNotExist):
        selectors.product_attribute_get(merchant=theirs, product_id=lamp.pk, attribute_id=brand.pk)
    with pytest.raises(ProductAttribute.DoesNotExist):  # right merchant, wrong product
        selectors.product_attribute_get(merchant=mine, product_id=mug.pk, attribute_id=brand.pk)


def test_image_get_checks_product_and_merchant(catalogs, tmp_path) -> None:
    import io

    from PIL import Image

    mine, theirs = catalogs
    lamp = Product.objects.get(sku="LAMP-1")
    mug = Product.objects.get(sku="MUG-1")
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG")
    image = services.product_image_add(product=lamp, upload=SimpleUploadedFile("a.png", out.getvalue()))
    assert selectors.product_image_get(merchant=mine, product_id=lamp.pk, image_id=image.pk) == image
    with pytest.raises(ProductImage.DoesNotExist):
        selectors.product_image_get(merchant=theirs, product_id=lamp.pk, image_id=image.pk)
    with pytest.raises(ProductImage.DoesNotExist):
        selectors.product_image_get(merchant=mine, product_id=mug.pk, image_id=image.pk)


def test_import_jobs_are_scoped_and_newest_first(
    merchant_account: MerchantAccount, other_merchant_account: MerchantAccount
) -> None:
    def create(account: MerchantAccount, name: str) -> ImportJob:
        return services.import_job_create(
            merchant=account.merchant,
            upload=SimpleUploadedFile(name, b"sku,name\r\nA,B\r\n"),
            enqueue=False,
        )

    first = create(merchant_account, "first.csv")
    second = create(merchant_account, "second.csv")
    theirs = create(other_merchant_account, "theirs.csv")
    assert list(selectors.import_job_list(merchant=merchant_account.merchant)) == [second, first]
    assert selectors.import_job_get(merchant=merchant_account.merchant, import_id=first.pk) == first
    with pytest.raises(ImportJob.DoesNotExist):
        selectors.import_job_get(merchant=merchant_account.merchant, import_id=theirs.pk)
