"""The data-quality and QR scan-rate pages, and the house page's QR code and star rating: who may
open them, what each role sees (its own area only; people only for the roles that look after
residents), in Chinese."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from wangge.core.models import User
from wangge.registry import qrcodes
from wangge.registry.models import House, Person
from wangge.registry.tests.factories import GRID_A, GRID_B, house, register, resident_id
from wangge.testing.factories import make_user

pytestmark = pytest.mark.django_db

QUALITY = reverse("web:registry-quality")
QR_STATS = reverse("web:registry-qr-stats")


@dataclass
class Planted:
    person_a: Person
    person_b: Person
    rented_a: House
    rented_b: House
    plain_a: House
    assessor: User
    street_officer: User


@pytest.fixture
def planted(cast) -> Planted:
    week_ago = timezone.localdate() - timedelta(days=7)
    rented_a = house(grid_code=GRID_A, rented=True)
    rented_b = house(grid_code=GRID_B, rented=True)
    # Floating residents whose move-in was reported a week ago and never registered: flagged.
    person_a = register(
        rented_a,
        name="甲流入",
        id_number=resident_id(sequence=311),
        residency_type="floating",
        relation="tenant",
        moved_in_on=week_ago,
        registered=False,
    ).person
    person_b = register(
        rented_b,
        name="乙流入",
        residency_type="floating",
        relation="tenant",
        moved_in_on=week_ago,
        registered=False,
    ).person
    qrcodes.house_scan_log(house=rented_a, user=cast.grid_worker_a)
    cast.grid_worker_a.first_name = "张网格"
    cast.grid_worker_a.save(update_fields=["first_name"])
    return Planted(
        person_a=person_a,
        person_b=person_b,
        rented_a=rented_a,
        rented_b=rented_b,
        plain_a=house(grid_code=GRID_A),
        assessor=make_user("assessor", role="assessor", scope="110102"),
        street_officer=make_user("street", role="street_officer", scope="110102001"),
    )


def _text(response) -> str:
    return response.content.decode()


# Data quality -----------------------------------------------------------------------------------


def test_a_grid_worker_sees_his_grids_flagged_records_masked_and_linked_and_not_the_other_grid(
    cast, planted, client
):
    client.force_login(cast.grid_worker_a)
    response = client.get(QUALITY, {"flag": "unregistered"})
    assert response.status_code == 200
    html = _text(response)
    assert "数据质量" in html
    assert "流入未登记超过2天" in html
    assert reverse("web:registry-person", args=[planted.person_a.pk]) in html
    assert planted.person_a.id_number_masked in html
    assert reverse("web:registry-house", args=[planted.rented_a.pk]) in html
    assert "乙流入" not in html
    assert GRID_B not in html
    assert response["Cache-Control"] == "no-store"


def test_the_report_counts_per_grid_with_its_worker_and_per_worker(cast, planted, client):
    client.force_login(cast.commander)
    html = _text(client.get(QUALITY))
    assert GRID_A in html and GRID_B in html
    assert "张网格" in html  # grid A's worker, in the grid row and in the worker table
    assert "worker_b" in html
    rows = [line for line in html.splitlines() if 'class="report-total has-count' in line]
    assert rows, "a flag with records is shown as a non-zero total"


def test_the_assessor_sees_the_figures_of_the_district_but_not_the_people_behind_them(
    cast, planted, client
):
    client.force_login(planted.assessor)
    response = client.get(QUALITY, {"flag": "unregistered"})
    assert response.status_code == 200
    html = _text(response)
    assert GRID_A in html and GRID_B in html
    assert "甲流入" not in html and "乙流入" not in html
    assert planted.person_a.id_number_masked not in html
    assert "负责居民的角色" in html


def test_a_grid_outside_the_users_scope_is_a_field_error(cast, planted, client):
    client.force_login(cast.grid_worker_a)
    response = client.get(QUALITY, {"grid": GRID_B})
    assert response.status_code == 400
    assert 'class="field-error"' in _text(response)
    assert "乙流入" not in _text(response)


@pytest.mark.parametrize("url", [QUALITY, QR_STATS])
def test_roles_without_the_data_quality_permission_get_403_and_visitors_the_login(
    cast, planted, client, url
):
    for user in (cast.department_handler, cast.operator, cast.admin, cast.nobody):
        client.force_login(user)
        assert client.get(url).status_code == 403, user.username
    client.logout()
    assert client.get(url).status_code == 302


# QR scan rate -----------------------------------------------------------------------------------


def test_the_scan_rate_page_shows_the_workers_grid_with_its_period_and_not_the_other(
    cast, planted, client
):
    client.force_login(cast.grid_worker_a)
    response = client.get(QR_STATS)
    assert response.status_code == 200
    html = _text(response)
    today = timezone.localdate()
    assert today.replace(day=1).isoformat() in html and today.isoformat() in html
    assert GRID_A in html and GRID_B not in html
    assert "100%" in html  # his one rented house was scanned


def test_the_scan_rate_per_community_and_below_the_target_for_the_commander(cast, planted, client):
    client.force_login(cast.commander)
    html = _text(client.get(QR_STATS))
    assert "110102001001" in html and "110102003002" in html
    assert "below-target" in html  # grid B's rented house was not scanned


def test_a_period_that_ends_before_it_starts_is_a_field_error(cast, planted, client):
    client.force_login(cast.commander)
    response = client.get(QR_STATS, {"since": "2026-03-10", "until": "2026-03-01"})
    assert response.status_code == 400
    assert "开始" in _text(response) or "field-error" in _text(response)


# The house page: QR code and star rating; the registry's sub-navigation ---------------------------


def test_a_rented_houses_page_shows_its_qr_code_and_star_rating(cast, planted, client):
    client.force_login(cast.grid_worker_a)
    html = _text(client.get(reverse("web:registry-house", args=[planted.rented_a.pk])))
    qr_url = reverse("api:house-qr", args=[planted.rented_a.pk])
    assert f"{qr_url}?kind=svg" in html
    assert f"{reverse('web:registry-qr-labels')}?ids={planted.rented_a.pk}" in html
    assert "星级评定" in html or "一户一评" in html
    image = client.get(qr_url, {"kind": "svg"})
    assert image.status_code == 200 and image["Content-Type"] == "image/svg+xml"


def test_a_house_not_rented_has_no_qr_panel(cast, planted, client):
    client.force_login(cast.grid_worker_a)
    html = _text(client.get(reverse("web:registry-house", args=[planted.plain_a.pk])))
    assert reverse("api:house-qr", args=[planted.plain_a.pk]) not in html


def test_the_registry_home_links_the_tools_each_role_may_open(cast, planted, client):
    client.force_login(cast.grid_worker_a)
    html = _text(client.get(reverse("web:registry")))
    for name in (
        "web:registry-quality",
        "web:registry-qr-stats",
        "web:registry-qr-labels",
        "web:mobile-self-registrations",
        "web:ledgers",
    ):
        assert reverse(name) in html, name
    client.force_login(cast.department_handler)  # sees buildings, not people or figures
    html = _text(client.get(reverse("web:registry")))
    assert reverse("web:registry-quality") not in html
    assert reverse("web:mobile-self-registrations") not in html
