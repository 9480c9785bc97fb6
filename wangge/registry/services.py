"""Writes to the places, organizations and components of the registry. People: ``lifecycle``.

Each service is one transaction with an audit row. ``data`` / ``changes`` hold model field values
already shaped by the API's input serializers (or an importer); the rules about them are checked
here, so every way in obeys them. A natural key already taken is a field error, not a crash.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import audit_log_write
from wangge.core.idmessages import id_error_text
from wangge.core.models import User
from wangge.core.scope import code_in_scope
from wangge.lib.idnumbers import parse_credit_code
from wangge.regions import locate
from wangge.regions.models import Grid
from wangge.registry import codes, identity
from wangge.registry.care import refresh_care_classes
from wangge.registry.lifecycle import Errors, invalid, refresh_home
from wangge.registry.models import (
    Building,
    Component,
    House,
    Household,
    Organization,
    Person,
    Residency,
)

SOCIAL_LAYER = "social"
UNIT_LAYER = "unit"


def _audit(actor: User | None, action: str, obj: Model, **details: Any) -> None:
    audit_log_write(
        actor=actor,
        action=f"registry.{action}",
        target_type=f"registry.{obj._meta.model_name}",
        target_id=obj.pk,
        details={k: v.isoformat() if isinstance(v, date) else v for k, v in details.items()},
    )


def _text(values: dict[str, Any], name: str, length: int) -> None:
    if name in values:
        values[name] = " ".join(str(values[name] or "").split())[:length]


def _required(values: dict[str, Any], names: tuple[str, ...], errors: Errors) -> None:
    for name in names:
        if name in values and values[name] in ("", None):
            errors[name] = [_("This field is required.")]


def _apply(obj: Model, values: Mapping[str, Any]) -> list[str]:
    """Set the values that differ; the names of the changed fields."""
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _save(obj: Model, changed: list[str]) -> None:
    if changed:
        obj.save(update_fields=[*changed, "updated_at"])


def resolve_grid(
    *,
    grid: Grid | None,
    lng: float | None,
    lat: float | None,
    layers: tuple[str, ...],
    actor: User | None,
    errors: Errors,
) -> Grid | None:
    """The grid given, else the grid of the first layer that contains the point.

    A grid found from a point must be inside the actor's scope (a given grid was fetched through
    the scope already).
    """
    if grid is not None:
        return grid
    if lng is None or lat is None:
        errors["grid"] = [_("Give the grid, or a location (lng, lat) inside one.")]
        return None
    located = locate.locate_point(lng, lat, layers=layers, within=actor)
    for layer in layers:
        if layer in located.refused:
            break
        ref = located.grid(layer)
        if ref is not None:
            return Grid.objects.get(pk=ref.id)
    errors["grid"] = [_("The location is not inside a grid of your area.")]
    return None


# Buildings --------------------------------------------------------------------------------------

BUILDING_FIELDS = ("name", "address", "building_type", "floors", "units", "lng", "lat")


def _clean_building(values: dict[str, Any], errors: Errors, exclude: int | None = None) -> None:
    _text(values, "name", 100)
    _text(values, "address", 200)
    _required(values, ("name", "address"), errors)
    address = values.get("address")
    if address and Building.objects.filter(address=address).exclude(pk=exclude).exists():
        errors["address"] = [_("A building with this address is already registered.")]


@transaction.atomic
def building_create(*, grid: Grid | None, data: Mapping[str, Any], actor: User | None) -> Building:
    values = {name: data[name] for name in BUILDING_FIELDS if name in data}
    errors: Errors = {}
    _clean_building(values, errors)
    grid = resolve_grid(
        grid=grid,
        lng=values.get("lng"),
        lat=values.get("lat"),
        layers=(SOCIAL_LAYER,),
        actor=actor,
        errors=errors,
    )
    if errors:
        raise invalid(errors)
    assert grid is not None  # noqa: S101
    building = Building.objects.create(grid=grid, region_code=grid.code, **values)
    _audit(actor, "building_create", building, address=building.address, grid=grid.code)
    return building


@transaction.atomic
def building_update(
    *, building: Building, changes: Mapping[str, Any], grid: Grid | None, actor: User | None
) -> Building:
    """Change a building; a new ``grid`` moves its houses, households and residents with it."""
    values = {name: changes[name] for name in BUILDING_FIELDS if name in changes}
    errors: Errors = {}
    _clean_building(values, errors, exclude=building.pk)
    if errors:
        raise invalid(errors)
    changed = _apply(building, values)
    if grid is not None and grid.pk != building.grid_id:
        building.grid, building.region_code = grid, grid.code
        changed += ["grid", "region_code"]
    _save(building, changed)
    if "region_code" in changed:
        _move_building_contents(building)
    if changed:
        _audit(actor, "building_update", building, fields=changed)
    return building


def _move_building_contents(building: Building) -> None:
    code = building.region_code
    houses = House.objects.filter(building=building)
    houses.update(region_code=code)
    Household.objects.filter(house__building=building).update(region_code=code)
    Residency.objects.filter(house__building=building).update(region_code=code)
    Organization.objects.filter(building=building).update(grid=building.grid, region_code=code)
    for person in Person.objects.filter(residencies__house__building=building).distinct():
        refresh_home(person)


# Houses -----------------------------------------------------------------------------------------

HOUSE_FIELDS = (
    "unit",
    "floor",
    "room",
    "area_m2",
    "use",
    "ownership",
    "rented",
    "has_lease_contract",
    "has_responsibility_letter",
    "has_rental_filing",
)


def _clean_house(
    values: dict[str, Any], building: Building, errors: Errors, exclude: int | None = None
) -> None:
    _text(values, "unit", 16)
    _text(values, "room", 32)
    _required(values, ("room",), errors)
    if "unit" in values or "room" in values:
        taken = House.objects.filter(
            building=building, unit=values.get("unit", ""), room=values.get("room", "")
        ).exclude(pk=exclude)
        if taken.exists():
            errors["room"] = [_("This building already has a house with this unit and room.")]


@transaction.atomic
def house_create(*, building: Building, data: Mapping[str, Any], actor: User | None) -> House:
    values = {name: data[name] for name in HOUSE_FIELDS if name in data}
    values.setdefault("unit", "")
    errors: Errors = {}
    _clean_house(values, building, errors)
    if errors:
        raise invalid(errors)
    house = House.objects.create(
        building=building,
        region_code=building.region_code,
        qr_token=secrets.token_urlsafe(16),
        **values,
    )
    _audit(actor, "house_create", house, building=building.pk, rented=house.rented)
    return house


@transaction.atomic
def house_update(*, house: House, changes: Mapping[str, Any], actor: User | None) -> House:
    values = {name: changes[name] for name in HOUSE_FIELDS if name in changes}
    errors: Errors = {}
    key = {"unit": values.get("unit", house.unit), "room": values.get("room", house.room)}
    if "unit" in values or "room" in values:
        values.update(key)
    _clean_house(values, house.building, errors, exclude=house.pk)
    if errors:
        raise invalid(errors)
    changed = _apply(house, values)
    _save(house, changed)
    if changed:
        _audit(actor, "house_update", house, fields=changed)
    return house


# Households -------------------------------------------------------------------------------------


def _check_head(head: Person | None, house: House, errors: Errors) -> None:
    if head is None:
        return
    lives_here = Residency.objects.filter(
        person=head, house=house, deregistered_at__isnull=True
    ).exists()
    if not lives_here or head.status != Person.Status.ACTIVE:
        errors["head"] = [_("The head of a household must be registered at its house.")]


def _clean_household(
    values: dict[str, Any], house: House, errors: Errors, exclude: int | None = None
) -> None:
    _text(values, "number", 32)
    number = values.get("number")
    if number and Household.objects.filter(house=house, number=number).exclude(pk=exclude).exists():
        errors["number"] = [_("This house already has a household with this number.")]


@transaction.atomic
def household_create(
    *,
    house: House,
    head: Person | None = None,
    data: Mapping[str, Any],
    actor: User | None,
) -> Household:
    values = {name: data[name] for name in ("number", "household_type") if name in data}
    errors: Errors = {}
    _clean_household(values, house, errors)
    _check_head(head, house, errors)
    if errors:
        raise invalid(errors)
    household = Household.objects.create(
        house=house, region_code=house.region_code, head=head, **values
    )
    if head is not None:
        Residency.objects.filter(
            person=head, house=house, deregistered_at__isnull=True, household__isnull=True
        ).update(household=household)
    refresh_care_classes([household.pk])
    household.refresh_from_db()
    _audit(actor, "household_create", household, house=house.pk)
    return household


@transaction.atomic
def household_update(
    *,
    household: Household,
    changes: Mapping[str, Any],
    actor: User | None,
) -> Household:
    """Change number, type or head (``changes["head"]``: a Person or None)."""
    values = {name: changes[name] for name in ("number", "household_type") if name in changes}
    errors: Errors = {}
    _clean_household(values, household.house, errors, exclude=household.pk)
    if "head" in changes:
        _check_head(changes["head"], household.house, errors)
        values["head"] = changes["head"]
    if errors:
        raise invalid(errors)
    changed = _apply(household, values)
    _save(household, changed)
    if changed:
        _audit(actor, "household_update", household, fields=changed)
    return household


# Organizations ----------------------------------------------------------------------------------

ORGANIZATION_FIELDS = (
    "name",
    "org_type",
    "credit_code",
    "address",
    "industry",
    "legal_representative",
    "contact_name",
    "employees",
    "operating_status",
    "safety_key_unit",
    "fire_key_unit",
    "hazardous_chemicals",
    "fire_risk",
    "safety_officer",
    "last_safety_check_on",
    "lng",
    "lat",
)
_ORGANIZATION_TEXT = {
    "name": 200,
    "address": 200,
    "industry": 50,
    "legal_representative": 50,
    "contact_name": 50,
    "safety_officer": 50,
}


def _clean_organization(
    values: dict[str, Any], data: Mapping[str, Any], errors: Errors, exclude: int | None = None
) -> None:
    for name, length in _ORGANIZATION_TEXT.items():
        _text(values, name, length)
    _required(values, ("name",), errors)
    if values.get("credit_code"):
        try:
            values["credit_code"] = parse_credit_code(values["credit_code"]).number
        except ValueError as exc:
            errors["credit_code"] = [
                _("Not a valid unified social credit code: %(reason)s.")
                % {"reason": id_error_text(exc)}
            ]
        else:
            taken = Organization.objects.filter(credit_code=values["credit_code"])
            if taken.exclude(pk=exclude).exists():
                errors["credit_code"] = [_("An organization with this credit code is registered.")]
    if "contact_phone" in data:
        try:
            sealed = identity.seal_phone(data["contact_phone"] or "").sealed
        except ValueError as exc:
            errors["contact_phone"] = [
                _("Not a valid phone number: %(reason)s.") % {"reason": id_error_text(exc)}
            ]
        else:
            values["contact_phone_encrypted"] = sealed.token
            values["contact_phone_hash"] = sealed.hash
            values["contact_phone_masked"] = sealed.masked
    check_on = values.get("last_safety_check_on")
    if check_on and check_on > timezone.localdate():
        errors["last_safety_check_on"] = [_("The date is in the future.")]


@transaction.atomic
def organization_create(
    *,
    grid: Grid | None,
    building: Building | None = None,
    data: Mapping[str, Any],
    actor: User | None,
) -> Organization:
    """Register an organization; its grid is the building's, the one given, or the one at lng/lat."""
    values = {name: data[name] for name in ORGANIZATION_FIELDS if name in data}
    errors: Errors = {}
    _clean_organization(values, data, errors)
    if building is not None:
        grid = building.grid
    grid = resolve_grid(
        grid=grid,
        lng=values.get("lng"),
        lat=values.get("lat"),
        layers=(SOCIAL_LAYER,),
        actor=actor,
        errors=errors,
    )
    if errors:
        raise invalid(errors)
    assert grid is not None  # noqa: S101
    organization = Organization.objects.create(
        grid=grid, region_code=grid.code, building=building, **values
    )
    _audit(
        actor,
        "organization_create",
        organization,
        name=organization.name,
        credit_code=organization.credit_code,
    )
    return organization


