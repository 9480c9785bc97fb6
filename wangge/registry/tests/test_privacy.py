"""Privacy of the registry (PIPL): who sees what, masked numbers, audited unmasking, and no ID
number in clear in responses, database rows or logs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from wangge.core.models import AuditLog
from wangge.registry.models import Person
from wangge.registry.tests import factories as f
from wangge.testing.factories import client_for

ID_A = "11010519491231002X"
PHONE_A = "13812345678"


@dataclass
class Side:
    building: Any
    house: Any
    household: Any
    person: Any
    residency: Any
    organization: Any
    component: Any

    def ids(self) -> dict[str, int]:
        return {
            "buildings": self.building.pk,
            "houses": self.house.pk,
            "households": self.household.pk,
            "people": self.person.pk,
            "organizations": self.organization.pk,
            "components": self.component.pk,
            "residencies": self.residency.pk,
        }


def make_side(grid_code: str, point: tuple[float, float], unit: str, **person: Any) -> Side:
    house = f.house(grid_code=grid_code, rented=True)
    registration = f.register(house, **person)
    return Side(
        building=house.building,
        house=house,
        household=f.household(house, head=registration.person),
        person=registration.person,
        residency=registration.residency,
        organization=f.organization(grid_code),
        component=f.component(unit, at=point),
    )


@pytest.fixture
def sides(cast) -> dict[str, Side]:
    return {
        "A": make_side(f.GRID_A, f.IN_GRID_A, f.UNIT_A, id_number=ID_A, phone=PHONE_A),
        "B": make_side(f.GRID_B, f.IN_GRID_B, f.UNIT_B, name="李四"),
    }


# The role matrix ---------------------------------------------------------------------------------

RESIDENT_KINDS = {"houses", "households", "people", "residencies"}
LIST_KINDS = ["buildings", "houses", "households", "people", "organizations", "components"]
DETAIL_NAMES = {
    "buildings": "api:building",
    "houses": "api:house",
    "households": "api:household",
    "people": "api:person",
    "organizations": "api:organization",
    "components": "api:component",
    "residencies": "api:residency",
}
# persona → the sides it sees, and whether it may see residents at all.
VISIBLE = {
    "commander": ({"A", "B"}, True),
    "operator": ({"A", "B"}, False),
    "street_dispatcher": ({"A"}, False),
    "community_officer": ({"A"}, True),
    "other_community_officer": ({"B"}, True),
    "grid_worker_a": ({"A"}, True),
    "grid_worker_b": ({"B"}, True),
    "department_handler": ({"A", "B"}, False),
    "admin": ({"A", "B"}, False),
    "nobody": (set(), False),
}


def expected_status(persona: str, kind: str) -> int | None:
    """403 when the role may not see this kind at all, else None (the scope decides)."""
    _sides, residents = VISIBLE[persona]
    if persona == "nobody" or (kind in RESIDENT_KINDS and not residents):
        return 403
    return None


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(VISIBLE))
def test_every_list_shows_exactly_the_rows_inside_the_personas_scope(cast, sides, persona):
    client = client_for(getattr(cast, persona))
    visible, _residents = VISIBLE[persona]
    for kind in LIST_KINDS:
        response = client.get(reverse(f"api:{kind}"))
        forbidden = expected_status(persona, kind)
        if forbidden:
            assert response.status_code == forbidden, (persona, kind)
            continue
        assert response.status_code == 200, (persona, kind, response.json())
        seen = {row["id"] for row in response.json()["results"]}
        wanted = {sides[side].ids()[kind] for side in visible}
        assert seen == wanted, (persona, kind)
        assert response.json()["count"] == len(wanted)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(VISIBLE))
def test_an_id_outside_the_scope_answers_exactly_like_a_missing_one(cast, sides, persona):
    client = client_for(getattr(cast, persona))
    visible, _residents = VISIBLE[persona]
    for kind, name in DETAIL_NAMES.items():
        forbidden = expected_status(persona, kind)
        missing = client.get(reverse(name, args=[999_999]))
        for side in ("A", "B"):
            pk = sides[side].ids()[kind]
            response = client.get(reverse(name, args=[pk]))
            if forbidden:
                assert response.status_code == forbidden, (persona, kind)
            elif side in visible:
                assert response.status_code == 200, (persona, kind, side)
            else:
                assert response.status_code == 404, (persona, kind, side)
                body = response.json()["detail"].replace(str(pk), "N")
                assert body == missing.json()["detail"].replace("999999", "N")


@pytest.mark.django_db
def test_writes_to_another_grids_objects_answer_404(cast, sides):
    worker_a = client_for(cast.grid_worker_a)
    b = sides["B"]

    attempts = [
        worker_a.patch(reverse("api:person", args=[b.person.pk]), {"name": "X"}, format="json"),
        worker_a.patch(reverse("api:house", args=[b.house.pk]), {"rented": False}, format="json"),
        worker_a.post(
            reverse("api:residency-deregister", args=[b.residency.pk]),
            {"deregistration_reason": "error"},
            format="json",
        ),
        worker_a.post(
            reverse("api:person-merge", args=[sides["A"].person.pk]),
            {"duplicate": b.person.pk, "reason": "合并一下"},
            format="json",
        ),
    ]

    assert [r.status_code for r in attempts] == [404, 404, 404, 400]
    assert "duplicate" in attempts[3].json()["errors"]
    b.person.refresh_from_db()
    assert (b.person.name, b.person.status) == ("李四", "active")


@pytest.mark.django_db
def test_registering_into_another_grids_house_is_a_field_error(cast, sides):
    response = client_for(cast.grid_worker_a).post(
        reverse("api:people"),
        {
            "house": sides["B"].house.pk,
            "relation": "tenant",
            "name": "王五",
            "residency_type": "registered",
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["house"]
    assert response.json()["errors"]["house"] == [f"No house with id {sides['B'].house.pk}."]


@pytest.mark.django_db
def test_search_by_full_number_is_scoped_and_posted(cast, sides):
    url = reverse("api:people-search")
    worker_a, worker_b = client_for(cast.grid_worker_a), client_for(cast.grid_worker_b)

    by_id = worker_a.post(url, {"id_number": ID_A.lower()}, format="json")
    by_phone = worker_a.post(url, {"phone": "138 1234 5678"}, format="json")
    other_grid = worker_b.post(url, {"id_number": ID_A}, format="json")
    in_query_string = worker_a.get(url, {"id_number": ID_A})

    assert [r["id"] for r in by_id.json()["results"]] == [sides["A"].person.pk]
    assert [r["id"] for r in by_phone.json()["results"]] == [sides["A"].person.pk]
    assert other_grid.json() == {"count": 0, "results": []}
    assert in_query_string.status_code == 405


@pytest.mark.django_db
def test_search_by_masked_suffix_and_name(cast, sides):
    client = client_for(cast.commander)

    by_suffix = client.get(reverse("api:people"), {"id_suffix": "002x"})
    by_phone_suffix = client.get(reverse("api:people"), {"phone_suffix": "5678"})
    by_name = client.get(reverse("api:people"), {"name": "李"})

    assert [r["id"] for r in by_suffix.json()["results"]] == [sides["A"].person.pk]
    assert [r["id"] for r in by_phone_suffix.json()["results"]] == [sides["A"].person.pk]
    assert [r["id"] for r in by_name.json()["results"]] == [sides["B"].person.pk]


# Unmasking --------------------------------------------------------------------------------------


def unmask(client, person, **body):
    return client.post(reverse("api:person-unmask", args=[person.pk]), body, format="json")


@pytest.mark.django_db
def test_unmasking_needs_the_permission_a_reason_and_writes_an_audit_row(cast, sides):
    person = sides["A"].person
    officer = client_for(cast.community_officer)

    denied = unmask(client_for(cast.grid_worker_a), person, reason="核对身份信息")
    no_reason = unmask(officer, person, reason="看看")
    outside = unmask(client_for(cast.other_community_officer), person, reason="核对身份信息")
    nobody = unmask(client_for(cast.nobody), person, reason="核对身份信息")
    assert (denied.status_code, no_reason.status_code, outside.status_code) == (403, 400, 404)
    assert list(no_reason.json()["errors"]) == ["reason"]
    assert nobody.status_code == 403
    assert not AuditLog.objects.filter(action="pii.unmask").exists()

    shown = unmask(officer, person, reason=f"办理居住证核对 {ID_A}")
    phone = unmask(officer, person, field="phone", reason="联系本人")

    assert shown.status_code == 200
    assert shown.json() == {"field": "id_number", "value": ID_A}
    assert "no-store" in shown["Cache-Control"]
    assert phone.json()["value"] == PHONE_A
    rows = list(AuditLog.objects.filter(action="pii.unmask").order_by("id"))
    assert [(r.actor, r.target_type, r.target_id) for r in rows] == [
        (cast.community_officer, "registry.person", str(person.pk))
    ] * 2
    assert rows[0].details == {"purpose": "resident_id", "reason": "办理居住证核对 […]"}
    assert rows[1].details["purpose"] == "phone"


# Nothing in clear -------------------------------------------------------------------------------


def _secrets() -> list[str]:
    # The number, its lower-case form and the digits before the check character.
    return [ID_A, ID_A.lower(), ID_A[:17], PHONE_A]


def _assert_clean(text: str, where: str) -> None:
    for secret in _secrets():
        assert secret not in text, f"{secret[:4]}… found in {where}"


def _dump_database() -> str:
    """Every row of every table, as text (a raw SQL dump of the whole database)."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            parts.append(f"{table}: {cursor.fetchall()!r}")
    return "\n".join(parts)


