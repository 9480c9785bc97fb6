"""The reporter's side of duplicates: the report check before sending, and support (附议)."""

import pytest
from django.urls import reverse

from wangge.cases.models import Case, CaseEvent
from wangge.cases.tests.factories import IN_GRID_A, IN_GRID_B, act, category, report
from wangge.testing.factories import client_for, make_user

pytestmark = pytest.mark.django_db
S = Case.State
NEAR_A = (IN_GRID_A[0] + 0.0003, IN_GRID_A[1])  # ≈ 26 m east of IN_GRID_A, same grid
CHECK = reverse("api:case-report-check")


@pytest.fixture
def neighbour(cast):
    """A second grid worker of grid A: sees worker_a's reports there."""
    return make_user("worker_a2", role="grid_worker", scope="110102001001001")


def check(user, at=IN_GRID_A, **params):
    return client_for(user).get(CHECK, {"lng": at[0], "lat": at[1], **params})


def support(user, number, **body):
    return client_for(user).post(reverse("api:case-support", args=[number]), body, format="json")


def test_the_report_check_names_the_grid_at_the_point_and_whether_it_is_the_callers(cast):
    inside = check(cast.grid_worker_a).json()["grid"]
    assert inside["code"] == "110102001001001" and inside["name"] and inside["yours"] is True

    outside = check(cast.grid_worker_a, at=IN_GRID_B).json()["grid"]
    assert outside["name"] and outside["yours"] is False
    assert outside["code"] is None  # the name of where one stands, not the scope's key
    assert check(cast.commander, at=IN_GRID_B).json()["grid"]["yours"] is True


def test_the_report_check_names_open_cases_of_the_category_nearby_nearest_first(cast, neighbour):
    first = report(cast.grid_worker_a, at=NEAR_A)
    nearest = report(cast.grid_worker_a)
    report(cast.grid_worker_a, at=(IN_GRID_A[0] + 0.003, IN_GRID_A[1]))  # ≈ 260 m: not it
    report(cast.grid_worker_a, cat=category("T0002"))  # another category: not it

    answer = check(neighbour, category=category().pk)
    assert answer.status_code == 200
    body = answer.json()
    assert [d["number"] for d in body["duplicates"]] == [nearest.number, first.number]
    assert body["duplicates"][0]["distance_m"] == 0
    assert 20 <= body["duplicates"][1]["distance_m"] <= 30
    assert body["duplicates"][0]["state"] == "reported"
    assert body["duplicates"][0]["state_label"].startswith("Reported")
    assert body["others"] == 0


def test_the_report_check_does_not_name_a_case_outside_the_callers_scope(cast):
    hidden = report(cast.grid_worker_a)

    answer = check(cast.grid_worker_b, category=category().pk)
    assert answer.status_code == 200
    assert answer.json()["duplicates"] == []
    assert answer.json()["others"] == 1  # counted, not named
    assert hidden.number not in answer.content.decode()
    assert hidden.description not in answer.content.decode()


def test_the_report_check_leaves_out_the_report_just_sent_and_needs_a_category(cast, neighbour):
    earlier = report(cast.grid_worker_a)
    mine = report(neighbour, at=NEAR_A)

    body = check(neighbour, at=NEAR_A, category=category().pk, exclude=mine.number).json()
    assert [d["number"] for d in body["duplicates"]] == [earlier.number]
    assert check(neighbour, at=NEAR_A).json()["duplicates"] == []


def test_the_report_check_answers_a_bad_point_field_by_field(cast):
    answer = client_for(cast.grid_worker_a).get(CHECK, {"lng": "east", "category": "x"})
    assert answer.status_code == 400
    assert set(answer.json()["errors"]) >= {"lng", "lat", "category"}


def test_supporting_a_case_counts_the_supporter_and_records_an_event(cast, neighbour):
    case = report(cast.grid_worker_a)

    answer = support(neighbour, case.number, note="我也看到了")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"number": case.number, "supporters": 1, "withdrawn": None}
    case.refresh_from_db()
    assert case.supporters == 1 and case.state == S.REPORTED
    event = case.events.get(action="support")
    assert event.actor == neighbour and event.reason == "我也看到了"
    assert (event.from_state, event.to_state) == ("reported", "reported")


