"""N+1 guards: the copy pages make as many queries for 30 rows as for 3.

Each page is fetched once to warm up, then measured with a few rows and again after many more were
added; the counts must be equal, so a query per row (a lazy foreign key in a template, a count per
product) fails here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import services as catalog_services
from catalog.models import JobStatus, Product
from generation import services
from generation.models import CopyField, Draft, DraftRevision, GenerationJob, ModelVersion

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
FEW, MANY = 3, 30
FIELDS = CopyField.values


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client(merchant_account) -> Client:
    client = Client()
    client.force_login(merchant_account.user)
    return client


def queries(client: Client, path: str, *, expect: int = 200, **headers) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(path, **headers)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    assert response.status_code == expect, path
    return len(context.captured_queries)


def assert_flat(client: Client, path: str, grow: Callable[[], None], **kwargs) -> None:
    """The page's query count is the same before and after `grow` adds many more rows."""
    queries(client, path, **kwargs)  # warm-up: caches, the session
    few = queries(client, path, **kwargs)
    grow()
    many = queries(client, path, **kwargs)
    assert many == few, f"{path}: {few} queries with {FEW} rows, {many} with {MANY}"


def make_products(merchant, start: int, count: int) -> list[Product]:
    return [
        catalog_services.product_create(
            merchant=merchant,
            sku=f"SKU-{i:03d}",
            name=f"Phone {i}",
            category=f"cat-{i % 4}",
            attributes=[("brand", "Apple"), ("chip", f"A{i}")],
        )
        for i in range(start, start + count)
    ]


def make_drafts(products, *, user, model_version=None, job=None, fields=FIELDS, decide=True) -> list[Draft]:
    """Per product and field a draft; some accepted (by `user`), some rejected, the rest waiting."""
    drafts = []
    for product in products:
        for index, field in enumerate(fields):
            draft = Draft.objects.create(
                product=product,
                job=job,
                field=field,
                language="en",
                text=f"{product.name} <b>{field}</b> A16",
                alternatives=[{"text": f"Other {field}", "score": 0.1, "grounding": {}, "violations": []}],
                source_attributes=[["brand", "Apple"]],
                grounding={"coverage": 0.5, "ungrounded": [{"start": 0, "end": 5, "kind": "model"}]},
                has_ungrounded=True,
                model_version=model_version,
            )
            DraftRevision.objects.create(draft=draft, version=1, text=draft.text)
            if decide and index % 3 == 1:
                services.draft_accept(draft=draft, user=user, version=1)
            elif decide and index % 3 == 2:
                services.draft_reject(draft=draft, user=user, version=1)
            drafts.append(draft)
    return drafts


def test_the_catalog_page(client, merchant_account) -> None:
    merchant, user = merchant_account.merchant, merchant_account.user
    make_drafts(make_products(merchant, 0, FEW), user=user, fields=["title", "tags"])

    def grow() -> None:
        products = make_products(merchant, FEW, MANY - FEW)
        make_drafts(products, user=user, fields=["title", "tags"])
        catalog_services.product_attribute_add(product=products[0], key="colour", value="Blue")

    path = reverse("catalog:product_list")
    assert_flat(client, path, grow)
    assert_flat(client, f"{path}?status=waiting&q=Phone", lambda: make_products(merchant, MANY, 3), **HTMX)


def test_the_editor_page_and_its_poll(client, merchant_account) -> None:
    merchant, user = merchant_account.merchant, merchant_account.user
    (product,) = make_products(merchant, 0, 1)
    version = ModelVersion.objects.create(language="en", name="base-en", base_model="/base")
    job = services.generation_job_create(
        merchant=merchant, product_ids=[product.pk], fields=FIELDS, enqueue=False
    )
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    make_drafts([product], user=user, model_version=version, job=job, fields=FIELDS[:FEW])

    def grow() -> None:
        # Five more rounds of drafts for every field: waiting, accepted (by someone) and rejected.
        for _ in range(5):
            make_drafts([product], user=user, model_version=version, job=job)

    path = reverse("generation:product_copy", kwargs={"product_id": product.pk})
    assert_flat(client, path, grow)
    assert Draft.objects.filter(product=product).count() >= MANY
    assert_flat(client, f"{path}?job={job.pk}&done=99", lambda: make_drafts([product], user=user), **HTMX)


def test_the_review_queue(client, merchant_account) -> None:
    merchant, user = merchant_account.merchant, merchant_account.user
    version = ModelVersion.objects.create(language="en", name="base-en", base_model="/base")
    make_drafts(make_products(merchant, 0, FEW), user=user, model_version=version, fields=["title"])

    def grow() -> None:
        products = make_products(merchant, FEW, MANY - FEW)
        other = ModelVersion.objects.create(merchant=merchant, language="en", name="own", base_model="/b")
        make_drafts(products, user=user, model_version=other, fields=["title", "tags"])

    path = reverse("generation:review_queue")
    assert_flat(client, path, grow)
    assert_flat(client, f"{path}?problems=ungrounded", lambda: make_products(merchant, MANY, 1), **HTMX)


def test_the_job_page(client, merchant_account) -> None:
    merchant, user = merchant_account.merchant, merchant_account.user
    products = make_products(merchant, 0, MANY)
    job = services.generation_job_create(
        merchant=merchant, product_ids=[p.pk for p in products], fields=["title"], enqueue=False
    )
    version = ModelVersion.objects.create(language="en", name="base-en", base_model="/base")
    make_drafts(products[:FEW], user=user, job=job, model_version=version, fields=["title"], decide=False)

    def grow() -> None:
        make_drafts(products[FEW:], user=user, job=job, model_version=version, fields=["title"])

    path = reverse("generation:generation_job_detail", kwargs={"job_id": job.pk})
    assert_flat(client, path, grow)
    assert_flat(client, path, lambda: make_products(merchant, MANY, 1), **HTMX)


def test_the_history_page(client, merchant_account) -> None:
    merchant, user = merchant_account.merchant, merchant_account.user
    (product,) = make_products(merchant, 0, 1)
    (draft,) = make_drafts([product], user=user, fields=["title"], decide=False)
    for version in range(1, FEW):
        services.draft_edit(draft=draft, user=user, version=version, text=f"Phone 0, take {version}")

    def grow() -> None:
        for version in range(FEW, MANY):
            services.draft_edit(draft=draft, user=user, version=version, text=f"Phone 0, take {version}")

    path = reverse("generation:draft_revisions", kwargs={"draft_id": draft.pk})
    assert_flat(client, path, grow)
    assert draft.revisions.count() == MANY


def test_the_export(client, merchant_account) -> None:
    merchant, user = merchant_account.merchant, merchant_account.user
    make_drafts(make_products(merchant, 0, FEW), user=user, fields=["title", "tags"])

    def grow() -> None:
        make_drafts(make_products(merchant, FEW, MANY - FEW), user=user, fields=["title", "tags"])

    assert_flat(client, reverse("generation:copy_export") + "?format=csv", grow)
