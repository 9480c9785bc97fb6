"""Photos: the handler's after photos stored with the action, files only inside the scope.

The image checks themselves (formats, size, metadata stripped) are tested in
``lib/tests/test_images.py`` and ``core/tests/test_images.py``."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import ExifTags, Image

from wangge.cases.models import CaseEvent, CasePhoto
from wangge.cases.photos import case_photo_add
from wangge.cases.tests.factories import act, category, department, handler, report
from wangge.testing.factories import client_for

pytestmark = pytest.mark.django_db


def photo(fmt: str = "JPEG", *, gps: tuple[float, float] | None = None, name: str = "p.jpg"):
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
    stream.name = name
    return stream


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (float(degrees), float(minutes), seconds)


@pytest.fixture
def in_progress(cast):
    item = category("T0101")
    clerk = handler("clerk", department("shizheng", rule_for=item))
    case = report(cast.grid_worker_a, cat=item)
    act(case, "accept", cast.operator)
    act(case, "dispatch", cast.commander, department="shizheng")
    act(case, "acknowledge", clerk)
    act(case, "start", clerk)
    return case, clerk


def _files(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_handle_with_after_photos_is_one_step_through_the_api(in_progress, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case, clerk = in_progress
    response = client_for(clerk).post(
        reverse("api:case-actions", args=[case.number]),
        {
            "action": "handle",
            "result": "已更换井盖",
            "photos": [photo(), photo("PNG", name="b.png")],
        },
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "handled"
    assert [p["kind"] for p in body["photos"]] == ["after", "after"]
    event = CaseEvent.objects.get(case=case, action="handle")
    assert sorted(event.payload["photos"]) == sorted(p["id"] for p in body["photos"])
    download = client_for(clerk).get(body["photos"][0]["url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "image/jpeg"


def test_a_refused_handle_stores_no_photo_and_leaves_no_file(in_progress, cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case, _clerk = in_progress
    response = client_for(cast.grid_worker_b).post(
        reverse("api:case-actions", args=[case.number]),
        {"action": "handle", "result": "不是我的", "photos": [photo()]},
        format="multipart",
    )
    assert response.status_code == 404
    assert not CasePhoto.objects.filter(case=case).exists()
    assert _files(settings) == set()


def test_a_handle_that_fails_after_the_files_were_written_removes_them(
    in_progress, settings, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path
    case, clerk = in_progress
    from wangge.cases import notifications

    def broken(*args, **kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(notifications, "queue_for_event", broken)
    from wangge.cases.photos import prepare_photo
    from wangge.cases.services import case_act

    with pytest.raises(RuntimeError):
        case_act(
            number=case.number,
            action="handle",
            actor=clerk,
            data={"result": "已更换"},
            photos=[prepare_photo(kind="after", stream=photo())],
        )
    case.refresh_from_db()
    assert case.state == "in_progress"
    assert not CasePhoto.objects.filter(case=case).exists()
    assert _files(settings) == set()


def test_a_bad_photo_refuses_the_whole_handle(in_progress, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case, clerk = in_progress
    junk = io.BytesIO(b"not an image")
    junk.name = "x.jpg"
    response = client_for(clerk).post(
        reverse("api:case-actions", args=[case.number]),
        {"action": "handle", "result": "已更换", "photos": [photo(), junk]},
        format="multipart",
    )
    assert response.status_code == 400
    assert "photo" in response.json()["errors"]
    case.refresh_from_db()
    assert case.state == "in_progress"
    assert _files(settings) == set()


def test_photos_go_only_with_handle(cast):
    case = report(cast.grid_worker_a)
    response = client_for(cast.operator).post(
        reverse("api:case-actions", args=[case.number]),
        {"action": "accept", "photos": [photo()]},
        format="multipart",
    )
    assert response.status_code == 400
    assert "photos" in response.json()["errors"]


def test_photo_files_are_served_only_inside_the_scope(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = report(cast.grid_worker_a)
    stored = case_photo_add(case=case, kind="before", stream=photo(), actor=cast.grid_worker_a)
    url = reverse("api:case-photo-file", args=[case.number, stored.pk])
    assert client_for(cast.community_officer).get(url).status_code == 200
    assert client_for(cast.other_community_officer).get(url).status_code == 404
    missing = reverse("api:case-photo-file", args=[case.number, stored.pk + 999])
    assert client_for(cast.community_officer).get(missing).status_code == 404