def test_a_reporter_supports_a_case_once_and_never_his_own(cast, neighbour):
    case = report(cast.grid_worker_a)
    assert support(neighbour, case.number).status_code == 200

    again = support(neighbour, case.number)
    assert again.status_code == 400 and "number" in again.json()["errors"]
    own = support(cast.grid_worker_a, case.number)
    assert own.status_code == 400
    assert Case.objects.get(pk=case.pk).supporters == 1
    assert CaseEvent.objects.filter(case=case, action="support").count() == 1


def test_a_case_outside_the_scope_cannot_be_supported_or_told_apart_from_a_missing_one(cast):
    case = report(cast.grid_worker_a)

    assert support(cast.grid_worker_b, case.number).status_code == 404
    assert support(cast.grid_worker_b, "110102-1999-999999").status_code == 404
    assert client_for(cast.nobody).post(
        reverse("api:case-support", args=[case.number])
    ).status_code in (403, 404)
    assert Case.objects.get(pk=case.pk).supporters == 0


def test_a_closed_case_cannot_be_supported(cast, neighbour):
    case = act(report(cast.grid_worker_a), "void", cast.operator, reason="误报")
    assert support(neighbour, case.number).status_code == 400
    assert not case.events.filter(action="support").exists()


def test_withdrawing_ones_own_duplicate_merges_it_into_the_supported_case(cast, neighbour):
    existing = report(cast.grid_worker_a)
    mine = report(neighbour, at=NEAR_A)

    answer = support(neighbour, existing.number, withdraw=mine.number)
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"number": existing.number, "supporters": 1, "withdrawn": mine.number}
    mine.refresh_from_db()
    assert mine.state == S.CLOSED and mine.outcome == "duplicate"
    assert mine.merged_into_id == existing.pk
    assert mine.events.get(action="merge").actor == neighbour
    supported = existing.events.get(action="support")
    assert supported.payload == {"duplicate": mine.number}


def test_only_ones_own_undispatched_report_can_be_withdrawn(cast, neighbour):
    existing = report(cast.grid_worker_a)
    theirs = report(cast.community_officer, at=NEAR_A)
    dispatched = act(report(neighbour, at=NEAR_A), "accept", cast.operator)
    act(dispatched, "dispatch", cast.commander, user="worker_a2")

    assert support(neighbour, existing.number, withdraw=theirs.number).status_code == 400
    assert support(neighbour, existing.number, withdraw=dispatched.number).status_code == 400
    assert Case.objects.get(pk=theirs.pk).state == S.REPORTED
    assert Case.objects.get(pk=existing.pk).supporters == 0  # nothing half-written
    assert not existing.events.filter(action="support").exists()


def test_the_timeline_names_a_support_and_a_withdrawn_duplicate_in_words(cast, neighbour):
    from django.test import Client

    existing = report(cast.grid_worker_a)
    mine = report(neighbour, at=NEAR_A)
    assert support(neighbour, existing.number, withdraw=mine.number).status_code == 200

    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(cast.operator)
    page = client.get(reverse("web:console-case", args=[existing.number])).content.decode()
    timeline = page[page.index('class="timeline') :]
    assert "附议" in timeline and "重复上报" in timeline and mine.number in timeline
    assert ">support<" not in timeline and "duplicate:" not in timeline


def test_the_report_check_finds_the_grid_and_duplicates_of_a_gcj02_point(cast, neighbour):
    from wangge.lib.coords import from_wgs84

    nearest = report(cast.grid_worker_a)
    lng, lat = from_wgs84(*IN_GRID_A, "gcj02")
    body = (
        client_for(neighbour)
        .get(CHECK, {"lng": lng, "lat": lat, "crs": "gcj02", "category": category().pk})
        .json()
    )
    assert body["grid"]["code"] == "110102001001001"
    assert [(d["number"], d["distance_m"]) for d in body["duplicates"]] == [(nearest.number, 0)]
