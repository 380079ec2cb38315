"""Template helpers for generated copy. Every piece of generated text is escaped here."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def highlight_spans(text: str, spans: list[dict]) -> SafeString:
    """The text, escaped, with each flagged span in a <mark> that carries its reason."""
    text = str(text or "")
    marks = sorted(
        (s for s in spans or [] if 0 <= s.get("start", -1) < s.get("end", -1) <= len(text)),
        key=lambda s: (s["start"], -s["end"]),
    )
    parts: list[str] = []
    cursor = 0
    for span in marks:
        if span["start"] < cursor:  # overlaps one already marked
            continue
        parts.append(conditional_escape(text[cursor : span["start"]]))
        parts.append(
            format_html(
                '<mark class="flag flag--{}" title="{}">{}</mark>',
                span.get("kind", "claim"),
                span.get("reason", ""),
                text[span["start"] : span["end"]],
            )
        )
        cursor = span["end"]
    parts.append(conditional_escape(text[cursor:]))
    return mark_safe("".join(parts))  # noqa: S308 - every part above is escaped


def _problem_spans(grounding: dict | None, violations: list | None) -> list[dict]:
    spans = list((grounding or {}).get("ungrounded", [])) + list(violations or [])
    return sorted(spans, key=lambda s: s.get("start", 0))


@register.filter
def problems(draft) -> list[dict]:
    """Ungrounded claims and channel-rule violations of a draft, in text order."""
    return _problem_spans(draft.grounding, draft.violations)


@register.filter
def highlighted(draft) -> SafeString:
    """A draft's text, escaped, with its ungrounded claims and rule violations marked."""
    return highlight_spans(draft.text, problems(draft))


@register.filter
def candidate_highlighted(candidate: dict) -> SafeString:
    """One of a draft's other candidates (a stored dict), escaped, with its problems marked."""
    spans = _problem_spans(candidate.get("grounding"), candidate.get("violations"))
    return highlight_spans(candidate.get("text", ""), spans)


@register.filter
def percent(share: float) -> str:
    """0.8 → "80%"."""
    try:
        return f"{round(float(share) * 100)}%"
    except (TypeError, ValueError):
        return "—"
