"""Clean ledger rows → the registry, one transaction per batch.

The rules are those of the services (``registry.services``, ``registry.lifecycle``): natural keys,
a person's home, a building's grid, one history row per person changed. The writes are bulk: rows
are looked up by natural key in a few queries per batch, and new rows go in with ``COPY`` on
PostgreSQL (ids drawn from the table's sequence first, so related rows can follow in the same
batch) or ``bulk_create`` elsewhere. A row already in the registry is left as it is ("unchanged"):
importing a file twice changes nothing. Corrections go through the services.

The checking processes also turn each clean row into what its writer takes (``preparer``): for
people, a small tuple with the person's ``COPY`` text already built, which is cheaper to send back
than the row's values and leaves less work to the one process that writes.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

from django.db import connection
from django.utils.translation import gettext as _

from wangge.core.bulk import copy_into, copy_layout, copy_text, insert_rows, reserve_ids
from wangge.core.models import User
from wangge.core.scope import code_in_scope
from wangge.regions import locate
from wangge.registry.lifecycle import refresh_home
from wangge.registry.models import (
    Building,
    Component,
    House,
    Organization,
    Person,
    PersonEvent,
    Residency,
)
from wangge.registry.services import SOCIAL_LAYER

# File line, the row as its writer takes it (see ``preparer``; a plain tuple for a named one).
Row = tuple[int, Any]


@dataclass
class Outcome:
    created: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # line, reason
    buildings_created: int = 0
    houses_created: int = 0


@dataclass(frozen=True)
class Batch:
    rows: Sequence[Row]
    actor: User
    job_id: int
    headers: dict[str, str]  # field → header of the file, for reasons
    now: datetime

    def reason(self, name: str, message: str) -> str:
        return f"{self.headers.get(name, name)}: {message}"


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


# Buildings and houses ----------------------------------------------------------------------------

HOUSE_KEYS = (
    "floor", "area_m2", "use", "ownership", "rented",
    "has_lease_contract", "has_responsibility_letter", "has_rental_filing",
)  # fmt: skip


class Placed(Protocol):
    """Where a row goes: the first fields of ``HouseRow`` and ``PersonRow``."""

    address: str
    code: str  # the row's grid code
    grid_id: int
    building_name: str
    unit: str
    room: str


class HouseRow(NamedTuple):
    address: str
    code: str
    grid_id: int
    building_name: str
    unit: str
    room: str
    details: dict[str, Any]  # HOUSE_KEYS given by the row


def prepare_house(values: dict[str, Any]) -> HouseRow:
    return HouseRow(
        values["building_address"],
        values["region_code"],
        values["grid_id"],
        values.get("building_name", ""),
        values.get("unit", ""),
        values["room"],
        {k: values[k] for k in HOUSE_KEYS if k in values},
    )


def _houses(
    batch: Batch, rows: Sequence[tuple[int, Placed]], out: Outcome, *, with_details: bool
) -> dict[int, tuple[int, str, bool]]:
    """line → (house id, region code, house created now). Buildings missing are created in the
    row's grid; a building registered in another grid rejects the row."""
    addresses = {row.address for _line, row in rows}
    buildings = {
        address: (pk, code)
        for address, pk, code in Building.objects.filter(address__in=addresses).values_list(
            "address", "id", "region_code"
        )
    }
    new_buildings: dict[str, dict[str, Any]] = {}
    placed: list[tuple[int, Placed]] = []
    for line, row in rows:
        address = row.address
        known = buildings.get(address)
        code = known[1] if known else new_buildings.get(address, {}).get("region_code")
        if code is not None and code != row.code:
            out.rejected.append(
                (line, batch.reason("building_address", _("This building is in another grid.")))
            )
            continue
        if known is None and address not in new_buildings:
            new_buildings[address] = {
                "grid_id": row.grid_id,
                "region_code": row.code,
                "address": address,
                "name": row.building_name or address[-100:],
            }
        placed.append((line, row))
    ids = insert_rows(Building, list(new_buildings.values()), batch.now)
    for address, pk in zip(new_buildings, ids, strict=True):
        buildings[address] = (pk, new_buildings[address]["region_code"])
    out.buildings_created += len(ids)

    building_ids = {buildings[row.address][0] for _line, row in placed}
    houses = {
        (b, u, r): pk
        for b, u, r, pk in House.objects.filter(building_id__in=building_ids).values_list(
            "building_id", "unit", "room", "id"
        )
    }
    new_houses: dict[tuple[int, str, str], dict[str, Any]] = {}
    keys: dict[int, tuple[tuple[int, str, str], str, bool]] = {}
    for line, row in placed:
        building_id, code = buildings[row.address]
        key = (building_id, row.unit, row.room)
        created = key not in houses
        if created and key not in new_houses:
            house = {
                "building_id": building_id,
                "region_code": code,
                "unit": key[1],
                "room": key[2],
                "qr_token": secrets.token_urlsafe(16),
            }
            if with_details:
                house.update(row.details)  # type: ignore[attr-defined]
            new_houses[key] = house
        keys[line] = (key, code, created)
    ids = insert_rows(House, list(new_houses.values()), batch.now)
    houses.update(zip(new_houses, ids, strict=True))
    out.houses_created += len(ids)
    return {line: (houses[key], code, created) for line, (key, code, created) in keys.items()}


