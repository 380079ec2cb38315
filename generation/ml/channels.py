"""Sales channel profiles (length limits, banned phrases, repeated words) and the check against them.

The profiles are data, in channels.json beside this module: adding a channel is an edit to that
file, not a new branch here. Every problem found is a Span (kind "rule") over the checked text, so
the page can underline it the same way as an ungrounded claim.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache, lru_cache
from pathlib import Path

from generation.ml.grounding import KIND_RULE, Span

__all__ = [
    "FIELDS",
    "ChannelProfile",
    "FieldRule",
    "channel_profile",
    "channel_profiles",
    "check_rules",
    "profiles_from_data",
]

PROFILES_PATH = Path(__file__).with_name("channels.json")
FORMAT = 1
FIELDS = ("title", "description", "bullets", "tags", "ad_copy", "seo_meta")
LANGUAGES = (None, "en", "zh")

_FIELD_LABELS = {
    "title": "Title",
    "description": "Description",
    "bullets": "Bullets",
    "tags": "Tags",
    "ad_copy": "Ad copy",
    "seo_meta": "SEO description",
}
_ITEM_NOUNS = {"bullets": ("Bullet", "bullets"), "tags": ("Tag", "tags")}
_LINE_NOUNS = ("Line", "lines")
MERCHANT_REASON = "'{phrase}' is on your banned words list"
DEFAULT_BANNED_REASON = "'{phrase}' is not allowed on {label}"

# Amazon's title rule lets these repeat: prepositions, articles and conjunctions.
_ARTICLES_AND_CONJUNCTIONS = {"a", "an", "the", "and", "or", "but", "nor", "for", "so", "yet", "&"}
_PREPOSITIONS = {
    "of", "in", "on", "at", "to", "by", "with", "from", "into", "onto", "over", "under", "upon",
    "about", "above", "across", "after", "against", "along", "among", "around", "as", "before",
    "behind", "below", "beneath", "beside", "between", "beyond", "despite", "down", "during",
    "except", "inside", "near", "off", "out", "outside", "per", "since", "than", "through",
    "throughout", "till", "toward", "towards", "until", "up", "via", "within", "without", "plus", "x",
}
REPEATABLE_WORDS = frozenset(_ARTICLES_AND_CONJUNCTIONS | _PREPOSITIONS)

_PROFILE_KEYS = frozenset(
    {"slug", "label", "language", "notes", "banned_reason", "banned_phrases", "default_rule", "fields"}
)
_REQUIRED_PROFILE_KEYS = ("slug", "label", "language", "banned_phrases", "fields")
_SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD_RE = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+(?:['’][A-Za-z]+)?")
_BULLET_RE = re.compile(r"[^\n]+")
_BULLET_MARKER_RE = re.compile(r"[ \t]*(?:[-•*·–][ \t]+)?")
_TAG_RE = re.compile(r"[^,，、;；\n]+")
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


@dataclass(frozen=True)
class FieldRule:
    """Limits for one field; None means no limit."""

    max_chars: int | None = None
    max_word_repeats: int | None = None
    max_item_chars: int | None = None  # each bullet line or tag
    max_items: int | None = None


_RULE_KEYS = tuple(f.name for f in fields(FieldRule))


@dataclass(frozen=True)
class ChannelProfile:
    slug: str
    label: str
    language: str | None
    banned_phrases: tuple[str, ...]
    banned_reason: str = DEFAULT_BANNED_REASON
    default_rule: FieldRule = field(default_factory=FieldRule)
    field_rules: tuple[tuple[str, FieldRule], ...] = ()

    def rule_for(self, field: str) -> FieldRule:
        if field not in FIELDS:
            raise ValueError(f"Unknown field {field!r}; choose one of {', '.join(FIELDS)}")
        return dict(self.field_rules).get(field, self.default_rule)


# --- Loading and validating --------------------------------------------------------------------


def _rule(value: object, where: str, base: FieldRule) -> FieldRule:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be an object with {', '.join(_RULE_KEYS)}")
    unknown = set(value) - set(_RULE_KEYS)
    if unknown:
        raise ValueError(f"{where} has unknown keys {sorted(unknown)}; allowed: {', '.join(_RULE_KEYS)}")
    limits = {}
    for key in _RULE_KEYS:
        if key not in value:
            limits[key] = getattr(base, key)
            continue
        limit = value[key]
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"{where}.{key} must be a positive whole number or null, not {limit!r}")
        limits[key] = limit
    return FieldRule(**limits)


def _profile(data: object, where: str) -> ChannelProfile:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must be an object")
    missing = [key for key in _REQUIRED_PROFILE_KEYS if key not in data]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)}")
    unknown = set(data) - _PROFILE_KEYS
    if unknown:
        raise ValueError(f"{where} has unknown keys {sorted(unknown)}")
    slug = data["slug"]
    if not isinstance(slug, str) or not _SLUG_RE.match(slug):
        raise ValueError(f"{where}.slug must be lowercase letters, digits, '-' or '_', not {slug!r}")
    where = f"{where} ({slug})"
    label = data["label"]
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"{where}.label must be a non-empty string")
    language = data["language"]
    if language not in LANGUAGES:
        raise ValueError(f"{where}.language must be null, 'en' or 'zh', not {language!r}")
    phrases = data["banned_phrases"]
    if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
        raise ValueError(f"{where}.banned_phrases must be a list of non-empty strings")
    seen: set[str] = set()
    for phrase in phrases:
        key = _phrase_key(phrase)
        if key in seen:
            raise ValueError(f"{where}.banned_phrases lists {phrase!r} twice")
        seen.add(key)
    reason = data.get("banned_reason", DEFAULT_BANNED_REASON)
    try:
        if not isinstance(reason, str) or "{phrase}" not in reason:
            raise KeyError("phrase")
        reason.format(phrase="x", label="y")
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(
            f"{where}.banned_reason must be text with {{phrase}} (and optionally {{label}}): {error}"
        ) from None
    default_rule = _rule(data.get("default_rule", {}), f"{where}.default_rule", FieldRule())
    field_data = data["fields"]
    if not isinstance(field_data, Mapping):
        raise ValueError(f"{where}.fields must be an object keyed by field")
    field_rules = []
    for name, rule in field_data.items():
        if name not in FIELDS:
            raise ValueError(f"{where}.fields.{name} is not a field; fields are {', '.join(FIELDS)}")
        field_rules.append((name, _rule(rule, f"{where}.fields.{name}", default_rule)))
    return ChannelProfile(
        slug=slug,
        label=label.strip(),
        language=language,
        banned_phrases=tuple(p.strip() for p in phrases),
        banned_reason=reason,
        default_rule=default_rule,
        field_rules=tuple(field_rules),
    )


def profiles_from_data(data: object, *, source: str = PROFILES_PATH.name) -> dict[str, ChannelProfile]:
    """Profiles from the parsed JSON document; ValueError names the first problem found."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{source} must hold a JSON object")
    if data.get("format") != FORMAT:
        raise ValueError(f"{source}: format must be {FORMAT}, not {data.get('format')!r}")
    entries = data.get("profiles")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{source}: profiles must be a non-empty list")
    profiles: dict[str, ChannelProfile] = {}
    for index, entry in enumerate(entries):
        profile = _profile(entry, f"{source}: profiles[{index}]")
        if profile.slug in profiles:
            raise ValueError(f"{source}: channel {profile.slug!r} is defined twice")
        profiles[profile.slug] = profile
    return profiles


