"""The registry REST API: create and change through the services, field errors, pages, events."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from wangge.core.models import AuditLog
from wangge.registry.models import Building, Component, House, Person, Residency
from wangge.registry.tests import factories as f
from wangge.testing.factories import client_for


def post(client, name, body, *args):
    return client.post(reverse(name, args=args), body, format="json")


def patch(client, name, body, *args):
    return client.patch(reverse(name, args=args), body, format="json")


@pytest.mark.django_db
def test_a_grid_worker_builds_up_building_house_household_and_people(cast):
    worker = client_for(cast.grid_worker_a)

    building = post(
        worker,
        "api:buildings",
        {
            "name": "3号楼",
            "address": "西长安街1号院3号楼",
            "lng": 116.31,
            "lat": 39.93,
            "floors": 6,
        },
    )
    assert building.status_code == 201, building.json()
    assert building.json()["grid_code"] == f.GRID_A
    house = post(
        worker,
        "api:houses",
        {"building": building.json()["id"], "unit": "2", "room": "301", "rented": True},
    )
    assert house.status_code == 201, house.json()
    assert len(house.json()["qr_token"]) >= 20
    owner = post(
        worker,
        "api:people",
        {
            "house": house.json()["id"],
            "relation": "owner",
            "name": "张三",
            "residency_type": "registered",
            "id_number": f.resident_id(date(1960, 5, 1)),
            "ethnicity": "汉",
            "tags": ["lonely_elderly"],
        },
    )
    assert owner.status_code == 201, owner.json()
    household = post(
        worker,
        "api:households",
        {"house": house.json()["id"], "number": "0001", "head": owner.json()["person"]["id"]},
    )
    assert household.status_code == 201, household.json()
    assert household.json()["care_class"] == "key"
    assert [m["person_name"] for m in household.json()["members"]] == ["张三"]

    detail = worker.get(reverse("api:house", args=[house.json()["id"]])).json()
    assert [r["person_name"] for r in detail["residencies"]] == ["张三"]
    assert [h["number"] for h in detail["households"]] == ["0001"]
    person = worker.get(reverse("api:person", args=[owner.json()["person"]["id"]])).json()
    assert person["ethnicity"] == "汉族"
    assert person["age"] is not None
    assert [e["action"] for e in person["history"]] == ["registered"]
    assert person["history"][0]["actor"] == "worker_a"
    assert (
        AuditLog.objects.filter(actor=cast.grid_worker_a, action__startswith="registry.").count()
        == 4
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("id_number", "reason"),
    [
        ("110105194912310021", "check digit should be X, not 1"),
        ("11010519491331002X", "birth date 19491331 is not a date"),
        ("1101051949123100", "must have 18 characters"),
    ],
)
def test_a_bad_id_number_is_a_400_naming_the_reason(cast, id_number, reason):
    response = post(
        client_for(cast.grid_worker_a),
        "api:people",
        {
            "house": f.house().pk,
            "relation": "owner",
            "name": "张三",
            "residency_type": "registered",
            "id_number": id_number,
        },
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["id_number"]
    assert reason in response.json()["errors"]["id_number"][0]
    assert response.json()["detail"].startswith("id_number: ")
    assert id_number not in response.content.decode()


@pytest.mark.django_db
def test_registering_a_known_id_number_answers_200_with_the_existing_person(cast):
    number = f.resident_id()
    first = f.register(id_number=number, name="王五").person
    body = {
        "house": f.house().pk,
        "relation": "tenant",
        "name": "王五",
        "residency_type": "floating",
        "moved_in_on": "2026-01-01",
        "id_number": number,
    }

    response = post(client_for(cast.grid_worker_a), "api:people", body)

    assert response.status_code == 200, response.json()
    assert response.json()["created"] is False
    assert response.json()["person"]["id"] == first.pk
    assert response.json()["person"]["residency_type"] == "registered"


@pytest.mark.django_db
def test_a_moving_residents_whole_cycle_through_the_api(cast):
    worker = client_for(cast.grid_worker_a)
    with time_machine.travel("2026-03-10 10:00+08:00", tick=False):
        created = post(
            worker,
            "api:people",
            {
                "house": f.house(rented=True).pk,
                "relation": "tenant",
                "name": "刘一",
                "residency_type": "floating",
                "moved_in_on": "2026-03-05",
                "registered": False,
            },
        ).json()
        residency = created["residency"]["id"]
        pk = created["person"]["id"]
        steps = [
            post(worker, "api:residency-register", {}, residency),
            patch(worker, "api:residency", {"has_id_copy": True}, residency),
            post(
                worker,
                "api:residency-permit",
                {
                    "permit_number": "J110102001",
                    "issued_on": "2026-03-09",
                    "expires_on": "2027-03-08",
                },
                residency,
            ),
            post(worker, "api:residency-permit-renew", {"expires_on": "2028-03-08"}, residency),
            post(
                worker,
                "api:person-residency-type",
                {"residency_type": "resident", "reason": "居住满半年"},
                pk,
            ),
            post(worker, "api:residency-move-out", {"moved_out_on": "2026-03-10"}, residency),
            post(
                worker,
                "api:residency-deregister",
                {"deregistration_reason": "moved_away"},
                residency,
            ),
        ]
    for step in steps:
        assert step.status_code == 200, step.json()
    final = steps[-1].json()
    assert final["registration_lag_days"] == 5
    assert final["deregistration_lag_days"] == 0
    assert final["permit_number_masked"] == "J1******01"
    assert final["permit_expires_on"] == "2028-03-08"
    history = [e["action"] for e in worker.get(reverse("api:person", args=[pk])).json()["history"]]
    assert history == [
        "deregistered",
        "moved_out",
        "residency_type_changed",
        "permit_renewed",
        "permit_issued",
        "updated",
        "registration_completed",
        "registered",
    ]
    again = post(
        worker, "api:residency-deregister", {"deregistration_reason": "moved_away"}, residency
    )
    assert again.status_code == 409


@pytest.mark.django_db
def test_a_person_moves_in_elsewhere_and_records_are_merged_through_the_api(cast):
    officer = client_for(cast.community_officer)
    survivor = f.register(name="陈二", id_number=f.resident_id(date(1990, 2, 2))).person
    duplicate = f.register(name="陈二", id_number="", birth_date=date(1990, 2, 2)).person
    target = f.house(grid_code="110102001001002")

    moved = post(
        officer, "api:person-move-in", {"house": target.pk, "relation": "family"}, survivor.pk
    )
    merged = post(
        officer, "api:person-merge", {"duplicate": duplicate.pk, "reason": "重复录入"}, survivor.pk
    )

    assert moved.status_code == 201, moved.json()
    assert merged.status_code == 200, merged.json()
    assert len(merged.json()["residencies"]) == 3
    assert merged.json()["history"][0]["action"] == "merged"
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == survivor.pk
    # A merged record stays readable, pointing at the survivor; lists leave it out.
    old = officer.get(reverse("api:person", args=[duplicate.pk])).json()
    assert (old["record_status"], old["merged_into"]) == ("merged", survivor.pk)
    listed = officer.get(reverse("api:people"), {"name": "陈二"}).json()
    assert [row["id"] for row in listed["results"]] == [survivor.pk]


@pytest.mark.django_db
def test_correcting_an_id_number_that_another_record_has_is_409_with_its_id_if_visible(cast):
    number = f.resident_id()
    other = f.register(id_number=number).person
    person = f.register(id_number="").person

    response = patch(client_for(cast.grid_worker_a), "api:person", {"id_number": number}, person.pk)

    assert response.status_code == 409
    assert response.json()["current"] == {"person_id": other.pk}


@pytest.mark.django_db
def test_people_lists_are_paginated_and_filtered(cast):
    home = f.house()
    for index in range(7):
        f.register(
            home,
            name=f"测试{index}",
            residency_type="floating" if index % 2 else "registered",
            moved_in_on=date(2025, 1, 1),
        )
    client = client_for(cast.commander)

    first = client.get(reverse("api:people"), {"limit": 3}).json()
    last = client.get(reverse("api:people"), {"limit": 3, "offset": 6}).json()
    floating = client.get(reverse("api:people"), {"residency_type": "floating"}).json()
    in_house = client.get(reverse("api:people"), {"house": home.pk, "living": True}).json()
    too_many = client.get(reverse("api:people"), {"limit": 501})

    assert (first["count"], len(first["results"]), len(last["results"])) == (7, 3, 1)
    assert floating["count"] == 3
    assert in_house["count"] == 7
    assert too_many.status_code == 400


@pytest.mark.django_db
def test_building_address_and_house_room_are_natural_keys(cast):
    worker = client_for(cast.grid_worker_a)
    building = f.building(address="西长安街5号")
    f.house(building, unit="1", room="101")

    dup_building = post(
        worker, "api:buildings", {"name": "5号", "address": "西长安街5号", "grid": f.GRID_A}
    )
    dup_house = post(worker, "api:houses", {"building": building.pk, "unit": "1", "room": "101"})
    outside = post(worker, "api:buildings", {"name": "9号", "address": "别处9号", "grid": f.GRID_B})
    far_away = post(
        worker, "api:buildings", {"name": "9号", "address": "别处9号", "lng": 116.39, "lat": 39.87}
    )

    assert (dup_building.status_code, list(dup_building.json()["errors"])) == (400, ["address"])
    assert (dup_house.status_code, list(dup_house.json()["errors"])) == (400, ["room"])
    assert (outside.status_code, list(outside.json()["errors"])) == (400, ["grid"])
    assert (far_away.status_code, list(far_away.json()["errors"])) == (400, ["grid"])
    assert Building.objects.count() == 1 and House.objects.count() == 1


@pytest.mark.django_db
def test_organizations_check_the_credit_code_and_seal_the_phone(cast):
    worker = client_for(cast.grid_worker_a)
    good = f.credit_code()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")

    created = post(
        worker,
        "api:organizations",
        {
            "name": "好邻居超市",
            "org_type": "enterprise",
            "credit_code": good.lower(),
            "grid": f.GRID_A,
            "contact_phone": "13900001234",
            "safety_key_unit": True,
            "employees": 12,
        },
    )
    wrong = post(
        worker,
        "api:organizations",
        {"name": "X", "org_type": "enterprise", "credit_code": bad, "grid": f.GRID_A},
    )
    again = post(
        worker,
        "api:organizations",
        {"name": "Y", "org_type": "enterprise", "credit_code": good, "grid": f.GRID_A},
    )

    assert created.status_code == 201, created.json()
    assert created.json()["credit_code"] == good
    assert created.json()["contact_phone_masked"] == "139****1234"
    assert "13900001234" not in created.content.decode()
    assert "check character should be" in wrong.json()["errors"]["credit_code"][0]
    assert list(again.json()["errors"]) == ["credit_code"]
    listed = worker.get(reverse("api:organizations"), {"safety_key_unit": True}).json()
    assert listed["count"] == 1


@pytest.mark.django_db
def test_components_carry_the_standard_attributes(cast):
    admin = client_for(cast.admin)
    admin.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    body = {
        "component_id": "11010201001000123",
        "name": "供水井盖",
        "competent_unit_code": f.credit_code(),
        "competent_unit_name": "西城区水务局",
        "surveyed_on": "2024-05-01",
        "data_source": "surveyed",
        "lng": f.IN_GRID_A[0],
        "lat": f.IN_GRID_A[1],
    }

    created = post(admin, "api:components", body)
    other_district = post(admin, "api:components", {**body, "component_id": "11010501001000001"})
    bad_class = post(admin, "api:components", {**body, "component_id": "11010200001000001"})
    missing = post(
        admin, "api:components", {k: v for k, v in body.items() if k != "competent_unit_name"}
    )

    assert created.status_code == 201, created.json()
    attributes = created.json()["standard_attributes"]
    assert len(attributes) == 18
    assert attributes["GLBJBSM"] == "11010201001000123"
    assert attributes["SZDYWGBSM"] == f.UNIT_A
    assert attributes["GLBJZT"] == "完好"
    assert attributes["CSRQ"] == "20240501"
    assert (attributes["SZJDDM"], attributes["SZJDMC"]) == ("110102001", "西长安街街道")
    assert attributes["SZSQMC"] == "社区001"
    assert created.json()["class_code"] == "01001"
    assert "district code" in other_district.json()["errors"]["component_id"][0]
    assert "big class" in bad_class.json()["errors"]["component_id"][0]
    assert list(missing.json()["errors"]) == ["competent_unit_name"]

    pk = created.json()["id"]
    with time_machine.travel("2026-03-10 10:00+08:00", tick=False):
        damaged = patch(admin, "api:component", {"status": "damaged"}, pk)
    assert damaged.json()["changed_on"] == "2026-03-10"
    assert damaged.json()["standard_attributes"]["BGRQ"] == "20260310"
    listed = admin.get(reverse("api:components"), {"class_code": "01", "status": "damaged"}).json()
    assert listed["count"] == 1
    assert Component.objects.get().region_code == f.GRID_A


@pytest.mark.django_db
def test_a_grid_worker_sees_the_components_at_his_grid_not_the_whole_unit_grid(cast):
    # Unit grid 110102003002001 covers community 110102003002; grid worker B's grid is its SE.
    inside = f.component(f.UNIT_B, at=f.IN_GRID_B)
    elsewhere = f.component(f.UNIT_B, at=(116.36, 39.89))  # same unit grid, social grid 001

    seen = client_for(cast.grid_worker_b).get(reverse("api:components")).json()

    assert [row["id"] for row in seen["results"]] == [inside.pk]
    assert elsewhere.region_code == "110102003002001"


@pytest.mark.django_db
def test_tags_and_care_classes_are_listed_from_the_seed(cast):
    client = client_for(cast.grid_worker_a)

    tags = client.get(reverse("api:person-tags")).json()
    classes = client.get(reverse("api:care-classes")).json()

    assert {
        "code": "lonely_elderly",
        "name": "独居老人",
        "care_class": "key",
        "description": "",
    } in tags
    assert [(c["level"], c["visit_interval_days"]) for c in classes] == [
        (1, 7),
        (2, 15),
        (3, 30),
        (4, 90),
    ]


@pytest.mark.django_db
def test_roles_get_their_registry_permissions(cast):
    assert cast.grid_worker_a.has_perms(["registry.view_person", "registry.add_person"])
    assert not cast.grid_worker_a.has_perm("registry.unmask_person")
    assert cast.community_officer.has_perm("registry.unmask_person")
    assert not cast.department_handler.has_perm("registry.view_person")
    assert cast.department_handler.has_perm("registry.view_component")
    assert not cast.commander.has_perm("registry.change_person")


@pytest.mark.django_db
def test_birth_date_and_sex_come_from_the_id_number_in_api_output(cast):
    response = post(
        client_for(cast.grid_worker_a),
        "api:people",
        {
            "house": f.house().pk,
            "relation": "owner",
            "name": "郑三",
            "residency_type": "registered",
            "id_number": "440524188001010014",  # GB 11643 example, county since abolished
        },
    )

    person = response.json()["person"]
    assert response.status_code == 201, response.json()
    assert (person["birth_date"], person["sex"]) == ("1880-01-01", "male")
    assert Person.objects.get().id_number_masked == "440524********0014"
    assert Residency.objects.get().relation == "owner"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["people", "houses", "households", "buildings", "components"])
def test_a_list_page_costs_the_same_queries_for_few_or_many_rows(cast, kind):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(cast.grid_worker_a)

    def fill(n):
        for _ in range(n):
            home = f.house()
            head = f.register(home, tags=[f.tag("disabled")]).person
            f.household(home, head=head)
            f.component(at=f.IN_GRID_A)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(f"api:{kind}")).status_code == 200
        return len(queries)

    count()  # the first request loads the user's permissions
    fill(2)
    few = count()
    fill(10)
    assert count() == few


@pytest.mark.django_db
def test_a_building_located_from_a_bd09_point_is_stored_at_its_wgs84_point(cast):
    from wangge.lib.coords import from_wgs84

    lng, lat = from_wgs84(116.31, 39.93, "bd09")
    worker = client_for(cast.grid_worker_a)
    body = {"name": "7号", "address": "西长安街7号", "lng": lng, "lat": lat, "crs": "bd09"}
    building = post(worker, "api:buildings", body)
    assert building.status_code == 201, building.json()
    assert building.json()["grid_code"] == f.GRID_A
    stored = Building.objects.get(pk=building.json()["id"])
    assert (stored.lng, stored.lat) == pytest.approx((116.31, 39.93), abs=1e-9)
