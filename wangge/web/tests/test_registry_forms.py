"""The resident lifecycle forms on the registry pages: a valid post writes the row, the person's
history and the audit row, then redirects; an invalid one shows every field's message in Chinese and
writes nothing; only the roles with the API's permissions get the forms, inside their scope."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from wangge.core.models import AuditLog
from wangge.registry.models import Person, PersonEvent, Residency
from wangge.registry.tests.factories import GRID_A, GRID_B, house, register, resident_id, tag
from wangge.testing.factories import make_user

pytestmark = pytest.mark.django_db

NEW_ID = resident_id(date(1990, 6, 15), sequence=417)
NEW_PHONE = "13912345678"


@pytest.fixture
def house_a(cast):
    return house(grid_code=GRID_A)


@pytest.fixture
def residency_a(house_a):
    return register(house_a, name="王建军", moved_in_on=date(2024, 1, 1)).residency


def _html(response) -> str:
    return response.content.decode()


def _audit(action: str) -> int:
    return AuditLog.objects.filter(action=action).count()


# Register --------------------------------------------------------------------------------------


def test_a_valid_registration_writes_the_person_sealed_with_history_and_audit_then_redirects(
    cast, house_a, client
):
    client.force_login(cast.grid_worker_a)
    url = reverse("web:registry-person-register", args=[house_a.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "name": "赵敏",
            "id_type": "resident_id",
            "id_number": NEW_ID,
            "phone": NEW_PHONE,
            "residency_type": "floating",
            "relation": "tenant",
            "moved_in_on": (timezone.localdate() - timedelta(days=1)).isoformat(),
            "registered": "on",
            "tags": [tag("lonely_elderly").pk],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("web:registry-house", args=[house_a.pk])
    person = Person.objects.get(name="赵敏")
    assert person.id_number_masked.endswith(NEW_ID[-4:]) and "*" in person.id_number_masked
    assert person.id_number_hash and NEW_ID not in person.id_number_encrypted
    assert person.phone_hash and "*" in person.phone_masked
    assert person.birth_date == date(1990, 6, 15)  # taken from the ID number
    assert list(person.tags.values_list("code", flat=True)) == ["lonely_elderly"]
    residency = Residency.objects.get(person=person)
    assert residency.house == house_a and residency.registered_at is not None
    assert PersonEvent.objects.filter(person=person, action="registered").exists()
    entry = AuditLog.objects.get(action="registry.person_register", target_id=str(person.pk))
    assert entry.actor == cast.grid_worker_a
    assert NEW_ID not in str(entry.details)
    followed = client.get(response["Location"])
    assert "赵敏" in _html(followed)


def test_an_invalid_registration_shows_every_field_error_in_chinese_and_writes_nothing(
    cast, house_a, client
):
    client.force_login(cast.grid_worker_a)
    people, audits = Person.objects.count(), AuditLog.objects.count()
    bad_id = NEW_ID[:-1] + ("0" if NEW_ID[-1] != "0" else "1")  # wrong check digit
    response = client.post(
        reverse("web:registry-person-register", args=[house_a.pk]),
        {
            "name": "",
            "id_type": "resident_id",
            "id_number": bad_id,
            "phone": "12",
            "residency_type": "floating",
            "relation": "tenant",
            "ethnicity": "火星族",
        },
    )
    assert response.status_code == 400
    html = _html(response)
    assert "请填写姓名。" in html
    assert "证件号码无效" in html
    assert "电话号码无效" in html
    assert html.count('class="field-error"') >= 4  # name, ID, phone, ethnic group
    assert bad_id not in html  # the typed ID number is not sent back
    assert (Person.objects.count(), AuditLog.objects.count()) == (people, audits)


def test_a_date_field_that_cannot_be_read_is_a_field_error_and_nothing_is_written(
    cast, house_a, client
):
    client.force_login(cast.grid_worker_a)
    people = Person.objects.count()
    response = client.post(
        reverse("web:registry-person-register", args=[house_a.pk]),
        {
            "name": "赵敏",
            "id_type": "resident_id",
            "residency_type": "nonsense",
            "relation": "tenant",
            "moved_in_on": "yesterday",
        },
    )
    assert response.status_code == 400
    assert _html(response).count('class="field-error"') == 2  # residency type, moved-in date
    assert Person.objects.count() == people


def test_only_roles_that_may_register_get_the_form_and_only_for_houses_in_their_scope(
    cast, house_a, client
):
    url = reverse("web:registry-person-register", args=[house_a.pk])
    street = make_user("street", role="street_officer", scope="110102001")
    assessor = make_user("assessor", role="assessor", scope="110102")
    for user in (cast.commander, street, assessor, cast.department_handler):
        client.force_login(user)
        assert client.get(url).status_code == 403, user.username
        assert client.post(url, {"name": "x"}).status_code == 403, user.username
    client.force_login(cast.grid_worker_b)  # may register, but not in grid A
    assert client.get(url).status_code == 404
    client.force_login(cast.community_officer)
    assert client.get(url).status_code == 200
    client.force_login(cast.grid_worker_a)
    house_page = _html(client.get(reverse("web:registry-house", args=[house_a.pk])))
    assert url in house_page
    client.force_login(cast.commander)
    house_page = _html(client.get(reverse("web:registry-house", args=[house_a.pk])))
    assert url not in house_page


def test_registering_a_known_id_number_moves_that_person_into_the_house(cast, client):
    first = house(grid_code=GRID_A)
    second = house(grid_code=GRID_A)
    person = register(first, name="钱多多", id_number=NEW_ID).person
    client.force_login(cast.grid_worker_a)
    response = client.post(
        reverse("web:registry-person-register", args=[second.pk]),
        {
            "name": "钱多多",
            "id_type": "resident_id",
            "id_number": NEW_ID,
            "residency_type": "registered",
            "relation": "owner",
            "registered": "on",
        },
    )
    assert response.status_code == 302
    assert Person.objects.filter(name="钱多多").count() == 1
    assert set(person.residencies.values_list("house_id", flat=True)) == {first.pk, second.pk}


# Move out, deregister, complete the registration ---------------------------------------------------


def test_recording_the_move_out_writes_the_date_history_and_audit(cast, residency_a, client):
    client.force_login(cast.grid_worker_a)
    url = reverse("web:registry-residency-move-out", args=[residency_a.pk])
    day = timezone.localdate() - timedelta(days=2)
    response = client.post(url, {"moved_out_on": day.isoformat()})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:registry-person", args=[residency_a.person_id])
    residency_a.refresh_from_db()
    assert residency_a.moved_out_on == day
    assert _audit("registry.residency_move_out") == 1


def test_a_move_out_in_the_future_is_a_field_error_and_nothing_changes(cast, residency_a, client):
    client.force_login(cast.grid_worker_a)
    future = timezone.localdate() + timedelta(days=3)
    response = client.post(
        reverse("web:registry-residency-move-out", args=[residency_a.pk]),
        {"moved_out_on": future.isoformat()},
    )
    assert response.status_code == 400
    assert "晚于今天" in _html(response)
    residency_a.refresh_from_db()
    assert residency_a.moved_out_on is None
    assert _audit("registry.residency_move_out") == 0


def test_deregistering_for_moving_away_needs_the_date_then_deregisters(cast, residency_a, client):
    client.force_login(cast.grid_worker_a)
    url = reverse("web:registry-residency-deregister", args=[residency_a.pk])
    response = client.post(url, {"reason": "moved_away"})
    assert response.status_code == 400
    assert "请填写迁出日期。" in _html(response)
    assert Residency.objects.get(pk=residency_a.pk).deregistered_at is None
    day = timezone.localdate() - timedelta(days=1)
    response = client.post(url, {"reason": "moved_away", "moved_out_on": day.isoformat()})
    assert response.status_code == 302
    residency_a.refresh_from_db()
    assert residency_a.deregistered_at is not None and residency_a.moved_out_on == day
    assert _audit("registry.residency_deregister") == 1
    again = client.post(url, {"reason": "moved_away", "moved_out_on": day.isoformat()})
    assert again.status_code == 409


def test_completing_a_reported_registration_from_the_person_page(cast, house_a, client):
    residency = register(
        house_a,
        residency_type="floating",
        moved_in_on=timezone.localdate() - timedelta(days=5),
        registered=False,
    ).residency
    client.force_login(cast.grid_worker_a)
    person_url = reverse("web:registry-person", args=[residency.person_id])
    action = reverse("web:registry-residency-register", args=[residency.pk])
    assert action in _html(client.get(person_url))
    assert client.get(action).status_code == 405
    response = client.post(action)
    assert response.status_code == 302 and response["Location"] == person_url
    residency.refresh_from_db()
    assert residency.registered_at is not None and residency.registration_lag_days == 5
    assert _audit("registry.residency_register") == 1


def test_residency_forms_are_for_the_roles_that_change_residencies_in_their_scope(
    cast, residency_a, client
):
    urls = [
        reverse("web:registry-residency-move-out", args=[residency_a.pk]),
        reverse("web:registry-residency-deregister", args=[residency_a.pk]),
    ]
    client.force_login(cast.commander)  # sees people, changes nothing
    for url in urls:
        assert client.get(url).status_code == 403
    assert (
        client.post(reverse("web:registry-residency-register", args=[residency_a.pk])).status_code
        == 403
    )
    person_page = _html(client.get(reverse("web:registry-person", args=[residency_a.person_id])))
    assert urls[0] not in person_page
    client.force_login(cast.grid_worker_b)
    for url in urls:
        assert client.get(url).status_code == 404


# Tags -------------------------------------------------------------------------------------------


def test_saving_the_tags_updates_them_with_history_and_audit(cast, residency_a, client):
    person = residency_a.person
    client.force_login(cast.grid_worker_a)
    url = reverse("web:registry-person-tags", args=[person.pk])
    assert url in _html(client.get(reverse("web:registry-person", args=[person.pk])))
    form = _html(client.get(url))
    assert "独居" in form or tag("lonely_elderly").name in form
    response = client.post(url, {"tags": [tag("lonely_elderly").pk]})
    assert response.status_code == 302
    assert list(person.tags.values_list("code", flat=True)) == ["lonely_elderly"]
    assert _audit("registry.person_update") == 1
    assert PersonEvent.objects.filter(person=person, action="updated").exists()


def test_an_unknown_tag_is_a_field_error_and_the_tags_stay(cast, residency_a, client):
    client.force_login(cast.grid_worker_a)
    response = client.post(
        reverse("web:registry-person-tags", args=[residency_a.person_id]), {"tags": ["999999"]}
    )
    assert response.status_code == 400
    assert 'class="field-error"' in _html(response)
    assert not residency_a.person.tags.exists()
    client.force_login(cast.commander)
    url = reverse("web:registry-person-tags", args=[residency_a.person_id])
    assert client.get(url).status_code == 403
    client.force_login(cast.grid_worker_b)
    assert client.get(url).status_code == 404


def test_the_forms_speak_chinese_and_show_no_codes(cast, residency_a, house_a, client):
    client.force_login(cast.grid_worker_a)
    for url in (
        reverse("web:registry-person-register", args=[house_a.pk]),
        reverse("web:registry-residency-deregister", args=[residency_a.pk]),
    ):
        html = _html(client.get(url))
        assert "moved_away" not in html.replace('value="moved_away"', "")
        for english in ("Register a resident", "Moved out on", "Residency type", "Deregister"):
            assert english not in html, (url, english)
    assert GRID_B not in html


# Move to another house ---------------------------------------------------------------------------


def test_moving_to_another_house_deregisters_here_and_moves_in_there_with_audit(
    cast, residency_a, client
):
    target = house(grid_code=GRID_A)
    client.force_login(cast.grid_worker_a)
    url = reverse("web:registry-residency-move", args=[residency_a.pk])
    assert url in _html(client.get(reverse("web:registry-person", args=[residency_a.person_id])))
    day = timezone.localdate() - timedelta(days=1)
    response = client.post(url, {"to_house": target.pk, "moved_on": day.isoformat()})
    assert response.status_code == 302
    residency_a.refresh_from_db()
    assert residency_a.deregistered_at is not None
    assert residency_a.deregistration_reason == "moved_away"
    new = Residency.objects.get(person=residency_a.person, house=target)
    assert new.moved_in_on == day and new.relation == residency_a.relation
    assert _audit("registry.residency_deregister") == 1
    assert _audit("registry.residency_move_in") == 1


def test_a_move_without_a_house_or_into_another_grid_is_refused_and_nothing_moves(
    cast, residency_a, client
):
    elsewhere = house(grid_code=GRID_B)
    client.force_login(cast.grid_worker_a)
    url = reverse("web:registry-residency-move", args=[residency_a.pk])
    form = _html(client.get(url))
    assert f'value="{residency_a.house_id}"' not in form  # not the house he lives in
    assert f'value="{elsewhere.pk}"' not in form  # nor one outside the scope
    for body in ({"moved_on": "2025-01-01"}, {"to_house": elsewhere.pk, "moved_on": ""}):
        response = client.post(url, body)
        assert response.status_code == 400
        assert _html(response).count('class="field-error"') >= 1
    residency_a.refresh_from_db()
    assert residency_a.deregistered_at is None
    assert _audit("registry.residency_deregister") == 0
    client.force_login(cast.commander)
    assert client.get(url).status_code == 403