@cache
def channel_profiles() -> dict[str, ChannelProfile]:
    """All channel profiles by slug, read once from channels.json."""
    try:
        data = json.loads(PROFILES_PATH.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{PROFILES_PATH.name} is not valid JSON: {error}") from None
    return profiles_from_data(data)


def channel_profile(slug: str) -> ChannelProfile:
    profiles = channel_profiles()
    try:
        return profiles[slug]
    except KeyError:
        raise ValueError(f"Unknown channel {slug!r}; choose one of {', '.join(sorted(profiles))}") from None


# --- Checking ---------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return text.translate(_FULLWIDTH)


def _phrase_key(phrase: str) -> str:
    return re.sub(r"[\s\-]+", " ", _fold(phrase).lower()).strip()


def _phrase_pattern(phrase: str) -> str:
    """Latin phrases match whole words; Chinese ones anywhere, since Chinese has no spaces."""
    words = [re.escape(word) for word in re.split(r"[\s\-]+", _fold(phrase).strip()) if word]
    body = r"[\s\-]+".join(words)
    if _CJK_RE.search(phrase):
        return body
    return rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])"


@lru_cache(maxsize=256)
def _banned_matcher(channel: tuple[str, ...], merchant: tuple[str, ...]) -> tuple[re.Pattern[str], dict]:
    """One regex for all phrases, longest first; and which phrase (and whose) each match is."""
    owners: dict[str, tuple[str, bool]] = {}
    for phrases, from_channel in ((channel, True), (merchant, False)):
        for phrase in phrases:
            owners.setdefault(_phrase_key(phrase), (phrase, from_channel))
    ordered = sorted(owners.values(), key=lambda item: -len(item[0]))
    pattern = "|".join(_phrase_pattern(phrase) for phrase, _ in ordered)
    return re.compile(pattern, re.IGNORECASE), owners


