"""Uploaded photos made safe to keep: only JPEG, PNG or WebP, size- and pixel-limited; the EXIF GPS
position is read, then every piece of metadata is stripped by re-encoding (a phone photo carries
the photographer's position, device and time).

Framework-free: the byte limit comes in as a parameter, and a refusal is an ``ImageError`` (a
``ValueError``) with a stable ``code`` and the ``params`` of its message, so the faces word it in
the user's language (``core.images``); ``str()`` is an English sentence for logs and tests.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import IO, Any

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
MAX_PIXELS = 40_000_000  # decompression-bomb guard: a 40-megapixel photo is already huge


class ImageError(ValueError):
    """An upload that is refused. ``code`` is one of ``too_large`` (params ``max_bytes``),
    ``unreadable``, ``format`` (params ``format``) and ``too_many_pixels``."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    content_type: str
    extension: str
    width: int
    height: int
    gps: tuple[float, float] | None  # (lng, lat) from EXIF, WGS-84 as phones record it


def clean_image(stream: IO[bytes], *, max_bytes: int) -> CleanImage:
    """Check an uploaded image and re-encode it without metadata; raise ``ImageError`` if refused.

    Reads at most ``max_bytes + 1`` bytes, so an oversized upload is never held in memory whole.
    """
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageError("too_large", f"the image is over {max_bytes} bytes", max_bytes=max_bytes)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image_format = image.format or ""
        if image_format not in FORMATS:
            raise ImageError(
                "format", f"{image_format or '?'} is not JPEG, PNG or WebP", format=image_format
            )
        if image.width * image.height > MAX_PIXELS:
            raise ImageError("too_many_pixels", f"the image has over {MAX_PIXELS} pixels")
        gps = exif_gps(image.getexif())
        image = ImageOps.exif_transpose(image)  # keep the visible orientation, lose the tag
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ImageError("unreadable", "not a readable JPEG, PNG or WebP image") from None
    content_type, extension = FORMATS[image_format]
    out = io.BytesIO()
    if image_format == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
    elif image_format == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=88)
    return CleanImage(out.getvalue(), content_type, extension, image.width, image.height, gps)


def exif_gps(exif: Image.Exif) -> tuple[float, float] | None:
    """(lng, lat) of the EXIF GPS tags, or None when they are missing or out of range."""
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    try:
        lat = _degrees(gps[ExifTags.GPS.GPSLatitude], gps.get(ExifTags.GPS.GPSLatitudeRef, "N"))
        lng = _degrees(gps[ExifTags.GPS.GPSLongitude], gps.get(ExifTags.GPS.GPSLongitudeRef, "E"))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lng, lat


def _degrees(value: Any, ref: str) -> float:
    degrees, minutes, seconds = (float(Fraction(str(part))) for part in value)
    number = degrees + minutes / 60 + seconds / 3600
    return -number if ref in ("S", "W") else number
