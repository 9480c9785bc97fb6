"""The resident's lifecycle services: each event one transaction with history and audit rows."""

from datetime import date

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from wangge.core import pii
from wangge.core.errors import ConflictError, InvalidInputError
from wangge.core.models import AuditLog
from wangge.registry import lifecycle
from wangge.registry.models import Household, Person, PersonEvent, Residency
from wangge.registry.tests import factories as f

ID_NUMBER = "11010519491231002X"
NOON = "2026-03-10 12:00+08:00"


def events(person, action=None):
    rows = PersonEvent.objects.filter(person=person).order_by("id")
    return [e.action for e in (rows.filter(action=action) if action else rows)]


@pytest.mark.django_db
def test_registering_seals_the_numbers_and_derives_birth_date_and_sex(cast):
    registration = f.register(
        id_number="11010519491231002x", phone="+86 138-1234-5678", actor=cast.grid_worker_a
    )
    person = registration.person

    assert registration.created
    assert (person.birth_date, person.sex) == (date(1949, 12, 31), "female")
    assert person.id_number_masked == "110105********002X"
    assert person.id_number_suffix == "002X"
    assert person.phone_masked == "138****5678"
    assert pii.decrypt(person.id_number_encrypted, purpose="resident_id") == ID_NUMBER
    assert person.id_number_hash == pii.lookup_hash(ID_NUMBER, purpose="resident_id")
    assert person.region_code == f.GRID_A
    assert events(person) == ["registered"]
    audit = AuditLog.objects.get(action="registry.person_register")
    assert audit.actor == cast.grid_worker_a
    assert audit.details["id_number"] == "110105********002X"
    assert registration.residency.registered_by == cast.grid_worker_a


@pytest.mark.django_db
def test_the_fifteen_digit_form_is_upgraded_and_hashes_like_the_eighteen(territory):
    old_form = "110105491231002"  # 1949-12-31, sequence 002 (female)
    person = f.register(id_number=old_form).person

    assert person.id_number_masked == "110105********002X"
    assert person.id_number_hash == pii.lookup_hash(ID_NUMBER, purpose="resident_id")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "check digit should be X, not 1"),
        ("110105194913310021", "birth date 19491331 is not a date"),
        ("11010519491231", "must have 18 characters (or 15 for the old form), not 14"),
        (f.resident_id(area="000000"), "the first six digits 000000 are not an area code"),
    ],
)
def test_a_bad_id_number_is_a_field_error_naming_the_reason(territory, number, reason):
    with pytest.raises(InvalidInputError) as caught:
        f.register(id_number=number)

    assert list(caught.value.errors) == ["id_number"]
    assert reason in caught.value.errors["id_number"][0]
    assert number not in str(caught.value.errors)
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_a_birth_date_that_contradicts_the_id_number_is_refused(territory):
    with pytest.raises(InvalidInputError) as caught:
        f.register(id_number=ID_NUMBER, birth_date=date(1950, 1, 1), sex="male")

    assert set(caught.value.errors) == {"birth_date", "sex"}


@pytest.mark.django_db
def test_a_person_without_id_keeps_the_entered_birth_date(territory):
    person = f.register(id_number="", birth_date=date(2020, 5, 1), sex="male").person

    assert (person.birth_date, person.sex, person.id_number_masked) == (
        date(2020, 5, 1),
        "male",
        "",
    )


@pytest.mark.django_db
def test_a_passport_is_sealed_without_a_searchable_suffix(territory):
    person = f.register(id_type="passport", id_number="e12345678").person

    assert person.id_number_masked == "E1*****78"
    assert person.id_number_suffix == ""
    assert person.birth_date is None


@pytest.mark.django_db
def test_registering_a_known_id_number_adds_a_residency_to_the_same_person(territory):
    first = f.register(id_number=ID_NUMBER, name="李 四")
    elsewhere = f.house(grid_code=f.GRID_B)

    second = f.register(elsewhere, id_number=ID_NUMBER.lower(), name="李四", relation="tenant")

    assert not second.created
    assert second.person.pk == first.person.pk
    assert Person.objects.count() == 1
    assert second.person.residencies.count() == 2
    # The latest move-in is home now.
    assert Person.objects.get().region_code == f.GRID_B
    assert events(first.person) == ["registered", "moved_in"]


