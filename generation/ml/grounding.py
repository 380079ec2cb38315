"""Check that product copy states only facts found in the product's attributes.

A draft is split into claims: numbers (with their unit), model names and codes, materials,
certifications, named technologies and compatibility targets. Each claim must be backed by an
attribute key or value, or by extra context such as the product name. The sources are read by the
same extractors as the draft, so "5000毫安" in the attributes backs "5,000 mAh" in the copy and
"铝合金" backs "aluminium alloy".

Both languages run the same extractors (Chinese copy is full of "5000mAh" and "IPX7"); the Chinese
lexicon is skipped only when a text has no Chinese character in it.

Known limits, chosen on purpose:
- Numbers written in words ("two", "五千") are not claims; "万" after digits multiplies by 10,000.
- Units convert only within the metric families of claim_lexicon.UNIT_SCALE (1.5 L == 1500 ml);
  1 kg != 2.2 lb.
- Single Chinese characters (木 竹 棉 钢 铝 钛) are materials except inside the words listed in
  claim_lexicon.EXCLUSIONS (木星, 钢琴, 钢化膜 ...); 丝 alone is never a material (螺丝, 丝滑, 粉丝),
  only 真丝, 蚕丝, 丝绸 ...; 金/银/铜/铁 alone are not materials either (金属, 银色, 地铁), only 黄金,
  纯银, 黄铜, 铸铁 ....
- "down" (feathers) is a material only as "goose down", "duck down", "down filling"; "iron" only
  as "cast iron" / "wrought iron"; "Lightning" only before port/cable/connector ... in copy.
- An IP code with a water digit of 4 or more backs "waterproof"/"water-resistant"/防水; IP67 also
  backs IPX7 and IP6X.
- A compatibility target is read only after "compatible with", "works with", "pairs with", and
  only its capitalised words ("Samsung Galaxy S23"); a capitalised word before a number is a
  product line ("iPhone 13", "RTX 4090") unless a unit follows ("HydroFlask 32 oz").
- A stronger material ("stainless steel", "纯棉") backs the weaker one ("steel", "棉"), never the
  reverse; "leather" is not backed by "PU leather".

The word lists and unit tables live in claim_lexicon.py; this module holds the logic. No Django;
regexes are compiled once at import, and the attributes' side of a check is cached, so scoring
several candidates for one product extracts the attributes once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import attrgetter

from generation.ml.claim_lexicon import (
    AFFIRMATIVE,
    ATTACHED_ONLY_UNITS,
    CAPS_STOP_WORDS,
    CERTIFICATIONS,
    CJK_CHARS,
    CODE_PARENTS,
    CURRENCY_SYMBOLS,
    EXCLUSIONS,
    FULLWIDTH,
    GRADE_DIGITS,
    LINE_WORDS,
    MATERIALS,
    NEGATIVE,
    SPELLING,
    STOP_WORDS,
    TECHNOLOGIES,
    UNIT_SCALE,
    UNITS,
    VERSIONED,
)

__all__ = ["LANGUAGES", "GroundingReport", "Span", "check_grounding", "extract_claims"]

LANGUAGES = ("en", "zh")

KIND_NUMBER = "number"
KIND_MODEL = "model"
KIND_MATERIAL = "material"
KIND_CERTIFICATION = "certification"
KIND_TECHNOLOGY = "technology"
KIND_RULE = "rule"


@dataclass(frozen=True)
class Span:
    """A piece of checked text; text[start:end] == self.text."""

    start: int
    end: int
    text: str
    reason: str
    kind: str

    def to_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "reason": self.reason,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class GroundingReport:
    coverage: float
    used: tuple[str, ...]
    unused: tuple[str, ...]
    claims: int
    ungrounded: tuple[Span, ...]

    @property
    def grounded(self) -> bool:
        return not self.ungrounded

    def to_dict(self) -> dict:
        return {
            "coverage": self.coverage,
            "used": list(self.used),
            "unused": list(self.unused),
            "claims": self.claims,
            "ungrounded": [span.to_dict() for span in self.ungrounded],
        }


# --- Lexicons ---------------------------------------------------------------------------------
# The tables themselves, and how their surfaces are written, are in claim_lexicon.py.

_HAS_CJK = re.compile(f"[{CJK_CHARS}]")


def _fold(text: str) -> str:
    return text.translate(FULLWIDTH)


def _lex_key(surface: str) -> str:
    return re.sub(r"[\s\-]+", "", surface).lower()


@dataclass(frozen=True)
class _Entry:
    kind: str
    concept: str


def _build_lexicon() -> tuple[dict[str, _Entry], dict[str, tuple[str, ...]], list[str], list[str], list[str]]:
    entries: dict[str, _Entry] = {}
    parents: dict[str, tuple[str, ...]] = {}
    latin_ci: list[str] = []
    latin_cs: list[str] = []
    cjk: list[str] = []
    tables = (
        (KIND_MATERIAL, MATERIALS),
        (KIND_CERTIFICATION, CERTIFICATIONS),
        (KIND_TECHNOLOGY, TECHNOLOGIES),
    )
    for kind, table in tables:
        for concept, concept_parents, surfaces in table:
            parents[concept] = concept_parents
            for raw in surfaces:
                surface = raw.removeprefix("=")
                key = _lex_key(surface)
                entry = _Entry(kind, concept)
                if entries.setdefault(key, entry) != entry:
                    raise RuntimeError(f"Lexicon surface {surface!r} names two concepts")
                if _HAS_CJK.search(surface):
                    cjk.append(surface)
                elif raw.startswith("="):
                    latin_cs.append(surface)
                else:
                    latin_ci.append(surface)
    return entries, parents, latin_ci, latin_cs, cjk


_LEXICON, _PARENTS, _LATIN_CI, _LATIN_CS, _CJK_SURFACES = _build_lexicon()
_PARENTS.update(CODE_PARENTS)


_SEP = "\x00"  # a run of spaces or hyphens between the words of a surface
_END = ""


def _alternation(surfaces: Iterable[str], *, ignore_case: bool) -> str:
    """One regex for many surfaces, shaped as a trie so each position tests a few first letters.

    Python's re skips an alternative quickly when it starts with a literal or a character class
    (not with a case-insensitive literal), so case-insensitivity is spelled out as [sS]. A shorter
    surface is an optional end, and the greedy match prefers the longer one ("stainless steel"
    over "steel").
    """
    trie: dict = {}
    for surface in surfaces:
        node = trie
        for word_index, word in enumerate(w for w in re.split(r"[\s\-]+", surface) if w):
            if word_index:
                node = node.setdefault(_SEP, {})
            for char in word.lower() if ignore_case else word:
                node = node.setdefault(char, {})
        node[_END] = {}

    def token(char: str) -> str:
        if char == _SEP:
            return r"[\s\-]*"
        if ignore_case and char.upper() != char and len(char.upper()) == 1:
            return f"[{re.escape(char)}{re.escape(char.upper())}]"
        return re.escape(char)

    def emit(node: dict) -> str:
        branches = [token(char) + emit(child) for char, child in sorted(node.items()) if char != _END]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if _END in node:
            return body + "?" if len(branches) == 1 and len(body) == 1 else f"(?:{body})?"
        return body

    return emit(trie)


# A version after a technology name: "Bluetooth 5.3", "Wi-Fi 6E", "蓝牙V5.3", "USB 3.2".
_VERSION = r"(?:[ \t]?[vV]?(?P<v>\d{1,2}(?:\.\d{1,2})?(?:[eE](?![A-Za-z]))?)(?![0-9A-Za-z])(?!\.\d))?"
_LATIN_CI_RE = re.compile(
    rf"(?<![A-Za-z0-9])(?P<s>{_alternation(_LATIN_CI, ignore_case=True)})(?![A-Za-z]){_VERSION}"
)
_LATIN_CS_RE = re.compile(
    rf"(?<![A-Za-z0-9])(?P<s>{_alternation(_LATIN_CS, ignore_case=False)})(?![A-Za-z]){_VERSION}"
)
# Sources: a merchant may type "ce" or "nfc".
_LATIN_CS_LOOSE_RE = re.compile(
    rf"(?<![A-Za-z0-9])(?P<s>{_alternation(_LATIN_CS, ignore_case=True)})(?![A-Za-z]){_VERSION}"
)
_CJK_RE = re.compile(rf"(?P<s>{_alternation(_CJK_SURFACES, ignore_case=True)}){_VERSION}")

_EXCLUDED_AROUND: dict[str, tuple[tuple[int, str], ...]] = {
    surface: tuple((word.index(surface), word) for word in words) for surface, words in EXCLUSIONS.items()
}

# IP ratings, ISO and GB standards, Chinese energy grades, and "Lightning" as a connector.
_CODE_PATTERN = (
    r"(?<![A-Za-z0-9])(?:"
    r"(?P<ip>(?i:IP)[ \t-]?(?P<ipd>[0-6Xx])(?P<ipw>[0-9Xx])K?)"
    r"|(?P<iso>(?i:ISO)[ \t-]?(?P<isonum>\d{3,5})(?:[-:]\d{1,4})*)"
    r"|(?P<gb>GB(?:/T)?[ \t]?(?P<gbnum>\d{3,5})(?:[-.]\d{2,4})?)"
    r"|(?P<lightning>(?i:lightning){lightning_tail})"
    r")(?![A-Za-z0-9])"
    r"|(?P<energy>(?P<eg1>[一二三四五1-5])级能效|能效(?:等级)?(?P<eg2>[一二三四五1-5])级)"
)
_CODE_RE = re.compile(
    _CODE_PATTERN.replace(
        "{lightning_tail}",
        r"(?=[ \t-]+(?i:port|connector|cable|adapter|charging|charger|jack|to\b|接口))",
    )
)
_CODE_LOOSE_RE = re.compile(_CODE_PATTERN.replace("{lightning_tail}", ""))

# --- Numbers ----------------------------------------------------------------------------------
# Unit surfaces and exact conversions are claim_lexicon.UNITS and claim_lexicon.UNIT_SCALE.


def _unit_tables() -> tuple[str, str, dict[str, str], dict[str, str]]:
    spaced, attached, case_sensitive, case_insensitive = [], [], {}, {}
    for canonical, surfaces in UNITS.items():
        for raw in surfaces:
            surface = raw.removeprefix("=")
            pattern = r"\s?".join(re.escape(part) for part in surface.split(" "))
            if raw.startswith("="):
                case_sensitive[surface] = canonical
            else:
                case_insensitive[surface.lower()] = canonical
                pattern = f"(?i:{pattern})"
            if surface[-1].isascii() and surface[-1].isalpha():
                pattern += "(?![A-Za-z])"
            (attached if canonical in ATTACHED_ONLY_UNITS else spaced).append((surface, pattern))
    ordered = lambda items: "|".join(p for _, p in sorted(items, key=lambda i: -len(i[0])))  # noqa: E731
    return ordered(spaced), ordered(attached), case_sensitive, case_insensitive


_SPACED_UNITS, _ATTACHED_UNITS, _UNIT_CS, _UNIT_CI = _unit_tables()

# A number right after "letters-" belongs to a model code: "TR-5 pairs" is the TR-5, not 5 pairs.
_NUMBER_RE = re.compile(
    r"(?<![A-Za-z0-9])(?<!\d[.,])(?<![A-Za-z]-)"
    r"(?P<cur>[$€£¥][ \t]?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<wan>万)?"
    r"(?:(?P<ord>st|nd|rd|th)(?![A-Za-z])"
    rf"|(?P<att>{_ATTACHED_UNITS})(?![A-Za-z0-9])"
    rf"|(?:[ \t\u00a0]?-[ \t\u00a0]?|[ \t\u00a0])?(?P<unit>{_SPACED_UNITS}))?"
)
_BARE_NUMBER_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")

# --- Model names, product lines, compatibility ------------------------------------------------
_MODEL_TOKEN_RE = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])"
    r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![A-Za-z0-9])"
)
_PRODUCT_LINE_RE = re.compile(
    r"(?<![A-Za-z0-9])"
    rf"(?:(?i:{LINE_WORDS})|i[A-Z][a-z]+|[A-Z][a-z]+[A-Z][A-Za-z]*"
    rf"|(?!(?:{CAPS_STOP_WORDS})(?![A-Za-z]))[A-Z]{{2,}}(?![a-z]))"
    r"[ \t\u00a0]?-?[ \t\u00a0]?\d{1,4}(?:\.\d{1,2})?"
    r"(?:[ \t](?i:pro|max|plus|ultra|mini|lite|air|se|fe|neo|edge|fold|flip)(?![A-Za-z]))*"
    r"(?![A-Za-z0-9])"
    # "HydroFlask 32 oz" is a brand and a measurement, not a model.
    rf"(?!(?:[ \t\u00a0]?-[ \t\u00a0]?|[ \t\u00a0])?(?:{_SPACED_UNITS}))"
)
_NAME_WORD = r"(?:i[A-Z][A-Za-z0-9+]*|[A-Z][A-Za-z0-9+]*)"
_COMPAT_RE = re.compile(
    r"(?i:\b(?:compatible|works|pairs)[ \t]+with)[ \t]+(?:the[ \t]+)?"
    r"(?P<name>(?!(?:All|Most|Any|Many|Other|Your|Standard|Both|Every|Various|Popular|Multiple|The)\b)"
    rf"{_NAME_WORD}(?:[ \t-](?:{_NAME_WORD}|\d[A-Za-z0-9+]*)){{0,4}})"
)

# Text that holds no claims: HTML tags and entities, links, list numbers, "24/7".
_MASK_RE = re.compile(
    r"<[^<>]{1,500}>|&#?[A-Za-z0-9]{1,10};|https?://\S+|www\.\S+"
    r"|(?m:^[ \t]*(?:[-*•][ \t]*)?\d{1,2}[.)、](?!\d))|(?<!\d)24/7(?!\d)"
)

_CHUNK_RE = re.compile(
    r"(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    rf"|(?P<c>[{CJK_CHARS}])"
    r"|(?P<w>[a-z\u00df-\u024f]+)"
)

_PRIORITY = {
    KIND_CERTIFICATION: 0,
    KIND_TECHNOLOGY: 1,
    KIND_MATERIAL: 2,
    "number+unit": 3,
    KIND_MODEL: 4,
    "compatibility": 5,
    KIND_NUMBER: 6,
}


@dataclass(frozen=True, slots=True)
class _Claim:
    start: int
    end: int
    kind: str  # public kind: number, model, material, certification, technology
    check: str  # how it is checked: number, model, concept, compatibility
    key: str  # normalised value, chunk string or concept
    priority: int
    unit: str | None = None
    version: str | None = None
    words: tuple[str, ...] = ()  # compatibility: each word of the target
    implies: frozenset[str] = frozenset()  # concepts a code backs beyond its own (IP67 -> IPX7)


# --- Normalisation ----------------------------------------------------------------------------


def _format_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", ""} else text


def _norm_number(raw: str, *, wan: bool = False) -> str:
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return raw
    return _format_decimal(value * 10_000 if wan else value)


def _norm_version(raw: str) -> str:
    raw = raw.lower()
    if raw.endswith("e"):
        return _norm_number(raw[:-1]) + "e"
    return _norm_number(raw)


def _chunks(text: str) -> str:
    """Letters, numbers and Chinese characters, space-separated and space-bounded.

    " wh 1000 xm 5 " for "WH-1000XM5"; numbers normalised ("5,000" -> "5000", "1.50" -> "1.5"),
    so a space-bounded substring test compares whole words and whole numbers.
    """
    parts = []
    for match in _CHUNK_RE.finditer(_fold(text).lower()):
        kind = match.lastgroup
        token = match.group()
        if kind == "n":
            token = _norm_number(token)
        elif kind == "w":
            token = SPELLING.get(token, token)
        parts.append(token)
    return " " + " ".join(parts) + " " if parts else " "


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", _fold(text).lower())


@lru_cache(maxsize=1024)
def _closure(concept: str) -> frozenset[str]:
    found = {concept}
    for parent in _PARENTS.get(concept, ()):
        found |= _closure(parent)
    return frozenset(found)


def _unit_of(surface: str) -> str:
    return _UNIT_CS.get(surface) or _UNIT_CI[re.sub(r"\s+", " ", surface.lower())]


def _same_unit(a: str, b: str) -> bool:
    """Units that compare by the bare number: equal, or a plain degree against °C / °F."""
    return a == b or ({a, b} <= {"°", "°C", "°F"} and "°" in (a, b))


def _units_compatible(a: str, b: str) -> bool:
    """Units that measure the same thing, so one can be named as the other's given value."""
    if _same_unit(a, b):
        return True
    scale_a, scale_b = UNIT_SCALE.get(a), UNIT_SCALE.get(b)
    return bool(scale_a and scale_b and scale_a[0] == scale_b[0])


