"""Registry rows for tests, made through the services (so every row is what production writes).

Grid A is 110102001001001 (the NW social grid of community 110102001001), grid B is
110102003002004 (another street); see wangge/testing/factories.py.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from wangge.lib.idnumbers import resident_id_check_digit
from wangge.registry import lifecycle, services
from wangge.registry.models import Building, Component, House, Household, Organization, Tag
from wangge.testing.factories import grid

GRID_A = "110102001001001"
GRID_B = "110102003002004"
UNIT_A = "110102001001001"  # the unit grid (万米单元网格) covering community 110102001001
UNIT_B = "110102003002001"  # the unit grid covering community 110102003002
IN_GRID_A = (116.31, 39.93)
IN_GRID_B = (116.39, 39.87)

_numbers = itertools.count(1)


def resident_id(
    born: date = date(1980, 1, 1), *, area: str = "110102", sequence: int | None = None
) -> str:
    """A valid 18-character ID number; odd sequences are men, even ones women."""
    sequence = next(_numbers) % 1000 if sequence is None else sequence
    body = f"{area}{born:%Y%m%d}{sequence:03d}"
    return body + resident_id_check_digit(body)


def credit_code(organization_code: str = "MA01ABCD") -> str:
    """A valid unified social credit code for an enterprise (91) registered in 110102."""
    from wangge.lib.idnumbers import (
        credit_code_check_character,
        organization_code_check_character,
    )

    body = f"91110102{organization_code}{organization_code_check_character(organization_code)}"
    return body + credit_code_check_character(body)


def building(grid_code: str = GRID_A, **data: Any) -> Building:
    n = next(_numbers)
    values = {"name": f"{n}号楼", "address": f"测试区测试路{n}号楼", **data}
    return services.building_create(grid=grid(grid_code), data=values, actor=None)


def house(in_building: Building | None = None, *, grid_code: str = GRID_A, **data: Any) -> House:
    target = in_building or building(grid_code)
    values = {"unit": "1", "room": f"{next(_numbers)}", **data}
    return services.house_create(building=target, data=values, actor=None)


def household(at: House, *, head: Any = None, **data: Any) -> Household:
    return services.household_create(house=at, head=head, data=data, actor=None)


def tag(code: str) -> Tag:
    return Tag.objects.get(code=code)


def register(
    at: House | None = None,
    *,
    name: str = "张三",
    id_number: str | None = None,
    residency_type: str = "registered",
    relation: str = "owner",
    moved_in_on: date | None = None,
    registered: bool = True,
    household: Household | None = None,
    has_id_copy: bool = False,
    actor: Any = None,
    **details: Any,
) -> lifecycle.Registration:
    """Register a person (with a fresh valid ID number unless one is given) at a house."""
    return lifecycle.person_register(
        details=lifecycle.PersonDetails(
            name=name,
            residency_type=residency_type,
            id_number=resident_id() if id_number is None else id_number,
            **details,
        ),
        house=at or house(),
        relation=relation,
        household=household,
        moved_in_on=moved_in_on,
        registered=registered,
        has_id_copy=has_id_copy,
        actor=actor,
    )


def organization(grid_code: str = GRID_A, **data: Any) -> Organization:
    values = {"name": f"测试商店{next(_numbers)}", "org_type": "individual", **data}
    return services.organization_create(grid=grid(grid_code), data=values, actor=None)


def component(
    grid_code: str = UNIT_A,
    *,
    at: tuple[float, float] | None = None,
    serial: int | None = None,
    **data: Any,
) -> Component:
    """A manhole cover in a unit grid, placed at a point (so scoped by the social grid there)."""
    serial = next(_numbers) if serial is None else serial
    if at is not None:
        data = {"lng": at[0], "lat": at[1], **data}
    values = {
        "component_id": f"11010201001{serial:06d}",
        "name": "供水井盖",
        "competent_unit_code": credit_code(),
        "competent_unit_name": "西城区市政管理委员会",
        "surveyed_on": date(2024, 5, 1),
        **data,
    }
    return services.component_create(grid=grid(grid_code, "unit"), data=values, actor=None)
