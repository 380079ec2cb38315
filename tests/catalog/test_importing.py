"""catalog.importing is plain Python: these tests touch no database."""

from __future__ import annotations

import json

import pytest

from catalog import importing
from catalog.importing import ImportFileError, parse_catalog


def csv_bytes(*lines: str, bom: bool = False) -> bytes:
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def jsonl_bytes(*records: object) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)
                     for r in records).encode("utf-8")


def parse_csv(*lines: str, max_rows: int = 1000, bom: bool = False):
    return parse_catalog(csv_bytes(*lines, bom=bom), "csv", max_rows=max_rows)


def parse_jsonl(*records: object, max_rows: int = 1000):
    return parse_catalog(jsonl_bytes(*records), "jsonl", max_rows=max_rows)


# --- detect_format and guess_language ---------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("catalog.csv", "csv"),
        ("CATALOG.CSV", "csv"),
        ("catalog.jsonl", "jsonl"),
        ("catalog.ndjson", "jsonl"),
        ("catalog.json", "jsonl"),
        ("catalog.xlsx", None),
        ("catalog.csv.exe", None),
        ("catalog", None),
        ("", None),
    ],
)
def test_detect_format(filename: str, expected: str | None) -> None:
    assert importing.detect_format(filename) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Wireless mouse", "en"), ("无线鼠标", "zh"), ("Apple 手机壳", "zh"), ("", "en")],
)
def test_guess_language(text: str, expected: str) -> None:
    assert importing.guess_language(text) == expected


# --- CSV --------------------------------------------------------------------------------------


def test_csv_rows_fields_and_attributes() -> None:
    result = parse_csv(
        "sku,name,category,language,Brand,colour",
        "A-1,Wireless mouse,Electronics,en,Logi,black",
        "A-2,  USB cable  ,Electronics,,,",
    )
    assert result.errors == [] and result.error_count == 0
    first, second = result.rows
    assert (first.row, first.sku, first.name, first.category, first.language) == (
        2, "A-1", "Wireless mouse", "Electronics", "en"
    )
    # Unknown columns are attributes with lower-cased keys; empty cells are skipped.
    assert first.attributes == [("brand", "Logi"), ("colour", "black")]
    assert second.row == 3
    assert second.name == "USB cable"
    assert second.attributes == []


def test_csv_with_byte_order_mark_reads_the_first_column() -> None:
    result = parse_csv("sku,name", "B-1,Mug", bom=True)
    assert [(r.sku, r.name) for r in result.rows] == [("B-1", "Mug")]


def test_csv_in_chinese_guesses_language_and_keeps_chinese_attributes() -> None:
    result = parse_csv("sku,name,颜色,材质", "ZH-1,无线蓝牙耳机,黑色,塑料", bom=True)
    (row,) = result.rows
    assert row.name == "无线蓝牙耳机"
    assert row.language == "zh"
    assert row.attributes == [("颜色", "黑色"), ("材质", "塑料")]


def test_csv_semicolon_delimiter_is_sniffed() -> None:
    result = parse_csv("sku;name;brand", "S-1;Kettle;Bosch", "S-2;Toaster;Philips")
    assert [(r.sku, r.name, r.attributes) for r in result.rows] == [
        ("S-1", "Kettle", [("brand", "Bosch")]),
        ("S-2", "Toaster", [("brand", "Philips")]),
    ]


@pytest.mark.parametrize(
    ("raw", "expected"), [("English", "en"), ("EN-us", "en"), ("中文", "zh"), ("zh-Hans", "zh")]
)
def test_csv_language_aliases(raw: str, expected: str) -> None:
    (row,) = parse_csv("sku,name,language", f"L-1,Thing,{raw}").rows
    assert row.language == expected