def _base_value(value: str, unit: str) -> tuple[str, str] | None:
    scale = UNIT_SCALE.get(unit)
    if scale is None:
        return None
    return scale[0], _format_decimal(Decimal(value) * scale[1])


# --- Extraction -------------------------------------------------------------------------------


def _excluded(text: str, start: int, surface: str) -> bool:
    return any(text.startswith(word, start - offset) for offset, word in _EXCLUDED_AROUND.get(surface, ()))


def _lexicon_claims(text: str, regex: re.Pattern[str], out: list[_Claim]) -> None:
    for match in regex.finditer(text):
        surface = match.group("s")
        entry = _LEXICON.get(_lex_key(surface))
        if entry is None or _excluded(text, match.start(), surface):
            continue
        version = match.group("v")
        versioned = entry.concept in VERSIONED and version is not None
        end = match.end() if versioned else match.end("s")
        out.append(
            _Claim(
                match.start(), end, entry.kind, "concept", entry.concept, _PRIORITY[entry.kind],
                version=_norm_version(version) if versioned else None,
            )
        )


def _code_claims(text: str, regex: re.Pattern[str], out: list[_Claim]) -> None:
    priority = _PRIORITY[KIND_CERTIFICATION]
    for match in regex.finditer(text):
        start, end = match.span()
        if match.group("ip"):
            dust, water = match.group("ipd").lower(), match.group("ipw").lower()
            if dust == "x" and water == "x":
                continue
            implies = set()
            if water.isdigit():
                implies |= {f"ipx{water}", *(_closure("ipx") if int(water) >= 4 else ())}
            if dust.isdigit():
                implies |= {f"ip{dust}x", *(_closure("ip_dust") if int(dust) >= 5 else ())}
            key = f"ip{dust}{water}"
            out.append(
                _Claim(start, end, KIND_CERTIFICATION, "concept", key, priority, implies=frozenset(implies))
            )
        elif match.group("iso"):
            key = f"iso {match.group('isonum')}"
            out.append(_Claim(start, end, KIND_CERTIFICATION, "concept", key, priority))
        elif match.group("gb"):
            key = f"gb {match.group('gbnum')}"
            gb = _Claim(start, end, KIND_CERTIFICATION, "concept", key, priority, implies=_closure("gb"))
            out.append(gb)
        elif match.group("lightning"):
            priority_tech = _PRIORITY[KIND_TECHNOLOGY]
            out.append(_Claim(start, end, KIND_TECHNOLOGY, "concept", "lightning", priority_tech))
        elif match.group("energy"):
            digit = match.group("eg1") or match.group("eg2")
            key = f"energy grade {GRADE_DIGITS.get(digit, digit)}"
            out.append(_Claim(start, end, KIND_CERTIFICATION, "concept", key, priority))