@transaction.atomic
def organization_update(
    *,
    organization: Organization,
    changes: Mapping[str, Any],
    grid: Grid | None = None,
    actor: User | None,
) -> Organization:
    values = {name: changes[name] for name in ORGANIZATION_FIELDS if name in changes}
    errors: Errors = {}
    _clean_organization(values, changes, errors, exclude=organization.pk)
    if errors:
        raise invalid(errors)
    changed = _apply(organization, values)
    if grid is not None and grid.pk != organization.grid_id:
        organization.grid, organization.region_code = grid, grid.code
        changed += ["grid", "region_code"]
    _save(organization, changed)
    if changed:
        public = [name for name in changed if not name.endswith(("_encrypted", "_hash"))]
        _audit(actor, "organization_update", organization, fields=public)
    return organization


# Components -------------------------------------------------------------------------------------

COMPONENT_FIELDS = (
    "component_id",
    "name",
    "status",
    "competent_unit_code",
    "competent_unit_name",
    "owner_unit_code",
    "owner_unit_name",
    "maintainer_unit_code",
    "maintainer_unit_name",
    "surveyed_on",
    "changed_on",
    "data_source",
    "remark",
    "lng",
    "lat",
)
_UNIT_CODES = ("competent_unit_code", "owner_unit_code", "maintainer_unit_code")
_COMPONENT_TEXT = {
    "name": 30,
    "competent_unit_name": 100,
    "owner_unit_name": 100,
    "maintainer_unit_name": 100,
    "remark": 1000,
}


