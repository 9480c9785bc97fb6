"""Adding a photo is an action: only the parties of the case's current step may, and it leaves an
event and an audit row. Seeing a case is not enough."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from wangge.cases.models import Case, CaseEvent, CasePhoto
from wangge.cases.tests.factories import act, category, department, handler, report
from wangge.cases.workflow import PHOTO_EVENT
from wangge.core.models import AuditLog
from wangge.testing.factories import client_for, make_user

pytestmark = pytest.mark.django_db

S = Case.State


def png() -> io.BytesIO:
    stream = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 120, 40)).save(stream, "PNG")
    stream.seek(0)
    stream.name = "p.png"
    return stream


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(user, case: Case, kind: str):
    return client_for(user).post(
        reverse("api:case-photos", args=[case.number]),
        {"kind": kind, "photo": png()},
        format="multipart",
    )


@pytest.fixture
def assessor(cast):
    """A read-only role over the whole district: sees every case, takes no step."""
    return make_user("assessor", role="assessor", scope="110102")


@pytest.fixture
def in_progress(cast):
    item = category("T0101")
    clerk = handler("clerk", department("shizheng", rule_for=item))
    case = report(cast.grid_worker_a, cat=item)
    act(case, "accept", cast.operator)
    act(case, "dispatch", cast.commander, department="shizheng")
    act(case, "acknowledge", clerk)
    act(case, "start", clerk)
    case.refresh_from_db()
    return case, clerk


def test_the_reporter_adds_a_before_photo_and_it_is_an_event_and_an_audit_row(cast):
    case = report(cast.grid_worker_a)
    version = case.version

    answer = upload(cast.grid_worker_a, case, "before")

    assert answer.status_code == 201, answer.json()
    photo = CasePhoto.objects.get(case=case)
    event = CaseEvent.objects.get(case=case, action=PHOTO_EVENT)
    assert (event.actor, event.from_state, event.to_state) == (
        cast.grid_worker_a,
        S.REPORTED,
        S.REPORTED,
    )
    assert event.payload == {"kind": "before", "photos": [photo.pk]}
    audit = AuditLog.objects.get(action="cases.photo_add")
    assert (audit.actor, audit.target_id) == (cast.grid_worker_a, case.number)
    assert audit.details["photo"] == photo.pk
    case.refresh_from_db()
    assert case.version == version  # a photo does not make other people's next step stale


@pytest.mark.parametrize(
    ("who", "kind", "status"),
    [
        ("grid_worker_a", "before", 201),  # the reporter
        ("operator", "before", 201),  # may accept it
        ("operator", "after", 403),  # nothing was handled
        ("assessor", "before", 403),  # read-only
        ("assessor", "after", 403),
        ("community_officer", "before", 403),  # sees it, but a grid case is not theirs to accept
        ("department_handler", "before", 403),  # sees the district, not dispatched to them
    ],
)
def test_who_may_add_photos_to_a_reported_case(cast, assessor, who, kind, status):
    case = report(cast.grid_worker_a)
    user = assessor if who == "assessor" else getattr(cast, who)

    answer = upload(user, case, kind)

    assert answer.status_code == status, answer.json()
    assert CasePhoto.objects.filter(case=case).exists() == (status == 201)
    assert CaseEvent.objects.filter(case=case, action=PHOTO_EVENT).exists() == (status == 201)
    if status == 403:
        assert answer.json()["detail"]


def test_only_the_handling_department_adds_after_photos_while_handling(cast, assessor, in_progress):
    case, clerk = in_progress

    assert upload(cast.grid_worker_a, case, "after").status_code == 403  # the reporter
    assert upload(cast.commander, case, "after").status_code == 403  # sees all, handles nothing
    assert upload(assessor, case, "after").status_code == 403
    assert upload(clerk, case, "before").status_code == 403
    assert upload(clerk, case, "after").status_code == 201
    assert list(CasePhoto.objects.filter(case=case).values_list("kind", flat=True)) == ["after"]


def test_after_handling_the_handler_and_the_verifiers_add_after_photos(cast, in_progress):
    case, clerk = in_progress
    act(case, "handle", clerk, result="已更换井盖")
    case.refresh_from_db()

    assert upload(clerk, case, "after").status_code == 201
    assert upload(cast.operator, case, "after").status_code == 201  # verifies it
    assert upload(cast.grid_worker_b, case, "after").status_code == 404  # outside the scope


def test_a_closed_or_archived_case_takes_no_photo(cast, in_progress):
    case, clerk = in_progress
    act(case, "handle", clerk, result="已更换井盖")
    act(case, "verify", cast.operator, result="pass", outcome="fixed")
    case.refresh_from_db()
    assert case.state == S.CLOSED
    assert upload(cast.grid_worker_a, case, "before").status_code == 403
    act(case, "archive", cast.operator)
    case.refresh_from_db()
    for user in (cast.grid_worker_a, cast.operator, clerk, cast.commander):
        for kind in ("before", "after"):
            assert upload(user, case, kind).status_code == 403
    assert not CaseEvent.objects.filter(case=case, action=PHOTO_EVENT).exists()


def test_a_refused_upload_is_refused_before_the_file_is_read(cast, assessor):
    case = report(cast.grid_worker_a)
    junk = io.BytesIO(b"not an image at all")
    junk.name = "x.png"
    answer = client_for(assessor).post(
        reverse("api:case-photos", args=[case.number]),
        {"kind": "before", "photo": junk},
        format="multipart",
    )
    assert answer.status_code == 403


def test_the_phone_page_offers_and_takes_only_the_photos_the_user_may_add(cast, assessor):
    case = report(cast.grid_worker_a)
    url = reverse("web:mobile-case", args=[case.number])
    reporter, reader = Client(), Client()
    reporter.force_login(cast.grid_worker_a)
    reader.force_login(assessor)

    assert reporter.get(url).context["photo_kinds"] == ["before"]
    page = reader.get(url)
    assert page.context["photo_kinds"] == []
    assert 'data-action="add_photo"' not in page.content.decode()
    refused = reader.post(url, {"action": "add_photo", "kind": "before", "photo": png()})
    assert refused.status_code == 403
    assert refused.context["action_error"].action == "add_photo"
    assert not CasePhoto.objects.filter(case=case).exists()
    console = Client()
    console.force_login(assessor)
    posted = console.post(
        reverse("web:console-case", args=[case.number]),
        {"action": "add_photo", "kind": "after", "photo": png()},
    )
    assert posted.status_code == 403
    assert (
        reporter.post(url, {"action": "add_photo", "kind": "before", "photo": png()}).status_code
        == 302
    )
    assert CaseEvent.objects.filter(case=case, action=PHOTO_EVENT).count() == 1
