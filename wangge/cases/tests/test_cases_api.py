"""The loop through the REST API: create (idempotent), act, conflicts, timeline."""

import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from wangge.cases.models import Case, CaseEvent
from wangge.cases.tests.factories import IN_GRID_A, category, department, handler
from wangge.testing.factories import client_for

S = Case.State


def create_body(**extra):
    return {
        "source": "patrol",
        "category": category().id,
        "description": "井盖破损",
        "lng": IN_GRID_A[0],
        "lat": IN_GRID_A[1],
        "address": "测试路1号",
        **extra,
    }


def post_action(client, number, **body):
    return client.post(reverse("api:case-actions", args=[number]), body, format="json")


@pytest.mark.django_db
def test_the_loop_through_the_api_with_its_timeline(cast):
    department("shizheng", rule_for=category())
    clerk = handler("clerk", department("shizheng"))
    worker, operator, commander = (
        client_for(u) for u in (cast.grid_worker_a, cast.operator, cast.commander)
    )
    created = worker.post(reverse("api:cases"), create_body(), format="json")
    assert created.status_code == 201, created.json()
    number = created.json()["number"]
    assert created.json()["allowed_actions"] == ["escalate"]

    steps = [
        (operator, {"action": "accept"}),
        (commander, {"action": "dispatch", "department": "shizheng"}),
        (client_for(clerk), {"action": "acknowledge"}),
        (client_for(clerk), {"action": "start"}),
        (client_for(clerk), {"action": "handle", "result": "已更换"}),
        (operator, {"action": "verify", "result": "pass", "outcome": "fixed"}),
        (worker, {"action": "evaluate", "satisfaction": "satisfied"}),
        (operator, {"action": "archive"}),
    ]
    for client, body in steps:
        response = post_action(client, number, **body)
        assert response.status_code == 200, (body, response.json())
    detail = operator.get(reverse("api:case", args=[number])).json()
    assert detail["state"] == "archived"
    assert [e["action"] for e in detail["timeline"]] == [
        "report",
        "accept",
        "dispatch",
        "acknowledge",
        "start",
        "handle",
        "verify",
        "evaluate",
        "archive",
    ]
    assert all(e["actor"] and e["created_at"] for e in detail["timeline"])


@pytest.mark.django_db
def test_the_same_create_posted_five_times_with_one_key_makes_one_case(cast):
    client = client_for(cast.grid_worker_a)
    numbers = set()
    statuses = []
    for _ in range(5):
        response = client.post(
            reverse("api:cases"), create_body(), format="json", HTTP_IDEMPOTENCY_KEY="abc-123"
        )
        statuses.append(response.status_code)
        numbers.add(response.json()["number"])
    assert statuses == [201, 200, 200, 200, 200]
    assert len(numbers) == 1 and Case.objects.count() == 1
    other = client.post(
        reverse("api:cases"), create_body(), format="json", HTTP_IDEMPOTENCY_KEY="xyz"
    )
    assert other.status_code == 201 and Case.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lng": "east"}, "lng"),
        ({"lng": 116.31, "lat": None}, "lat"),
        ({"category": 999999}, "category"),
        ({"source": "pigeon"}, "source"),
        ({"description": ""}, "description"),
        ({"reporter_phone": "12345"}, "reporter_phone"),
        ({"lng": 121.47, "lat": 31.23}, "location"),
        ({"lng": None, "lat": None, "address": ""}, "location"),
    ],
)
def test_bad_reports_are_400_naming_the_field_and_store_nothing(cast, body, field):
    response = client_for(cast.grid_worker_a).post(
        reverse("api:cases"), create_body(**body), format="json"
    )
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert Case.objects.count() == 0


@pytest.mark.django_db
def test_a_stale_version_is_a_409_with_the_current_state(cast):
    department("shizheng")
    client = client_for(cast.operator)
    number = (
        client_for(cast.grid_worker_a)
        .post(reverse("api:cases"), create_body(), format="json")
        .json()["number"]
    )
    assert post_action(client, number, action="accept", version=0).status_code == 200
    stale = post_action(
        client_for(cast.commander), number, action="dispatch", department="shizheng", version=0
    )
    assert stale.status_code == 409
    assert stale.json()["current"] == {"state": "accepted", "version": 1}


