"""Tests for wangge.lib.images (framework-free: plain pytest and Pillow, no Django)."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from wangge.lib.images import ImageError, clean_image

LIMIT = 10 * 2**20


def photo(fmt: str = "JPEG", *, gps: tuple[float, float] | None = None) -> io.BytesIO:
    """A small image carrying a phone model and, if given, a GPS position in its EXIF."""
    image = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "TestPhone 12"
    if gps is not None:
        lng, lat = gps
        exif[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: _dms(lat),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: _dms(lng),
        }
    stream = io.BytesIO()
    image.save(stream, fmt, exif=exif)
    stream.seek(0)
    return stream


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (float(degrees), float(minutes), seconds)


def test_gps_is_read_and_every_piece_of_metadata_stripped():
    clean = clean_image(photo(gps=(116.31, 39.93)), max_bytes=LIMIT)
    assert clean.gps == pytest.approx((116.31, 39.93), abs=1e-4)
    assert (clean.content_type, clean.extension) == ("image/jpeg", "jpg")
    assert (clean.width, clean.height) == (32, 24)
    stored = Image.open(io.BytesIO(clean.content))
    assert len(stored.getexif()) == 0
    assert b"TestPhone" not in clean.content


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_are_kept_in_their_format(fmt, content_type):
    clean = clean_image(photo(fmt), max_bytes=LIMIT)
    assert clean.content_type == content_type
    assert clean.gps is None
    assert Image.open(io.BytesIO(clean.content)).format == fmt


@pytest.mark.parametrize(
    "content", [b"GIF89a" + b"\x00" * 40, b"%PDF-1.4 not an image", b"", b"\xff\xd8\xff"]
)
def test_files_that_are_not_images_are_refused_as_unreadable(content):
    with pytest.raises(ImageError) as caught:
        clean_image(io.BytesIO(content), max_bytes=LIMIT)
    assert caught.value.code == "unreadable"


def test_a_gif_is_refused_by_format_and_names_it():
    stream = io.BytesIO()
    Image.new("RGB", (4, 4)).save(stream, "GIF")
    stream.seek(0)
    with pytest.raises(ImageError) as caught:
        clean_image(stream, max_bytes=LIMIT)
    assert caught.value.code == "format"
    assert caught.value.params == {"format": "GIF"}


def test_an_image_over_the_byte_limit_is_refused_without_reading_it_whole():
    big = io.BytesIO()
    Image.effect_noise((200, 200), 100).convert("RGB").save(big, "PNG")
    size = big.tell()
    big.seek(0)
    with pytest.raises(ImageError) as caught:
        clean_image(big, max_bytes=1024)
    assert caught.value.code == "too_large"
    assert caught.value.params == {"max_bytes": 1024}
    assert big.tell() == 1025 < size


def test_an_image_with_too_many_pixels_is_refused(monkeypatch):
    from wangge.lib import images

    monkeypatch.setattr(images, "MAX_PIXELS", 32 * 24 - 1)
    with pytest.raises(ImageError) as caught:
        clean_image(photo("PNG"), max_bytes=LIMIT)
    assert caught.value.code == "too_many_pixels"


def test_a_gps_position_out_of_range_is_ignored():
    assert clean_image(photo(gps=(116.31, 95.0)), max_bytes=LIMIT).gps is None
