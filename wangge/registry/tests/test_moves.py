"""Moving a resident between houses (and grids) as one operation; house capacity."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from wangge.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from wangge.proof.workload import serialization_failure
from wangge.registry import lifecycle
from wangge.registry.models import House, PersonEvent, Residency
from wangge.registry.moves import current_occupants, resident_move
from wangge.registry.tests import factories as f
from wangge.testing.factories import make_user

pytestmark = pytest.mark.django_db
GRID_A2 = "110102001001002"  # same community as grid A


def house(grid_code: str = f.GRID_A, capacity: int | None = None) -> House:
    made = f.house(grid_code=grid_code)
    if capacity is not None:
        House.objects.filter(pk=made.pk).update(capacity=capacity)
        made.capacity = capacity
    return made


def yesterday() -> date:
    return timezone.localdate() - timedelta(days=1)


def test_a_move_closes_the_old_residency_opens_the_new_one_and_moves_the_home_grid(cast):
    old_house = f.house(grid_code=f.GRID_A)
    new_house = house(GRID_A2, capacity=2)
    registration = f.register(old_house, moved_in_on=date(2020, 5, 1))
    move = resident_move(
        residency_id=registration.residency.pk,
        to_house_id=new_house.pk,
        moved_on=yesterday(),
        actor=cast.community_officer,
    )
    old = Residency.objects.get(pk=registration.residency.pk)
    assert old.moved_out_on == yesterday() and old.deregistration_reason == "moved_away"
    assert move.new.house == new_house and move.new.is_current and move.new.relation == "owner"
    assert (move.from_grid, move.to_grid) == (f.GRID_A, GRID_A2)
    person = registration.person
    person.refresh_from_db()
    assert person.region_code == GRID_A2
    actions = list(
        PersonEvent.objects.filter(person=person).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["registered", "deregistered", "moved_in"]
    assert current_occupants(new_house) == 1 and current_occupants(old_house) == 0


def test_a_full_house_refuses_and_nothing_changes(cast):
    full = house(GRID_A2, capacity=1)
    f.register(full)
    registration = f.register(f.house(grid_code=f.GRID_A))
    with pytest.raises(ConflictError, match="full") as caught:
        resident_move(
            residency_id=registration.residency.pk,
            to_house_id=full.pk,
            moved_on=yesterday(),
            actor=cast.community_officer,
        )
    assert caught.value.current == {"capacity": 1, "occupants": 1}
    assert Residency.objects.get(pk=registration.residency.pk).is_current
    assert current_occupants(full) == 1


def test_a_house_without_capacity_takes_anyone(cast):
    open_house = f.house(grid_code=GRID_A2)
    assert House.objects.get(pk=open_house.pk).capacity is None
    for _ in range(3):
        f.register(open_house)
    registration = f.register(f.house())
    resident_move(
        residency_id=registration.residency.pk,
        to_house_id=open_house.pk,
        moved_on=yesterday(),
        actor=cast.community_officer,
    )
    assert current_occupants(open_house) == 4


def test_scope_and_permission_decide_who_may_move_whom(cast):
    registration = f.register(f.house(grid_code=f.GRID_A))
    elsewhere = f.house(grid_code=f.GRID_B)
    with pytest.raises(NotFoundError):  # grid B is outside the worker's and the officer's scope
        resident_move(
            residency_id=registration.residency.pk,
            to_house_id=elsewhere.pk,
            moved_on=yesterday(),
            actor=cast.grid_worker_a,
        )
    with pytest.raises(PermissionDeniedError):
        resident_move(
            residency_id=registration.residency.pk,
            to_house_id=elsewhere.pk,
            moved_on=yesterday(),
            actor=cast.commander,  # sees everything, may not write the registry
        )
    district_worker = make_user("district_registrar", role="community_officer", scope="110102")
    resident_move(
        residency_id=registration.residency.pk,
        to_house_id=elsewhere.pk,
        moved_on=yesterday(),
        actor=district_worker,
    )


def test_bad_input_and_ended_residencies_are_refused(cast):
    house = f.house()
    registration = f.register(house, moved_in_on=date(2024, 1, 1))
    target = f.house(grid_code=GRID_A2)
    cases = [
        ({"to_house_id": house.pk, "moved_on": yesterday()}, "to_house"),
        ({"to_house_id": target.pk, "moved_on": date(2023, 1, 1)}, "moved_on"),
        (
            {"to_house_id": target.pk, "moved_on": timezone.localdate() + timedelta(days=3)},
            "moved_on",
        ),
    ]
    for arguments, field in cases:
        with pytest.raises(InvalidInputError) as caught:
            resident_move(
                residency_id=registration.residency.pk, actor=cast.community_officer, **arguments
            )
        assert field in caught.value.errors
    lifecycle.residency_deregister(
        residency=registration.residency, reason="error", actor=cast.community_officer
    )
    with pytest.raises(ConflictError, match="ended"):
        resident_move(
            residency_id=registration.residency.pk,
            to_house_id=target.pk,
            moved_on=yesterday(),
            actor=cast.community_officer,
        )


def test_a_retried_move_is_done_once(cast, monkeypatch):
    registration = f.register(f.house())
    target = house(GRID_A2, capacity=1)
    real = lifecycle.residency_move_in
    calls: list[int] = []

    def fails_first_time(**kwargs):
        residency = real(**kwargs)
        calls.append(1)
        if len(calls) == 1:
            raise serialization_failure()
        return residency

    monkeypatch.setattr(lifecycle, "residency_move_in", fails_first_time)
    resident_move(
        residency_id=registration.residency.pk,
        to_house_id=target.pk,
        moved_on=yesterday(),
        actor=cast.community_officer,
    )
    assert len(calls) == 2 and current_occupants(target) == 1
    assert PersonEvent.objects.filter(person=registration.person, action="moved_in").count() == 1
    assert (
        PersonEvent.objects.filter(person=registration.person, action="deregistered").count() == 1
    )
