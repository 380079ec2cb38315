"""What a product photo shows: its dominant colours, named in English and Simplified Chinese.

Plain Python, Pillow and numpy; no Django import, so the worker and a notebook can both use it.

How the colours are found
-------------------------

1. The image is converted to RGB (alpha kept where the image has transparency; CMYK, greyscale
   and palette images are converted by Pillow, 16-bit greyscale is scaled to 8 bits) and
   box-downscaled to at most ``WORK_SIZE`` pixels on its long side. Naming colours needs a few
   thousand pixels, not twelve million, and the box filter averages away JPEG noise and fabric
   texture.
2. The background is removed (see "The background rule" below).
3. Every remaining pixel is named by the nearest palette colour in CIELAB (CIEDE2000), and the
   shares are counted per name.

Naming every pixel and counting was chosen over k-means: it is exactly deterministic (no seeds,
no initialisation, no dependence on k), it needs no merging step beyond adding up the pixels
that get the same name, and its answer is the one a shopper would give when asked what colour
each part of the product is. The nearest name is looked up in a table over RGB quantised to 5
bits a channel (32,768 cells, each named the first time a photo uses it and kept for the
process), so a photo costs one downscale, naming the cells no earlier photo used, and one ``bincount``.
k-means would find the mean colour of a shaded surface slightly better, but its centres are
then named in the same palette anyway, and merging clusters by name brings back the same
counting.

The background rule
-------------------

- Transparent pixels (alpha below half) are background. When at least 1% of an image is
  transparent, the transparency is taken to be the cut-out and nothing else is removed.
- Otherwise the border (the outer ``BORDER_FRACTION`` of each side) decides. Its colour is the
  per-channel median in Lab; if at least ``UNIFORM_BORDER_SHARE`` of the border pixels lie within
  ``BACKGROUND_DELTA_E`` of it, the border is a backdrop, and every pixel within that distance
  *and connected to the border* is background (a flood fill, so a white print inside a red shirt
  is kept as part of the product). A border that is not nearly uniform (a product filling the
  frame, a busy scene) removes nothing.
- If less than ``MIN_FOREGROUND_SHARE`` of the image is left after that, the product is the same
  colour as its backdrop (a white mug on a white sweep) or fills the whole frame (a close-up of
  a navy knit): the whole image is then counted, so the backdrop colour is reported, which is
  then the product's colour too. A white product on white that leaves a rim of shadow above that
  share is reported by its shadows (grey); that is the known limit of a rule that sees no shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "NamedColour",
    "PaletteColour",
    "colour_palette",
    "delta_e_2000",
    "dominant_colours",
    "nearest_colour",
    "rgb_to_lab",
    "suggested_attributes",
]

WORK_SIZE = 128
BORDER_FRACTION = 0.04
UNIFORM_BORDER_SHARE = 0.6
BACKGROUND_DELTA_E = 12.0  # Euclidean distance in Lab (ΔE76): JPEG noise on a studio sweep is < 5
MIN_FOREGROUND_SHARE = 0.03
TRANSPARENT_CUTOUT_SHARE = 0.01
SECONDARY_MIN_SHARE = 0.25
_QUANT_BITS = 5

ATTRIBUTE_KEYS = {
    "en": ("colour", "secondary colour"),
    "zh": ("颜色", "辅色"),
}


@dataclass(frozen=True)
class PaletteColour:
    name_en: str
    name_zh: str
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class NamedColour:
    name_en: str
    name_zh: str
    rgb: tuple[int, int, int]  # the palette colour, not the mean of the pixels
    share: float  # of the product's pixels (background excluded), 0..1

    def name(self, language: str) -> str:
        return self.name_zh if _language(language) == "zh" else self.name_en


# Colours merchants name in listings. The RGB values are the middle of each name as it is used
# for clothes and goods (khaki and beige as in fashion, not the X11 web colours).
_PALETTE = (
    PaletteColour("black", "黑色", (20, 20, 20)),
    PaletteColour("dark grey", "深灰色", (70, 70, 72)),
    PaletteColour("grey", "灰色", (128, 128, 128)),
    PaletteColour("silver", "银色", (192, 192, 195)),
    PaletteColour("white", "白色", (250, 250, 250)),
    PaletteColour("cream", "米白色", (243, 235, 210)),
    PaletteColour("beige", "米色", (222, 200, 160)),
    PaletteColour("khaki", "卡其色", (190, 168, 118)),
    PaletteColour("brown", "棕色", (115, 70, 35)),
    PaletteColour("burgundy", "酒红色", (120, 15, 35)),
    PaletteColour("red", "红色", (210, 25, 30)),
    PaletteColour("hot pink", "玫红色", (220, 40, 130)),
    PaletteColour("pink", "粉色", (245, 170, 190)),
    PaletteColour("orange", "橙色", (245, 130, 30)),
    PaletteColour("gold", "金色", (212, 175, 55)),
    PaletteColour("yellow", "黄色", (250, 215, 30)),
    PaletteColour("olive", "橄榄绿", (110, 110, 40)),
    PaletteColour("light green", "浅绿色", (150, 215, 140)),
    PaletteColour("green", "绿色", (40, 150, 60)),
    PaletteColour("dark green", "墨绿色", (20, 70, 40)),
    PaletteColour("teal", "青色", (0, 128, 128)),
    PaletteColour("turquoise", "青绿色", (64, 200, 195)),
    PaletteColour("light blue", "浅蓝色", (150, 200, 235)),
    PaletteColour("blue", "蓝色", (30, 90, 210)),
    PaletteColour("navy blue", "藏青色", (20, 30, 80)),
    PaletteColour("purple", "紫色", (110, 40, 140)),
    PaletteColour("lavender", "淡紫色", (190, 170, 220)),
)


def colour_palette() -> tuple[PaletteColour, ...]:
    """The named colours, in a fixed order."""
    return _PALETTE


# --- Colour science ---------------------------------------------------------------------------

_SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def rgb_to_lab(rgb: np.ndarray | Sequence[float]) -> np.ndarray:
    """sRGB (0..255, shape (..., 3)) to CIELAB under D65 (shape (..., 3), float64)."""
    srgb = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _SRGB_TO_XYZ.T / _D65_WHITE
    epsilon, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > epsilon, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    lightness = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a, b], axis=-1)


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference, broadcasting over the leading axes (kL = kC = kH = 1)."""
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    c_mean7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(c_mean7 / (c_mean7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360

    dlp = l2 - l1
    dcp = c2p - c1p
    chroma_product = c1p * c2p
    dhp = h2p - h1p
    dhp = np.where(dhp > 180, dhp - 360, np.where(dhp < -180, dhp + 360, dhp))
    dhp = np.where(chroma_product == 0, 0.0, dhp)
    dhp_big = 2 * np.sqrt(chroma_product) * np.sin(np.radians(dhp / 2))

    lp_mean = (l1 + l2) / 2
    cp_mean = (c1p + c2p) / 2
    h_sum = h1p + h2p
    hp_mean = np.where(
        np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)
    )
    hp_mean = np.where(chroma_product == 0, h_sum, hp_mean)
    t = (
        1
        - 0.17 * np.cos(np.radians(hp_mean - 30))
        + 0.24 * np.cos(np.radians(2 * hp_mean))
        + 0.32 * np.cos(np.radians(3 * hp_mean + 6))
        - 0.20 * np.cos(np.radians(4 * hp_mean - 63))
    )
    d_theta = 30 * np.exp(-(((hp_mean - 275) / 25) ** 2))
    cp_mean7 = cp_mean**7
    r_c = 2 * np.sqrt(cp_mean7 / (cp_mean7 + 25.0**7))
    s_l = 1 + 0.015 * (lp_mean - 50) ** 2 / np.sqrt(20 + (lp_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt(
        (dlp / s_l) ** 2
        + (dcp / s_c) ** 2
        + (dhp_big / s_h) ** 2
        + r_t * (dcp / s_c) * (dhp_big / s_h)
    )


@cache
def _palette_lab() -> np.ndarray:
    return rgb_to_lab(np.array([colour.rgb for colour in _PALETTE], dtype=np.float64))


def _nearest_indices(rgb: np.ndarray) -> np.ndarray:
    """Index into the palette of the nearest colour for each RGB row of an (n, 3) array."""
    lab = rgb_to_lab(rgb)
    distances = delta_e_2000(lab[:, None, :], _palette_lab()[None, :, :])
    return np.argmin(distances, axis=1)


@cache
def _lookup_table() -> np.ndarray:
    """Nearest palette index per 5-bit-per-channel RGB cell; -1 where not yet worked out.

    Cells are named on first use (_names_of), so no call pays for all 32,768 of them. A palette
    colour's own cell names that colour even where the cell's centre lies nearer another name.
    """
    table = np.full(1 << (3 * _QUANT_BITS), -1, dtype=np.int16)
    own_cells = _cell_codes(np.array([colour.rgb for colour in _PALETTE], dtype=np.uint8))
    table[own_cells] = np.arange(len(_PALETTE))
    return table


def _names_of(pixels: np.ndarray) -> np.ndarray:
    """Palette index of each uint8 RGB row of an (n, 3) array, via the lookup table."""
    table = _lookup_table()
    codes = _cell_codes(pixels)
    missing = np.unique(codes[table[codes] < 0])
    if len(missing):
        shift = 8 - _QUANT_BITS
        mask = (1 << _QUANT_BITS) - 1
        cells = np.stack([missing >> (2 * _QUANT_BITS), (missing >> _QUANT_BITS) & mask, missing & mask], 1)
        centres = (cells << shift) + (1 << (shift - 1))
        # Idempotent writes: two threads naming the same cell write the same index.
        table[missing] = _nearest_indices(centres.astype(np.float64))
    return table[codes]


def _cell_codes(rgb: np.ndarray) -> np.ndarray:
    """The lookup-table cell of each uint8 RGB row of an (n, 3) array."""
    shift = 8 - _QUANT_BITS
    q = (rgb >> shift).astype(np.intp)
    return (q[:, 0] << (2 * _QUANT_BITS)) | (q[:, 1] << _QUANT_BITS) | q[:, 2]


def nearest_colour(rgb: Sequence[int]) -> PaletteColour:
    """The palette colour nearest to an sRGB triple (0..255), by CIEDE2000 in CIELAB."""
    values = np.asarray(rgb, dtype=np.float64).reshape(1, 3)
    if not np.all((values >= 0) & (values <= 255)):
        raise ValueError(f"RGB components must lie in 0..255, not {tuple(rgb)}")
    return _PALETTE[int(_nearest_indices(values)[0])]


# --- Photos -----------------------------------------------------------------------------------


def _working_pixels(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """The downscaled image as (h, w, 3) uint8 RGB, and its (h, w) opacity mask or None."""
    scale = WORK_SIZE / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))

    def shrink(picture: Image.Image) -> Image.Image:
        return picture.resize(size, Image.Resampling.BOX) if scale < 1 else picture

    if image.mode.startswith("I"):
        # 16-bit greyscale (PNG, TIFF) opens as I;16 or I, and Pillow's conversion clips it.
        values = np.asarray(shrink(image.convert("I")), dtype=np.float64)
        top = 65535.0 if values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(values * (255 / top) + 0.5, 0, 255).astype(np.uint8))
    elif image.mode in {"La", "RGBa"}:  # premultiplied alpha: Pillow converts these only back
        image = image.convert(image.mode[:-1] + "A")
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
    target = "RGBA" if has_alpha else "RGB"
    if image.mode in {"RGB", "RGBA", "L", "LA", "CMYK"}:
        image = shrink(image).convert(target)  # shrinking first makes the conversion nearly free
    else:  # palette, 1-bit, YCbCr...: convert first, as a palette only resizes as NEAREST
        image = shrink(image.convert(target))
    pixels = np.asarray(image)
    if target == "RGB":
        return pixels, None
    return np.ascontiguousarray(pixels[..., :3]), pixels[..., 3] >= 128


def _border_mask(height: int, width: int) -> np.ndarray:
    band_y = max(1, round(height * BORDER_FRACTION))
    band_x = max(1, round(width * BORDER_FRACTION))
    mask = np.zeros((height, width), dtype=bool)
    mask[:band_y, :] = mask[-band_y:, :] = True
    mask[:, :band_x] = mask[:, -band_x:] = True
    return mask


def _connected_to(seeds: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The pixels of `allowed` reachable from `seeds` through 4-neighbours inside `allowed`."""
    reached = seeds & allowed
    while True:
        grown = reached.copy()
        grown[1:, :] |= reached[:-1, :]
        grown[:-1, :] |= reached[1:, :]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= allowed
        if np.array_equal(grown, reached):
            return reached
        reached = grown


def _backdrop_mask(rgb: np.ndarray) -> np.ndarray:
    """The pixels that belong to a nearly uniform backdrop touching the border (maybe none)."""
    height, width = rgb.shape[:2]
    lab = rgb_to_lab(rgb)
    border = _border_mask(height, width)
    border_lab = lab[border]
    backdrop = np.median(border_lab, axis=0)
    near = np.linalg.norm(lab - backdrop, axis=-1) <= BACKGROUND_DELTA_E
    if near[border].mean() < UNIFORM_BORDER_SHARE:
        return np.zeros((height, width), dtype=bool)
    return _connected_to(border & near, near)


def dominant_colours(
    image: Image.Image, *, max_colours: int = 3, min_share: float = 0.08
) -> list[NamedColour]:
    """The product's main colours, largest share first, background excluded (module docstring)."""
    if max_colours < 1 or image.width == 0 or image.height == 0:
        return []
    rgb, opaque = _working_pixels(image)
    if opaque is not None and (~opaque).mean() >= TRANSPARENT_CUTOUT_SHARE:
        product = opaque
    else:
        product = ~_backdrop_mask(rgb)
        if opaque is not None:
            product &= opaque
    if product.mean() < MIN_FOREGROUND_SHARE:
        # Product and backdrop are one colour, or the product fills the frame: count it all.
        product = opaque if opaque is not None else np.ones(rgb.shape[:2], dtype=bool)
    pixels = rgb[product]
    if not len(pixels):
        return []  # a fully transparent image shows nothing
    names = _names_of(pixels)
    counts = np.bincount(names, minlength=len(_PALETTE))
    shares = counts / counts.sum()
    # Largest share first; equal shares in palette order, so the answer never depends on luck.
    order = sorted(range(len(_PALETTE)), key=lambda index: (-counts[index], index))
    found = []
    for index in order[:max_colours]:
        share = float(shares[index])
        if counts[index] == 0 or share < min_share:
            break
        colour = _PALETTE[index]
        found.append(NamedColour(colour.name_en, colour.name_zh, colour.rgb, share))
    return found


# --- Attributes -------------------------------------------------------------------------------


def _language(language: str) -> str:
    code = language.lower().split("-")[0].split("_")[0]
    if code not in ATTRIBUTE_KEYS:
        raise ValueError(f"No colour attribute names for language {language!r}")
    return code


def suggested_attributes(colours: Sequence[NamedColour], *, language: str) -> list[tuple[str, str]]:
    """(key, value) attributes for a product: its main colour, and a second one if it is large.

    `colours` is dominant_colours()'s answer, largest first; a second colour is suggested only
    when it covers at least SECONDARY_MIN_SHARE of the product.
    """
    main_key, secondary_key = ATTRIBUTE_KEYS[_language(language)]
    if not colours:
        return []
    attributes = [(main_key, colours[0].name(language))]
    if len(colours) > 1 and colours[1].share >= SECONDARY_MIN_SHARE:
        attributes.append((secondary_key, colours[1].name(language)))
    return attributes
