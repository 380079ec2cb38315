"""What an uploaded image can smuggle in, and what product_image_add lets through.

tests/catalog/test_services.py already covers: an EXIF Make tag dropped from a JPEG, text named
.png refused, the pixel and byte limits far exceeded, and "../../evil name.png" stored under a
server-chosen name; tests/web/test_pages.py covers text named .png through the page. These tests
add the rest: GPS and orientation, other metadata carriers, headers that claim huge sizes,
truncated files, the limits at their edge, and the page's error for each kind of refusal.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image, ImageFile, PngImagePlugin

from catalog import services
from catalog.models import Product, ProductImage
from catalog.services import MerchantAccount

pytestmark = pytest.mark.django_db

NOT_AN_IMAGE = "This is not an image we can read (JPEG, PNG, WebP or GIF)."
SECRET = b"221B Baker Street"


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def product(merchant_account: MerchantAccount) -> Product:
    return services.product_create(merchant=merchant_account.merchant, sku="CAM-1", name="Camera bag")


@pytest.fixture
def merchant_page(client, merchant_account: MerchantAccount):
    client.force_login(merchant_account.user)
    return client


def encoded(image: Image.Image, fmt: str, **save) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def two_tone(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Red on the left half, blue on the right: a rotation shows in where the red ends up."""
    image = Image.new("RGB", size, (20, 40, 220))
    image.paste((220, 30, 30), (0, 0, size[0] // 2, size[1]))
    return image


def revealing_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.Base.Orientation] = orientation  # 6: turn 90° clockwise to view
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 31.0, 25.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 9.0, 29.0)
    return exif


def photo_with_metadata(fmt: str) -> bytes:
    """A photo carrying GPS EXIF plus the other metadata its format has (XMP, PNG text)."""
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + SECRET + b"</x:xmpmeta>"
    save: dict = {"exif": revealing_exif()}
    if fmt in {"JPEG", "WEBP"}:
        save |= {"xmp": xmp}  # a JPEG comment (COM) is tested on its own below
    elif fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", SECRET.decode())
        text.add_itxt("XML:com.adobe.xmp", xmp.decode())
        save |= {"pnginfo": text}
    data = encoded(two_tone(), fmt, **save)
    with Image.open(io.BytesIO(data)) as check:  # the upload really carries all of it
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert SECRET in data and b"SecretCam" in data
    return data


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A 100-byte PNG whose header claims width×height RGB pixels: a decompression bomb's shape."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


def noise(size: tuple[int, int]) -> Image.Image:
    """Random RGB pixels (seeded): they barely compress, so the file size is predictable."""
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8))


def noisy_jpeg(size: tuple[int, int] = (64, 64)) -> bytes:
    return encoded(noise(size), "JPEG", quality=90)


def stored_files(settings) -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


def assert_nothing_stored(product: Product, settings) -> None:
    assert not ProductImage.objects.filter(product=product).exists()
    assert stored_files(settings) == []


def refusal(product: Product, data: bytes, name: str = "photo.jpg") -> str:
    with pytest.raises(ValidationError) as excinfo:
        services.product_image_add(product=product, upload=SimpleUploadedFile(name, data))
    return " ".join(excinfo.value.message_dict["image"])


def page_errors(response) -> str:
    assert response.status_code == 200  # the page again, with the form's error
    return response.content.decode()


# --- Metadata ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_gps_exif_and_other_metadata_are_not_stored(product: Product, fmt: str) -> None:
    image = services.product_image_add(
        product=product, upload=SimpleUploadedFile(f"p.{fmt.lower()}", photo_with_metadata(fmt))
    )
    data = Path(image.image.path).read_bytes()
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.format == fmt
        assert dict(stored.getexif()) == {}
        assert not {"exif", "xmp", "comment", "Comment", "XML:com.adobe.xmp"} & set(stored.info)
    assert SECRET not in data
    assert b"SecretCam" not in data
    assert b"Exif\x00\x00" not in data


def test_a_jpeg_comment_is_not_stored(product: Product) -> None:
    data = encoded(two_tone(), "JPEG", comment=SECRET)
    image = services.product_image_add(product=product, upload=SimpleUploadedFile("p.jpg", data))
    stored = Path(image.image.path).read_bytes()
    with Image.open(io.BytesIO(stored)) as reopened:
        assert "comment" not in reopened.info
    assert SECRET not in stored


def test_exif_is_dropped_through_the_upload_page(merchant_page, product: Product) -> None:
    url = reverse("catalog:image_upload", kwargs={"product_id": product.pk})
    upload = SimpleUploadedFile("p.jpg", photo_with_metadata("JPEG"), content_type="image/jpeg")
    response = merchant_page.post(url, {"image": upload})
    assert response.status_code == 302
    image = ProductImage.objects.get(product=product)
    with Image.open(image.image.path) as stored:
        assert dict(stored.getexif()) == {}


