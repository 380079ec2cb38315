"""generation.ml.image_attributes: naming a product photo's colours, on images drawn here."""

from __future__ import annotations

import itertools
import re
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from catalog.importing import ATTRIBUTE_KEY, MAX_KEY
from generation.ml.image_attributes import (
    NamedColour,
    colour_palette,
    delta_e_2000,
    dominant_colours,
    nearest_colour,
    rgb_to_lab,
    suggested_attributes,
)

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
RED = (200, 30, 30)
NAVY = (20, 30, 80)
GREEN = (40, 150, 60)
YELLOW = (250, 215, 30)


def product_photo(
    colour: tuple[int, int, int],
    *,
    background: tuple[int, int, int] = WHITE,
    size: tuple[int, int] = (400, 300),
    box: tuple[int, int, int, int] = (100, 75, 299, 224),
) -> Image.Image:
    image = Image.new("RGB", size, background)
    ImageDraw.Draw(image).rectangle(box, fill=colour)
    return image


def names(colours: list[NamedColour]) -> list[str]:
    return [colour.name_en for colour in colours]


# --- The palette and the colour science -------------------------------------------------------


def test_palette_names_every_colour_in_both_languages() -> None:
    palette = colour_palette()
    assert 20 <= len(palette) <= 30
    cjk = re.compile(r"^[\u4e00-\u9fff]+$")
    for colour in palette:
        assert colour.name_en and colour.name_en == colour.name_en.strip().lower()
        assert cjk.match(colour.name_zh), colour
        assert all(0 <= channel <= 255 for channel in colour.rgb)
    assert len({c.name_en for c in palette}) == len(palette)
    assert len({c.name_zh for c in palette}) == len(palette)
    assert len({c.rgb for c in palette}) == len(palette)
    chinese = {c.name_en: c.name_zh for c in palette}
    expected = {
        "black": "黑色", "white": "白色", "grey": "灰色", "silver": "银色", "red": "红色",
        "burgundy": "酒红色", "pink": "粉色", "orange": "橙色", "brown": "棕色", "beige": "米色",
        "khaki": "卡其色", "gold": "金色", "yellow": "黄色", "olive": "橄榄绿", "green": "绿色",
        "dark green": "墨绿色", "teal": "青色", "light blue": "浅蓝色", "blue": "蓝色",
        "navy blue": "藏青色", "purple": "紫色", "lavender": "淡紫色",
    }  # fmt: skip
    assert {name: chinese.get(name) for name in expected} == expected


def test_rgb_to_lab_matches_reference_values() -> None:
    np.testing.assert_allclose(rgb_to_lab([255, 255, 255]), [100.0, 0.0, 0.0], atol=1e-3)
    np.testing.assert_allclose(rgb_to_lab([0, 0, 0]), [0.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(rgb_to_lab([255, 0, 0]), [53.2408, 80.0925, 67.2032], atol=1e-3)
    np.testing.assert_allclose(rgb_to_lab([0, 0, 255]), [32.2970, 79.1875, -107.8602], atol=1e-3)
    assert rgb_to_lab(np.zeros((4, 5, 3))).shape == (4, 5, 3)


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [  # pairs from Sharma, Wu and Dalal's CIEDE2000 test data
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
        ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ],
)
def test_delta_e_2000_matches_the_published_test_data(lab1, lab2, expected) -> None:
    assert float(delta_e_2000(np.array(lab1), np.array(lab2))) == pytest.approx(expected, abs=1e-4)
    assert float(delta_e_2000(np.array(lab2), np.array(lab1))) == pytest.approx(expected, abs=1e-4)


def test_nearest_colour_of_a_palette_colour_is_itself() -> None:
    for colour in colour_palette():
        assert nearest_colour(colour.rgb) == colour


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((255, 0, 0), "red"),
        ((0, 0, 128), "navy blue"),
        ((128, 0, 0), "burgundy"),
        ((65, 105, 225), "blue"),
        ((135, 206, 235), "light blue"),
        ((128, 128, 128), "grey"),
        ((0, 100, 0), "dark green"),
        ((255, 192, 203), "pink"),
        ((193, 154, 107), "khaki"),
        ((3, 3, 3), "black"),
    ],
)
def test_nearest_colour_names_common_colours(rgb, name) -> None:
    assert nearest_colour(rgb).name_en == name


def test_nearest_colour_refuses_values_outside_0_255() -> None:
    with pytest.raises(ValueError, match=r"0\.\.255"):
        nearest_colour((256, 0, 0))


# --- Photos -----------------------------------------------------------------------------------