@pytest.mark.django_db
def test_a_known_id_number_under_another_name_is_refused(territory):
    f.register(id_number=ID_NUMBER, name="李四")

    with pytest.raises(InvalidInputError) as caught:
        f.register(id_number=ID_NUMBER, name="王五")

    assert "name" in caught.value.errors
    assert Residency.objects.count() == 1


@pytest.mark.django_db
def test_registering_twice_at_the_same_house_is_a_conflict(territory):
    home = f.house()
    f.register(home, id_number=ID_NUMBER)

    with pytest.raises(ConflictError):
        f.register(home, id_number=ID_NUMBER)


@pytest.mark.django_db
def test_a_floating_resident_needs_the_moving_in_date(territory):
    with pytest.raises(InvalidInputError) as caught:
        f.register(residency_type="floating", moved_in_on=None)

    assert list(caught.value.errors) == ["moved_in_on"]


@pytest.mark.django_db
def test_the_database_keeps_one_active_record_per_id_hash(territory):
    person = f.register(id_number=ID_NUMBER).person
    copy = Person(
        name="复制",
        residency_type="registered",
        region_code=f.GRID_A,
        id_number_encrypted=person.id_number_encrypted,
        id_number_hash=person.id_number_hash,
        id_number_masked=person.id_number_masked,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()


@pytest.mark.django_db
def test_registration_lag_is_measured_from_the_moving_in_date(territory):
    with time_machine.travel(NOON, tick=False):
        late = f.register(residency_type="floating", moved_in_on=date(2026, 3, 6)).residency
        pending = f.register(
            residency_type="floating", moved_in_on=date(2026, 3, 9), registered=False
        ).residency

    assert late.registration_lag_days == 4
    assert (pending.registered_at, pending.registration_lag_days) == (None, None)
    with time_machine.travel("2026-03-12 09:00+08:00", tick=False):
        done = lifecycle.residency_register(residency=pending, actor=None)
    assert done.registration_lag_days == 3
    assert events(done.person) == ["registered", "registration_completed"]
    with pytest.raises(ConflictError):
        lifecycle.residency_register(residency=pending, actor=None)


@pytest.mark.django_db
def test_move_out_then_deregister_records_the_lag_and_moves_the_home(cast):
    first_home = f.house(grid_code=f.GRID_A)
    with time_machine.travel("2025-06-01 10:00+08:00", tick=False):
        registration = f.register(first_home, moved_in_on=date(2025, 5, 30))
    person = registration.person
    with time_machine.travel(NOON, tick=False):
        new_home = lifecycle.residency_move_in(
            person=person,
            house=f.house(grid_code=f.GRID_B),
            relation="tenant",
            moved_in_on=date(2026, 3, 1),
            actor=cast.grid_worker_b,
        )
        person.refresh_from_db()
        assert person.region_code == f.GRID_B
        lifecycle.residency_move_out(
            residency=registration.residency, moved_out_on=date(2026, 3, 1), actor=None
        )
    with time_machine.travel("2026-03-20 10:00+08:00", tick=False):
        closed = lifecycle.residency_deregister(
            residency=registration.residency, reason="moved_away", actor=cast.grid_worker_a
        )

    assert closed.moved_out_on == date(2026, 3, 1)
    assert closed.deregistration_lag_days == 19
    assert closed.deregistration_reason == "moved_away"
    assert new_home.deregistered_at is None
    assert events(person) == ["registered", "moved_in", "moved_out", "deregistered"]
    with pytest.raises(ConflictError):
        lifecycle.residency_deregister(
            residency=registration.residency, reason="moved_away", actor=None
        )


@pytest.mark.django_db
def test_deregistering_a_departure_needs_its_date_but_an_error_does_not(territory):
    residency = f.register().residency

    with pytest.raises(InvalidInputError) as caught:
        lifecycle.residency_deregister(residency=residency, reason="moved_away", actor=None)
    assert list(caught.value.errors) == ["moved_out_on"]

    closed = lifecycle.residency_deregister(residency=residency, reason="error", actor=None)
    assert (closed.moved_out_on, closed.deregistration_lag_days) == (None, None)


@pytest.mark.django_db
def test_dates_in_the_future_or_out_before_in_are_refused(territory):
    with time_machine.travel(NOON, tick=False):
        residency = f.register(moved_in_on=date(2026, 3, 1)).residency
        for day in (date(2026, 3, 11), date(2026, 2, 28)):
            with pytest.raises(InvalidInputError):
                lifecycle.residency_move_out(residency=residency, moved_out_on=day, actor=None)


@pytest.mark.django_db
def test_residency_type_changes_with_history(territory):
    person = f.register(residency_type="floating", moved_in_on=date(2025, 1, 1)).person

    lifecycle.person_change_residency_type(
        person=person, residency_type="resident", reason="居住满半年", actor=None
    )

    person.refresh_from_db()
    assert person.residency_type == "resident"
    event = PersonEvent.objects.get(action="residency_type_changed")
    assert event.details == {"from": "floating", "to": "resident"}
    assert event.reason == "居住满半年"
    with pytest.raises(InvalidInputError):
        lifecycle.person_change_residency_type(person=person, residency_type="resident", actor=None)


@pytest.mark.django_db
def test_a_residence_permit_is_sealed_issued_and_renewed(territory):
    residency = f.register(residency_type="floating", moved_in_on=date(2025, 1, 1)).residency
    permit = f.resident_id(area="420502")

    with time_machine.travel(NOON, tick=False):
        issued = lifecycle.residency_issue_permit(
            residency=residency,
            permit_number=permit,
            issued_on=date(2025, 4, 1),
            expires_on=date(2026, 3, 31),
            actor=None,
        )
        assert issued.permit_valid_on(date(2026, 3, 10))
        renewed = lifecycle.residency_renew_permit(
            residency=issued, expires_on=date(2027, 3, 31), actor=None
        )

    assert issued.permit_number_masked == f"420502********{permit[-4:]}"
    assert permit not in issued.permit_number_encrypted
    assert not renewed.permit_valid_on(date(2027, 4, 1))
    assert events(residency.person)[-2:] == ["permit_issued", "permit_renewed"]
    with pytest.raises(InvalidInputError):
        lifecycle.residency_renew_permit(residency=renewed, expires_on=date(2027, 1, 1), actor=None)


@pytest.mark.django_db
def test_registered_residents_get_no_residence_permit(territory):
    residency = f.register(residency_type="registered").residency

    with pytest.raises(InvalidInputError) as caught:
        lifecycle.residency_issue_permit(
            residency=residency,
            permit_number="AB1234567",
            issued_on=date(2025, 1, 1),
            expires_on=date(2026, 1, 1),
            actor=None,
        )
    assert "residency_type" in caught.value.errors


@pytest.mark.django_db
def test_merging_moves_residencies_tags_and_headship_and_keeps_both_histories(territory):
    home = f.house()
    survivor = f.register(home, name="赵六", id_number="", birth_date=date(1980, 1, 1)).person
    household = f.household(home, head=survivor)
    other_home = f.house(grid_code=f.GRID_B)
    duplicate_reg = f.register(
        other_home,
        name="赵六",
        id_number=f.resident_id(date(1980, 1, 1)),
        phone="13900001111",
        tags=[f.tag("disabled")],
        relation="tenant",
    )
    duplicate = duplicate_reg.person
    same_house = lifecycle.residency_move_in(
        person=duplicate, house=home, relation="family", actor=None
    )
    Household.objects.filter(pk=household.pk).update(head=duplicate)

    merged = lifecycle.person_merge(
        survivor=survivor, duplicate=duplicate, reason="同一人重复录入", actor=None
    )

    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id) == ("merged", survivor.pk)
    assert merged.id_number_hash == duplicate.id_number_hash
    assert merged.phone_masked == "139****1111"
    assert [t.code for t in merged.tags.all()] == ["disabled"]
    assert Household.objects.get().head_id == survivor.pk
    moved = Residency.objects.get(pk=duplicate_reg.residency.pk)
    assert moved.person_id == survivor.pk
    closed = Residency.objects.get(pk=same_house.pk)
    assert (closed.person_id, closed.deregistration_reason) == (duplicate.pk, "merged")
    assert events(survivor)[-1] == "merged"
    assert events(duplicate) == ["registered", "moved_in", "merged_into"]
    # The duplicate's ID number now belongs to the survivor: registering it finds him.
    assert not f.register(f.house(), id_number=_id_of(merged), name="赵六").created


