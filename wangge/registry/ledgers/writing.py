"""Clean ledger rows → the registry, one transaction per batch.

The rules are those of the services (``registry.services``, ``registry.lifecycle``): natural keys,
a person's home, a building's grid, one history row per person changed. The writes are bulk: rows
are looked up by natural key in a few queries per batch, and new rows go in with ``COPY`` on
PostgreSQL (ids drawn from the table's sequence first, so related rows can follow in the same
batch) or ``bulk_create`` elsewhere. A row already in the registry is left as it is ("unchanged"):
importing a file twice changes nothing. Corrections go through the services.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import JSONField, Model
from django.utils.translation import gettext as _

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

Row = tuple[int, dict[str, Any]]  # file line, clean values


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


# Bulk insert -------------------------------------------------------------------------------------


_MISSING = object()


def insert_rows(model: type[Model], rows: Sequence[dict[str, Any]], now: datetime) -> list[int]:
    """Insert rows (attname → value; the rest get the field defaults) and return their ids, in
    order. PostgreSQL: ids from the sequence, then one ``COPY``."""
    if not rows:
        return []
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults: list[tuple[str, Any, Any]] = []  # attname, constant default, callable default
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults.append((f.attname, now, None))
        elif f.has_default() and callable(f.default):
            defaults.append((f.attname, _MISSING, f.default))
        else:
            defaults.append((f.attname, f.get_default(), None))

    def full(row: dict[str, Any]) -> list[Any]:
        values = []
        for attname, constant, make in defaults:
            value = row.get(attname, _MISSING)
            if value is _MISSING:
                value = make() if make is not None else constant
            values.append(value)
        return values

    if connection.vendor != "postgresql":
        names = [f.attname for f in fields]
        objects = [model(**dict(zip(names, full(r), strict=True))) for r in rows]
        model._default_manager.bulk_create(objects)
        return [o.pk for o in objects]
    table = model._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        ids = [r[0] for r in cursor.fetchall()]
        columns = ", ".join(quote(c) for c in ["id", *(f.column for f in fields)])
        json_at = [i for i, f in enumerate(fields) if isinstance(f, JSONField)]
        raw = cursor.cursor  # type: ignore[attr-defined]
        with raw.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                values = full(row)
                for i in json_at:
                    values[i] = json.dumps(values[i], ensure_ascii=False)
                copy.write_row([pk, *values])
    return ids


# Buildings and houses ----------------------------------------------------------------------------

HOUSE_KEYS = (
    "floor", "area_m2", "use", "ownership", "rented",
    "has_lease_contract", "has_responsibility_letter", "has_rental_filing",
)  # fmt: skip


def _houses(
    batch: Batch, rows: Sequence[Row], out: Outcome, *, with_details: bool
) -> dict[int, tuple[int, str, bool]]:
    """line → (house id, region code, house created now). Buildings missing are created in the
    row's grid; a building registered in another grid rejects the row."""
    addresses = {values["building_address"] for _line, values in rows}
    buildings = {
        address: (pk, code)
        for address, pk, code in Building.objects.filter(address__in=addresses).values_list(
            "address", "id", "region_code"
        )
    }
    new_buildings: dict[str, dict[str, Any]] = {}
    placed: list[Row] = []
    for line, values in rows:
        address = values["building_address"]
        known = buildings.get(address)
        code = known[1] if known else new_buildings.get(address, {}).get("region_code")
        if code is not None and code != values["region_code"]:
            out.rejected.append(
                (line, batch.reason("building_address", _("This building is in another grid.")))
            )
            continue
        if known is None and address not in new_buildings:
            new_buildings[address] = {
                "grid_id": values["grid_id"],
                "region_code": values["region_code"],
                "address": address,
                "name": values.get("building_name") or address[-100:],
            }
        placed.append((line, values))
    ids = insert_rows(Building, list(new_buildings.values()), batch.now)
    for address, pk in zip(new_buildings, ids, strict=True):
        buildings[address] = (pk, new_buildings[address]["region_code"])
    out.buildings_created += len(ids)

    building_ids = {buildings[v["building_address"]][0] for _line, v in placed}
    houses = {
        (b, u, r): pk
        for b, u, r, pk in House.objects.filter(building_id__in=building_ids).values_list(
            "building_id", "unit", "room", "id"
        )
    }
    new_houses: dict[tuple[int, str, str], dict[str, Any]] = {}
    keys: dict[int, tuple[tuple[int, str, str], str, bool]] = {}
    for line, values in placed:
        building_id, code = buildings[values["building_address"]]
        key = (building_id, values.get("unit", ""), values["room"])
        created = key not in houses
        if created and key not in new_houses:
            house = {
                "building_id": building_id,
                "region_code": code,
                "unit": key[1],
                "room": key[2],
            }
            house["qr_token"] = secrets.token_urlsafe(16)
            if with_details:
                house.update({k: values[k] for k in HOUSE_KEYS if k in values})
            new_houses[key] = house
        keys[line] = (key, code, created)
    ids = insert_rows(House, list(new_houses.values()), batch.now)
    houses.update(zip(new_houses, ids, strict=True))
    out.houses_created += len(ids)
    return {line: (houses[key], code, created) for line, (key, code, created) in keys.items()}