def _clean_component(values: dict[str, Any], errors: Errors, exclude: int | None = None) -> None:
    for name, length in _COMPONENT_TEXT.items():
        _text(values, name, length)
    # GB/T 47678.5 marks these M (mandatory).
    _required(
        values,
        ("component_id", "name", "competent_unit_code", "competent_unit_name", "surveyed_on"),
        errors,
    )
    if values.get("component_id"):
        try:
            parsed = codes.parse_component_id(values["component_id"])
        except ValueError as exc:
            errors["component_id"] = [_("Not a valid component id: %(reason)s.") % {"reason": exc}]
        else:
            values["component_id"] = parsed.number
            values["class_code"] = parsed.class_code
            if Component.objects.filter(component_id=parsed.number).exclude(pk=exclude).exists():
                errors["component_id"] = [_("A component with this id is registered.")]
    for name in _UNIT_CODES:
        if values.get(name):
            try:
                values[name] = parse_credit_code(values[name]).number
            except ValueError as exc:
                errors[name] = [
                    _("Not a valid unified social credit code: %(reason)s.")
                    % {"reason": id_error_text(exc)}
                ]
    today = timezone.localdate()
    for name in ("surveyed_on", "changed_on"):
        if values.get(name) and values[name] > today:
            errors[name] = [_("The date is in the future.")]