def write_houses(batch: Batch) -> Outcome:
    out = Outcome()
    rows = [(line, HouseRow._make(values)) for line, values in batch.rows]
    placed = _houses(batch, rows, out, with_details=True)
    out.created = sum(1 for _pk, _code, created in placed.values() if created)
    out.unchanged = len(placed) - out.created
    return out


# People ------------------------------------------------------------------------------------------

PERSON_KEYS = (
    "name", "sex", "birth_date", "id_number_encrypted", "id_number_hash", "id_number_masked",
    "id_number_suffix", "phone_encrypted", "phone_hash", "phone_masked", "phone_suffix",
    "ethnicity", "hukou_address", "residency_type", "occupation", "workplace",
)  # fmt: skip
PERSON_COLUMNS = (*PERSON_KEYS, "region_code")
RESIDENCY_COLUMNS = (
    "person_id", "house_id", "region_code", "relation", "moved_in_on", "registered_at",
    "registered_by_id",
)  # fmt: skip
EVENT_COLUMNS = ("person_id", "residency_id", "action", "actor_id", "details", "created_at")


class PersonRow(NamedTuple):
    address: str
    code: str
    grid_id: int
    building_name: str
    unit: str
    room: str
    id_hash: str
    name: str
    relation: str
    moved_in_on: date | None
    person: str | dict[str, Any]  # PostgreSQL: the person's COPY text after the id; else values


def prepare_person(values: dict[str, Any], *, copy: bool = False) -> PersonRow:
    person = {k: values[k] for k in PERSON_KEYS if k in values}
    person["region_code"] = values["region_code"]  # the home's grid: the row's, or rejected
    return PersonRow(
        values["building_address"],
        values["region_code"],
        values["grid_id"],
        values.get("building_name", ""),
        values.get("unit", ""),
        values["room"],
        values["id_number_hash"],
        values["name"],
        values["relation"],
        values.get("moved_in_on"),
        copy_layout(Person, PERSON_COLUMNS).tail(person) if copy else person,
    )


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


def _active_people(hashes: list[str]) -> dict[str, tuple[int, str]]:
    """ID hash → (id, name) of the active people among ``hashes``."""
    if not _postgresql():
        people = Person.objects.filter(id_number_hash__in=hashes, status=Person.Status.ACTIVE)
        return {h: (pk, name) for h, pk, name in people.values_list("id_number_hash", "id", "name")}
    # One text parameter (hex hashes joined by commas) rather than a 2,000-item IN list or array:
    # cheaper to build, quote, send and plan. "<> ''" lets the planner use the partial unique
    # index: it cannot prove it from an array of more than 100 items, and would scan the table.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id_number_hash, id, name FROM {Person._meta.db_table} "  # noqa: S608
            "WHERE id_number_hash = ANY(string_to_array(%s, ',')) AND id_number_hash <> '' "
            "AND status = %s",
            [",".join(hashes), Person.Status.ACTIVE.value],
        )
        return {h: (pk, name) for h, pk, name in cursor.fetchall()}


