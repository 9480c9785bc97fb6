"""The resident's photo in a real browser (Debian's Chromium driven by Playwright): a grid worker on
a 360-px phone opens a resident's page, tries a file that is not a photo (a Chinese field error),
then uploads a small JPEG that carries a GPS position, and sees the photo on the person page."""

from __future__ import annotations

import io
import os
from datetime import date
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from PIL import ExifTags, Image, ImageDraw

from wangge.core.models import AuditLog
from wangge.registry.models import Person
from wangge.registry.tests.factories import GRID_A, building, house, register, resident_id, tag
from wangge.testing.browser import require_chromium

SCREENSHOTS = (
    Path(__file__).resolve().parents[3]
    / ("docs" if os.environ.get("WANGGE_UPDATE_DOC_SCREENSHOTS") else "var")
    / "screenshots"
)
PHONE = {"width": 360, "height": 780}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

require_chromium()

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _login(browser, live_server, username: str, next_url: str):
    page = browser.new_page(viewport=PHONE, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click(".login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_url}")
    return page, errors


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def _shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _portrait_jpeg() -> bytes:
    """A small generated 'portrait' (a face-coloured oval on a blue ground) with a GPS tag."""
    image = Image.new("RGB", (240, 320), (70, 110, 170))

    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 50, 180, 200), fill=(236, 196, 160))
    draw.rectangle((40, 230, 200, 320), fill=(40, 40, 50))
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "TestPhone 12"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (39.0, 54.0, 0.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (116.0, 22.0, 0.0),
    }
    stream = io.BytesIO()
    image.save(stream, "JPEG", exif=exif, quality=85)
    return stream.getvalue()


def test_a_grid_worker_takes_a_residents_photo_on_a_phone(
    cast, live_server, browser, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    home = house(building(GRID_A, address="北京市西城区府右街南胡同3号院2号楼"), room="502")
    person = register(
        home, name="王建军", id_number=resident_id(date(1958, 4, 12), sequence=311)
    ).person
    person.tags.add(tag("lonely_elderly"))
    person_url = f"/registry/people/{person.pk}/"
    page, errors = _login(browser, live_server, "worker_a", person_url)
    assert "尚无照片。" in page.locator(".person-photo-panel").inner_text()

    page.click("a:text-is('添加照片')")
    page.wait_for_url(f"**{person_url}photo/")
    upload = page.locator("input[type=file][name=photo]")
    assert upload.get_attribute("accept") == "image/*"
    assert upload.get_attribute("capture") == "environment"
    _no_sideways_scroll(page)

    upload.set_input_files(
        {"name": "scan.jpg", "mimeType": "image/jpeg", "buffer": b"%PDF-1.4 not a photo"}
    )
    page.click("button:text-is('保存照片')")
    page.locator(".field-error").first.wait_for()
    assert "不是 JPEG、PNG 或 WebP 图片。" in page.locator(".field-error").first.inner_text()
    assert not Person.objects.get(pk=person.pk).photo
    _no_sideways_scroll(page)
    _shoot(page, "registry-person-photo-error-360")

    page.locator("input[type=file][name=photo]").set_input_files(
        {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": _portrait_jpeg()}
    )
    page.click("button:text-is('保存照片')")
    page.wait_for_url(f"**{person_url}")
    assert "照片已保存。" in page.locator(".messages").inner_text()
    photo = page.locator(".person-photo-panel img")
    photo.wait_for()
    page.wait_for_function(
        "document.querySelector('.person-photo-panel img').naturalWidth > 0", timeout=5000
    )
    assert page.evaluate("document.querySelector('.person-photo-panel img').naturalWidth") == 240
    assert "/media/" not in page.content()
    assert page.locator("a:text-is('更换照片')").count() == 1
    _no_sideways_scroll(page)
    _shoot(page, "registry-person-photo-360")

    stored = Person.objects.get(pk=person.pk).photo.name
    assert len(Image.open(default_storage.open(stored)).getexif()) == 0
    assert AuditLog.objects.filter(
        action="registry.person_photo_set", target_id=str(person.pk)
    ).exists()
    assert errors == []