def test_red_product_on_white_is_red_not_white() -> None:
    colours = dominant_colours(product_photo(RED))
    assert names(colours) == ["red"]
    assert colours[0].name_zh == "红色"
    assert colours[0].rgb == nearest_colour(RED).rgb
    assert colours[0].share > 0.9


def test_navy_product_on_white_is_navy() -> None:
    colours = dominant_colours(product_photo(NAVY))
    assert [(c.name_en, c.name_zh) for c in colours] == [("navy blue", "藏青色")]


def test_two_colour_product_lists_both_largest_first() -> None:
    photo = product_photo(RED)
    ImageDraw.Draw(photo).rectangle((220, 75, 299, 224), fill=NAVY)  # 120 px red, 80 px navy
    colours = dominant_colours(photo)
    assert names(colours) == ["red", "navy blue"]
    assert colours[0].share == pytest.approx(0.6, abs=0.05)
    assert colours[1].share == pytest.approx(0.4, abs=0.05)
    assert sum(c.share for c in colours) <= 1.0


def test_white_product_on_black_is_white() -> None:
    assert names(dominant_colours(product_photo((250, 250, 250), background=BLACK))) == ["white"]


def test_white_product_on_white_reports_white() -> None:
    # Nothing is left once the backdrop is removed: the whole image is the product's colour.
    assert names(dominant_colours(product_photo((250, 250, 250), background=WHITE))) == ["white"]


def test_a_product_filling_the_frame_is_counted_whole() -> None:
    colours = dominant_colours(Image.new("RGB", (300, 200), NAVY))
    assert names(colours) == ["navy blue"]
    assert colours[0].share == pytest.approx(1.0)


def test_white_inside_the_product_is_kept() -> None:
    # A red shirt with a white print: the print is white like the backdrop but not connected to it.
    photo = product_photo(RED, background=(250, 250, 250))
    ImageDraw.Draw(photo).rectangle((160, 110, 239, 189), fill=(250, 250, 250))
    assert names(dominant_colours(photo, min_share=0.1)) == ["red", "white"]


def test_a_product_cut_off_by_the_frame_still_loses_its_backdrop() -> None:
    photo = product_photo(GREEN, box=(150, 100, 399, 220))  # touches the right edge
    assert names(dominant_colours(photo)) == ["green"]


def test_noisy_backdrop_and_product_like_a_jpeg() -> None:
    rng = np.random.default_rng(7)
    pixels = np.asarray(product_photo(NAVY, background=(245, 245, 245)), dtype=np.float64)
    noisy = np.clip(pixels + rng.normal(0, 5, pixels.shape), 0, 255).astype(np.uint8)
    assert names(dominant_colours(Image.fromarray(noisy))) == ["navy blue"]


@pytest.mark.parametrize("colour", colour_palette(), ids=lambda c: c.name_en)
def test_a_flat_image_of_each_palette_colour_is_named_by_it(colour) -> None:
    found = dominant_colours(Image.new("RGB", (64, 48), colour.rgb))
    assert [(c.name_en, c.share) for c in found] == [(colour.name_en, 1.0)]


def test_max_colours_and_min_share() -> None:
    photo = product_photo(RED)  # product 200 px wide: 100 red, 60 navy, 40 yellow
    ImageDraw.Draw(photo).rectangle((200, 75, 259, 224), fill=NAVY)
    ImageDraw.Draw(photo).rectangle((260, 75, 299, 224), fill=YELLOW)
    assert names(dominant_colours(photo)) == ["red", "navy blue", "yellow"]
    assert names(dominant_colours(photo, max_colours=2)) == ["red", "navy blue"]
    assert names(dominant_colours(photo, min_share=0.25)) == ["red", "navy blue"]
    assert dominant_colours(photo, max_colours=0) == []


@pytest.mark.parametrize("side", [100, 400], ids=["as-is", "downscaled"])
def test_transparent_pixels_are_background(side: int) -> None:
    # A black and red cut-out; the transparent pixels around it carry random colours.
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(side, side, 4), dtype=np.uint8)
    pixels[..., 3] = 0
    image = Image.fromarray(pixels)
    assert image.mode == "RGBA"
    unit = side // 100
    draw = ImageDraw.Draw(image)
    draw.rectangle((20 * unit, 20 * unit, 56 * unit - 1, 80 * unit - 1), fill=(15, 15, 15, 255))
    draw.rectangle((56 * unit, 20 * unit, 80 * unit - 1, 80 * unit - 1), fill=(*RED, 255))
    colours = dominant_colours(image)
    assert names(colours) == ["black", "red"]
    assert colours[0].share == pytest.approx(0.6, abs=0.03)
    assert sum(c.share for c in colours) == pytest.approx(1.0, abs=0.03)


def test_fully_transparent_image_shows_nothing() -> None:
    assert dominant_colours(Image.new("RGBA", (50, 50), (255, 0, 0, 0))) == []


