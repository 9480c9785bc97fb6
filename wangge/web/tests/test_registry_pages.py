"""The registry pages: scope per persona (404 like missing), masking, unmasking, search, the
components GeoJSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.urls import reverse

from wangge.core.models import AuditLog
from wangge.registry.models import Building, Component, House, Household, Organization, Person
from wangge.registry.tests.factories import (
    GRID_A,
    GRID_B,
    IN_GRID_A,
    IN_GRID_B,
    UNIT_A,
    UNIT_B,
    building,
    component,
    house,
    household,
    organization,
    register,
    resident_id,
    tag,
)

pytestmark = pytest.mark.django_db

ID_A = resident_id(date(1950, 3, 7), sequence=123)
PHONE_A = "13812345678"


@dataclass
class World:
    building_a: Building
    house_a: House
    household_a: Household
    person_a: Person
    building_b: Building
    house_b: House
    household_b: Household
    person_b: Person
    organization_a: Organization
    organization_b: Organization
    component_a: Component
    component_b: Component


@pytest.fixture
def world(cast) -> World:
    building_a = building(GRID_A, address="北京市西城区府右街南胡同3号院1号楼")
    house_a = house(building_a, room="301")
    household_a = household(house_a, number="1")
    person_a = register(
        house_a,
        name="王秀英",
        id_number=ID_A,
        phone=PHONE_A,
        household=household_a,
        tags=[tag("lonely_elderly")],
    ).person
    building_b = building(GRID_B, address="北京市西城区新街口东街9号")
    house_b = house(building_b, room="102")
    household_b = household(house_b, number="1")
    person_b = register(house_b, name="李建国", household=household_b).person
    return World(
        building_a=building_a,
        house_a=house_a,
        household_a=household_a,
        person_a=person_a,
        building_b=building_b,
        house_b=house_b,
        household_b=household_b,
        person_b=person_b,
        organization_a=organization(GRID_A, name="府右街南便利店"),
        organization_b=organization(GRID_B, name="新街口五金店"),
        component_a=component(UNIT_A, at=IN_GRID_A, serial=1),
        component_b=component(UNIT_B, at=IN_GRID_B, serial=2, status="damaged"),
    )


def pages(world: World, side: str) -> list[str]:
    w = world
    building_ = w.building_a if side == "a" else w.building_b
    house_ = w.house_a if side == "a" else w.house_b
    household_ = w.household_a if side == "a" else w.household_b
    person = w.person_a if side == "a" else w.person_b
    org = w.organization_a if side == "a" else w.organization_b
    return [
        reverse("web:registry-grid", args=[GRID_A if side == "a" else GRID_B]),
        reverse("web:registry-building", args=[building_.pk]),
        reverse("web:registry-house", args=[house_.pk]),
        reverse("web:registry-household", args=[household_.pk]),
        reverse("web:registry-person", args=[person.pk]),
        reverse("web:registry-organization", args=[org.pk]),
    ]


def test_a_grid_worker_sees_his_grid_and_gets_404_for_the_other_grid_like_for_missing(
    cast, world, client
):
    client.force_login(cast.grid_worker_a)
    for url in pages(world, "a"):
        assert client.get(url).status_code == 200, url
    for url in pages(world, "b"):
        assert client.get(url).status_code == 404, url
    missing = reverse("web:registry-person", args=[world.person_b.pk + 1000])
    assert client.get(missing).status_code == 404


def test_the_district_commander_sees_both_grids(cast, world, client):
    client.force_login(cast.commander)
    for url in pages(world, "a") + pages(world, "b"):
        assert client.get(url).status_code == 200, url


def test_the_grid_list_holds_the_users_grids_only(cast, world, client):
    client.force_login(cast.grid_worker_a)
    text = client.get(reverse("web:registry")).content.decode()
    assert GRID_A in text and GRID_B not in text
    client.force_login(cast.community_officer)
    text = client.get(reverse("web:registry")).content.decode()
    assert text.count("110102001001") >= 4 and GRID_B not in text


def test_the_navigation_walks_grid_building_house_household_person(cast, world, client):
    client.force_login(cast.grid_worker_a)
    grid_page = client.get(reverse("web:registry-grid", args=[GRID_A])).content.decode()
    building_url = reverse("web:registry-building", args=[world.building_a.pk])
    assert building_url in grid_page
    building_page = client.get(building_url).content.decode()
    house_url = reverse("web:registry-house", args=[world.house_a.pk])
    assert house_url in building_page
    house_page = client.get(house_url).content.decode()
    assert reverse("web:registry-household", args=[world.household_a.pk]) in house_page
    person_url = reverse("web:registry-person", args=[world.person_a.pk])
    assert person_url in house_page and "王秀英" in house_page
    household_page = client.get(
        reverse("web:registry-household", args=[world.household_a.pk])
    ).content.decode()
    assert person_url in household_page


def test_roles_without_people_get_403_on_people_pages_but_see_buildings(cast, world, client):
    client.force_login(cast.operator)
    assert client.get(reverse("web:registry-building", args=[world.building_a.pk])).status_code == (
        200
    )
    for name, pk in (
        ("web:registry-person", world.person_a.pk),
        ("web:registry-house", world.house_a.pk),
        ("web:registry-household", world.household_a.pk),
    ):
        assert client.get(reverse(name, args=[pk])).status_code == 403
    client.force_login(cast.nobody)
    assert client.get(reverse("web:registry")).status_code == 403


def test_pages_need_a_login(world, client):
    response = client.get(reverse("web:registry-person", args=[world.person_a.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_person_page_masks_the_numbers_and_shows_tags_residency_and_history(
    cast, world, client
):
    client.force_login(cast.grid_worker_a)
    response = client.get(reverse("web:registry-person", args=[world.person_a.pk]))
    text = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert ID_A not in text and PHONE_A not in text
    assert world.person_a.id_number_masked in text and "138****5678" in text
    assert "独居老人" in text and "重点关爱户" in text  # tag and the household's care class
    assert "府右街南胡同3号院1号楼" in text  # where he lives
    assert "timeline-item" in text  # the registration event
    assert "unmask-reason" not in text  # a grid worker may not unmask


def test_a_community_officer_unmasks_with_a_reason_and_leaves_an_audit_row(cast, world, client):
    client.force_login(cast.community_officer)
    url = reverse("web:registry-person", args=[world.person_a.pk])
    assert "unmask-reason" in client.get(url).content.decode()

    short = client.post(url, {"field": "id_number", "reason": "看"})
    assert short.status_code == 400 and ID_A not in short.content.decode()
    assert not AuditLog.objects.filter(action="pii.unmask").exists()

    shown = client.post(url, {"field": "id_number", "reason": "办理居住证核验"})
    assert shown.status_code == 200
    assert ID_A in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    row = AuditLog.objects.get(action="pii.unmask")
    assert row.actor == cast.community_officer
    assert row.target_id == str(world.person_a.pk)
    assert row.details["reason"] == "办理居住证核验"

    phone = client.post(url, {"field": "phone", "reason": "联系本人核实"})
    assert PHONE_A in phone.content.decode() and ID_A not in phone.content.decode()


def test_a_grid_worker_cannot_unmask_by_posting(cast, world, client):
    client.force_login(cast.grid_worker_a)
    url = reverse("web:registry-person", args=[world.person_a.pk])
    response = client.post(url, {"field": "id_number", "reason": "办理居住证核验"})
    assert response.status_code == 403
    assert ID_A not in response.content.decode()
    assert not AuditLog.objects.filter(action="pii.unmask").exists()


def test_unmasking_someone_of_another_grid_is_404(cast, world, client):
    client.force_login(cast.other_community_officer)
    url = reverse("web:registry-person", args=[world.person_a.pk])
    response = client.post(url, {"field": "id_number", "reason": "办理居住证核验"})
    assert response.status_code == 404
    assert not AuditLog.objects.filter(action="pii.unmask").exists()


def search(client, **data):
    return client.post(reverse("web:registry-search"), data)


def test_search_by_name_id_suffix_phone_and_address_stays_in_scope(cast, world, client):
    client.force_login(cast.grid_worker_a)
    person_url = reverse("web:registry-person", args=[world.person_a.pk])
    other_url = reverse("web:registry-person", args=[world.person_b.pk])

    by_name = search(client, name="王秀").content.decode()
    assert person_url in by_name
    by_suffix = search(client, id_suffix=ID_A[-4:]).content.decode()
    assert person_url in by_suffix and ID_A not in by_suffix
    by_phone = search(client, phone="+86 138-1234-5678").content.decode()
    assert person_url in by_phone and PHONE_A not in by_phone
    assert person_url not in search(client, phone="13812345679").content.decode()
    by_address = search(client, address="府右街南胡同").content.decode()
    assert reverse("web:registry-building", args=[world.building_a.pk]) in by_address

    # The other grid's resident is not found, by any key.
    assert other_url not in search(client, name="李建国").content.decode()
    assert (
        reverse("web:registry-building", args=[world.building_b.pk])
        not in search(client, address="新街口").content.decode()
    )


def test_search_by_phone_is_not_taken_from_the_url_and_bad_input_is_a_field_error(
    cast, world, client
):
    client.force_login(cast.grid_worker_a)
    get = client.get(reverse("web:registry-search"), {"phone": PHONE_A})
    assert reverse("web:registry-person", args=[world.person_a.pk]) not in get.content.decode()
    bad = search(client, id_suffix="12")
    assert bad.status_code == 400
    assert "002X" in bad.content.decode()  # the field's hint
    assert search(client).status_code == 400


def test_the_components_geojson_is_scoped_and_filtered(cast, world, client):
    url = reverse("web:registry-components-geojson")
    client.force_login(cast.grid_worker_a)
    body = client.get(url).json()
    assert body["type"] == "FeatureCollection"
    ids = {f["properties"]["component_id"] for f in body["features"]}
    assert ids == {world.component_a.component_id}
    feature = body["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": list(IN_GRID_A)}

    client.force_login(cast.commander)
    assert len(client.get(url).json()["features"]) == 2
    damaged = client.get(url, {"status": "damaged"}).json()["features"]
    assert [f["properties"]["component_id"] for f in damaged] == [world.component_b.component_id]
    west = client.get(url, {"bbox": "116.30,39.90,116.35,39.94"}).json()["features"]
    assert [f["properties"]["component_id"] for f in west] == [world.component_a.component_id]
    assert client.get(url, {"bbox": "north"}).status_code == 400

    client.force_login(cast.nobody)
    assert client.get(url).status_code == 403


def test_the_components_map_page_and_the_nav_link(cast, world, client):
    client.force_login(cast.grid_worker_a)
    text = client.get(reverse("web:registry-components")).content.decode()
    assert "web/registry.js" in text and "registry-i18n" in text
    assert f'href="{reverse("web:registry")}"' in text  # the nav link
