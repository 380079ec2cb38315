"""From accepted copy to a training set: filter, dedupe, split, and mix in general data.

Plain Python (no Django): `generation.datasets` reads the rows and calls `build_dataset`.

* An example is excluded, and counted by reason, when its text carries instructions to a model, a
  link, or markup (a merchant's edit is untrusted input that the model would learn to repeat),
  when it makes a claim its attributes do not back, or when it breaks its channel's rules.
* Duplicates (the same facts, field and text) are kept once, and for one product, field,
  language and channel only the newest accepted text is kept.
* The held-out split is per product and stable: a product is held out when the hash of its
  identity falls under the share, so adding examples never moves an existing one across.
* General data (the bootstrap corpus's training split) is mixed in, so an adapter fine-tuned on a
  narrow set keeps writing fluently instead of looping on one merchant's phrases.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from generation.ml.channels import ChannelProfile, check_rules
from generation.ml.grounding import check_grounding
from generation.ml.prompts import ProductFacts

EXCLUSION_REASONS = ("instructions", "link", "markup", "ungrounded", "rules", "duplicate", "empty")

# Text that talks to a model rather than to a shopper. English and Chinese.
_INSTRUCTIONS = re.compile(
    r"\b(?:ignore|disregard|forget)\b[^.\n]{0,40}\b(?:instructions?|prompts?|rules|above|previous)\b"
    r"|\b(?:system prompt|you are (?:an? )?(?:ai|assistant|language model|chatgpt)|as an ai\b)"
    r"|\b(?:new|following|these) instructions\b"
    r"|(?:忽略|无视|忘记)(?:以上|之前|上面|前面|所有)?的?(?:指令|指示|提示|规则|内容)"
    r"|(?:系统提示|你是一个?(?:AI|人工智能|助手|语言模型))",
    re.IGNORECASE,
)
_LINK = re.compile(
    r"https?://|\bwww\.[a-z0-9-]+\.|\b[a-z0-9-]+\.(?:com|net|org|io|cn|shop|store|co|ly|me)\b(?:/|\b)"
    r"|\bmailto:|\[[^\]]+\]\([^)]+\)",
    re.IGNORECASE,
)
_MARKUP = re.compile(r"<\s*/?\s*[a-z][a-z0-9]*\b[^>]*>|&[a-z]+;|&#\d+;|```|\{\{|\}\}|\{%|%\}", re.IGNORECASE)


@dataclass(frozen=True)
class Example:
    """One accepted text and what it was written from."""

    group: str  # the product it belongs to: a product's examples stay on one side of the split
    facts: ProductFacts
    field: str
    language: str
    channel: str
    text: str
    source: str = ""  # accepted, edited, corpus


@dataclass
class Dataset:
    train: list[Example] = field(default_factory=list)
    held_out: list[Example] = field(default_factory=list)
    general: list[Example] = field(default_factory=list)
    excluded: Counter = field(default_factory=Counter)

    def summary(self) -> dict:
        return {
            "train": len(self.train),
            "held_out": len(self.held_out),
            "general": len(self.general),
            "held_out_products": len({e.group for e in self.held_out}),
            "excluded": {
                reason: self.excluded[reason] for reason in EXCLUSION_REASONS if self.excluded[reason]
            },
        }


def untrusted_content(text: str) -> str | None:
    """Why a text must not be learned from (instructions, a link, markup), or None."""
    if _INSTRUCTIONS.search(text):
        return "instructions"
    if _LINK.search(text):
        return "link"
    if _MARKUP.search(text):
        return "markup"
    return None


def exclusion_reason(example: Example, profile: ChannelProfile) -> str | None:
    """Why an example is left out of training, or None to keep it."""
    text = example.text.strip()
    if not text:
        return "empty"
    reason = untrusted_content(text)
    if reason:
        return reason
    grounding = check_grounding(
        text, example.facts.attributes, language=example.language, context=example.facts.grounding_context()
    )
    if grounding.ungrounded:
        return "ungrounded"
    if check_rules(text, field=example.field, profile=profile):
        return "rules"
    return None


def _share(value: str, salt: str = "") -> float:
    """A stable number in [0, 1) for value."""
    digest = hashlib.sha256(f"{salt}\x00{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _identity(example: Example) -> tuple:
    return (
        example.field,
        example.language,
        example.channel,
        example.facts.name,
        example.facts.category,
        example.facts.attributes,
        " ".join(example.text.split()).casefold(),
    )


def build_dataset(
    examples: Iterable[Example],
    *,
    profiles: dict[str, ChannelProfile],
    general_pool: Sequence[Example] = (),
    general_share: float = 0.5,
    held_out_share: float = 0.15,
    min_held_out_products: int = 1,
    salt: str = "",
) -> Dataset:
    """Filter, dedupe and split `examples` (newest first), then add general data.

    general_share: the share of the training set that comes from `general_pool` (0 for none).
    Held out: products whose hash falls under held_out_share; with fewer, the lowest-hash ones up
    to min_held_out_products (when there are at least four products), so a small set still has a
    set to judge on.
    """
    dataset = Dataset()
    seen_texts: set[tuple] = set()
    seen_slots: set[tuple] = set()
    kept: list[Example] = []
    for example in examples:
        slot = (example.group, example.field, example.language, example.channel)
        identity = _identity(example)
        if identity in seen_texts or slot in seen_slots:
            dataset.excluded["duplicate"] += 1
            continue
        reason = exclusion_reason(example, profiles[example.channel])
        if reason:
            dataset.excluded[reason] += 1
            continue
        seen_texts.add(identity)
        seen_slots.add(slot)
        kept.append(example)

    groups = sorted({e.group for e in kept}, key=lambda g: _share(g, salt))
    held = {g for g in groups if _share(g, salt) < held_out_share}
    if len(held) < min_held_out_products and len(groups) >= 4:
        held = set(groups[:min_held_out_products])
    dataset.held_out = [e for e in kept if e.group in held]
    dataset.train = [e for e in kept if e.group not in held]

    if general_pool and dataset.train and general_share > 0:
        wanted = round(len(dataset.train) * general_share / (1 - general_share))
        ranked = sorted(general_pool, key=lambda e: _share(f"{e.group}/{e.field}", salt))
        dataset.general = ranked[: min(wanted, len(ranked))]
    return dataset