@pytest.mark.django_db
def test_wrong_role_is_403_and_wrong_region_is_404(cast):
    number = (
        client_for(cast.grid_worker_a)
        .post(reverse("api:cases"), create_body(), format="json")
        .json()["number"]
    )
    assert post_action(client_for(cast.grid_worker_a), number, action="accept").status_code == 403
    assert post_action(client_for(cast.grid_worker_b), number, action="accept").status_code == 404
    assert client_for(cast.grid_worker_b).get(reverse("api:case", args=[number])).status_code == 404
    listed = client_for(cast.grid_worker_b).get(reverse("api:cases")).json()
    assert listed["count"] == 0
    assert client_for(cast.commander).get(reverse("api:cases")).json()["count"] == 1


@pytest.mark.django_db
def test_an_unknown_action_is_400(cast):
    number = (
        client_for(cast.grid_worker_a)
        .post(reverse("api:cases"), create_body(), format="json")
        .json()["number"]
    )
    response = post_action(client_for(cast.operator), number, action="teleport")
    assert response.status_code == 400 and "action" in response.json()["errors"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL row locking is what this pins; the SQLite run's in-memory database "
    "serializes every writer anyway",
)
def test_twenty_dispatchers_at_once_one_wins_nineteen_get_409(cast):
    department("shizheng")
    number = (
        client_for(cast.grid_worker_a)
        .post(reverse("api:cases"), create_body(), format="json")
        .json()["number"]
    )
    assert post_action(client_for(cast.operator), number, action="accept").status_code == 200
    version = Case.objects.get(number=number).version
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def dispatch() -> None:
        try:
            client = client_for(cast.commander)
            barrier.wait()
            status = post_action(
                client, number, action="dispatch", department="shizheng", version=version
            ).status_code
            with lock:
                statuses.append(status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatch) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 19
    assert CaseEvent.objects.filter(case__number=number, action="dispatch").count() == 1
    assert Case.objects.get(number=number).state == S.DISPATCHED


@pytest.mark.django_db
def test_an_overlong_idempotency_key_is_refused_not_cut(cast):
    client = client_for(cast.grid_worker_a)
    response = client.post(
        reverse("api:cases"), create_body(), format="json", HTTP_IDEMPOTENCY_KEY="k" * 201
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_one_key_with_a_different_report_is_422_and_creates_nothing(cast):
    client = client_for(cast.grid_worker_a)
    first = client.post(
        reverse("api:cases"), create_body(), format="json", HTTP_IDEMPOTENCY_KEY="r-1"
    )
    assert first.status_code == 201
    again = client.post(
        reverse("api:cases"), create_body(), format="json", HTTP_IDEMPOTENCY_KEY="r-1"
    )
    assert (again.status_code, again.json()["number"]) == (200, first.json()["number"])
    other = client.post(
        reverse("api:cases"),
        create_body(description="路灯不亮"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="r-1",
    )
    assert other.status_code == 422
    assert first.json()["number"] in other.json()["errors"]["Idempotency-Key"][0]
    assert Case.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_a_report_in_gcj02_or_bd09_is_stored_at_its_wgs84_point_in_that_grid(cast, crs):
    from wangge.lib.coords import from_wgs84
    from wangge.regions.locate import h3_cell

    lng, lat = from_wgs84(*IN_GRID_A, crs)
    created = client_for(cast.grid_worker_a).post(
        reverse("api:cases"), create_body(lng=lng, lat=lat, crs=crs), format="json"
    )
    assert created.status_code == 201, created.json()
    case = Case.objects.get(number=created.json()["number"])
    assert (case.lng, case.lat) == pytest.approx(IN_GRID_A, abs=1e-9)
    assert case.region_code == "110102001001001"
    assert case.h3_cell == h3_cell(case.lng, case.lat)
