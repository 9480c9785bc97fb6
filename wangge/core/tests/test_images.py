"""Uploads refused by lib.images come back as field errors in the user's language."""

from __future__ import annotations

import io

import pytest
from django.utils import translation
from PIL import Image

from wangge.core.errors import InvalidInputError
from wangge.core.images import clean_upload
from wangge.lib.tests.test_images import photo


def _gif() -> io.BytesIO:
    stream = io.BytesIO()
    Image.new("RGB", (4, 4)).save(stream, "GIF")
    stream.seek(0)
    return stream


def test_a_clean_upload_keeps_the_gps_and_drops_the_metadata():
    clean = clean_upload(photo(gps=(116.31, 39.93)))
    assert clean.gps == pytest.approx((116.31, 39.93), abs=1e-4)
    assert b"TestPhone" not in clean.content


@pytest.mark.parametrize(
    ("stream", "message", "field_message"),
    [
        (lambda: io.BytesIO(b"%PDF-1.4 not an image"), "该文件不是可读取的图片。", "不是 JPEG"),
        (_gif, "只接受 JPEG、PNG 或 WebP 格式的照片。", "该文件为 GIF 格式。"),
    ],
)
def test_a_refused_upload_is_a_chinese_error_on_the_named_field(stream, message, field_message):
    with translation.override("zh-hans"), pytest.raises(InvalidInputError) as caught:
        clean_upload(stream(), field="image")
    assert caught.value.message == message
    assert list(caught.value.errors) == ["image"]
    assert field_message in caught.value.errors["image"][0]


def test_the_size_limit_is_the_setting(settings):
    settings.WANGGE_PHOTO_MAX_BYTES = 1024
    big = io.BytesIO()
    Image.effect_noise((200, 200), 100).convert("RGB").save(big, "PNG")
    big.seek(0)
    with translation.override("zh-hans"), pytest.raises(InvalidInputError) as caught:
        clean_upload(big)
    assert caught.value.message == "照片太大。"
    assert caught.value.errors["photo"] == ["最大 0.0 MB。"]
