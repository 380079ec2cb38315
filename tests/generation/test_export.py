"""Exporting published copy: the rows, CSV and JSON Lines, filters, scoping, and the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog import services as catalog_services
from generation import services
from generation.api.views import AcceptedCopyViewSet
from generation.export import (
    EXPORT_COLUMNS,
    accepted_copy,
    csv_lines,
    export_response,
    export_rows,
    jsonl_lines,
)
from generation.models import Draft, DraftRevision, DraftStatus, ModelVersion

pytestmark = pytest.mark.django_db

BULLETS = "Warm, soft merino\nMachine washable at 30 °C\nMade in Portugal"
QUOTED = 'The "Classic" lamp, 8 W, warm white'
CHINESE = "轻薄保暖的羊毛围巾，适合秋冬"
DECIDED_AT = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def _draft(product, field: str, text: str, *, status: str = DraftStatus.ACCEPTED, **extra: Any) -> Draft:
    values: dict[str, Any] = {"language": "en", "channel": "generic", "decided_at": DECIDED_AT, **extra}
    return Draft.objects.create(product=product, field=field, text=text, status=status, **values)


@pytest.fixture
def model_version(merchant_account) -> ModelVersion:
    return ModelVersion.objects.create(
        merchant=merchant_account.merchant,
        language="en",
        kind=ModelVersion.Kind.ADAPTER,
        name="acme-v3",
        base_model="/models/base",
    )


@pytest.fixture
def catalog(merchant_account, model_version) -> dict[str, Any]:
    """Two products with published copy in both languages and channels, and drafts that are not."""
    merchant, user = merchant_account.merchant, merchant_account.user
    lamp = catalog_services.product_create(merchant=merchant, sku="B-LAMP", name="Desk lamp", category="home")
    scarf = catalog_services.product_create(
        merchant=merchant, sku="A-SCARF", name="羊毛围巾", category="apparel", language="zh"
    )
    accepted = [
        _draft(lamp, "title", QUOTED, decided_by=user, model_version=model_version, version=2),
        _draft(lamp, "bullets", BULLETS, decided_by=user),
        _draft(lamp, "title", "Lamp for Amazon", channel="amazon"),
        _draft(scarf, "description", CHINESE, language="zh", decided_by=user),
        _draft(scarf, "tags", "围巾\n羊毛\nscarf", language="zh", channel="taobao"),
    ]
    for status in (DraftStatus.PROPOSED, DraftStatus.REJECTED, DraftStatus.SUPERSEDED):
        _draft(lamp, "title", f"A {status} title", status=status, decided_at=None)
    return {"lamp": lamp, "scarf": scarf, "accepted": accepted}


@pytest.fixture
def other_catalog(other_merchant_account) -> Draft:
    product = catalog_services.product_create(
        merchant=other_merchant_account.merchant, sku="A-OTHER", name="Bolt cutter"
    )
    return _draft(product, "title", "Bolt's secret title")


def _keys(rows) -> list[tuple[str, str, str, str]]:
    return [(r["sku"], r["field"], r["language"], r["channel"]) for r in rows]


EXPECTED_ORDER = [
    ("A-SCARF", "description", "zh", "generic"),
    ("A-SCARF", "tags", "zh", "taobao"),
    ("B-LAMP", "bullets", "en", "generic"),
    ("B-LAMP", "title", "en", "amazon"),
    ("B-LAMP", "title", "en", "generic"),
]


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _as_strings(row: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in row.items()}


# --- the rows ---------------------------------------------------------------------------------


def test_only_the_merchants_accepted_drafts_in_sku_field_language_channel_order(
    merchant_account, catalog, other_catalog
) -> None:
    drafts = accepted_copy(merchant=merchant_account.merchant)

    assert {d.pk for d in drafts} == {d.pk for d in catalog["accepted"]}
    assert all(d.status == DraftStatus.ACCEPTED for d in drafts)
    assert _keys(export_rows(drafts)) == EXPECTED_ORDER


def test_a_row_has_every_column_in_order(merchant_account, catalog) -> None:
    title = catalog["accepted"][0]
    rows = list(
        export_rows(accepted_copy(merchant=merchant_account.merchant, field="title", channel="generic"))
    )

    assert rows == [
        {
            "sku": "B-LAMP",
            "product_name": "Desk lamp",
            "category": "home",
            "field": "title",
            "language": "en",
            "channel": "generic",
            "text": QUOTED,
            "accepted_at": "2026-03-01T09:30:00+00:00",
            "accepted_by": "acme",
            "draft_id": title.pk,
            "version": 2,
            "model": "acme-v3 (en, acme-outfitters)",
        }
    ]
    assert tuple(rows[0]) == EXPORT_COLUMNS


def test_unknown_decider_time_and_model_are_empty(merchant_account, catalog) -> None:
    product = catalog["lamp"]
    _draft(product, "seo_meta", "Meta", decided_at=None)

    (row,) = export_rows(accepted_copy(merchant=merchant_account.merchant, field="seo_meta"))

    assert (row["accepted_at"], row["accepted_by"], row["model"]) == ("", "", "")


def test_a_draft_accepted_through_the_service_is_exported_as_accepted(merchant_account) -> None:
    product = catalog_services.product_create(merchant=merchant_account.merchant, sku="S-1", name="Stool")
    draft = Draft.objects.create(product=product, field="title", language="en", text="Oak stool")
    DraftRevision.objects.create(draft=draft, version=1, text=draft.text)

    services.draft_accept(draft=draft, user=merchant_account.user, version=1, text="Solid oak stool")

    (row,) = export_rows(accepted_copy(merchant=merchant_account.merchant))
    assert row["text"] == "Solid oak stool" and row["accepted_by"] == "acme"
    assert dt.datetime.fromisoformat(row["accepted_at"]) <= timezone.now()


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"field": "title"}, [EXPECTED_ORDER[3], EXPECTED_ORDER[4]]),
        ({"language": "zh"}, EXPECTED_ORDER[:2]),
        ({"channel": "taobao"}, [EXPECTED_ORDER[1]]),
        ({"field": "title", "channel": "amazon"}, [EXPECTED_ORDER[3]]),
        ({"channel": "ebay"}, []),
    ],
)
def test_filters(merchant_account, catalog, filters, expected) -> None:
    assert _keys(export_rows(accepted_copy(merchant=merchant_account.merchant, **filters))) == expected


def test_product_filter(merchant_account, catalog) -> None:
    drafts = accepted_copy(merchant=merchant_account.merchant, product_id=catalog["lamp"].pk)
    assert _keys(export_rows(drafts)) == EXPECTED_ORDER[2:]


@pytest.mark.parametrize(
    ("filters", "key", "words"),
    [
        ({"field": "poem"}, "field", ["'poem'", "title", "bullets", "seo_meta"]),
        ({"language": "fr"}, "language", ["'fr'", "en", "zh"]),
        ({"channel": "x" * 33}, "channel", ["32"]),
        ({"product_id": 999_999}, "product", ["999999"]),
        ({"product_id": 10**30}, "product", ["No product"]),
    ],
)
def test_bad_filters_say_what_is_wrong(merchant_account, filters, key, words) -> None:
    with pytest.raises(ValidationError) as caught:
        accepted_copy(merchant=merchant_account.merchant, **filters)
    (message,) = caught.value.message_dict[key]
    assert all(word in message for word in words), message


def test_another_merchants_product_is_no_product_of_yours(merchant_account, other_catalog) -> None:
    with pytest.raises(ValidationError, match="No product with id"):
        accepted_copy(merchant=merchant_account.merchant, product_id=other_catalog.product_id)


def test_another_merchants_copy_never_appears(
    merchant_account, other_merchant_account, catalog, other_catalog
) -> None:
    mine = list(accepted_copy(merchant=merchant_account.merchant))
    theirs = list(accepted_copy(merchant=other_merchant_account.merchant))

    assert other_catalog not in mine
    assert theirs == [other_catalog]
    body = "".join(jsonl_lines(accepted_copy(merchant=other_merchant_account.merchant)))
    assert "B-LAMP" not in body and "Desk lamp" not in body


# --- CSV and JSON Lines -----------------------------------------------------------------------


def test_csv_starts_with_a_byte_order_mark_then_the_header(merchant_account, catalog) -> None:
    lines = csv_lines(accepted_copy(merchant=merchant_account.merchant))

    assert next(lines) == "\ufeff"
    assert next(lines) == ",".join(EXPORT_COLUMNS) + "\r\n"


def test_csv_parses_back_to_the_same_rows(merchant_account, catalog) -> None:
    drafts = accepted_copy(merchant=merchant_account.merchant)
    text = "".join(csv_lines(drafts)).removeprefix("\ufeff")

    parsed = _csv_rows(text)

    assert parsed == [_as_strings(row) for row in export_rows(drafts)]
    texts = {row["field"]: row["text"] for row in parsed if row["channel"] == "generic"}
    assert texts["bullets"] == BULLETS  # newlines kept in one quoted cell
    assert texts["title"] == QUOTED  # quotes and commas too
    assert texts["description"] == CHINESE
    assert parsed[0]["product_name"] == "羊毛围巾"


def test_jsonl_is_one_object_a_line(merchant_account, catalog) -> None:
    drafts = accepted_copy(merchant=merchant_account.merchant)
    lines = list(jsonl_lines(drafts))

    assert len(lines) == len(EXPECTED_ORDER)
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    assert [json.loads(line) for line in lines] == list(export_rows(drafts))
    assert CHINESE in "".join(lines)  # written as it is, not as \\u escapes


# --- the response -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_format", "content_type"), [("csv", "text/csv; charset=utf-8"), ("jsonl", "application/x-ndjson")]
)
def test_export_response_is_a_streamed_attachment(merchant_account, catalog, file_format, content_type):
    response = export_response(merchant=merchant_account.merchant, format=file_format)

    assert response.streaming
    assert response["Content-Type"] == content_type
    today = timezone.localdate().strftime("%Y%m%d")
    assert response["Content-Disposition"] == (
        f'attachment; filename="shop-copilot-copy-acme-outfitters-{today}.{file_format}"'
    )
    assert "no-store" in response["Cache-Control"]
    body = b"".join(response.streaming_content).decode("utf-8")
    if file_format == "csv":
        assert body.startswith("\ufeff")
        assert _keys(_csv_rows(body.removeprefix("\ufeff"))) == EXPECTED_ORDER
    else:
        assert _keys(json.loads(line) for line in body.splitlines()) == EXPECTED_ORDER


def test_export_response_reads_the_rows_only_while_it_is_sent(
    merchant_account, catalog, django_assert_num_queries
) -> None:
    with django_assert_num_queries(0):
        response = export_response(merchant=merchant_account.merchant, format="jsonl", field="title")
    with django_assert_num_queries(1):
        body = b"".join(response.streaming_content)
    assert body.count(b"\n") == 2


def test_export_response_filters_and_refuses_bad_input(merchant_account, catalog) -> None:
    response = export_response(merchant=merchant_account.merchant, format="jsonl", language="zh")
    rows = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert _keys(rows) == EXPECTED_ORDER[:2]

    with pytest.raises(ValidationError) as caught:
        export_response(merchant=merchant_account.merchant, format="xlsx")
    assert "csv, jsonl" in caught.value.message_dict["format"][0]
    with pytest.raises(ValidationError):
        export_response(merchant=merchant_account.merchant, format="csv", field="poem")


# --- the API ----------------------------------------------------------------------------------


def test_api_lists_the_rows_a_page_at_a_time(api_client, catalog, other_catalog, monkeypatch) -> None:
    # The project's default pagination reads PAGE_SIZE once, when DRF is imported.
    monkeypatch.setattr(AcceptedCopyViewSet.pagination_class, "page_size", 3)

    first = api_client.get("/api/v1/accepted-copy/")
    assert first.status_code == 200, first.json()
    body = first.json()
    assert body["count"] == len(EXPECTED_ORDER)
    second = api_client.get(body["next"]).json()

    rows = body["results"] + second["results"]
    assert _keys(rows) == EXPECTED_ORDER
    assert rows[4]["text"] == QUOTED and rows[4]["model"] == "acme-v3 (en, acme-outfitters)"
    assert list(rows[0]) == list(EXPORT_COLUMNS)


def test_api_list_filters(api_client, catalog) -> None:
    lamp = catalog["lamp"].pk
    response = api_client.get(f"/api/v1/accepted-copy/?product={lamp}&field=title&language=en&channel=amazon")
    assert _keys(response.json()["results"]) == [EXPECTED_ORDER[3]]


@pytest.mark.parametrize("path", ["/api/v1/accepted-copy/", "/api/v1/accepted-copy/export/"])
@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("field=poem", "field"),
        ("language=fr", "language"),
        ("product=abc", "product"),
        ("product=999999", "product"),
        ("product=²", "product"),
        ("product=-1", "product"),
        (f"product={10**30}", "product"),
        (f"channel={'x' * 40}", "channel"),
    ],
)
def test_api_bad_filters_get_400_and_a_reason(api_client, catalog, path, query, key) -> None:
    response = api_client.get(f"{path}?{query}")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert key in response.json()["errors"]
    assert response.json()["detail"].startswith(f"{key}: ")


def test_api_export_csv(api_client, catalog) -> None:
    response = api_client.get("/api/v1/accepted-copy/export/?format=csv&language=en")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="shop-copilot-copy-acme-outfitters-'
    )
    assert response["Content-Disposition"].endswith('.csv"')
    rows = _csv_rows(b"".join(response.streaming_content).decode("utf-8-sig"))
    assert _keys(rows) == EXPECTED_ORDER[2:]
    assert rows[0]["text"] == BULLETS


def test_api_export_jsonl(api_client, catalog) -> None:
    response = api_client.get("/api/v1/accepted-copy/export/?format=jsonl&field=description")

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].endswith('.jsonl"')
    (row,) = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert row["text"] == CHINESE


def test_api_export_defaults_to_csv_and_takes_a_format_suffix(api_client, catalog) -> None:
    plain = api_client.get("/api/v1/accepted-copy/export/")
    assert plain["Content-Type"] == "text/csv; charset=utf-8"

    suffixed = api_client.get("/api/v1/accepted-copy/export.jsonl")
    assert suffixed.status_code == 200 and suffixed["Content-Type"] == "application/x-ndjson"


@pytest.mark.parametrize(
    "path", ["/api/v1/accepted-copy/export/?format=xlsx", "/api/v1/accepted-copy/export.json"]
)
def test_api_export_refuses_an_unknown_format_in_json(api_client, catalog, path) -> None:
    response = api_client.get(path, HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "csv, jsonl" in response.json()["detail"]


def test_api_never_shows_another_merchants_copy(other_api_client, catalog, other_catalog) -> None:
    listed = other_api_client.get("/api/v1/accepted-copy/").json()
    assert [row["draft_id"] for row in listed["results"]] == [other_catalog.pk]

    for file_format in ("csv", "jsonl"):
        response = other_api_client.get(f"/api/v1/accepted-copy/export/?format={file_format}")
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        assert "A-OTHER" in body
        assert "B-LAMP" not in body and "A-SCARF" not in body and "acme" not in body

    lamp = catalog["lamp"].pk
    assert other_api_client.get(f"/api/v1/accepted-copy/?product={lamp}").status_code == 400
    assert other_api_client.get(f"/api/v1/accepted-copy/export/?product={lamp}").status_code == 400


def test_api_needs_a_signed_in_merchant(client, catalog) -> None:
    assert client.get("/api/v1/accepted-copy/").status_code in {401, 403}
    assert client.get("/api/v1/accepted-copy/export/?format=csv").status_code in {401, 403}


def test_schema_documents_the_export_format_parameter(api_client) -> None:
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    export = schema["paths"]["/api/v1/accepted-copy/export/"]["get"]
    (file_format,) = [p for p in export["parameters"] if p["name"] == "format"]
    assert file_format["schema"]["enum"] == ["csv", "jsonl"]
    assert set(export["responses"]["200"]["content"]) == {"text/csv", "application/x-ndjson"}
    listing = schema["paths"]["/api/v1/accepted-copy/"]["get"]
    assert {"product", "field", "language", "channel"} <= {p["name"] for p in listing["parameters"]}
