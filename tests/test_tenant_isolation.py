"""For every URL the project routes, merchant B cannot see or change merchant A's rows.

The URL patterns are enumerated from the resolver, not picked by hand: each becomes one test.
A pattern is filled from a table of keyword arguments; a keyword the table does not know fails
its test, so a new URL has to be given a meaning here before the suite passes again.

* Patterns that name an object (product_id, import_id, admin object_id ...) are requested as
  B with A's ids: GET and POST (and PATCH, PUT and DELETE under /api/). The answer must be 403,
  404 or 405 (the admin's "does not exist" redirect to its index counts as not found), must not
  show A's rows, and A's rows must be exactly as before.
* Patterns without one (lists, changelists, the schema) are fetched as B and must not show
  anything of A's.

B is a staff user with every permission on the project's own apps, so the admin is reachable
and only its merchant scoping stands between B and A's rows. Pages and the admin use B's
session, /api/ uses B's token.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern
from PIL import Image
from rest_framework.authtoken.models import Token, TokenProxy
from rest_framework.test import APIClient

from catalog import services
from catalog.models import ImportJob, Merchant, Product, ProductAttribute, ProductImage, User
from generation import services as generation_services
from generation.models import (
    AttributeSuggestion,
    CopySettings,
    Draft,
    DraftRevision,
    GeneratedImage,
    GenerationJob,
    ImageJob,
    ImageModelVersion,
    ImageTrainingRun,
    ModelVersion,
    TrainingExample,
    TrainingRun,
)
from tests.conftest import PASSWORD, token_client

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("catalog", "generation")

# Keyword arguments that name one of A's rows; each is filled from the World below.
OBJECT_KWARGS = {"product_id", "attribute_id", "image_id", "import_id", "job_id", "draft_id",
                 "generated_id", "suggestion_id", "object_id", "id", "content_type_id"}
# Rows reached through a product's URL.
PRODUCT_CHILD_KWARGS = {"attribute_id", "image_id", "generated_id", "suggestion_id", "job_id"}
# Keyword arguments that name no row.
PLAIN_KWARGS = {"app_label", "format", "url"}

# What B may never see: every distinctive value of A's.
A_MARKERS = (
    "Alpha Secret Merchant", "alpha-secret-merchant", "alpha_secret_owner", "alpha@secret.example",
    "ALPHA-SECRET-SKU", "Alpha Secret Lamp", "AlphaSecretCategory", "alphasecretkey",
    "Alpha Secret Value", "alpha-secret-photo", "alpha-secret-import", "alpha-secret-group",
    "Alpha secret draft copy", "alphasecretbanned",
)


# --- the URL patterns -------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    parts: tuple[Any, ...]
    callback: Any
    name: str | None

    @property
    def description(self) -> str:
        return "".join(str(p) for p in self.parts)

    @property
    def kwargs(self) -> tuple[str, ...]:
        names: list[str] = []
        for part in self.parts:
            if isinstance(part, RoutePattern):
                names += list(part.converters)
            elif isinstance(part, RegexPattern):
                names += list(part.regex.groupindex)
        return tuple(names)

    @property
    def is_api(self) -> bool:
        return self.description.startswith("api/")

    @property
    def is_admin(self) -> bool:
        return self.description.startswith("admin/")

    def path(self, values: dict[str, str]) -> str:
        return "/" + "".join(_fill(part, values) for part in self.parts)


def _fill(part: Any, values: dict[str, str]) -> str:
    if isinstance(part, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], str(part))
    if isinstance(part, LocalePrefixPattern):
        return part.language_prefix
    regex = part._regex.removeprefix("^").removesuffix("$")
    regex = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", lambda m: values[m.group(1)], regex)
    text = regex.replace("\\.", ".").replace("/?", "/")
    if re.search(r"[\\^$*+?()\[\]{}|]", text):
        raise ValueError(f"cannot turn {part._regex!r} into a path")
    return text


def _walk(resolver: URLResolver, parts: tuple[Any, ...] = ()) -> Iterator[Route]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, (*parts, pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield Route((*parts, pattern.pattern), pattern.callback, pattern.name)
        else:  # pragma: no cover - Django has only these two
            raise TypeError(f"unknown URL pattern type {type(pattern)}")


ROUTES = list(_walk(get_resolver()))
OBJECT_ROUTES = [r for r in ROUTES if set(r.kwargs) & OBJECT_KWARGS]
PLAIN_ROUTES = [r for r in ROUTES if not set(r.kwargs) & OBJECT_KWARGS]


# --- merchant A's rows, and B -----------------------------------------------------------------


@dataclass
class World:
    a: services.MerchantAccount
    b: services.MerchantAccount
    product: Product
    attribute: ProductAttribute
    image: ProductImage
    import_job: ImportJob
    group: Group
    b_product: Product
    generation_job: GenerationJob
    draft: Draft
    accepted_draft: Draft
    model_version: ModelVersion
    image_job: ImageJob
    generated: GeneratedImage
    suggestion: AttributeSuggestion
    image_model: ImageModelVersion
    image_training: ImageTrainingRun
    training_run: TrainingRun

    def admin_object_pk(self, model: type[Model]) -> str:
        """A's row of an admin's model, as the admin writes it in URLs."""
        objects: dict[type[Model], Any] = {
            Merchant: self.a.merchant.pk,
            User: self.a.user.pk,
            Product: self.product.pk,
            ProductAttribute: self.attribute.pk,
            ProductImage: self.image.pk,
            ImportJob: self.import_job.pk,
            TokenProxy: self.a.user.pk,  # DRF's admin proxy uses the user's id as its pk
            Token: self.a.token,
            Group: self.group.pk,
            GenerationJob: self.generation_job.pk,
            Draft: self.draft.pk,
            DraftRevision: self.draft.revisions.get().pk,
            TrainingExample: self.accepted_draft.training_example.pk,
            CopySettings: CopySettings.objects.get(merchant=self.a.merchant).pk,
            ModelVersion: self.model_version.pk,
            ImageJob: self.image_job.pk,
            GeneratedImage: self.generated.pk,
            AttributeSuggestion: self.suggestion.pk,
            ImageModelVersion: self.image_model.pk,
            ImageTrainingRun: self.image_training.pk,
            TrainingRun: self.training_run.pk,
        }
        if model not in objects:
            pytest.fail(
                f"The admin has a model this test does not know: {model._meta.label}. Add its "
                "merchant-A row to World.admin_object_pk so its URLs are covered."
            )
        return quote(str(objects[model]))


def _png(name: str) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


@pytest.fixture
def world(db, settings) -> World:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    a = services.merchant_create(
        name="Alpha Secret Merchant", username="alpha_secret_owner", password=PASSWORD
    )
    User.objects.filter(pk=a.user.pk).update(email="alpha@secret.example")
    product = services.product_create(
        merchant=a.merchant, sku="ALPHA-SECRET-SKU", name="Alpha Secret Lamp",
        category="AlphaSecretCategory", attributes=[("alphasecretkey", "Alpha Secret Value")],
    )
    image = services.product_image_add(product=product, upload=_png("alpha-secret-photo.png"))
    import_job = services.import_job_create(
        merchant=a.merchant,
        upload=SimpleUploadedFile("alpha-secret-import.csv", b"sku,name\r\nALPHA-SECRET-SKU,x\r\n"),
        user=a.user,
        enqueue=False,
    )
    group = Group.objects.create(name="alpha-secret-group")

    b = services.merchant_create(name="Bravo Merchant", username="bravo_owner", password=PASSWORD)
    b.user.is_staff = True
    b.user.save(update_fields=["is_staff"])
    b.user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=PROJECT_APPS))
    b_product = services.product_create(merchant=b.merchant, sku="BRAVO-1", name="Bravo thing")

    generation_services.copy_settings_update(merchant=a.merchant, banned_words=["alphasecretbanned"])
    generation_job = generation_services.generation_job_create(
        merchant=a.merchant, product_ids=[product.pk], fields=["title"], user=a.user, enqueue=False
    )
    model_version = ModelVersion.objects.create(
        merchant=a.merchant, language="en", kind=ModelVersion.Kind.ADAPTER,
        name="Alpha secret draft copy adapter", base_model="/models/base",
    )
    drafts = [
        Draft.objects.create(
            product=product, job=generation_job, field=field, language="en",
            text=f"Alpha secret draft copy ({field})", model_version=model_version,
            source_attributes=[["alphasecretkey", "Alpha Secret Value"]],
        )
        for field in ("title", "description")
    ]
    for draft in drafts:
        DraftRevision.objects.create(draft=draft, version=1, text=draft.text)
    accepted = generation_services.draft_accept(draft=drafts[1], user=a.user, version=1)
    image_model = ImageModelVersion.objects.create(
        merchant=a.merchant, source="catalog", artifact_path="/models/alpha-secret-merchant", image_size=64
    )
    image_training = ImageTrainingRun.objects.create(merchant=a.merchant, source="catalog")
    training_run = TrainingRun.objects.create(
        merchant=a.merchant, language="en", version=model_version, log="trained on Alpha Secret Lamp"
    )
    image_job = ImageJob.objects.create(
        merchant=a.merchant, product=product, category="dress", colour="red", total=1,
        model_version=image_model,
    )
    generated = GeneratedImage(job=image_job, product=product)
    generated.image.save("alpha-secret-photo.png", _png("alpha-secret-photo.png"), save=False)
    generated.save()
    suggestion = AttributeSuggestion.objects.create(
        product=product, image=image, key="alphasecretkey", value="Alpha Secret Value"
    )
    return World(
        a, b, product, product.attributes.get(), image, import_job, group, b_product,
        generation_job, drafts[0], accepted, model_version, image_job, generated, suggestion,
        image_model, image_training, training_run,
    )


def snapshot(world: World) -> dict[str, Any]:
    merchant = world.a.merchant
    images = list(ProductImage.objects.filter(product__merchant=merchant).order_by("pk"))
    return {
        "merchant": list(Merchant.objects.filter(pk=merchant.pk).values()),
        "users": list(User.objects.filter(merchant=merchant).order_by("pk").values()),
        "tokens": list(Token.objects.filter(user__merchant=merchant).values()),
        "products": list(Product.objects.filter(merchant=merchant).order_by("pk").values()),
        "attributes": list(
            ProductAttribute.objects.filter(product__merchant=merchant).order_by("pk").values()
        ),
        "images": [(i.pk, i.image.name, Path(i.image.path).exists()) for i in images],
        "imports": list(ImportJob.objects.filter(merchant=merchant).order_by("pk").values()),
        "groups": list(Group.objects.order_by("pk").values()),
        "generation_jobs": list(GenerationJob.objects.filter(merchant=merchant).order_by("pk").values()),
        "drafts": list(Draft.objects.filter(product__merchant=merchant).order_by("pk").values()),
        "revisions": list(
            DraftRevision.objects.filter(draft__product__merchant=merchant).order_by("pk").values()
        ),
        "examples": list(TrainingExample.objects.filter(merchant=merchant).order_by("pk").values()),
        "copy_settings": list(CopySettings.objects.filter(merchant=merchant).values()),
        "model_versions": list(ModelVersion.objects.filter(merchant=merchant).values()),
        "image_jobs": list(ImageJob.objects.filter(merchant=merchant).order_by("pk").values()),
        "generated": list(GeneratedImage.objects.filter(product__merchant=merchant).order_by("pk").values()),
        "suggestions": list(
            AttributeSuggestion.objects.filter(product__merchant=merchant).order_by("pk").values()
        ),
        "image_models": list(ImageModelVersion.objects.filter(merchant=merchant).values()),
        "image_training": list(ImageTrainingRun.objects.filter(merchant=merchant).values()),
        "training_runs": list(TrainingRun.objects.filter(merchant=merchant).values()),
    }


# --- filling in a pattern ---------------------------------------------------------------------


def _admin_model(route: Route) -> type[Model]:
    model_admin = getattr(route.callback, "model_admin", None)
    if model_admin is not None:
        return model_admin.model
    match = re.match(r"admin/(\w+)/(\w+)/", route.description)
    if not match:
        pytest.fail(f"{route.description}: cannot tell which model its object id belongs to")
    return apps.get_model(match.group(1), match.group(2))


def fillings(route: Route, world: World) -> list[tuple[str, dict[str, str]]]:
    """Every (label, kwargs) to try for this route; fails on a keyword it does not know."""
    unknown = set(route.kwargs) - OBJECT_KWARGS - PLAIN_KWARGS
    if unknown:
        pytest.fail(
            f"{route.description} has URL keyword(s) {sorted(unknown)} that this test does not "
            "know. Say in OBJECT_KWARGS/PLAIN_KWARGS and fillings() which of A's rows they name."
        )
    base: dict[str, str] = {
        "product_id": str(world.product.pk),
        "attribute_id": str(world.attribute.pk),
        "image_id": str(world.image.pk),
        "import_id": str(world.import_job.pk),
        "job_id": str(world.generation_job.pk),
        "draft_id": str(world.draft.pk),
        "generated_id": str(world.generated.pk),
        "suggestion_id": str(world.suggestion.pk),
        "format": "json",
        "url": "no-such-page/",
    }
    if "image" in (route.name or "").replace("-", "_") and "job_id" in route.kwargs:
        base["job_id"] = str(world.image_job.pk)  # image-job routes name an ImageJob, not a GenerationJob
    variants: list[tuple[str, dict[str, str]]] = []
    kwargs = set(route.kwargs)
    if "content_type_id" in kwargs:  # the admin's "view on site" redirect
        for model in (Product, ProductImage, ImportJob, Merchant, User):
            content_type = ContentType.objects.get_for_model(model)
            variants.append((
                f"{model._meta.label} of A",
                {**base, "content_type_id": str(content_type.pk),
                 "object_id": world.admin_object_pk(model)},
            ))
    elif kwargs & {"object_id", "id"}:
        pk = world.admin_object_pk(_admin_model(route))
        variants.append(("A's row", {**base, "object_id": pk, "id": pk}))
    elif "app_label" in kwargs:
        labels = sorted({m._meta.app_label for m in admin.site._registry})
        variants += [(label, {**base, "app_label": label}) for label in labels]
    else:
        variants.append(("A's ids", base))
        if "product_id" in kwargs and kwargs & PRODUCT_CHILD_KWARGS:
            # B's own product with A's child row (attribute, image ...): the child must be checked too.
            variants.append(("B's product, A's child", {**base, "product_id": str(world.b_product.pk)}))
    return [(label, {k: v for k, v in values.items() if k in kwargs}) for label, values in variants]


def build_path(route: Route, values: dict[str, str]) -> str:
    path = route.path(values)
    match = resolve(path)
    assert match.func == route.callback, (
        f"{route.description}: the path {path} resolves to {match.view_name or match.func}"
    )
    return path


# --- requests ---------------------------------------------------------------------------------


def session_client(world: World) -> Client:
    client = Client()
    client.force_login(world.b.user)
    return client


def page_post_data() -> dict[str, Any]:
    """A POST that would change something on every kind of page, were it allowed."""
    return {
        "post": "yes",  # the admin's delete confirmation
        "sku": "HACKED", "name": "HACKED", "category": "HACKED", "language": "en",
        "key": "hacked", "value": "HACKED", "username": "hacked", "slug": "hacked",
        "image": _png("hacked.png"),
        "file": SimpleUploadedFile("hacked.csv", b"sku,name\r\nHACKED,HACKED\r\n"),
    }


def requests_for(route: Route, world: World, path: str) -> Iterator[tuple[str, Any]]:
    if route.is_api:
        client: APIClient = token_client(world.b)
        body = {
            "sku": "HACKED", "name": "HACKED", "attributes": [{"key": "k", "value": "HACKED"}],
            "version": 1, "text": "HACKED", "tone": "playful", "product_ids": [world.product.pk],
            "fields": ["title"],
        }
        yield "GET", client.get(path)
        yield "POST", client.post(path, body, format="json")
        yield "PUT", client.put(path, body, format="json")
        yield "PATCH", client.patch(path, body, format="json")
        yield "DELETE", client.delete(path)
    else:
        client = session_client(world)
        follow = route.is_admin  # the admin answers "no such object" with a redirect
        yield "GET", client.get(path, follow=follow)
        yield "POST", client.post(path, page_post_data(), follow=follow)


def leaked_markers(response: Any) -> list[str]:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    text = content.decode("utf-8", errors="replace")
    return [marker for marker in A_MARKERS if marker.lower() in text.lower()]


def refusal_problem(route: Route, response: Any) -> str | None:
    """None when the response refuses; else what is wrong with it."""
    if response.status_code in {403, 404, 405}:
        return None
    chain = getattr(response, "redirect_chain", [])
    if route.is_admin and chain and chain[-1][0] == reverse("admin:index") \
            and response.status_code == 200:
        return None  # Django admin's "object does not exist" answer
    where = f" (redirected via {[url for url, _ in chain]})" if chain else ""
    return f"answered {response.status_code}{where}"


# --- the tests --------------------------------------------------------------------------------


def test_the_walk_finds_the_projects_urls() -> None:
    """A guard for the enumeration itself: it must see the patterns of every part."""
    names = {r.name for r in ROUTES}
    assert {"product_detail", "import_detail", "product-detail", "import-detail"} <= names
    assert any(r.is_admin and "object_id" in r.kwargs for r in ROUTES)
    assert len(OBJECT_ROUTES) >= 10


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=lambda r: r.description)
def test_merchant_b_cannot_reach_a_row_of_merchant_a(route: Route, world: World) -> None:
    before = snapshot(world)
    problems: list[str] = []
    for label, values in fillings(route, world):
        path = build_path(route, values)
        for method, response in requests_for(route, world, path):
            problem = refusal_problem(route, response)
            if problem:
                problems.append(f"{method} {path} [{label}]: {problem}")
            leaked = leaked_markers(response)
            if leaked:
                problems.append(f"{method} {path} [{label}]: shows A's {leaked}")
            if snapshot(world) != before:
                problems.append(f"{method} {path} [{label}]: changed A's rows")
                before = snapshot(world)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("route", PLAIN_ROUTES, ids=lambda r: r.description)
def test_pages_without_an_object_show_merchant_b_nothing_of_a(route: Route, world: World) -> None:
    problems: list[str] = []
    for label, values in fillings(route, world):
        path = build_path(route, values)
        client = token_client(world.b) if route.is_api else session_client(world)
        response = client.get(path)
        if response.status_code >= 500:
            problems.append(f"GET {path} [{label}]: answered {response.status_code}")
        leaked = leaked_markers(response)
        if leaked:
            problems.append(f"GET {path} [{label}]: shows A's {leaked}")
    assert not problems, "\n".join(problems)


def test_merchant_a_sees_its_own_rows_where_b_does_not(world: World) -> None:
    """The markers are really on A's pages, so their absence from B's pages means something."""
    client = Client()
    client.force_login(world.a.user)
    assert "ALPHA-SECRET-SKU" in leaked_markers(client.get("/"))
    api = token_client(world.a)
    assert "ALPHA-SECRET-SKU" in leaked_markers(api.get(f"/api/v1/products/{world.product.pk}/"))
    assert api.get(f"/api/v1/imports/{world.import_job.pk}/").status_code == 200