def _banned_spans(text: str, folded: str, profile: ChannelProfile, extra: tuple[str, ...]) -> list[Span]:
    if not profile.banned_phrases and not extra:
        return []
    regex, owners = _banned_matcher(profile.banned_phrases, extra)
    spans = []
    for match in regex.finditer(folded):
        phrase, from_channel = owners.get(_phrase_key(match.group()), (match.group(), False))
        if from_channel:
            reason = profile.banned_reason.format(phrase=phrase, label=profile.label)
        else:
            reason = MERCHANT_REASON.format(phrase=phrase)
        spans.append(Span(match.start(), match.end(), text[match.start() : match.end()], reason, KIND_RULE))
    return spans


def _repeat_spans(text: str, folded: str, limit: int, profile: ChannelProfile) -> list[Span]:
    occurrences: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for match in _WORD_RE.finditer(folded):
        word = match.group().lower()
        if word in REPEATABLE_WORDS or not any(c.isalpha() for c in word):
            continue
        occurrences[word].append(match.span())
    spans = []
    for word, places in occurrences.items():
        if len(places) <= limit:
            continue
        reason = f"'{word}' appears {len(places)} times; {profile.label} allows {limit}"
        spans.extend(Span(start, end, text[start:end], reason, KIND_RULE) for start, end in places[limit:])
    return spans


def _items(folded: str, field: str) -> list[tuple[int, int]]:
    """(start, end) of each item's content: a tag, or a line without its bullet marker."""
    items = []
    regex = _TAG_RE if field == "tags" else _BULLET_RE
    for match in regex.finditer(folded):
        start, end = match.span()
        start = _BULLET_MARKER_RE.match(folded, start, end).end() if field != "tags" else start
        item = folded[start:end]
        stripped = item.strip()
        if field == "tags":
            stripped = stripped.lstrip("#").strip()
        if not stripped:
            continue
        start += item.index(stripped)
        items.append((start, start + len(stripped)))
    return items


def _item_spans(text: str, folded: str, field: str, rule: FieldRule, profile: ChannelProfile) -> list[Span]:
    noun, plural = _ITEM_NOUNS.get(field, _LINE_NOUNS)
    items = _items(folded, field)
    spans = []
    if rule.max_item_chars is not None:
        for number, (start, end) in enumerate(items, start=1):
            size = end - start
            if size > rule.max_item_chars:
                reason = f"{noun} {number} is {size} characters; {profile.label} allows {rule.max_item_chars}"
                cut = start + rule.max_item_chars
                spans.append(Span(cut, end, text[cut:end], reason, KIND_RULE))
    if rule.max_items is not None and len(items) > rule.max_items:
        reason = f"There are {len(items)} {plural}; {profile.label} allows {rule.max_items}"
        extra_items = items[rule.max_items :]
        spans.extend(Span(start, end, text[start:end], reason, KIND_RULE) for start, end in extra_items)
    return spans


def check_rules(
    text: str, *, field: str, profile: ChannelProfile, extra_banned: Iterable[str] = ()
) -> list[Span]:
    """Where text breaks the channel's rules for field, or the merchant's banned words, in order.

    Lengths count characters (a Chinese character is one). Bullets are one per line, with an
    optional leading "- ", "• " or "* "; tags are separated by commas or new lines.
    """
    rule = profile.rule_for(field)
    folded = _fold(text)
    extra = tuple(dict.fromkeys(p.strip() for p in extra_banned if p and p.strip()))
    spans = _banned_spans(text, folded, profile, extra)
    size = len(text.rstrip())
    if rule.max_chars is not None and size > rule.max_chars:
        reason = f"{_FIELD_LABELS[field]} is {size} characters; {profile.label} allows {rule.max_chars}"
        spans.append(Span(rule.max_chars, size, text[rule.max_chars : size], reason, KIND_RULE))
    if rule.max_word_repeats is not None:
        spans.extend(_repeat_spans(text, folded, rule.max_word_repeats, profile))
    if rule.max_item_chars is not None or rule.max_items is not None:
        spans.extend(_item_spans(text, folded, field, rule, profile))
    spans.sort(key=lambda span: (span.start, span.end))
    return spans
