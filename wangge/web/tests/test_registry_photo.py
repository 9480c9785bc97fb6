"""The resident's photo on the registry pages: the roles that change people take or choose it on
the person page; a valid upload is stored without metadata with the history and audit rows; a bad
one is a Chinese field error and keeps the old photo; the file is served only through the scope,
never cached, never from /media/."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import ExifTags, Image

from wangge.core.models import AuditLog
from wangge.registry import lifecycle
from wangge.registry.models import Person, PersonEvent
from wangge.registry.quality import Flag, flagged
from wangge.registry.tests.factories import GRID_A, house, register, resident_id
from wangge.testing.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def person_a(cast) -> Person:
    return register(
        house(grid_code=GRID_A), name="王建军", id_number=resident_id(date(1975, 3, 2))
    ).person


def jpeg(name: str = "face.jpg", *, gps: bool = False, colour=(30, 90, 160)) -> io.BytesIO:
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "TestPhone 12"
    if gps:
        exif[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (39.0, 54.0, 0.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (116.0, 22.0, 0.0),
        }
    stream = io.BytesIO()
    Image.new("RGB", (90, 120), colour).save(stream, "JPEG", exif=exif)
    stream.seek(0)
    stream.name = name
    return stream


def _html(response) -> str:
    return response.content.decode()


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _urls(person: Person) -> tuple[str, str, str]:
    return (
        reverse("web:registry-person-photo", args=[person.pk]),
        reverse("web:registry-person-photo-file", args=[person.pk]),
        reverse("web:registry-person-photo-clear", args=[person.pk]),
    )


def test_a_photo_taken_on_the_person_page_is_stored_without_gps_with_history_and_audit(
    cast, person_a, client, media, django_capture_on_commit_callbacks
):
    form_url, file_url, _clear = _urls(person_a)
    person_url = reverse("web:registry-person", args=[person_a.pk])
    client.force_login(cast.grid_worker_a)
    page = _html(client.get(person_url))
    assert f'href="{form_url}"' in page and "添加照片" in page and file_url not in page
    form = _html(client.get(form_url))
    assert 'enctype="multipart/form-data"' in form
    assert 'accept="image/*"' in form and 'capture="environment"' in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(form_url, {"photo": jpeg(gps=True)})
    assert response.status_code == 302 and response["Location"] == person_url
    person_a.refresh_from_db()
    assert _files(media) == {person_a.photo.name}
    stored = Image.open(default_storage.open(person_a.photo.name))
    assert len(stored.getexif()) == 0  # the GPS position and the phone model are gone
    assert PersonEvent.objects.get(person=person_a, action="updated").details["photo"] == "added"
    entry = AuditLog.objects.get(action="registry.person_photo_set", target_id=str(person_a.pk))
    assert entry.actor == cast.grid_worker_a and entry.details["exif_gps_removed"] is True
    page = _html(client.get(person_url))
    assert file_url in page and "更换照片" in page and "照片已保存。" in page
    assert "/media/" not in page
    assert "已添加" in page  # the history says what happened to the photo, in words
    image = client.get(file_url)
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert image["Cache-Control"] == "no-store"
    assert b"".join(image.streaming_content)[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            lambda: _named(b"%PDF-1.4 this is a document", "scan.jpg"),
            "不是 JPEG、PNG 或 WebP 图片。",
        ),
        (lambda: _gif(), "该文件为 GIF 格式。"),
        (lambda: _noise(), "最大 0.0 MB。"),
    ],
)
def test_a_bad_upload_is_a_chinese_field_error_and_the_old_photo_stays(
    cast, person_a, client, media, settings, upload, message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.person_photo_set(person=person_a, stream=jpeg(), actor=cast.grid_worker_a)
    person_a.refresh_from_db()
    before = (
        person_a.photo.name,
        _files(media),
        PersonEvent.objects.count(),
        AuditLog.objects.count(),
    )
    settings.WANGGE_PHOTO_MAX_BYTES = 1024  # the generated noise is far over it
    client.force_login(cast.grid_worker_a)
    form_url = _urls(person_a)[0]
    response = client.post(form_url, {"photo": upload()})
    assert response.status_code == 400
    html = _html(response)
    assert message in html and 'class="field-error"' in html
    assert "请修改下面标出的字段。" in html
    person_a.refresh_from_db()
    after = (
        person_a.photo.name,
        _files(media),
        PersonEvent.objects.count(),
        AuditLog.objects.count(),
    )
    assert after == before


def test_posting_without_a_file_asks_for_one(cast, person_a, client):
    client.force_login(cast.grid_worker_a)
    response = client.post(_urls(person_a)[0], {})
    assert response.status_code == 400
    assert "请选择照片或拍一张。" in _html(response)


def test_someone_elses_grid_person_is_not_found_for_the_form_the_file_and_the_removal(
    cast, person_a, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.person_photo_set(person=person_a, stream=jpeg(), actor=None)
    client.force_login(cast.grid_worker_b)
    form_url, file_url, clear_url = _urls(person_a)
    assert client.get(form_url).status_code == 404
    assert client.post(form_url, {"photo": jpeg()}).status_code == 404
    assert client.get(file_url).status_code == 404
    assert client.post(clear_url).status_code == 404
    person_a.refresh_from_db()
    assert person_a.photo
    assert (
        not AuditLog.objects.filter(actor=cast.grid_worker_b).exclude(action="auth.login").exists()
    )


def test_roles_without_change_person_get_403_and_no_button_but_see_the_photo_in_scope(
    cast, person_a, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.person_photo_set(person=person_a, stream=jpeg(), actor=None)
    form_url, file_url, clear_url = _urls(person_a)
    client.force_login(cast.commander)  # sees people, changes nothing
    assert client.get(form_url).status_code == 403
    assert client.post(form_url, {"photo": jpeg()}).status_code == 403
    assert client.post(clear_url).status_code == 403
    page = _html(client.get(reverse("web:registry-person", args=[person_a.pk])))
    assert file_url in page and f'href="{form_url}"' not in page
    assert client.get(file_url).status_code == 200
    handler = cast.department_handler  # no registry at all
    client.force_login(handler)
    assert client.get(file_url).status_code == 403
    client.logout()
    assert client.get(file_url).status_code == 302  # to the sign-in page


def test_the_photo_is_served_only_inside_the_scope(
    cast, person_a, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.person_photo_set(person=person_a, stream=jpeg(), actor=None)
    file_url = _urls(person_a)[1]
    elsewhere = make_user("street_b", role="street_officer", scope="110102002")
    for user, status in (
        (cast.grid_worker_a, 200),
        (cast.community_officer, 200),
        (cast.grid_worker_b, 404),
        (elsewhere, 404),
    ):
        client.force_login(user)
        assert client.get(file_url).status_code == status, user.username
    client.force_login(cast.grid_worker_a)
    no_photo = register(house(grid_code=GRID_A), name="无照片").person
    assert client.get(_urls(no_photo)[1]).status_code == 404


def test_removing_the_photo_deletes_the_file_and_brings_back_the_missing_photo_flag(
    cast, person_a, client, media, django_capture_on_commit_callbacks
):
    root = make_user("root", role=None, is_superuser=True)
    assert person_a.pk in {p.pk for p in flagged(user=root, flag=Flag.MISSING_PHOTO)}
    client.force_login(cast.grid_worker_a)
    form_url, _file_url, clear_url = _urls(person_a)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(form_url, {"photo": jpeg()}).status_code == 302
    assert person_a.pk not in {p.pk for p in flagged(user=root, flag=Flag.MISSING_PHOTO)}
    assert clear_url in _html(client.get(form_url))
    assert client.get(clear_url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(clear_url)
    assert response.status_code == 302
    person_a.refresh_from_db()
    assert not person_a.photo and _files(media) == set()
    assert person_a.pk in {p.pk for p in flagged(user=root, flag=Flag.MISSING_PHOTO)}
    assert AuditLog.objects.filter(action="registry.person_photo_clear").count() == 1


def test_the_photo_form_speaks_chinese(cast, person_a, client):
    client.force_login(cast.grid_worker_a)
    html = _html(client.get(_urls(person_a)[0]))
    assert "保存照片" in html
    for english in ("Photo", "Save the photo", "JPEG, PNG or WebP. The", "Cancel"):
        assert english not in html.replace("WebP", ""), english


def _named(content: bytes, name: str) -> io.BytesIO:
    stream = io.BytesIO(content)
    stream.name = name
    return stream


def _gif() -> io.BytesIO:
    stream = io.BytesIO()
    Image.new("RGB", (8, 8)).save(stream, "GIF")
    stream.seek(0)
    stream.name = "a.gif"
    return stream


def _noise() -> io.BytesIO:
    stream = io.BytesIO()
    Image.effect_noise((200, 200), 100).convert("RGB").save(stream, "JPEG", quality=100)
    stream.seek(0)
    stream.name = "big.jpg"
    return stream