def _check_component_grid(values: Mapping[str, Any], grid: Grid, errors: Errors) -> None:
    number = values.get("component_id", "")
    if number and "component_id" not in errors and number[:6] != grid.code[:6]:
        errors["component_id"] = [
            _("Digits 1-6 must be the district code of its grid, %(code)s.")
            % {"code": grid.code[:6]}
        ]


def _component_place(
    *,
    grid: Grid | None,
    lng: float | None,
    lat: float | None,
    actor: User | None,
    errors: Errors,
) -> tuple[Grid | None, str]:
    """The component's unit grid (given, or at the point) and the code it is scoped by: the
    social grid at its point, so the grid worker there sees it; without a point, the unit grid."""
    if grid is None:
        grid = resolve_grid(
            grid=None,
            lng=lng,
            lat=lat,
            layers=(UNIT_LAYER, SOCIAL_LAYER),
            actor=None,
            errors=errors,
        )
    if grid is None:
        return None, ""
    code = grid.code
    if lng is not None and lat is not None:
        ref = locate.locate_point(lng, lat, layers=(SOCIAL_LAYER,)).grid(SOCIAL_LAYER)
        if ref is not None:
            code = ref.code
    if actor is not None and not code_in_scope(actor, code):
        errors["grid"] = [_("The location is not inside a grid of your area.")]
    return grid, code