def test_the_orientation_tag_is_applied_before_it_is_dropped(product: Product) -> None:
    data = encoded(two_tone((40, 20)), "JPEG", quality=95, exif=revealing_exif(orientation=6))
    image = services.product_image_add(product=product, upload=SimpleUploadedFile("p.jpg", data))
    with Image.open(image.image.path) as stored:
        assert dict(stored.getexif()) == {}
        # Shown as the camera meant it: 20 wide, 40 high, the red half turned to the top.
        assert stored.size == (20, 40)
        assert (image.width, image.height) == (20, 40)
        red, _, blue = stored.convert("RGB").getpixel((10, 5))
        assert red > 150 > blue


# --- Decompression bombs and the pixel limit --------------------------------------------------


def test_a_header_claiming_more_pixels_than_the_limit_is_refused(product: Product, settings) -> None:
    assert settings.COPILOT_IMAGE_MAX_PIXELS == 40_000_000  # the shipped default
    message = refusal(product, png_claiming(8000, 6000), "bomb.png")
    assert message == "The image is 8000×6000 pixels; the limit is 40,000,000 pixels."
    assert_nothing_stored(product, settings)


def test_a_header_past_pillows_own_bomb_limit_is_refused(product: Product, settings) -> None:
    # 900 million pixels: Pillow itself refuses to open it (DecompressionBombError).
    assert refusal(product, png_claiming(30_000, 30_000), "bomb.png")
    assert_nothing_stored(product, settings)


def test_a_huge_header_gets_the_pixel_limit_message(product: Product) -> None:
    assert "pixels" in refusal(product, png_claiming(30_000, 30_000), "bomb.png")


def test_a_small_file_that_decodes_large_is_refused_before_decoding(
    product: Product, settings, monkeypatch
) -> None:
    data = encoded(Image.new("L", (3000, 3000)), "PNG")  # 9 MP in a few kilobytes
    assert len(data) < 50_000
    settings.COPILOT_IMAGE_MAX_PIXELS = 1_000_000
    decoded = []
    original_load = ImageFile.ImageFile.load
    monkeypatch.setattr(
        ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or original_load(self)
    )
    assert "3000×3000" in refusal(product, data, "bomb.png")
    assert (3000, 3000) not in decoded
    assert_nothing_stored(product, settings)
    settings.COPILOT_IMAGE_MAX_PIXELS = 9_000_000  # the spy does see a decode when one happens
    services.product_image_add(product=product, upload=SimpleUploadedFile("ok.png", data))
    assert (3000, 3000) in decoded


def test_the_pixel_limit_is_inclusive(product: Product, settings) -> None:
    data = encoded(Image.new("RGB", (50, 40), (10, 20, 30)), "PNG")
    settings.COPILOT_IMAGE_MAX_PIXELS = 50 * 40 - 1
    assert "50×40" in refusal(product, data, "p.png")
    settings.COPILOT_IMAGE_MAX_PIXELS = 50 * 40
    image = services.product_image_add(product=product, upload=SimpleUploadedFile("p.png", data))
    assert (image.width, image.height) == (50, 40)


def test_a_bomb_is_refused_on_the_upload_page(merchant_page, product: Product, settings) -> None:
    url = reverse("catalog:image_upload", kwargs={"product_id": product.pk})
    upload = SimpleUploadedFile("bomb.png", png_claiming(8000, 6000), content_type="image/png")
    page = page_errors(merchant_page.post(url, {"image": upload}))
    assert "The image is 8000×6000 pixels; the limit is 40,000,000 pixels." in page
    assert_nothing_stored(product, settings)


# --- Broken files and files that are not images -----------------------------------------------