def test_csv_missing_required_column_fails_the_file_naming_it() -> None:
    with pytest.raises(ImportFileError) as excinfo:
        parse_csv("sku,title,brand", "A-1,Mouse,Logi")
    message = str(excinfo.value)
    assert message.startswith("Row 1:")
    assert "'name'" in message and "'sku'" not in message.split("The header")[0]
    assert "title" in message  # tells the person what the header does have


def test_csv_column_twice_in_header_fails() -> None:
    with pytest.raises(ImportFileError, match="column 'brand' appears twice"):
        parse_csv("sku,name,brand,Brand", "A-1,Mouse,Logi,Logi")


def test_bad_row_among_good_ones_is_named_with_the_row_a_person_sees() -> None:
    result = parse_csv(
        "sku,name",
        "G-1,Good one",
        "G-2,",  # row 3: no name
        "G-3,Good three",
    )
    assert [e.as_dict() for e in result.errors] == [
        {"row": 3, "column": "name", "message": "is required"}
    ]
    assert result.error_count == 1
    assert [r.sku for r in result.rows] == ["G-1", "G-3"]


def test_blank_lines_keep_row_numbers_as_in_a_spreadsheet() -> None:
    result = parse_csv("sku,name", "G-1,One", ",", "G-3 X,Three")
    assert [e.as_dict() for e in result.errors] == [
        {"row": 4, "column": "sku", "message": "'G-3 X' contains spaces"}
    ]


def test_duplicate_sku_in_one_file_names_both_rows() -> None:
    result = parse_csv("sku,name", "D-1,First", "D-2,Other", "D-1,Again")
    (error,) = result.errors
    assert error.row == 4
    assert error.column == "sku"
    assert "row 2" in error.message and "'D-1'" in error.message


def test_row_with_more_cells_than_header_is_an_error() -> None:
    result = parse_csv("sku,name", "E-1,One,surprise")
    assert [(e.row, e.column) for e in result.errors] == [(2, "(row)")]


def test_trailing_empty_cells_are_tolerated() -> None:
    result = parse_csv("sku,name", "E-1,One,,")
    assert [r.sku for r in result.rows] == ["E-1"]
    assert result.errors == []


@pytest.mark.parametrize(
    ("line", "column", "fragment"),
    [
        (f"{'X' * 65},Name", "sku", "longer than 64"),
        (f"LONG-1,{'n' * 301}", "name", "longer than 300"),
        ("LONG-2,Name,fr", "language", "'fr' is not 'en' or 'zh'"),
    ],
)
def test_field_limits(line: str, column: str, fragment: str) -> None:
    result = parse_csv("sku,name,language", line)
    assert result.rows == []
    (error,) = result.errors
    assert error.column == column and fragment in error.message


@pytest.mark.parametrize("key", ["<b>size</b>", "=cmd", "(cm)"])
def test_unusable_attribute_name_is_an_error(key: str) -> None:
    result = parse_csv(f"sku,name,{key}", "A-1,Box,30")
    assert [(e.row, e.column) for e in result.errors] == [(2, key)]


def test_attribute_names_as_spreadsheets_write_them() -> None:
    (row,) = parse_csv("sku,name,Weight (kg),R&D / notes", "A-1,Box,3,ok").rows
    assert row.attributes == [("weight (kg)", "3"), ("r&d / notes", "ok")]


def test_many_errors_are_counted_but_only_some_reported() -> None:
    limit = importing.MAX_REPORTED_ERRORS
    lines = ["sku,name"] + [f"S-{i}," for i in range(limit + 20)]
    result = parse_csv(*lines, max_rows=10 * limit)
    assert len(result.errors) == limit
    assert result.error_count == limit + 20


def test_more_rows_than_allowed_fails_the_file() -> None:
    with pytest.raises(ImportFileError, match="more than 3 products"):
        parse_csv("sku,name", *(f"M-{i},Item {i}" for i in range(4)), max_rows=3)


