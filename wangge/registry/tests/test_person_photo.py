"""A resident's photo: checked and re-encoded without metadata, stored with the person's history
and an audit row in one transaction; a refused upload writes nothing and keeps the old photo; a
replaced file goes only after the commit, and only when no other record points at it."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.utils import translation
from PIL import ExifTags, Image

from wangge.core.errors import ConflictError, InvalidInputError
from wangge.core.models import AuditLog
from wangge.registry import lifecycle
from wangge.registry.models import Person, PersonEvent
from wangge.registry.quality import Flag, flagged
from wangge.registry.tests import factories as f

pytestmark = pytest.mark.django_db


def jpeg(*, gps: tuple[float, float] | None = None, colour=(40, 120, 200)) -> io.BytesIO:
    """A small JPEG with a phone model and, if given, a GPS position in its EXIF."""
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "TestPhone 12"
    if gps is not None:
        lng, lat = gps
        exif[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (float(int(lat)), 0.0, 0.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (float(int(lng)), 0.0, 0.0),
        }
    stream = io.BytesIO()
    Image.new("RGB", (60, 80), colour).save(stream, "JPEG", exif=exif)
    stream.seek(0)
    return stream


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def person(cast) -> Person:
    return f.register(f.house(grid_code=f.GRID_A), name="李娜").person


def test_a_photo_is_stored_without_metadata_with_history_and_audit(
    person, cast, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.person_photo_set(
            person=person, stream=jpeg(gps=(116.0, 39.0)), actor=cast.grid_worker_a
        )
    person.refresh_from_db()
    assert person.photo.name.startswith("registry/people/")
    assert _files(media) == {person.photo.name}
    stored = Image.open(default_storage.open(person.photo.name))
    assert stored.format == "JPEG" and stored.size == (60, 80)
    assert len(stored.getexif()) == 0  # no GPS, no phone model
    assert b"TestPhone" not in default_storage.open(person.photo.name).read()
    event = PersonEvent.objects.get(person=person, action="updated")
    assert event.details == {"fields": ["photo"], "photo": "added"}
    assert event.actor == cast.grid_worker_a
    entry = AuditLog.objects.get(action="registry.person_photo_set", target_id=str(person.pk))
    assert entry.actor == cast.grid_worker_a
    assert entry.details["exif_gps_removed"] is True
    assert person.name not in person.photo.name  # the file name carries no personal data


@pytest.mark.parametrize(
    ("upload", "field_message"),
    [
        (lambda: io.BytesIO(b"%PDF-1.4 not an image"), "不是 JPEG、PNG 或 WebP 图片。"),
        (lambda: io.BytesIO(b""), "不是 JPEG、PNG 或 WebP 图片。"),
    ],
)
def test_a_file_that_is_not_an_image_is_a_field_error_and_the_old_photo_stays(
    person, cast, media, upload, field_message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.person_photo_set(person=person, stream=jpeg(), actor=cast.grid_worker_a)
    person.refresh_from_db()
    before = (
        person.photo.name,
        _files(media),
        PersonEvent.objects.count(),
        AuditLog.objects.count(),
    )
    with pytest.raises(InvalidInputError) as caught:
        lifecycle.person_photo_set(person=person, stream=upload(), actor=cast.grid_worker_a)
    assert caught.value.errors == {"photo": [field_message]}
    person.refresh_from_db()
    after = (
        person.photo.name,
        _files(media),
        PersonEvent.objects.count(),
        AuditLog.objects.count(),
    )
    assert after == before


def test_a_photo_over_the_size_limit_is_refused_and_nothing_is_written(
    person, cast, media, settings
):
    settings.WANGGE_PHOTO_MAX_BYTES = 1024
    big = io.BytesIO()
    Image.effect_noise((200, 200), 100).convert("RGB").save(big, "JPEG", quality=100)
    big.seek(0)
    with pytest.raises(InvalidInputError) as caught:
        lifecycle.person_photo_set(person=person, stream=big, actor=cast.grid_worker_a)
    assert caught.value.errors["photo"] == ["最大 0.0 MB。"]
    person.refresh_from_db()
    assert not person.photo and _files(media) == set()
    assert not PersonEvent.objects.filter(person=person, action="updated").exists()
    assert not AuditLog.objects.filter(action="registry.person_photo_set").exists()


def test_a_new_photo_replaces_the_old_file_after_the_commit(
    person, cast, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.person_photo_set(person=person, stream=jpeg(), actor=cast.grid_worker_a)
    old = Person.objects.get(pk=person.pk).photo.name
    with django_capture_on_commit_callbacks(execute=False) as pending:
        lifecycle.person_photo_set(
            person=person, stream=jpeg(colour=(250, 10, 10)), actor=cast.grid_worker_a
        )
    new = Person.objects.get(pk=person.pk).photo.name
    assert new != old
    assert _files(media) == {old, new}  # the old file stays until the commit
    for callback in pending:
        callback()
    assert _files(media) == {new}
    changes = PersonEvent.objects.filter(person=person, action="updated").order_by("id")
    assert [e.details["photo"] for e in changes] == ["added", "replaced"]


def test_a_failure_inside_the_transaction_removes_the_new_file_and_keeps_the_old(
    person, cast, media, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.person_photo_set(person=person, stream=jpeg(), actor=cast.grid_worker_a)
    old = Person.objects.get(pk=person.pk).photo.name

    def broken(*args, **kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(lifecycle, "audit_log_write", broken)
    with pytest.raises(RuntimeError):
        lifecycle.person_photo_set(person=person, stream=jpeg(), actor=cast.grid_worker_a)
    assert Person.objects.get(pk=person.pk).photo.name == old
    assert _files(media) == {old}


def test_a_file_shared_with_a_merged_duplicate_is_kept_when_replaced(
    cast, media, django_capture_on_commit_callbacks
):
    survivor = f.register(f.house(grid_code=f.GRID_A), name="周强").person
    duplicate = f.register(f.house(grid_code=f.GRID_A), name="周强", id_number="").person
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.person_photo_set(person=duplicate, stream=jpeg(), actor=None)
    shared = Person.objects.get(pk=duplicate.pk).photo.name
    lifecycle.person_merge(survivor=survivor, duplicate=duplicate, reason="重复录入", actor=None)
    survivor.refresh_from_db()
    assert survivor.photo.name == shared
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.person_photo_set(person=survivor, stream=jpeg(colour=(0, 0, 0)), actor=None)
    assert shared in _files(media)  # the merged record still shows it
    with pytest.raises(ConflictError):
        lifecycle.person_photo_set(person=duplicate, stream=jpeg(), actor=None)


def test_clearing_the_photo_removes_the_file_after_the_commit_with_history(
    person, cast, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.person_photo_set(person=person, stream=jpeg(), actor=cast.grid_worker_a)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.person_photo_clear(person=person, actor=cast.grid_worker_a)
    person.refresh_from_db()
    assert not person.photo and _files(media) == set()
    assert AuditLog.objects.filter(action="registry.person_photo_clear").count() == 1
    with pytest.raises(InvalidInputError):
        lifecycle.person_photo_clear(person=person, actor=cast.grid_worker_a)


def test_the_missing_photo_flag_clears_once_a_photo_is_set(territory, cast):
    adult = f.register(f.house(grid_code=f.GRID_A), id_number=f.resident_id(date(1980, 5, 1)))
    person = adult.person
    superuser = _superuser()
    assert person.pk in {p.pk for p in flagged(user=superuser, flag=Flag.MISSING_PHOTO)}
    lifecycle.person_photo_set(person=person, stream=jpeg(), actor=cast.grid_worker_a)
    assert person.pk not in {p.pk for p in flagged(user=superuser, flag=Flag.MISSING_PHOTO)}


def _superuser():
    from wangge.core.models import User

    return User.objects.get_or_create(username="root", defaults={"is_superuser": True})[0]