def truncated_files() -> dict[str, bytes]:
    jpeg = noisy_jpeg()
    png = encoded(noise((64, 64)), "PNG")
    return {
        "jpeg cut in its image data": jpeg[: len(jpeg) // 2],
        "jpeg cut in its header": jpeg[:200],
        "jpeg markers only": jpeg[:2] + b"\xff\xd9",
        "png cut in its image data": png[: len(png) // 2],
    }


@pytest.mark.parametrize("case", list(truncated_files()))
def test_truncated_images_are_refused(product: Product, settings, case: str) -> None:
    assert refusal(product, truncated_files()[case]) == NOT_AN_IMAGE
    assert_nothing_stored(product, settings)


def test_svg_with_a_script_is_refused(product: Product, settings) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
    assert refusal(product, svg, "logo.svg") == NOT_AN_IMAGE
    assert_nothing_stored(product, settings)


def test_bytes_after_the_image_are_not_stored(product: Product) -> None:
    payload = b"<?php system($_GET['c']); ?><script>alert(1)</script>"
    for fmt, name in (("PNG", "x.png"), ("JPEG", "x.jpg")):
        data = encoded(two_tone(), fmt) + payload  # a polyglot: valid image, then a script
        image = services.product_image_add(product=product, upload=SimpleUploadedFile(name, data))
        assert payload not in Path(image.image.path).read_bytes()


def test_a_truncated_jpeg_is_refused_on_the_upload_page(merchant_page, product: Product, settings) -> None:
    url = reverse("catalog:image_upload", kwargs={"product_id": product.pk})
    jpeg = noisy_jpeg()
    upload = SimpleUploadedFile("photo.jpg", jpeg[: len(jpeg) // 2], content_type="image/jpeg")
    page = page_errors(merchant_page.post(url, {"image": upload}))
    assert "This is not an image we can read (JPEG, PNG, WebP or GIF)." in page
    assert_nothing_stored(product, settings)


# --- The byte limit ---------------------------------------------------------------------------


def test_the_byte_limit_is_inclusive(product: Product, settings) -> None:
    data = encoded(two_tone(), "PNG")
    settings.COPILOT_IMAGE_MAX_BYTES = len(data) - 1
    assert "larger than" in refusal(product, data, "p.png")
    assert_nothing_stored(product, settings)
    settings.COPILOT_IMAGE_MAX_BYTES = len(data)
    services.product_image_add(product=product, upload=SimpleUploadedFile("p.png", data))
    assert len(stored_files(settings)) == 1


def test_a_limit_under_a_megabyte_is_stated_truthfully(product: Product, settings) -> None:
    settings.COPILOT_IMAGE_MAX_BYTES = 500_000
    message = refusal(product, noisy_jpeg((1000, 1000)), "big.jpg")
    assert "larger than" in message
    assert " 0 MB" not in message


def test_an_oversized_file_is_refused_on_the_upload_page(merchant_page, product: Product, settings) -> None:
    settings.COPILOT_IMAGE_MAX_BYTES = 1024 * 1024
    data = encoded(noise((800, 800)), "PNG")
    assert len(data) > 1024 * 1024
    url = reverse("catalog:image_upload", kwargs={"product_id": product.pk})
    upload = SimpleUploadedFile("big.png", data, content_type="image/png")
    page = page_errors(merchant_page.post(url, {"image": upload}))
    assert "The image is larger than 1 MB." in page
    assert_nothing_stored(product, settings)


# --- Where the file goes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "suffix"),
    [
        ("..\\..\\x.png", "PNG", ".png"),  # Windows separators survive basename() on Linux
        ("/etc/cron.d/x.png", "PNG", ".png"),
        ("shell.php", "PNG", ".png"),
        ("x.png.php", "JPEG", ".jpg"),
        ("looks-like.jpg", "PNG", ".png"),  # the content decides the suffix, not the name
        ("looks-like.png", "JPEG", ".jpg"),
        ("animated.gif", "GIF", ".png"),
        ("photo.webp", "WEBP", ".webp"),
    ],
)
def test_the_server_names_the_file(
    product: Product, merchant_account: MerchantAccount, settings, name: str, fmt: str, suffix: str
) -> None:
    image = services.product_image_add(
        product=product, upload=SimpleUploadedFile(name, encoded(two_tone(), fmt))
    )
    merchant_id = merchant_account.merchant.pk
    assert re.fullmatch(rf"products/{merchant_id}/[0-9a-f]{{32}}\{suffix}", image.image.name)
    media_root = Path(settings.MEDIA_ROOT).resolve()
    assert Path(image.image.path).resolve().parent == media_root / "products" / str(merchant_id)
    assert stored_files(settings) == [Path(image.image.path)]
    with Image.open(image.image.path) as stored:
        assert stored.format == {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP"}[suffix]


def test_the_same_name_twice_makes_two_files(product: Product, settings) -> None:
    first = services.product_image_add(
        product=product, upload=SimpleUploadedFile("photo.png", encoded(two_tone(), "PNG"))
    )
    second = services.product_image_add(
        product=product, upload=SimpleUploadedFile("photo.png", encoded(two_tone((30, 30)), "PNG"))
    )
    assert first.image.name != second.image.name
    with Image.open(first.image.path) as kept:
        assert kept.size == (40, 20)
    assert len(stored_files(settings)) == 2


def test_a_traversal_name_on_the_upload_page(
    merchant_page, product: Product, merchant_account: MerchantAccount, settings
) -> None:
    url = reverse("catalog:image_upload", kwargs={"product_id": product.pk})
    upload = SimpleUploadedFile("../../../settings.png", encoded(two_tone(), "PNG"), content_type="image/png")
    response = merchant_page.post(url, {"image": upload})
    assert response.status_code == 302
    image = ProductImage.objects.get(product=product)
    assert re.fullmatch(rf"products/{merchant_account.merchant.pk}/[0-9a-f]{{32}}\.png", image.image.name)
    assert ".." not in image.original_name and "/" not in image.original_name
    assert stored_files(settings) == [Path(image.image.path)]


# --- Photos from phones -----------------------------------------------------------------------


def test_a_phone_jpeg_with_a_second_picture_is_accepted(product: Product) -> None:
    data = encoded(two_tone(), "MPO", save_all=True, append_images=[two_tone((20, 10))])
    assert data.startswith(b"\xff\xd8")  # a JPEG file, by its first bytes
    image = services.product_image_add(product=product, upload=SimpleUploadedFile("IMG_0001.jpg", data))
    assert image.image.name.endswith(".jpg")
    assert (image.width, image.height) == (40, 20)