def write_people(batch: Batch) -> Outcome:
    out = Outcome()
    given = [(line, PersonRow._make(values)) for line, values in batch.rows]
    houses = _houses(batch, given, out, with_details=False)
    rows = [(line, row) for line, row in given if line in houses]
    existing = _active_people([r.id_hash for _line, r in rows])
    living = set(
        Residency.objects.filter(
            person_id__in=[pk for pk, _name in existing.values()], deregistered_at__isnull=True
        ).values_list("person_id", "house_id")
        if existing
        else ()
    )
    new_rows: list[tuple[int, PersonRow]] = []
    moving: list[tuple[int, tuple[int, PersonRow]]] = []  # known people moving into another house
    for line, row in rows:
        known = existing.get(row.id_hash)
        if known is None:
            new_rows.append((line, row))
        elif not _same_name(known[1], row.name):
            out.rejected.append(
                (line, batch.reason("name", _("This ID number is registered under another name.")))
            )
        elif (known[0], houses[line][0]) in living:
            out.unchanged += 1
        else:
            moving.append((known[0], (line, row)))
    write = _copy_people if _postgresql() else _insert_people
    write(batch, houses, new_rows, moving)
    for person_id, _row in moving:
        refresh_home(Person.objects.only("id", "region_code").get(pk=person_id))
    out.created = len(new_rows) + len(moving)
    return out


Houses = dict[int, tuple[int, str, bool]]
Moving = list[tuple[int, tuple[int, PersonRow]]]


def _insert_people(
    batch: Batch, houses: Houses, new_rows: list[tuple[int, PersonRow]], moving: Moving
) -> None:
    person_ids = insert_rows(Person, [row.person for _line, row in new_rows], batch.now)  # type: ignore[misc]
    pairs = [*zip(person_ids, new_rows, strict=True), *moving]
    actor_id = batch.actor.pk
    residencies = [
        {
            "person_id": person_id,
            "house_id": houses[line][0],
            "region_code": houses[line][1],
            "relation": row.relation,
            "moved_in_on": row.moved_in_on,
            "registered_at": batch.now,
            "registered_by_id": actor_id,
        }
        for person_id, (line, row) in pairs
    ]
    residency_ids = insert_rows(Residency, residencies, batch.now)
    events = [
        {
            "person_id": person_id,
            "residency_id": residency_id,
            "action": PersonEvent.Action.REGISTERED
            if i < len(person_ids)
            else PersonEvent.Action.MOVED_IN,
            "actor_id": actor_id,
            "details": _event_details(batch.job_id, houses[line][0], row),
            "created_at": batch.now,
        }
        for i, ((person_id, (line, row)), residency_id) in enumerate(
            zip(pairs, residency_ids, strict=True)
        )
    ]
    insert_rows(PersonEvent, events, batch.now)


def _copy_people(
    batch: Batch, houses: Houses, new_rows: list[tuple[int, PersonRow]], moving: Moving
) -> None:
    """The PostgreSQL path of ``_insert_people``: the same rows, as COPY text built here."""
    count = len(new_rows) + len(moving)
    if not count:
        return
    now = copy_text(batch.now)
    actor = batch.actor.pk
    person = copy_layout(Person, PERSON_COLUMNS)
    residency = copy_layout(Residency, RESIDENCY_COLUMNS)
    event = copy_layout(PersonEvent, EVENT_COLUMNS)
    if len(residency.given) != len(RESIDENCY_COLUMNS) or len(event.given) != len(EVENT_COLUMNS):
        # A column with a per-row default (a token): the lines below would not have it.
        raise AssertionError("a residency or history column needs a value per row here")
    # The details of ``_event_details`` as JSON text: the relation is a choice value and the
    # date ISO, so nothing in them needs quoting.
    details = (
        '{"house": %d, "relation": "%s", "moved_in_on": %s, "registered": true, '
        f'"ledger_import": {int(batch.job_id)}}}'
    )
    person_ids = reserve_ids(Person, len(new_rows))
    if new_rows:
        stamps = person.stamp_text(batch.now)
        copy_into(
            person.sql,
            (
                f"{pk}\t{row.person}{stamps}\n"
                for pk, (_line, row) in zip(person_ids, new_rows, strict=True)
            ),
        )
    pairs = [*zip(person_ids, new_rows, strict=True), *moving]
    residency_ids = reserve_ids(Residency, count)
    stamps = residency.stamp_text(batch.now)
    copy_into(
        residency.sql,
        (
            f"{rid}\t{pid}\t{houses[line][0]}\t{houses[line][1]}\t{row.relation}\t"
            f"{copy_text(row.moved_in_on)}\t{now}\t{actor}{residency.constant}{stamps}\n"
            for rid, (pid, (line, row)) in zip(residency_ids, pairs, strict=True)
        ),
    )
    event_ids = reserve_ids(PersonEvent, count)
    event_stamps = event.stamp_text(batch.now)
    registered, moved_in = (
        PersonEvent.Action.REGISTERED.value,
        PersonEvent.Action.MOVED_IN.value,
    )
    copy_into(
        event.sql,
        (
            f"{eid}\t{pid}\t{rid}\t{registered if i < len(person_ids) else moved_in}\t{actor}\t"
            + details
            % (
                houses[line][0],
                row.relation,
                f'"{row.moved_in_on.isoformat()}"' if row.moved_in_on else "null",
            )
            + f"\t{now}{event.constant}{event_stamps}\n"
            for i, (eid, rid, (pid, (line, row))) in enumerate(
                zip(event_ids, residency_ids, pairs, strict=True)
            )
        ),
    )


