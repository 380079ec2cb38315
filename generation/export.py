"""A merchant's published copy as a file: CSV for spreadsheets, JSON Lines for programs.

Published copy is the accepted draft of each (product, field, language, channel). Both formats
carry the same rows (EXPORT_COLUMNS), streamed from the database in chunks so that a large
catalog never sits in memory whole.

CSV choices:

* UTF-8 with a byte-order mark as the first chunk: without it Excel reads the file in the
  system's ANSI code page and turns Chinese copy into mojibake. Programs should decode with
  ``utf-8-sig`` (which also reads a file without the mark).
* RFC 4180 quoting (``csv.QUOTE_MINIMAL``, CRLF between rows): bullets and tags keep their
  newlines inside a quoted cell, and quotes and commas survive a round trip.
* Cells are written as they are: a text that begins with ``=``, ``+``, ``-`` or ``@`` is not
  prefixed with an apostrophe against spreadsheet formulas, since the file is meant to be
  re-imported into shop platforms, where that prefix would end up in the published copy.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header

from catalog.models import Language, Merchant, Product
from generation import selectors
from generation.models import CopyField, Draft, DraftStatus

EXPORT_COLUMNS: tuple[str, ...] = (
    "sku",
    "product_name",
    "category",
    "field",
    "language",
    "channel",
    "text",
    "accepted_at",
    "accepted_by",
    "draft_id",
    "version",
    "model",
)

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
JSONL_CONTENT_TYPE = "application/x-ndjson"
BYTE_ORDER_MARK = "\ufeff"

# Rows fetched per database round trip, and characters sent per response chunk.
CHUNK_SIZE = 500
RESPONSE_CHUNK_CHARS = 64 * 1024

CHANNEL_MAX_LENGTH = Draft._meta.get_field("channel").max_length
MAX_ID = 2**63 - 1  # beyond it the database refuses the query instead of finding nothing


def _choices_text(values: Iterable[str]) -> str:
    return ", ".join(values)


def accepted_copy(
    *,
    merchant: Merchant,
    product_id: int | None = None,
    field: str = "",
    language: str = "",
    channel: str = "",
) -> QuerySet[Draft]:
    """The merchant's published copy, one accepted draft per product, field, language and channel.

    Raises ValidationError (keyed by the query parameter's name) for a field or language that does
    not exist, a channel that cannot be one, or a product that is not in the merchant's catalog.
    """
    errors: dict[str, str] = {}
    if field and field not in CopyField.values:
        errors["field"] = f"Unknown field {field!r}; choose one of: {_choices_text(CopyField.values)}."
    if language and language not in Language.values:
        errors["language"] = (
            f"Unknown language {language!r}; choose one of: {_choices_text(Language.values)}."
        )
    if len(channel) > CHANNEL_MAX_LENGTH:
        errors["channel"] = f"A channel name has at most {CHANNEL_MAX_LENGTH} characters."
    if product_id is not None and not (
        0 < product_id <= MAX_ID and Product.objects.filter(merchant=merchant, pk=product_id).exists()
    ):
        errors["product"] = f"No product with id {product_id} in your catalog."
    if errors:
        raise ValidationError(errors)

    drafts = selectors.draft_list(
        merchant=merchant,
        product_id=product_id,
        field=field,
        status=DraftStatus.ACCEPTED,
        language=language,
        channel=channel,
    )
    return drafts.select_related("product", "decided_by", "model_version__merchant").order_by(
        "product__sku", "field", "language", "channel", "pk"
    )


def _each(drafts: Iterable[Draft]) -> Iterator[Draft]:
    """A queryset is read in chunks; anything else (a page of one) is read as it is."""
    if isinstance(drafts, QuerySet):
        return drafts.iterator(chunk_size=CHUNK_SIZE)
    return iter(drafts)


def export_row(draft: Draft) -> dict[str, Any]:
    product = draft.product
    return {
        "sku": product.sku,
        "product_name": product.name,
        "category": product.category,
        "field": draft.field,
        "language": draft.language,
        "channel": draft.channel,
        "text": draft.text,
        "accepted_at": draft.decided_at.isoformat() if draft.decided_at else "",
        "accepted_by": draft.decided_by.get_username() if draft.decided_by else "",
        "draft_id": draft.pk,
        "version": draft.version,
        "model": str(draft.model_version) if draft.model_version else "",
    }


def export_rows(drafts: Iterable[Draft]) -> Iterator[dict[str, Any]]:
    """One dict per draft, with the keys of EXPORT_COLUMNS in that order."""
    for draft in _each(drafts):
        yield export_row(draft)


def csv_lines(drafts: Iterable[Draft]) -> Iterator[str]:
    """The byte-order mark, then the header row, then one CSV record per draft."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield BYTE_ORDER_MARK
    writer.writeheader()
    yield flush()
    for row in export_rows(drafts):
        writer.writerow(row)
        yield flush()


def jsonl_lines(drafts: Iterable[Draft]) -> Iterator[str]:
    """One JSON object per line; non-ASCII text is written as it is, in UTF-8."""
    for row in export_rows(drafts):
        yield json.dumps(row, ensure_ascii=False) + "\n"


EXPORT_FORMATS: dict[str, tuple[Callable[[Iterable[Draft]], Iterator[str]], str]] = {
    "csv": (csv_lines, CSV_CONTENT_TYPE),
    "jsonl": (jsonl_lines, JSONL_CONTENT_TYPE),
}


def export_filename(*, merchant: Merchant, format: str) -> str:
    return f"shop-copilot-copy-{merchant.slug}-{timezone.localdate():%Y%m%d}.{format}"


def _batched(lines: Iterator[str], size: int = RESPONSE_CHUNK_CHARS) -> Iterator[str]:
    """Join small lines into chunks of about `size` characters: fewer, larger writes."""
    batch: list[str] = []
    length = 0
    for line in lines:
        batch.append(line)
        length += len(line)
        if length >= size:
            yield "".join(batch)
            batch, length = [], 0
    if batch:
        yield "".join(batch)


def export_response(
    *,
    merchant: Merchant,
    format: str,
    product_id: int | None = None,
    field: str = "",
    language: str = "",
    channel: str = "",
) -> StreamingHttpResponse:
    """The merchant's published copy as a streamed attachment, `format` "csv" or "jsonl".

    Filters and the format are checked before the response exists, so a bad one raises
    ValidationError here rather than breaking a half-sent file.
    """
    if format not in EXPORT_FORMATS:
        raise ValidationError(
            {"format": f"Unknown export format {format!r}; choose one of: {_choices_text(EXPORT_FORMATS)}."}
        )
    lines, content_type = EXPORT_FORMATS[format]
    drafts = accepted_copy(
        merchant=merchant, product_id=product_id, field=field, language=language, channel=channel
    )
    response = StreamingHttpResponse(_batched(lines(drafts)), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=export_filename(merchant=merchant, format=format)
    )
    add_never_cache_headers(response)  # a merchant's own data: no shared or stale copies
    return response