def write_houses(batch: Batch) -> Outcome:
    out = Outcome()
    placed = _houses(batch, batch.rows, out, with_details=True)
    out.created = sum(1 for _pk, _code, created in placed.values() if created)
    out.unchanged = len(placed) - out.created
    return out


# People ------------------------------------------------------------------------------------------

PERSON_KEYS = (
    "name", "sex", "birth_date", "id_number_encrypted", "id_number_hash", "id_number_masked",
    "id_number_suffix", "phone_encrypted", "phone_hash", "phone_masked", "phone_suffix",
    "ethnicity", "hukou_address", "residency_type", "occupation", "workplace",
)  # fmt: skip


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


def write_people(batch: Batch) -> Outcome:
    out = Outcome()
    houses = _houses(batch, batch.rows, out, with_details=False)
    rows = [(line, values) for line, values in batch.rows if line in houses]
    existing = {
        h: (pk, name)
        for h, pk, name in Person.objects.filter(
            id_number_hash__in=[v["id_number_hash"] for _l, v in rows],
            status=Person.Status.ACTIVE,
        ).values_list("id_number_hash", "id", "name")
    }
    living = set(
        Residency.objects.filter(
            person_id__in=[pk for pk, _name in existing.values()], deregistered_at__isnull=True
        ).values_list("person_id", "house_id")
    )
    actor_id = batch.actor.pk
    new_people: list[dict[str, Any]] = []
    new_lines: list[Row] = []
    moving: list[tuple[int, Row]] = []  # known people moving into another house
    for line, values in rows:
        house_id, code, _created = houses[line]
        known = existing.get(values["id_number_hash"])
        if known is None:
            person = {k: values[k] for k in PERSON_KEYS if k in values}
            person["region_code"] = code
            new_people.append(person)
            new_lines.append((line, values))
        elif not _same_name(known[1], values["name"]):
            out.rejected.append(
                (line, batch.reason("name", _("This ID number is registered under another name.")))
            )
        elif (known[0], house_id) in living:
            out.unchanged += 1
        else:
            moving.append((known[0], (line, values)))
    person_ids = insert_rows(Person, new_people, batch.now)
    pairs = [*zip(person_ids, new_lines, strict=True), *moving]
    residencies = [
        {
            "person_id": person_id,
            "house_id": houses[line][0],
            "region_code": houses[line][1],
            "relation": values["relation"],
            "moved_in_on": values.get("moved_in_on"),
            "registered_at": batch.now,
            "registered_by_id": actor_id,
        }
        for person_id, (line, values) in pairs
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
            "details": _event_details(batch.job_id, houses[line][0], values),
            "created_at": batch.now,
        }
        for i, ((person_id, (line, values)), residency_id) in enumerate(
            zip(pairs, residency_ids, strict=True)
        )
    ]
    insert_rows(PersonEvent, events, batch.now)
    for person_id, _row in moving:
        refresh_home(Person.objects.only("id", "region_code").get(pk=person_id))
    out.created = len(pairs)
    return out


def _event_details(job_id: int, house_id: int, values: dict[str, Any]) -> dict[str, Any]:
    moved_in = values.get("moved_in_on")
    return {
        "house": house_id,
        "relation": values["relation"],
        "moved_in_on": moved_in.isoformat() if isinstance(moved_in, date) else None,
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
            ref = locate.grid_at(values["lng"], values["lat"], SOCIAL_LAYER)
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