def _id_of(person):
    return pii.decrypt(person.id_number_encrypted, purpose="resident_id")


@pytest.mark.django_db
def test_two_records_with_different_id_numbers_are_not_merged(territory):
    a = f.register(name="孙七").person
    b = f.register(name="孙七").person

    with pytest.raises(InvalidInputError) as caught:
        lifecycle.person_merge(survivor=a, duplicate=b, reason="看起来一样", actor=None)

    assert "duplicate" in caught.value.errors
    b.refresh_from_db()
    assert b.status == "active"


@pytest.mark.django_db
def test_correcting_the_id_number_to_one_another_record_has_is_a_conflict(cast):
    taken = f.register(id_number=ID_NUMBER).person
    person = f.register(name="周八", id_number="").person

    with pytest.raises(ConflictError) as caught:
        lifecycle.person_update(
            person=person,
            changes={"id_number": ID_NUMBER},
            actor=None,
            other_visible=lambda pk: True,
        )

    assert caught.value.current == {"person_id": taken.pk}
    person.refresh_from_db()
    assert person.id_number_hash == ""


@pytest.mark.django_db
def test_updating_details_records_masked_numbers_only(territory):
    person = f.register(id_number="", phone="13800000000").person

    lifecycle.person_update(
        person=person,
        changes={"id_number": ID_NUMBER, "phone": "13912345678", "ethnicity": "回", "name": "吴九"},
        actor=None,
    )

    person.refresh_from_db()
    assert (person.name, person.ethnicity, person.birth_date) == (
        "吴九",
        "回族",
        date(1949, 12, 31),
    )
    event = PersonEvent.objects.get(action="updated")
    assert event.details["id_number"] == {"from": "", "to": "110105********002X"}
    assert event.details["phone"] == {"from": "138****0000", "to": "139****5678"}
    assert ID_NUMBER not in str(event.details) and "13912345678" not in str(event.details)
    assert not any(name.endswith(("_hash", "_encrypted")) for name in event.details["fields"])