def _event_details(job_id: int, house_id: int, row: PersonRow) -> dict[str, Any]:
    return {
        "house": house_id,
        "relation": row.relation,
        "moved_in_on": row.moved_in_on.isoformat() if row.moved_in_on else None,
        "registered": True,
        "ledger_import": job_id,
    }


# Organizations and components --------------------------------------------------------------------

ORGANIZATION_KEYS = (
    "name", "org_type", "credit_code", "address", "industry", "legal_representative",
    "contact_name", "contact_phone_encrypted", "contact_phone_hash", "contact_phone_masked",
    "employees", "operating_status", "safety_key_unit", "fire_key_unit", "hazardous_chemicals",
    "fire_risk", "safety_officer", "last_safety_check_on", "grid_id", "region_code",
)  # fmt: skip


def write_organizations(batch: Batch) -> Outcome:
    out = Outcome()
    known = set(
        Organization.objects.filter(
            credit_code__in=[v["credit_code"] for _l, v in batch.rows]
        ).values_list("credit_code", flat=True)
    )
    new = [
        {k: values[k] for k in ORGANIZATION_KEYS if k in values}
        for _line, values in batch.rows
        if values["credit_code"] not in known
    ]
    insert_rows(Organization, new, batch.now)
    out.created, out.unchanged = len(new), len(batch.rows) - len(new)
    return out


COMPONENT_KEYS = (
    "component_id", "class_code", "name", "status", "competent_unit_code", "competent_unit_name",
    "owner_unit_code", "owner_unit_name", "maintainer_unit_code", "maintainer_unit_name",
    "surveyed_on", "changed_on", "data_source", "remark", "lng", "lat", "grid_id",
)  # fmt: skip


def write_components(batch: Batch) -> Outcome:
    """A component is scoped by the social grid at its point, else by its unit grid's code (as
    ``services.component_create``); either must be inside the importer's area."""
    out = Outcome()
    known = set(
        Component.objects.filter(
            component_id__in=[v["component_id"] for _l, v in batch.rows]
        ).values_list("component_id", flat=True)
    )
    new = []
    for line, values in batch.rows:
        if values["component_id"] in known:
            out.unchanged += 1
            continue
        code = values["unit_grid_code"]
        if values.get("lng") is not None:
            located = locate.locate_point(values["lng"], values["lat"], layers=(SOCIAL_LAYER,))
            ref = located.grid(SOCIAL_LAYER)
            code = ref.code if ref is not None else code
        if not code_in_scope(batch.actor, code):
            out.rejected.append(
                (line, batch.reason("grid", _("The location is not inside a grid of your area.")))
            )
            continue
        component = {k: values[k] for k in COMPONENT_KEYS if k in values}
        component["region_code"] = code
        new.append(component)
    insert_rows(Component, new, batch.now)
    out.created = len(new)
    return out


WRITERS: dict[str, Callable[[Batch], Outcome]] = {
    "people": write_people,
    "houses": write_houses,
    "organizations": write_organizations,
    "components": write_components,
}


def preparer(kind: str) -> Callable[[dict[str, Any]], Any] | None:
    """What the checking processes turn a clean row's values into for ``WRITERS[kind]``
    (None: the values themselves). Called where the connection's vendor is known."""
    if kind == "people":
        return functools.partial(prepare_person, copy=_postgresql())
    if kind == "houses":
        return prepare_house
    return None
