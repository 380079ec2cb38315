"""Word-level differences between two revisions of a draft, for the history view."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

# A word (letters, digits, joiners), one Chinese character, a run of whitespace, or one other sign.
# Chinese has no spaces between words: a character is the smallest unit a person edits.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Python's \w matches Chinese characters too, so a word stops where Chinese begins: "A15芯片" is
# the word "A15" and two characters, not one token.
_WORD = rf"[^\W_{_CJK}]+"
_TOKEN_RE = re.compile(
    rf"[{_CJK}]"
    rf"|{_WORD}(?:['’.\-]{_WORD})*"
    r"|\s+"
    r"|.",
    re.UNICODE,
)


@dataclass(frozen=True)
class DiffPart:
    """A run of text that is the same in both revisions, or only in the old or the new one."""

    kind: str  # "same", "removed" or "added"
    text: str


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def word_diff(old: str, new: str) -> list[DiffPart]:
    """The parts of `new` and `old` in reading order; a changed word shows as removed then added."""
    before, after = tokens(old), tokens(new)
    parts: list[DiffPart] = []
    matcher = SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if op == "equal":
            _append(parts, "same", "".join(before[a_start:a_end]))
            continue
        _append(parts, "removed", "".join(before[a_start:a_end]))
        _append(parts, "added", "".join(after[b_start:b_end]))
    return parts


def _append(parts: list[DiffPart], kind: str, text: str) -> None:
    if not text:
        return
    if parts and parts[-1].kind == kind:
        parts[-1] = DiffPart(kind, parts[-1].text + text)
    else:
        parts.append(DiffPart(kind, text))


def change_counts(parts: list[DiffPart]) -> tuple[int, int]:
    """Words added and removed (whitespace not counted)."""
    added = sum(len([t for t in tokens(p.text) if not t.isspace()]) for p in parts if p.kind == "added")
    removed = sum(len([t for t in tokens(p.text) if not t.isspace()]) for p in parts if p.kind == "removed")
    return added, removed