@pytest.mark.django_db
def test_a_resident_id_fixes_birth_date_and_sex(territory):
    person = f.register(id_number=ID_NUMBER).person

    with pytest.raises(InvalidInputError) as caught:
        lifecycle.person_update(person=person, changes={"birth_date": date(1950, 1, 1)}, actor=None)
    assert list(caught.value.errors) == ["birth_date"]


@pytest.mark.django_db
def test_tags_set_the_household_care_class(territory):
    home = f.house()
    head = f.register(home).person
    household = f.household(home, head=head)
    assert household.care_class.code == "routine"

    elder = f.register(home, household=household, tags=[f.tag("lonely_elderly")]).residency
    household.refresh_from_db()
    assert (household.care_class.code, household.care_class.visit_interval_days) == ("key", 7)

    lifecycle.residency_move_out(residency=elder, moved_out_on=timezone.localdate(), actor=None)
    household.refresh_from_db()
    assert household.care_class.code == "routine"

    lifecycle.person_update(person=head, changes={"tags": [f.tag("disabled")]}, actor=None)
    household.refresh_from_db()
    assert household.care_class.code == "attention"


@pytest.mark.django_db
def test_moving_a_building_to_another_grid_moves_its_rows(territory):
    from wangge.registry import services
    from wangge.testing.factories import grid

    home = f.house(grid_code=f.GRID_A)
    person = f.register(home).person
    household = f.household(home, head=person)

    services.building_update(
        building=home.building, changes={}, grid=grid("110102001001002"), actor=None
    )

    for row in (home, person, household, person.residencies.get()):
        row.refresh_from_db()
        assert row.region_code == "110102001001002"
