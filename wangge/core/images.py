"""Uploaded photos checked and cleaned (``lib.images``), with the refusal in the user's language.

Every app that keeps a photo (a case's photos, a resident's photo) cleans it here: the size limit
is ``WANGGE_PHOTO_MAX_BYTES``, and an ``ImageError`` of ``lib`` becomes an ``InvalidInputError``
with a sentence and a message on the upload's field.
"""

from __future__ import annotations

from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from wangge.core.errors import InvalidInputError
from wangge.lib.images import CleanImage, ImageError, clean_image


def clean_upload(
    stream: IO[bytes], *, field: str = "photo", max_bytes: int | None = None
) -> CleanImage:
    """The upload re-encoded without metadata; ``InvalidInputError`` on ``field`` if refused."""
    try:
        return clean_image(stream, max_bytes=max_bytes or settings.WANGGE_PHOTO_MAX_BYTES)
    except ImageError as exc:
        raise image_error(exc, field=field) from None


def image_error(exc: ImageError, *, field: str = "photo") -> InvalidInputError:
    """The refusal of ``lib.images`` as a translated error on ``field``."""
    if exc.code == "too_large":
        max_bytes = exc.params.get("max_bytes")
        mb = round(max_bytes / 2**20, 1) if isinstance(max_bytes, int) else "?"
        return InvalidInputError(
            _("The photo is too large."), {field: [_("At most %(mb)s MB.") % {"mb": mb}]}
        )
    if exc.code == "format":
        return InvalidInputError(
            _("Only JPEG, PNG or WebP photos are accepted."),
            {field: [_("This file is %(format)s.") % {"format": exc.params["format"] or "?"}]},
        )
    if exc.code == "too_many_pixels":
        return InvalidInputError(_("The photo has too many pixels."), {field: [_("Too large.")]})
    return InvalidInputError(
        _("The file is not a readable image."), {field: [_("Not a JPEG, PNG or WebP image.")]}
    )