@transaction.atomic
def component_create(
    *, grid: Grid | None, data: Mapping[str, Any], actor: User | None
) -> Component:
    """Register a component. Its grid is the unit grid (万米单元网格) given or at lng/lat (else the
    social grid there); its id's first six digits must be its district's code."""
    values = {name: data[name] for name in COMPONENT_FIELDS if name in data}
    for name in ("component_id", "name", "competent_unit_code", "competent_unit_name"):
        values.setdefault(name, "")
    values.setdefault("surveyed_on", None)
    errors: Errors = {}
    _clean_component(values, errors)
    grid, region_code = _component_place(
        grid=grid, lng=values.get("lng"), lat=values.get("lat"), actor=actor, errors=errors
    )
    if grid is not None:
        _check_component_grid(values, grid, errors)
    changed_on, surveyed_on = values.get("changed_on"), values.get("surveyed_on")
    if changed_on and surveyed_on and changed_on < surveyed_on:
        errors["changed_on"] = [_("A change cannot precede the initial survey.")]
    if errors:
        raise invalid(errors)
    assert grid is not None  # noqa: S101
    component = Component.objects.create(grid=grid, region_code=region_code, **values)
    _audit(actor, "component_create", component, component_id=component.component_id)
    return component


@transaction.atomic
def component_update(
    *,
    component: Component,
    changes: Mapping[str, Any],
    grid: Grid | None = None,
    actor: User | None,
) -> Component:
    """Change a component's attributes or place; a change of status without a change date is
    dated today."""
    values = {name: changes[name] for name in COMPONENT_FIELDS if name in changes}
    errors: Errors = {}
    if "component_id" in values and values["component_id"] != component.component_id:
        errors["component_id"] = [_("The id of a component does not change; register a new one.")]
        values.pop("component_id")
    _clean_component(values, errors, exclude=component.pk)
    region_code = component.region_code
    if grid is not None or "lng" in values or "lat" in values:
        grid, region_code = _component_place(
            grid=grid or component.grid,
            lng=values.get("lng", component.lng),
            lat=values.get("lat", component.lat),
            actor=actor,
            errors=errors,
        )
    target_grid = grid or component.grid
    _check_component_grid({"component_id": component.component_id}, target_grid, errors)
    if errors:
        raise invalid(errors)
    if values.get("status", component.status) != component.status and "changed_on" not in values:
        values["changed_on"] = timezone.localdate()
    values["grid"], values["region_code"] = target_grid, region_code
    changed = _apply(component, values)
    if component.changed_on and component.changed_on < component.surveyed_on:
        raise invalid({"changed_on": [_("A change cannot precede the initial survey.")]})
    _save(component, changed)
    if changed:
        _audit(actor, "component_update", component, fields=changed)
    return component
