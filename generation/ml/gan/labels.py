"""Category and colour names for the product-image GAN, in English and Simplified Chinese; no torch.

Forms, services and views need the names and the name → id lookups without loading torch, so they
live here apart from the data and model code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Near-white with a touch of warmth, like a product photo backdrop; every palette colour stands out on it.
BACKGROUND_RGB: tuple[int, int, int] = (246, 245, 240)


@dataclass(frozen=True)
class Category:
    en: str
    zh: str


@dataclass(frozen=True)
class Colour:
    en: str
    zh: str
    rgb: tuple[int, int, int]


# Index order is Fashion-MNIST's label order: the label is the category id.
CATEGORIES: tuple[Category, ...] = (
    Category("t-shirt", "T恤"),
    Category("trouser", "裤子"),
    Category("pullover", "套头衫"),
    Category("dress", "连衣裙"),
    Category("coat", "外套"),
    Category("sandal", "凉鞋"),
    Category("shirt", "衬衫"),
    Category("sneaker", "运动鞋"),
    Category("bag", "包"),
    Category("ankle boot", "短靴"),
)

# White and light grey would vanish into the background; these eight are far apart and all dark or
# saturated enough to read on it.
COLOURS: tuple[Colour, ...] = (
    Colour("black", "黑色", (35, 35, 40)),
    Colour("red", "红色", (205, 30, 40)),
    Colour("orange", "橙色", (240, 125, 20)),
    Colour("yellow", "黄色", (225, 190, 25)),
    Colour("green", "绿色", (35, 145, 65)),
    Colour("blue", "蓝色", (35, 75, 200)),
    Colour("purple", "紫色", (125, 45, 160)),
    Colour("pink", "粉色", (240, 110, 170)),
)


def _lookup(name: str, names: Sequence[tuple[str, str]], kind: str) -> int:
    wanted = name.strip().casefold()
    for index, (en, zh) in enumerate(names):
        if wanted in (en.casefold(), zh.casefold()):
            return index
    choices = ", ".join(f"{en} ({zh})" for en, zh in names)
    raise ValueError(f"Unknown {kind} {name!r}; choose one of: {choices}")


def category_index(name: str) -> int:
    """The category id for an English or Chinese name ("Dress", "连衣裙"); ValueError lists the choices."""
    return _lookup(name, [(c.en, c.zh) for c in CATEGORIES], "category")


def colour_index(name: str) -> int:
    """The colour id for an English or Chinese name ("red", "红色"); ValueError lists the choices."""
    return _lookup(name, [(c.en, c.zh) for c in COLOURS], "colour")


# The judge classifier's file in the store; web processes check for it without importing torch.
JUDGE_FORMAT_VERSION = 1
JUDGE_FILE = f"judge-classifier-v{JUDGE_FORMAT_VERSION}.pt"
