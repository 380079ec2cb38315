"""factory_boy factories for the catalog's rows. Services build the real thing in tests that
care about invariants (merchant_create makes a token too); factories are for bulk fixtures."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory, Password

from catalog.models import Language, Merchant, Product, ProductAttribute, User

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class MerchantFactory(DjangoModelFactory):
    class Meta:
        model = Merchant
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Merchant {n}")
    slug = factory.Sequence(lambda n: f"merchant-{n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = Password(DEFAULT_PASSWORD)
    merchant = factory.SubFactory(MerchantFactory)


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    merchant = factory.SubFactory(MerchantFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = "general"
    language = Language.ENGLISH


class ProductAttributeFactory(DjangoModelFactory):
    class Meta:
        model = ProductAttribute

    product = factory.SubFactory(ProductFactory)
    key = factory.Sequence(lambda n: f"key{n}")
    value = factory.Sequence(lambda n: f"value {n}")
    position = factory.Sequence(lambda n: n)
