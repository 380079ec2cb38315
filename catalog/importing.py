"""Reading and validating catalog files (CSV and JSON Lines), with no database access.

A file is read whole and every row checked before anything is written, so a file with one bad
row imports nothing and the report names each bad row. Row numbers are what a person sees: in
a CSV the header is row 1 and the first product row 2; in JSON Lines it is the line number.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

REQUIRED_COLUMNS = ("sku", "name")
OPTIONAL_COLUMNS = ("category", "language")
MAX_SKU = 64
MAX_NAME = 300
MAX_CATEGORY = 100
MAX_KEY = 64
MAX_VALUE = 500
MAX_REPORTED_ERRORS = 500
LANGUAGE_ALIASES = {
    "en": "en", "eng": "en", "english": "en", "en-us": "en", "en-gb": "en",
    "zh": "zh", "zh-cn": "zh", "zh-hans": "zh", "chinese": "zh", "中文": "zh", "cn": "zh",
}
_CJK = re.compile(r"[\u3400-\u9fff]")
# Attribute names as a spreadsheet header would have them ("weight (kg)"), but no markup.
ATTRIBUTE_KEY = re.compile(r"^\w[\w\- /().&%+]*$", re.UNICODE)


class ImportFileError(Exception):
    """The file as a whole cannot be read (not UTF-8, not CSV/JSON Lines, too large)."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class CatalogRow:
    row: int
    sku: str
    name: str
    category: str
    language: str
    attributes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ParseResult:
    rows: list[CatalogRow]
    errors: list[RowError]
    error_count: int


def detect_format(filename: str) -> str | None:
    name = filename.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return None


def guess_language(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file is not UTF-8 text (bad byte at position {exc.start}). "
            "Save it as 'CSV UTF-8' or JSON Lines in UTF-8 and upload it again."
        ) from exc


def parse_catalog(data: bytes, file_format: str, *, max_rows: int) -> ParseResult:
    """Validate every row of a catalog file. Raises ImportFileError for an unreadable file."""
    text = decode(data)
    if not text.strip():
        raise ImportFileError("The file is empty.")
    records = _csv_records(text) if file_format == "csv" else _jsonl_records(text)
    checker = _RowChecker()
    rows: list[CatalogRow] = []
    for row_number, record in records:
        if len(rows) + checker.count >= max_rows:
            raise ImportFileError(f"The file has more than {max_rows} products; split it.")
        parsed = checker.check(row_number, record)
        if parsed is not None:
            rows.append(parsed)
    if not rows and not checker.count:
        raise ImportFileError("The file has a header but no products.")
    return ParseResult(rows=rows, errors=checker.errors, error_count=checker.count)


class _RowChecker:
    def __init__(self) -> None:
        self.errors: list[RowError] = []
        self.count = 0
        self.first_row_of_sku: dict[str, int] = {}

    def error(self, row: int, column: str, message: str) -> None:
        self.count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row, column, message))

    def check(self, row: int, record: dict[str, object]) -> CatalogRow | None:
        errors_before = self.count
        if "__json__" in record:
            self.error(row, "(line)", str(record["__json__"]))
            return None
        if "__extra__" in record:
            self.error(row, "(row)", "has more cells than the header has columns")
            return None
        values: dict[str, str] = {}
        attributes: list[tuple[str, str]] = []
        for column, raw in record.items():
            if column in REQUIRED_COLUMNS or column in OPTIONAL_COLUMNS:
                if not isinstance(raw, str | int | float) or isinstance(raw, bool):
                    self.error(row, column, "must be text")
                    return None
                values[column] = str(raw).strip()
            elif column == "attributes":
                attributes.extend(self._attributes(row, raw))
            else:
                attribute = self._attribute(row, column, raw)
                if attribute:
                    attributes.append(attribute)

        sku = values.get("sku", "")
        name = values.get("name", "")
        category = values.get("category", "")
        language_raw = values.get("language", "")
        if not sku:
            self.error(row, "sku", "is required")
        elif len(sku) > MAX_SKU:
            self.error(row, "sku", f"is longer than {MAX_SKU} characters")
        elif any(ch.isspace() for ch in sku):
            self.error(row, "sku", f"'{sku}' contains spaces")
        elif sku in self.first_row_of_sku:
            self.error(row, "sku", f"'{sku}' already appears on row {self.first_row_of_sku[sku]}")
        else:
            self.first_row_of_sku[sku] = row
        if not name:
            self.error(row, "name", "is required")
        elif len(name) > MAX_NAME:
            self.error(row, "name", f"is longer than {MAX_NAME} characters")
        if len(category) > MAX_CATEGORY:
            self.error(row, "category", f"is longer than {MAX_CATEGORY} characters")
        if language_raw:
            language = LANGUAGE_ALIASES.get(language_raw.lower())
            if language is None:
                self.error(row, "language", f"'{language_raw}' is not 'en' or 'zh'")
        else:
            language = guess_language(name)
        if self.count > errors_before:
            return None
        return CatalogRow(row, sku, name, category, language or "en", attributes)

    def _attributes(self, row: int, raw: object) -> Iterator[tuple[str, str]]:
        if isinstance(raw, dict):
            items: Iterable[tuple[object, object]] = raw.items()
        elif isinstance(raw, list) and all(isinstance(i, dict) for i in raw):
            items = [(i.get("key"), i.get("value")) for i in raw]
        else:
            self.error(row, "attributes", "must be an object {key: value} or a list of {key, value}")
            return
        for key, value in items:
            if not isinstance(key, str):
                self.error(row, "attributes", "every attribute needs a text key")
                continue
            attribute = self._attribute(row, key, value)
            if attribute:
                yield attribute

    def _attribute(self, row: int, key: str, raw: object) -> tuple[str, str] | None:
        key = key.strip().lower()
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            self.error(row, key, "must be text or a number")
            return None
        value = str(raw).strip()
        if not value:
            return None  # empty cells are skipped, never stored as empty attributes
        if not key or len(key) > MAX_KEY or not ATTRIBUTE_KEY.match(key):
            self.error(row, key or "(blank)", "is not a usable attribute name")
            return None
        if len(value) > MAX_VALUE:
            self.error(row, key, f"is longer than {MAX_VALUE} characters")
            return None
        return key, value


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, object]]]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ImportFileError("The CSV file has no header row.") from exc
    columns = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ImportFileError(
            "Row 1: missing required column " + ", ".join(f"'{c}'" for c in missing)
            + f". The header has: {', '.join(c or '(blank)' for c in columns)}."
        )
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            raise ImportFileError(f"Row 1: column '{column}' appears twice in the header.")
        seen.add(column)
    row_number = 1
    try:
        for cells in reader:
            row_number += 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(columns):
                extra = [c for c in cells[len(columns):] if c.strip()]
                if extra:
                    yield row_number, {"__extra__": None, **dict(zip(columns, cells, strict=False))}
                    continue
            yield row_number, dict(zip(columns, cells, strict=False))
    except csv.Error as exc:
        raise ImportFileError(f"Row {row_number + 1}: the CSV is malformed ({exc}).") from exc


def _jsonl_records(text: str) -> Iterator[tuple[int, dict[str, object]]]:
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_number, {"__json__": f"is not valid JSON ({exc.msg} at column {exc.colno})"}
            continue
        if not isinstance(record, dict):
            yield line_number, {"__json__": "must be a JSON object"}
            continue
        yield line_number, record
