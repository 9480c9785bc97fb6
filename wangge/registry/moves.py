"""Moving a resident from one house to another, possibly in another grid (搬迁), as one operation.

The old residency is closed (moved out and deregistered as moved away), the new one opened, the
person's home grid refreshed — through the lifecycle services, inside one serializable transaction
(``core.transactions.run_serializable``), so a move is never half done: nobody sees the person
registered nowhere or in both houses. A house with a ``capacity`` takes at most that many current
residents; two moves into its last place at once cannot both succeed (at SERIALIZABLE the second is
retried and then sees the house full).

Who may move someone: a user who may change residencies and sees both houses, so a grid worker
moves people inside his grid, a community officer between the grids of his community.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.errors import ConflictError, PermissionDeniedError
from wangge.core.models import User
from wangge.core.transactions import run_serializable
from wangge.registry import lifecycle
from wangge.registry.lifecycle import invalid
from wangge.registry.models import House, Residency
from wangge.registry.permissions import (
    access_house_for_user,
    access_residency_for_user,
    can_move_resident,
)


@dataclass(frozen=True)
class Move:
    old: Residency
    new: Residency
    from_grid: str
    to_grid: str


def current_occupants(house: House) -> int:
    """People living in the house now: residencies neither moved out of nor deregistered."""
    return Residency.objects.filter(
        house=house, moved_out_on__isnull=True, deregistered_at__isnull=True
    ).count()


def resident_move(
    *,
    residency_id: int,
    to_house_id: int,
    moved_on: date,
    actor: User,
    relation: str | None = None,
) -> Move:
    """Move the person of ``residency_id`` to ``to_house_id`` on ``moved_on``, all or nothing."""
    return run_serializable(
        lambda: _move(
            residency_id=residency_id,
            to_house_id=to_house_id,
            moved_on=moved_on,
            actor=actor,
            relation=relation,
        )
    )


def _move(
    *, residency_id: int, to_house_id: int, moved_on: date, actor: User, relation: str | None
) -> Move:
    if not can_move_resident(actor):
        raise PermissionDeniedError(_("Your role may not move residents."))
    old = access_residency_for_user(user=actor, residency_id=residency_id)
    house = access_house_for_user(user=actor, house_id=to_house_id)
    if not old.is_current:
        raise ConflictError(_("This residency has already ended."))
    if old.house_id == house.pk:
        raise invalid({"to_house": [_("The person already lives in this house.")]})
    if moved_on > timezone.localdate():
        raise invalid({"moved_on": [_("The date %(date)s is in the future.") % {"date": moved_on}]})
    if old.moved_in_on and moved_on < old.moved_in_on:
        raise invalid({"moved_on": [_("The person cannot move out before moving in.")]})
    if house.capacity is not None and current_occupants(house) >= house.capacity:
        raise ConflictError(
            _("House %(house)s is full: %(capacity)s residents at most.")
            % {"house": house.pk, "capacity": house.capacity},
            current={"capacity": house.capacity, "occupants": current_occupants(house)},
        )
    person = old.person
    lifecycle.residency_deregister(
        residency=old,
        reason=Residency.DeregistrationReason.MOVED_AWAY,
        moved_out_on=moved_on,
        note=_("Moved to house %(house)s.") % {"house": house.pk},
        actor=actor,
    )
    new = lifecycle.residency_move_in(
        person=person,
        house=house,
        relation=relation or old.relation,
        moved_in_on=moved_on,
        has_id_copy=old.has_id_copy,
        actor=actor,
    )
    return Move(old=old, new=new, from_grid=old.region_code, to_grid=house.region_code)