def test_exactly_the_allowed_number_of_rows_is_fine() -> None:
    assert len(parse_csv("sku,name", *(f"M-{i},Item" for i in range(3)), max_rows=3).rows) == 3


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf"])
def test_empty_file_is_refused(data: bytes) -> None:
    with pytest.raises(ImportFileError, match="empty"):
        parse_catalog(data, "csv", max_rows=10)


def test_header_without_products_is_refused() -> None:
    with pytest.raises(ImportFileError, match="no products"):
        parse_csv("sku,name")


@pytest.mark.parametrize(
    "data",
    ["sku,name\r\nC-1,Café\r\n".encode("latin-1"), "sku,name\r\nZH-1,无线鼠标\r\n".encode("gbk")],
)
def test_non_utf8_file_is_refused_with_a_hint(data: bytes) -> None:
    with pytest.raises(ImportFileError, match="not UTF-8") as excinfo:
        parse_catalog(data, "csv", max_rows=10)
    assert "CSV UTF-8" in str(excinfo.value)


# --- JSON Lines -------------------------------------------------------------------------------


def test_jsonl_attributes_as_object_and_as_list() -> None:
    result = parse_jsonl(
        {"sku": "J-1", "name": "Desk lamp", "attributes": {"Brand": "Ikea", "watts": 40}},
        {"sku": "J-2", "name": "台灯", "attributes": [{"key": "品牌", "value": "小米"}]},
        {"sku": "J-3", "name": "Chair", "colour": "red", "category": "Furniture"},
    )
    assert result.errors == []
    one, two, three = result.rows
    assert (one.row, one.attributes) == (1, [("brand", "Ikea"), ("watts", "40")])
    assert (two.row, two.language, two.attributes) == (2, "zh", [("品牌", "小米")])
    assert (three.category, three.attributes) == ("Furniture", [("colour", "red")])


def test_jsonl_invalid_line_is_named_by_line_number() -> None:
    result = parse_jsonl(
        {"sku": "J-1", "name": "One"},
        "",  # a blank line still counts as a line
        '{"sku": "J-3", "name": ',
        '["not", "an", "object"]',
    )
    assert [r.sku for r in result.rows] == ["J-1"]
    assert [(e.row, e.column) for e in result.errors] == [(3, "(line)"), (4, "(line)")]
    assert "is not valid JSON" in result.errors[0].message
    assert result.errors[1].message == "must be a JSON object"


@pytest.mark.parametrize(
    ("attributes", "column"),
    [
        ("brand=Ikea", "attributes"),
        ([["brand", "Ikea"]], "attributes"),
        ([{"key": 5, "value": "x"}], "attributes"),
        ({"brand": {"nested": True}}, "brand"),
        ({"colour": True}, "colour"),
    ],
)
def test_jsonl_bad_attributes(attributes: object, column: str) -> None:
    result = parse_jsonl({"sku": "J-1", "name": "One", "attributes": attributes})
    assert result.rows == []
    assert [(e.row, e.column) for e in result.errors] == [(1, column)]


def test_jsonl_null_and_empty_attribute_values_are_skipped() -> None:
    (row,) = parse_jsonl({"sku": "J-1", "name": "One", "attributes": {"a": None, "b": " "}}).rows
    assert row.attributes == []


def test_jsonl_numbers_are_accepted_as_text_but_not_booleans() -> None:
    result = parse_jsonl({"sku": 1001, "name": "Numbered"}, {"sku": True, "name": "Flag"})
    assert [r.sku for r in result.rows] == ["1001"]
    assert (result.errors[0].row, result.errors[0].column, result.errors[0].message) == (
        2, "sku", "must be text"
    )
    assert {e.row for e in result.errors} == {2}


def test_jsonl_duplicate_sku_names_both_lines() -> None:
    result = parse_jsonl({"sku": "J-1", "name": "One"}, {"sku": "J-1", "name": "Two"})
    (error,) = result.errors
    assert error.row == 2 and "row 1" in error.message
