"""The REST API under /api/v1/: token auth, products, imports, errors and docs."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from catalog import services
from catalog.models import ImportJob, JobStatus, Product
from catalog.services import MerchantAccount
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
PRODUCTS_URL = "/api/v1/products/"
IMPORTS_URL = "/api/v1/imports/"


def product_url(pk: int) -> str:
    return f"{PRODUCTS_URL}{pk}/"


def import_url(pk: int) -> str:
    return f"{IMPORTS_URL}{pk}/"


def assert_validation_error(response, field: str) -> dict:
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert field in body["errors"], body
    assert body["detail"].startswith(f"{field}: ") or field == "non_field_errors"
    return body


# --- token ------------------------------------------------------------------------------------


def test_token_for_good_credentials(merchant_account: MerchantAccount) -> None:
    response = APIClient().post(TOKEN_URL, {"username": "acme", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.json() == {"token": merchant_account.token}
    # The token works.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get(PRODUCTS_URL).status_code == 200


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "acme", "password": "wrong"},
        {"username": "nobody", "password": PASSWORD},
    ],
)
def test_token_for_bad_credentials(merchant_account: MerchantAccount, payload) -> None:
    response = APIClient().post(TOKEN_URL, payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Wrong username or password."}


def test_token_needs_username_and_password(merchant_account: MerchantAccount) -> None:
    response = APIClient().post(TOKEN_URL, {"password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Send a username and a password."
    assert "username" in response.json()["errors"]


def test_token_refused_to_a_user_without_merchant(db) -> None:
    UserFactory(username="platform", merchant=None, is_staff=True, is_superuser=True)
    response = APIClient().post(
        TOKEN_URL, {"username": "platform", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400


def test_api_needs_credentials(merchant_account: MerchantAccount) -> None:
    response = APIClient().get(PRODUCTS_URL)
    assert response.status_code == 401
    assert response.json()["detail"]
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.get(PRODUCTS_URL).status_code == 401


def test_api_refuses_a_user_without_merchant(db) -> None:
    client = APIClient()
    client.force_authenticate(UserFactory(merchant=None))
    response = client.get(PRODUCTS_URL)
    assert response.status_code == 403
    assert response.json() == {"detail": "This account does not belong to a merchant."}


# --- products ---------------------------------------------------------------------------------


def test_product_crud_with_attributes(api_client: APIClient, merchant_account: MerchantAccount) -> None:
    created = api_client.post(
        PRODUCTS_URL,
        {
            "sku": "API-1",
            "name": "无线鼠标",
            "category": "Electronics",
            "attributes": [{"key": "Brand", "value": "Logi"}, {"key": "colour", "value": "black"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    pk = body["id"]
    assert body["language"] == "zh"
    assert body["attributes"] == [
        {"key": "brand", "value": "Logi"}, {"key": "colour", "value": "black"}
    ]
    assert Product.objects.get(pk=pk).merchant == merchant_account.merchant

    listing = api_client.get(PRODUCTS_URL).json()
    assert listing["count"] == 1
    assert listing["results"][0]["sku"] == "API-1"
    assert listing["results"][0]["attributes"] == body["attributes"]

    assert api_client.get(product_url(pk)).json()["name"] == "无线鼠标"

    patched = api_client.patch(
        product_url(pk),
        {"name": "Wireless mouse", "language": "en", "attributes": [{"key": "dpi", "value": "1600"}]},
        format="json",
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["name"] == "Wireless mouse"
    assert patched.json()["attributes"] == [{"key": "dpi", "value": "1600"}]

    only_name = api_client.patch(product_url(pk), {"name": "Mouse"}, format="json")
    assert only_name.json()["attributes"] == [{"key": "dpi", "value": "1600"}]

    assert api_client.delete(product_url(pk)).status_code == 204
    assert not Product.objects.filter(pk=pk).exists()
    assert api_client.get(product_url(pk)).status_code == 404


def test_product_list_search_and_category(api_client: APIClient, merchant_account) -> None:
    merchant = merchant_account.merchant
    services.product_create(merchant=merchant, sku="L-1", name="Lamp", category="Lighting")
    services.product_create(
        merchant=merchant, sku="M-1", name="Mug", category="Kitchen", attributes=[("colour", "red")]
    )
    assert [p["sku"] for p in api_client.get(PRODUCTS_URL, {"search": "red"}).json()["results"]] == [
        "M-1"
    ]
    by_category = api_client.get(PRODUCTS_URL, {"category": "Lighting"}).json()["results"]
    assert [p["sku"] for p in by_category] == ["L-1"]


def test_put_is_not_offered(api_client: APIClient, merchant_account) -> None:
    product = services.product_create(merchant=merchant_account.merchant, sku="P-1", name="One")
    response = api_client.put(product_url(product.pk), {"sku": "P-1", "name": "x"}, format="json")
    assert response.status_code == 405
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"sku": "V-1"}, "name"),
        ({"name": "No sku"}, "sku"),
        ({"sku": "V-1", "name": "x", "language": "fr"}, "language"),
        ({"sku": "V-1", "name": "x", "attributes": [{"key": "a"}]}, "attributes"),
        (
            {"sku": "V-1", "name": "x",
             "attributes": [{"key": "a", "value": "1"}, {"key": "A", "value": "2"}]},
            "attributes",
        ),
        ({"sku": "V-1", "name": "x", "attributes": [{"key": "a", "value": " "}]}, "attributes"),
    ],
)
def test_product_validation_errors_are_json(api_client: APIClient, payload, field: str) -> None:
    assert_validation_error(api_client.post(PRODUCTS_URL, payload, format="json"), field)
    assert not Product.objects.exists()


def test_duplicate_sku_is_a_validation_error(api_client: APIClient, merchant_account) -> None:
    services.product_create(merchant=merchant_account.merchant, sku="DUP", name="One")
    body = assert_validation_error(
        api_client.post(PRODUCTS_URL, {"sku": "DUP", "name": "Two"}, format="json"), "sku"
    )
    assert "already exists" in body["detail"]
    assert Product.objects.count() == 1


def test_malformed_json_is_a_clear_error(api_client: APIClient) -> None:
    response = api_client.post(PRODUCTS_URL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_another_merchants_product_is_not_found(
    api_client: APIClient, other_api_client: APIClient, other_merchant_account: MerchantAccount
) -> None:
    theirs = services.product_create(
        merchant=other_merchant_account.merchant, sku="THEIRS", name="Theirs",
        attributes=[("brand", "Bolt")],
    )
    url = product_url(theirs.pk)
    for response in (
        api_client.get(url),
        api_client.patch(url, {"name": "Mine now"}, format="json"),
        api_client.delete(url),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"
    assert list(theirs.attributes.values_list("key", "value")) == [("brand", "Bolt")]
    assert api_client.get(PRODUCTS_URL).json()["count"] == 0
    assert other_api_client.get(url).status_code == 200


def test_unknown_api_path_is_json_404(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# --- imports ----------------------------------------------------------------------------------


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_import_is_accepted_then_reports_progress(
    api_client: APIClient, merchant_account, celery_eager, django_capture_on_commit_callbacks
) -> None:
    data = "sku,name,colour\r\nI-1,Lamp,white\r\nI-2,灯,黑\r\n".encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(IMPORTS_URL, {"file": upload("c.csv", data)}, format="multipart")
    assert response.status_code == 202, response.content
    accepted = response.json()
    assert accepted["status"] == JobStatus.QUEUED  # what was true when the request answered
    assert response["Location"] == import_url(accepted["id"])

    job = api_client.get(import_url(accepted["id"])).json()
    assert job["id"] == accepted["id"]
    assert job["status"] == "succeeded"
    assert job["progress"] == {"done": 2, "total": 2}
    assert job["errors"] == []
    assert (job["created_count"], job["updated_count"]) == (2, 0)
    assert Product.objects.filter(merchant=merchant_account.merchant).count() == 2

    listing = api_client.get(IMPORTS_URL).json()
    assert [j["id"] for j in listing["results"]] == [accepted["id"]]


def test_import_with_bad_rows_reports_them(
    api_client: APIClient, celery_eager, django_capture_on_commit_callbacks
) -> None:
    data = b"sku,name\r\nB-1,Good\r\nB-2,\r\nB-1,Dup\r\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(IMPORTS_URL, {"file": upload("c.csv", data)}, format="multipart")
    job = api_client.get(import_url(response.json()["id"])).json()
    assert job["status"] == "failed"
    assert job["progress"] == {"done": 0, "total": 0}
    assert job["errors"] == [
        {"row": 3, "column": "name", "message": "is required"},
        {"row": 4, "column": "sku", "message": "'B-1' already appears on row 2"},
    ]
    assert "nothing was imported" in job["error_message"]
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"file": upload("catalog.xlsx", b"sku,name\r\nA,B\r\n")}, ".csv"),
        ({"file": upload("catalog.csv", b"")}, "empty"),
        ({}, "No file"),
    ],
)
def test_bad_import_upload_is_a_validation_error(
    api_client: APIClient, payload, fragment: str
) -> None:
    body = assert_validation_error(api_client.post(IMPORTS_URL, payload, format="multipart"), "file")
    assert fragment in body["detail"]
    assert not ImportJob.objects.exists()


def test_another_merchants_import_is_not_found(
    api_client: APIClient, other_merchant_account: MerchantAccount
) -> None:
    theirs = services.import_job_create(
        merchant=other_merchant_account.merchant,
        upload=upload("theirs.csv", b"sku,name\r\nA,B\r\n"),
        enqueue=False,
    )
    assert api_client.get(import_url(theirs.pk)).status_code == 404
    assert api_client.get(IMPORTS_URL).json()["count"] == 0


def test_imports_cannot_be_changed_or_deleted(api_client: APIClient, merchant_account) -> None:
    job = services.import_job_create(
        merchant=merchant_account.merchant, upload=upload("c.csv", b"sku,name\r\nA,B\r\n"),
        enqueue=False,
    )
    assert api_client.patch(import_url(job.pk), {}, format="json").status_code == 405
    assert api_client.delete(import_url(job.pk)).status_code == 405
    assert ImportJob.objects.filter(pk=job.pk).exists()


def test_import_cancel(api_client: APIClient, merchant_account, other_merchant_account) -> None:
    job = services.import_job_create(
        merchant=merchant_account.merchant, upload=upload("c.csv", b"sku,name\r\nA,B\r\n"),
        enqueue=False,
    )
    response = api_client.post(f"{import_url(job.pk)}cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"

    again = api_client.post(f"{import_url(job.pk)}cancel/")
    assert again.status_code == 409
    assert again.json()["detail"] == "This import has already finished."

    theirs = services.import_job_create(
        merchant=other_merchant_account.merchant, upload=upload("t.csv", b"sku,name\r\nA,B\r\n"),
        enqueue=False,
    )
    assert api_client.post(f"{import_url(theirs.pk)}cancel/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == JobStatus.QUEUED


# --- schema and docs --------------------------------------------------------------------------


def test_openapi_schema(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Shop Copilot API"
    assert {"/api/v1/products/", "/api/v1/products/{product_id}/", "/api/v1/imports/",
            "/api/v1/imports/{import_id}/", "/api/v1/auth/token/"} <= set(schema["paths"])
    (parameter,) = schema["paths"]["/api/v1/products/{product_id}/"]["get"]["parameters"]
    assert parameter["schema"]["type"] == "integer"


def test_docs_use_only_our_own_static_files(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert references, "the page loads no assets?"
    for reference in references:
        assert reference.startswith("/static/"), reference
    assert not re.search(r"https?://|//cdn|unpkg|jsdelivr|cdnjs", html), "external host in the page"