def _number_claims(text: str, out: list[_Claim]) -> None:
    for match in _NUMBER_RE.finditer(text):
        unit = None
        if match.group("cur"):
            unit = CURRENCY_SYMBOLS[match.group("cur").strip()]
        elif match.group("att"):
            unit = "x"
        elif match.group("unit"):
            unit = _unit_of(match.group("unit"))
        value = _norm_number(match.group("num"), wan=bool(match.group("wan")))
        # A unit or an ordinal ending makes the number more specific than a code ("3rd", "65W").
        priority = _PRIORITY["number+unit" if unit or match.group("ord") else KIND_NUMBER]
        out.append(_Claim(match.start(), match.end(), KIND_NUMBER, "number", value, priority, unit=unit))


def _model_claims(text: str, out: list[_Claim]) -> None:
    priority = _PRIORITY[KIND_MODEL]
    for match in _MODEL_TOKEN_RE.finditer(text):
        start, end = match.span()
        parts = match.group().split("-")
        # "IP68-rated", "A15-powered": a lowercase word joined by a hyphen is not part of a code.
        while len(parts) > 1 and parts[-1].isalpha() and parts[-1].islower():
            end -= len(parts.pop()) + 1
        while len(parts) > 1 and parts[0].isalpha() and parts[0].islower():
            start += len(parts.pop(0)) + 1
        token = text[start:end]
        if any(c.isdigit() for c in token) and any(c.isalpha() for c in token):
            out.append(_Claim(start, end, KIND_MODEL, "model", _chunks(token), priority))
    for match in _PRODUCT_LINE_RE.finditer(text):
        out.append(_Claim(match.start(), match.end(), KIND_MODEL, "model", _chunks(match.group()), priority))


