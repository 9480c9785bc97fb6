"""Dispatch to a person: only people who work where the case is, closest first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from wangge.cases.dispatch import eligible_people
from wangge.cases.tests.factories import act, category, department, report
from wangge.core.errors import InvalidInputError
from wangge.testing.factories import client_for, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def accepted(cast):
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    return case


def test_the_grid_worker_comes_before_the_community_officer(cast, accepted):
    street = make_user("street_officer_a", role="street_officer", scope="110102001")
    people = list(eligible_people(accepted))
    assert people == [cast.grid_worker_a, cast.community_officer, street]


def test_people_elsewhere_without_a_field_role_or_inactive_are_not_offered(cast, accepted):
    idle = make_user("idle_worker", role="grid_worker", scope="110102001001001")
    idle.is_active = False
    idle.save()
    offered = set(eligible_people(accepted))
    assert cast.grid_worker_b not in offered  # another street's grid
    assert cast.other_community_officer not in offered
    assert cast.department_handler not in offered  # a department works through dispatch to it
    assert cast.commander not in offered
    assert idle not in offered


def test_dispatch_to_someone_not_offered_is_refused_and_changes_nothing(cast, accepted):
    for username in ("worker_b", "handler", "nobody", "no_such_user"):
        with pytest.raises(InvalidInputError) as caught:
            act(accepted, "dispatch", cast.commander, user=username)
        assert "user" in caught.value.errors
    accepted.refresh_from_db()
    assert accepted.state == "accepted"
    updated = act(accepted, "dispatch", cast.commander, user="worker_a")
    assert updated.state == "dispatched" and updated.owner_user == cast.grid_worker_a


def test_the_dispatch_options_api_offers_the_matrix_departments_and_people(cast):
    item = category("T0201")
    department("shizheng", rule_for=item)
    department("yuanlin")
    case = report(cast.grid_worker_a, cat=item)
    url = reverse("api:case-dispatch-options", args=[case.number])
    body = client_for(cast.commander).get(url).json()
    assert body["suggested_department"] == "shizheng"
    assert [d["code"] for d in body["departments"]] == ["shizheng", "yuanlin"]
    assert [p["username"] for p in body["people"]] == ["worker_a", "officer_a"]
    assert client_for(cast.other_community_officer).get(url).status_code == 404


def test_the_console_dialog_lists_the_people(cast, accepted, client):
    client.force_login(cast.commander)
    page = client.get(reverse("web:console-case", args=[accepted.number])).content.decode()
    assert 'value="worker_a"' in page
    assert 'value="worker_b"' not in page
