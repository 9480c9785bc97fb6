"""Duplicate reports at the reporter's side: what a report at a point would meet.

Before a report is sent, :func:`report_check` tells the reporter which grid the point lies in,
whether it is one of the reporter's own grids, and which open cases of the same category were
reported within 50 m and 72 hours (``selectors.duplicate_candidates``) — only the cases the
reporter may see are named; the others are counted.

Instead of sending a second report of the same problem, the reporter can add support (附议) to the
existing case with ``services.case_support`` (a write of the loop, so it lives with the others):
its ``supporters`` count goes up by one and a ``support`` event names who supported it. When the
reporter has already sent the duplicate, the same call withdraws it: the new report is merged into
the existing case exactly as a dispatcher's merge does (closed as a duplicate, ``merged_into`` set,
the reporter counted as a supporter), which a reporter may do with his own report while nobody has
been dispatched to it yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import h3

from wangge.cases.models import Case
from wangge.cases.selectors import case_list, duplicate_candidates
from wangge.core.models import User
from wangge.core.scope import code_in_scope
from wangge.lib.coords import Crs
from wangge.regions import locate
from wangge.regions.models import Grid

S = Case.State


@dataclass(frozen=True)
class PointGrid:
    code: str | None  # told only inside the user's scope: codes are what scopes are made of
    name: str
    community: str
    yours: bool  # inside the user's data scope (a grid worker: his own grid)


@dataclass(frozen=True)
class NearbyCase:
    case: Case
    distance_m: int


@dataclass(frozen=True)
class ReportCheck:
    grid: PointGrid | None  # None: the point lies in no grid (a report there is refused)
    duplicates: list[NearbyCase]  # nearest first, only cases the user may see
    others: int  # probable duplicates the user may not see: counted, never named


def report_check(
    *,
    user: User,
    lng: float,
    lat: float,
    crs: Crs | str = Crs.WGS84,
    category_id: int | None = None,
    exclude_number: str = "",
    at: datetime | None = None,
) -> ReportCheck:
    """What a report by ``user`` at the point (given in ``crs``) would meet (see the module
    docstring).

    Outside the user's scope the grid's name and community are told, not its code: the user
    stands there, and the report he may send from there shows him its grid anyway.
    """
    located = locate.locate_point(lng, lat, crs=crs)
    return ReportCheck(
        grid=_point_grid(user, located.grid()),
        **_duplicates(user, located.lng, located.lat, category_id, exclude_number, at),
    )


def _point_grid(user: User, ref: locate.GridRef | None) -> PointGrid | None:
    if ref is None:
        return None
    grid = Grid.objects.select_related("community").only("code", "name", "community__name")
    found = grid.get(pk=ref.id)
    yours = user.is_superuser or code_in_scope(user, found.code)
    return PointGrid(
        code=found.code if yours else None,
        name=found.name,
        community=found.community.name if found.community_id else "",
        yours=yours,
    )


def _duplicates(
    user: User,
    lng: float,
    lat: float,
    category_id: int | None,
    exclude_number: str,
    at: datetime | None,
) -> dict[str, object]:
    if category_id is None:
        return {"duplicates": [], "others": 0}
    exclude = (
        case_list(user=user).filter(number=exclude_number).values_list("pk", flat=True).first()
        if exclude_number
        else None
    )
    found = duplicate_candidates(category_id=category_id, lng=lng, lat=lat, at=at, exclude=exclude)
    visible = {
        case.pk: case
        for case in case_list(user=user)
        .filter(pk__in=[case.pk for case in found])
        .defer("grid__boundary_wkb")
    }
    nearby = [
        NearbyCase(
            case=visible[case.pk],
            distance_m=round(h3.great_circle_distance((lat, lng), (case.lat, case.lng), unit="m")),
        )
        for case in found
        if case.pk in visible
    ]
    nearby.sort(key=lambda near: (near.distance_m, near.case.created_at))
    return {"duplicates": nearby, "others": len(found) - len(nearby)}