def _compat_claims(text: str, out: list[_Claim]) -> None:
    priority = _PRIORITY["compatibility"]
    for match in _COMPAT_RE.finditer(text):
        words = tuple(_chunks(word) for word in re.split(r"[ \t-]+", match.group("name")) if word)
        start, end = match.span("name")
        key = _chunks(match.group("name"))
        out.append(_Claim(start, end, KIND_TECHNOLOGY, "compatibility", key, priority, words=words))


def _extract(text: str, *, loose: bool = False) -> list[_Claim]:
    """Claims in text, each piece of text in at most one claim (the longest, then most specific).

    loose is for the sources: case-sensitive names (CE, NFC) match in any case and "Lightning"
    needs no noun after it, since merchants type attributes tersely.
    """
    folded = _fold(text)
    occupied = bytearray(len(folded))
    for match in _MASK_RE.finditer(folded):
        occupied[match.start() : match.end()] = b"\x01" * (match.end() - match.start())
    candidates: list[_Claim] = []
    _code_claims(folded, _CODE_LOOSE_RE if loose else _CODE_RE, candidates)
    _lexicon_claims(folded, _LATIN_CI_RE, candidates)
    _lexicon_claims(folded, _LATIN_CS_LOOSE_RE if loose else _LATIN_CS_RE, candidates)
    if _HAS_CJK.search(folded):
        _lexicon_claims(folded, _CJK_RE, candidates)
    _number_claims(folded, candidates)
    _model_claims(folded, candidates)
    _compat_claims(folded, candidates)
    candidates.sort(key=lambda c: (c.start - c.end, c.priority, c.start))
    claims = []
    for claim in candidates:
        if claim.end <= claim.start or occupied.find(1, claim.start, claim.end) != -1:
            continue
        occupied[claim.start : claim.end] = b"\x01" * (claim.end - claim.start)
        claims.append(claim)
    claims.sort(key=attrgetter("start"))
    return claims


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"Unknown language {language!r}; choose one of {', '.join(LANGUAGES)}")


