"""Reads of the registry. Every selector takes the requesting user and applies the data scope.

Buildings, houses, households, organizations and components are visible when their grid code is
inside the user's scope. A person is visible when his home grid is, or when he has a residency that
is not deregistered in a grid inside it (an owner who lets his flat in grid A and lives in grid B is
seen by both grid workers). Anything outside the scope answers exactly like something missing.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from wangge.core.errors import NotFoundError
from wangge.core.models import User
from wangge.core.scope import EVERYTHING, filter_to_scope, prefixes_q, scope_prefixes
from wangge.registry import identity
from wangge.registry.models import (
    Building,
    CareClass,
    Component,
    House,
    Household,
    Organization,
    Person,
    PersonEvent,
    Residency,
    Tag,
)

M = TypeVar("M", bound=Model)


def _scoped(queryset: QuerySet[M], user: User) -> QuerySet[M]:
    return filter_to_scope(queryset, user, "region_code")


def _in_region(queryset: QuerySet[M], region: str | None) -> QuerySet[M]:
    return queryset.filter(region_code__startswith=region) if region else queryset


def _get(queryset: QuerySet[M], pk: Any, message: str) -> M:
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(message) from None


# Places ----------------------------------------------------------------------------------------


def building_list(
    *, user: User, region: str | None = None, q: str | None = None
) -> QuerySet[Building]:
    buildings = _in_region(_scoped(Building.objects.all(), user), region)
    if q:
        buildings = buildings.filter(Q(address__icontains=q) | Q(name__icontains=q))
    return buildings.order_by("region_code", "address", "id")


def house_list(
    *,
    user: User,
    building: int | None = None,
    rented: bool | None = None,
    region: str | None = None,
) -> QuerySet[House]:
    houses = _in_region(_scoped(House.objects.select_related("building"), user), region)
    if building is not None:
        houses = houses.filter(building_id=building)
    if rented is not None:
        houses = houses.filter(rented=rented)
    return houses.order_by("region_code", "building_id", "unit", "room", "id")


def household_list(
    *, user: User, house: int | None = None, region: str | None = None
) -> QuerySet[Household]:
    households = _in_region(
        _scoped(Household.objects.select_related("house__building", "head", "care_class"), user),
        region,
    )
    if house is not None:
        households = households.filter(house_id=house)
    return households.order_by("region_code", "house_id", "number", "id")


# People ----------------------------------------------------------------------------------------


def person_scope_q(user: User) -> Q:
    """People the user may see: home grid in scope, or a residency not deregistered in scope."""
    scope = scope_prefixes(user)
    if scope is EVERYTHING:
        return Q()
    if not scope:
        return Q(pk__in=[])
    open_here = Residency.objects.filter(
        prefixes_q(scope, "region_code"), person=OuterRef("pk"), deregistered_at__isnull=True
    )
    return prefixes_q(scope, "region_code") | Q(Exists(open_here))


def _people(user: User) -> QuerySet[Person]:
    return Person.objects.filter(person_scope_q(user))


def person_list(
    *,
    user: User,
    name: str | None = None,
    id_suffix: str | None = None,
    phone_suffix: str | None = None,
    residency_type: str | None = None,
    tag: str | None = None,
    house: int | None = None,
    region: str | None = None,
    living: bool | None = None,
    include_merged: bool = False,
) -> QuerySet[Person]:
    """People in scope. ``living`` keeps those with (True) or without (False) a current residency."""
    people = _people(user)
    if not include_merged:
        people = people.filter(status=Person.Status.ACTIVE)
    if name:
        people = people.filter(name__contains=name.strip())
    if id_suffix:
        people = people.filter(id_number_suffix=id_suffix.upper())
    if phone_suffix:
        people = people.filter(phone_suffix=phone_suffix)
    if residency_type:
        people = people.filter(residency_type=residency_type)
    if tag:
        people = people.filter(tags__code=tag)
    if region:
        people = people.filter(region_code__startswith=region)
    if house is not None:
        people = people.filter(
            Exists(
                Residency.objects.filter(
                    person=OuterRef("pk"), house_id=house, deregistered_at__isnull=True
                )
            )
        )
    if living is not None:
        current = Exists(
            Residency.objects.filter(
                person=OuterRef("pk"), moved_out_on__isnull=True, deregistered_at__isnull=True
            )
        )
        people = people.filter(current if living else ~current)
    return people.order_by("region_code", "name", "id")


def person_find(*, user: User, id_number: str = "", phone: str = "") -> QuerySet[Person]:
    """People in scope with exactly this ID number or phone number, found by lookup hash."""
    people = _people(user).filter(status=Person.Status.ACTIVE)
    if id_number:
        id_hash = identity.id_lookup_hash(id_number)
        if id_hash is None:
            return people.none()
        people = people.filter(id_number_hash=id_hash)
    if phone:
        phone_hash = identity.phone_lookup_hash(phone)
        if phone_hash is None:
            return people.none()
        people = people.filter(phone_hash=phone_hash)
    if not (id_number or phone):
        return people.none()
    return people.order_by("region_code", "name", "id")


def person_residencies(*, person: Person) -> QuerySet[Residency]:
    return person.residencies.select_related("house__building", "household").order_by(
        "deregistered_at", "-moved_in_on", "-id"
    )


def person_history(*, person: Person, limit: int = 200) -> list[PersonEvent]:
    return list(person.events.select_related("actor").order_by("-created_at", "-id")[:limit])


def residency_list(
    *, user: User, house: int | None = None, current: bool | None = None
) -> QuerySet[Residency]:
    residencies = _scoped(Residency.objects.select_related("person", "house__building"), user)
    if house is not None:
        residencies = residencies.filter(house_id=house)
    if current is not None:
        living = Q(moved_out_on__isnull=True, deregistered_at__isnull=True)
        residencies = residencies.filter(living if current else ~living)
    return residencies.order_by("-moved_in_on", "-id")


# Organizations and components ------------------------------------------------------------------


def organization_list(
    *,
    user: User,
    org_type: str | None = None,
    q: str | None = None,
    region: str | None = None,
    safety_key_unit: bool | None = None,
) -> QuerySet[Organization]:
    organizations = _in_region(_scoped(Organization.objects.all(), user), region)
    if org_type:
        organizations = organizations.filter(org_type=org_type)
    if q:
        organizations = organizations.filter(
            Q(name__icontains=q) | Q(credit_code=q.upper()) | Q(address__icontains=q)
        )
    if safety_key_unit is not None:
        organizations = organizations.filter(safety_key_unit=safety_key_unit)
    return organizations.order_by("region_code", "name", "id")


def component_list(
    *,
    user: User,
    class_code: str | None = None,
    status: str | None = None,
    region: str | None = None,
) -> QuerySet[Component]:
    components = _in_region(_scoped(Component.objects.select_related("grid"), user), region)
    if class_code:
        components = components.filter(class_code__startswith=class_code)
    if status:
        components = components.filter(status=status)
    return components.order_by("component_id")


# Configuration ---------------------------------------------------------------------------------


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.filter(active=True).select_related("care_class")


def care_class_list() -> QuerySet[CareClass]:
    return CareClass.objects.all()