@pytest.mark.django_db(transaction=False)
def test_no_id_or_phone_number_in_clear_in_responses_database_or_logs(cast, caplog):
    caplog.set_level(logging.DEBUG)
    worker = client_for(cast.grid_worker_a)
    officer = client_for(cast.community_officer)
    house = f.house(grid_code=f.GRID_A, rented=True)
    responses = []

    with CaptureQueriesContext(connection) as queries:
        created = worker.post(
            reverse("api:people"),
            {
                "house": house.pk,
                "relation": "tenant",
                "name": "钱十",
                "residency_type": "floating",
                "moved_in_on": "2025-01-05",
                "id_number": ID_A.lower(),
                "phone": PHONE_A,
            },
            format="json",
        )
        assert created.status_code == 201, created.json()
        pk = created.json()["person"]["id"]
        residency = created.json()["residency"]["id"]
        responses.append(created)
        responses.append(
            worker.post(
                reverse("api:people"),
                {
                    "house": house.pk,
                    "relation": "tenant",
                    "name": "钱十一",
                    "residency_type": "registered",
                    "id_number": ID_A[:17] + "1",  # wrong check digit
                },
                format="json",
            )
        )
        assert responses[-1].status_code == 400
        responses += [
            worker.get(reverse("api:people")),
            worker.get(reverse("api:people"), {"id_suffix": "002X"}),
            worker.get(reverse("api:person", args=[pk])),
            worker.post(reverse("api:people-search"), {"id_number": ID_A}, format="json"),
            worker.post(reverse("api:people-search"), {"phone": PHONE_A}, format="json"),
            worker.patch(reverse("api:person", args=[pk]), {"occupation": "厨师"}, format="json"),
            worker.get(reverse("api:house", args=[house.pk])),
            worker.get(reverse("api:residency", args=[residency])),
            worker.post(
                reverse("api:residency-permit", args=[residency]),
                {"permit_number": ID_A, "issued_on": "2025-02-01", "expires_on": "2026-01-31"},
                format="json",
            ),
            worker.post(
                reverse("api:residency-move-out", args=[residency]),
                {"moved_out_on": "2025-06-01"},
                format="json",
            ),
            worker.get(reverse("api:data-quality")),
            worker.get(reverse("api:data-quality-flagged", args=["not_deregistered"])),
            officer.get(reverse("api:person", args=[pk])),
            officer.post(
                reverse("api:people"),
                {
                    "house": house.pk,
                    "relation": "other",
                    "name": "钱十",
                    "residency_type": "floating",
                    "moved_in_on": "2025-01-05",
                    "id_number": ID_A,
                },
                format="json",
            ),
        ]
        shown = unmask(officer, Person.objects.get(pk=pk), reason=f"核对 {ID_A} 的身份")

    for response in responses:
        assert response.status_code < 500
        _assert_clean(response.content.decode(), f"{response.request['PATH_INFO']} response")
    assert shown.json()["value"] == ID_A  # the planted number is real: only this door shows it
    _assert_clean(_dump_database(), "the database")
    _assert_clean(caplog.text, "the logs")
    _assert_clean(repr([q["sql"] for q in queries.captured_queries]), "the SQL sent")
    person = Person.objects.get(pk=pk)
    assert person.id_number_masked == "110105********002X"
    assert person.birth_date == date(1949, 12, 31)