def extract_claims(text: str, *, language: str) -> list[Span]:
    """The checkable claims in text, in order, with kind set and an empty reason."""
    _check_language(language)
    return [Span(c.start, c.end, text[c.start : c.end], "", c.kind) for c in _extract(text)]


# --- The sources (attributes and context) ------------------------------------------------------

_UNIT_WORDS = frozenset(_UNIT_CI) | frozenset(s.lower() for s in _UNIT_CS)
_WORD_SPLIT_RE = re.compile(r"[\s,;/|、，；：:()（）\[\]]+")


@dataclass(frozen=True)
class _Word:
    chunks: str
    compact: str
    chinese: bool


@dataclass(frozen=True)
class _AttributeFacts:
    """What coverage needs to know about one attribute."""

    key: str
    flag: bool  # a yes/no value: the attribute is used when its key is
    key_chunks: str
    key_concepts: frozenset[str]
    value_chunks: str
    concepts: tuple[frozenset[str], ...]  # each concept in the value with what it implies
    numbers: tuple[tuple[str, str | None], ...]
    words: tuple[_Word, ...]


@dataclass(frozen=True)
class _Sources:
    chunks: str
    numbers: dict[str, tuple[tuple[str | None, str], ...]]  # value -> ((unit, surface), ...)
    surfaces: tuple[tuple[str, str | None, str], ...]  # (value, unit, surface) in source order
    bases: frozenset[tuple[str, str]]
    embedded: frozenset[str]  # numbers inside other claims: back only a bare number
    concepts: frozenset[str]
    versions: dict[str, frozenset[str]]
    attributes: tuple[_AttributeFacts, ...]