def test_opaque_rgba_falls_back_to_the_border_rule() -> None:
    assert names(dominant_colours(product_photo(NAVY).convert("RGBA"))) == ["navy blue"]


def test_palette_image_with_a_transparent_index() -> None:
    image = Image.new("P", (200, 150), 0)
    image.putpalette([255, 0, 0, *GREEN, *WHITE])
    ImageDraw.Draw(image).rectangle((50, 40, 149, 109), fill=1)
    image.info["transparency"] = 0  # red, the index around the product, is transparent
    assert names(dominant_colours(image)) == ["green"]


def test_palette_image_without_transparency() -> None:
    assert names(dominant_colours(product_photo(RED).convert("P"))) == ["red"]


def test_greyscale_image() -> None:
    assert names(dominant_colours(product_photo((128, 128, 128)).convert("L"))) == ["grey"]
    assert names(dominant_colours(product_photo((20, 20, 20)).convert("L"))) == ["black"]


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    image = Image.new("I;16", (200, 150), 65535)
    ImageDraw.Draw(image).rectangle((50, 40, 149, 109), fill=128 * 257)
    assert names(dominant_colours(image)) == ["grey"]


def test_cmyk_image() -> None:
    assert names(dominant_colours(product_photo(NAVY).convert("CMYK"))) == ["navy blue"]


def test_a_large_photo_is_downscaled_and_left_as_it_was(record_property) -> None:
    rng = np.random.default_rng(0)
    pixels = np.full((3000, 4000, 3), 245, dtype=np.int16)
    pixels[600:2400, 1000:2800] = RED
    pixels[600:2400, 2800:3400] = NAVY
    pixels += rng.integers(-6, 7, size=pixels.shape, dtype=np.int16)
    photo = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    dominant_colours(photo)  # the first call names the colour cells it meets
    started = time.perf_counter()
    colours = dominant_colours(photo)
    record_property("seconds_for_4000x3000", round(time.perf_counter() - started, 4))
    assert names(colours) == ["red", "navy blue"]
    assert colours[0].share == pytest.approx(0.75, abs=0.03)
    assert (photo.size, photo.mode) == ((4000, 3000), "RGB")


def test_the_answer_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    photo = Image.fromarray(rng.integers(0, 256, size=(90, 120, 3), dtype=np.uint8))
    first = dominant_colours(photo, max_colours=5, min_share=0.0)
    assert first == dominant_colours(photo.copy(), max_colours=5, min_share=0.0)
    assert len(first) == 5
    shares = [c.share for c in first]
    assert shares == sorted(shares, reverse=True)


# --- Attributes -------------------------------------------------------------------------------


def two_colours(second_share: float) -> list[NamedColour]:
    red, navy = nearest_colour(RED), nearest_colour(NAVY)
    return [
        NamedColour(red.name_en, red.name_zh, red.rgb, 1 - second_share),
        NamedColour(navy.name_en, navy.name_zh, navy.rgb, second_share),
    ]


def test_suggested_attributes_in_english_and_chinese() -> None:
    colours = two_colours(0.4)
    assert suggested_attributes(colours, language="en") == [
        ("colour", "red"),
        ("secondary colour", "navy blue"),
    ]
    assert suggested_attributes(colours, language="zh") == [("颜色", "红色"), ("辅色", "藏青色")]


def test_a_small_second_colour_is_not_suggested() -> None:
    assert suggested_attributes(two_colours(0.2), language="en") == [("colour", "red")]
    assert suggested_attributes(two_colours(0.25), language="zh") == [("颜色", "红色"), ("辅色", "藏青色")]


def test_suggested_attributes_from_a_photo() -> None:
    photo = product_photo(RED)
    ImageDraw.Draw(photo).rectangle((220, 75, 299, 224), fill=NAVY)
    assert suggested_attributes(dominant_colours(photo), language="zh") == [
        ("颜色", "红色"),
        ("辅色", "藏青色"),
    ]


def test_no_colours_no_attributes_and_unknown_languages_refused() -> None:
    assert suggested_attributes([], language="en") == []
    with pytest.raises(ValueError, match="fr"):
        suggested_attributes(two_colours(0.4), language="fr")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_suggested_keys_and_values_pass_the_catalog_rules(language) -> None:
    every_name = [NamedColour(c.name_en, c.name_zh, c.rgb, 0.5) for c in colour_palette()]
    for first, second in itertools.pairwise(every_name):
        for key, value in suggested_attributes([first, second], language=language):
            assert ATTRIBUTE_KEY.match(key), key
            assert len(key) <= MAX_KEY
            assert key == key.lower()
            assert value and value == value.strip()