def _concepts(claims: Iterable[_Claim]) -> frozenset[str]:
    found: set[str] = set()
    for claim in claims:
        if claim.check == "concept":
            found |= _closure(claim.key) | claim.implies
    return frozenset(found)


def _embedded_numbers(text: str, claims: Iterable[_Claim]) -> set[str]:
    return {
        _norm_number(m.group())
        for claim in claims
        if claim.check != "number"
        for m in _BARE_NUMBER_RE.finditer(text, claim.start, claim.end)
    }


def _significant_words(value: str) -> tuple[_Word, ...]:
    words = []
    for word in _WORD_SPLIT_RE.split(value):
        lowered = word.lower().strip("-.'\"")
        if not lowered or lowered in STOP_WORDS or lowered in _UNIT_WORDS:
            continue
        chinese = bool(_HAS_CJK.search(lowered))
        if chinese:
            if len(lowered) < 2:
                continue
        elif len(lowered) < 3 and not any(c.isdigit() for c in lowered):
            continue
        words.append(_Word(_chunks(word), _compact(word), chinese))
    return tuple(words)


def _attribute_pairs(attributes) -> tuple[tuple[str, str], ...]:
    items = attributes.items() if isinstance(attributes, Mapping) else attributes
    pairs = []
    for key, value in items:
        if value is None:
            text = ""
        elif isinstance(value, (list, tuple, set, frozenset)):
            text = ", ".join(str(v) for v in value)
        else:
            text = str(value)
        # A Chinese list comma between two numbers ("蓝牙5.2，3.5mm") would read as "5.2,3.5" (one
        # number with a thousands comma); a space after it keeps them two.
        text = _LIST_COMMA_BETWEEN_NUMBERS.sub(r"\g<0> ", text)
        pairs.append((str(key), text.strip()))
    return tuple(pairs)


_LIST_COMMA_BETWEEN_NUMBERS = re.compile(r"(?<=\d)[，、；;](?=\d)")


def _flag_value(value: str) -> str | None:
    lowered = value.strip().lower().rstrip(".!")
    if lowered in AFFIRMATIVE:
        return "yes"
    if lowered in NEGATIVE:
        return "no"
    return None


@lru_cache(maxsize=256)
def _sources(pairs: tuple[tuple[str, str], ...], context: str) -> _Sources:
    texts = []
    attributes = []
    for key, value in pairs:
        key_text = re.sub(r"[_\s]+", " ", key).strip()
        flag = _flag_value(value)
        # "waterproof: no" must not back "waterproof"; "bluetooth: 5.3" backs "Bluetooth 5.3".
        texts.append(value if flag == "no" else f"{key_text} {value}")
        value_claims = _extract(value, loose=True)
        attributes.append(
            _AttributeFacts(
                key=key,
                flag=flag is not None,
                key_chunks=_chunks(key_text),
                key_concepts=_concepts(_extract(key_text, loose=True)),
                value_chunks=_chunks(value),
                concepts=tuple(_concepts([c]) for c in value_claims if c.check == "concept"),
                numbers=tuple((c.key, c.unit) for c in value_claims if c.check == "number"),
                words=_significant_words(value),
            )
        )
    if context.strip():
        texts.append(context)

    numbers: dict[str, list[tuple[str | None, str]]] = {}
    surfaces: list[tuple[str, str | None, str]] = []
    bases: set[tuple[str, str]] = set()
    embedded: set[str] = set()
    concepts: set[str] = set()
    versions: dict[str, set[str]] = {}
    for text in texts:
        claims = _extract(text, loose=True)
        concepts |= _concepts(claims)
        inner = _embedded_numbers(_fold(text), claims)
        embedded |= inner
        in_text = set(inner)
        for claim in claims:
            if claim.check != "number":
                continue
            surface = text[claim.start : claim.end].strip()
            numbers.setdefault(claim.key, []).append((claim.unit, surface))
            surfaces.append((claim.key, claim.unit, surface))
            in_text.add(claim.key)
            if claim.unit and (base := _base_value(claim.key, claim.unit)):
                bases.add(base)
        for claim in claims:
            if claim.check == "concept" and claim.key in VERSIONED:
                # "Bluetooth 5.3" gives its version; "bluetooth: 5.3" gives the numbers beside it.
                found = {claim.version} if claim.version else in_text
                versions.setdefault(claim.key, set()).update(found)
    return _Sources(
        chunks=" | ".join(_chunks(text) for text in texts),
        numbers={value: tuple(items) for value, items in numbers.items()},
        surfaces=tuple(surfaces),
        bases=frozenset(bases),
        embedded=frozenset(embedded),
        concepts=frozenset(concepts),
        versions={concept: frozenset(found) for concept, found in versions.items()},
        attributes=tuple(attributes),
    )


# --- Checking ---------------------------------------------------------------------------------


def _number_backed(value: str, unit: str | None, sources: _Sources) -> bool:
    given = sources.numbers.get(value, ())
    if unit is None:
        return bool(given) or value in sources.embedded
    if any(other is None or _same_unit(unit, other) for other, _ in given):
        return True
    base = _base_value(value, unit)
    return base is not None and base in sources.bases


def _number_reason(text: str, value: str, unit: str | None, sources: _Sources) -> str:
    if unit is not None:
        given = [s for _, u, s in sources.surfaces if u is not None and _units_compatible(unit, u)]
        given = given or [s for v, _, s in sources.surfaces if v == value]
        if given:
            listed = " or ".join(list(dict.fromkeys(given))[:3])
            return f"'{text}': the attributes give {listed}"
    return f"'{text}' is not in the attributes"


def _unbacked_reason(claim: _Claim, text: str, sources: _Sources) -> str | None:
    """Why a claim is not backed by the sources, or None when it is."""
    if claim.check == "number":
        if _number_backed(claim.key, claim.unit, sources):
            return None
        return _number_reason(text, claim.key, claim.unit, sources)
    if claim.check == "model":
        return None if claim.key in sources.chunks else f"'{text}' is not in the attributes"
    if claim.check == "compatibility":
        if all(word in sources.chunks for word in claim.words):
            return None
        return f"'{text}' (compatibility) is not in the attributes"
    if claim.key not in sources.concepts:
        return f"'{text}' ({claim.kind}) is not in the attributes"
    if claim.version is not None:
        versions = sources.versions.get(claim.key, frozenset())
        if claim.version not in versions:
            if versions:
                return f"'{text}': the attributes give version {' or '.join(sorted(versions))}"
            return f"'{text}': the attributes give no version"
    return None


@dataclass(frozen=True)
class _Draft:
    chunks: str
    compact: str
    concepts: frozenset[str]
    numbers: tuple[tuple[str, str | None], ...]


def _number_in_draft(value: str, unit: str | None, draft: _Draft) -> bool:
    base = _base_value(value, unit) if unit else None
    for other_value, other_unit in draft.numbers:
        if other_value == value and (not unit or not other_unit or _same_unit(unit, other_unit)):
            return True
        if base is not None and other_unit and _base_value(other_value, other_unit) == base:
            return True
    return False


def _word_in_draft(word: _Word, draft: _Draft) -> bool:
    if word.chunks in draft.chunks:
        return True
    if not word.chinese:
        return False
    if word.compact in draft.compact:
        return True
    size = len(word.compact)
    if size < 4:
        return False
    # A substantial part of a long Chinese value: "铝合金机身" is used by "铝合金".
    window = math.ceil(size / 2)
    return any(word.compact[i : i + window] in draft.compact for i in range(size - window + 1))


def _attribute_used(facts: _AttributeFacts, draft: _Draft) -> bool:
    if facts.flag:
        return (facts.key_chunks.strip() != "" and facts.key_chunks in draft.chunks) or bool(
            facts.key_concepts & draft.concepts
        )
    if not facts.value_chunks.strip():
        return False
    if facts.value_chunks in draft.chunks:
        return True
    if facts.numbers and all(_number_in_draft(v, u, draft) for v, u in facts.numbers):
        return True
    if facts.concepts:
        # "IPX5" is used by "waterproof", "stainless steel" by "steel".
        present = sum(bool(implied & draft.concepts) for implied in facts.concepts)
        if 2 * present >= len(facts.concepts):
            return True
    if facts.words:
        present = sum(_word_in_draft(word, draft) for word in facts.words)
        return 2 * present >= len(facts.words)
    return False


def check_grounding(text: str, attributes, *, language: str, context: str = "") -> GroundingReport:
    """Which claims in text the attributes (or context) do not back, and how many attributes it uses.

    attributes: a mapping key -> value or an iterable of (key, value) pairs. context: more text
    that backs claims (product name, category) but does not count toward coverage.
    """
    _check_language(language)
    sources = _sources(_attribute_pairs(attributes), context or "")
    claims = _extract(text)
    ungrounded = []
    for claim in claims:
        claim_text = text[claim.start : claim.end]
        reason = _unbacked_reason(claim, claim_text, sources)
        if reason is not None:
            ungrounded.append(Span(claim.start, claim.end, claim_text, reason, claim.kind))

    draft_numbers = [(c.key, c.unit) for c in claims if c.check == "number"]
    draft_numbers += [(value, None) for value in _embedded_numbers(_fold(text), claims)]
    draft = _Draft(
        chunks=_chunks(text),
        compact=_compact(text),
        concepts=_concepts(claims),
        numbers=tuple(draft_numbers),
    )
    used, unused = [], []
    for facts in sources.attributes:
        (used if _attribute_used(facts, draft) else unused).append(facts.key)
    total = len(sources.attributes)
    return GroundingReport(
        coverage=len(used) / total if total else 0.0,
        used=tuple(used),
        unused=tuple(unused),
        claims=len(claims),
        ungrounded=tuple(ungrounded),
    )
