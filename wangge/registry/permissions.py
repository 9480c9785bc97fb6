"""Who may do what in the registry: the ``can_<verb>_<thing>`` predicates and the
``access_<thing>_for_user`` look-ups (one row inside the user's data scope, or NotFound).

Views, APIs and services ask here; nothing else in the registry tests a permission by hand
(``proof/tests/test_permission_form.py`` checks that).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from wangge.core.errors import NotFoundError
from wangge.core.models import User
from wangge.core.scope import EVERYTHING, filter_to_scope, prefixes_q, scope_prefixes
from wangge.registry import selectors, selfregistration
from wangge.registry.models import (
    Building,
    Component,
    House,
    Household,
    LedgerImport,
    Organization,
    Person,
    Residency,
    SelfRegistration,
)
from wangge.registry.qrcodes import TOKEN_RE

# Ledger kinds are ``registry.ledgers.mapping``'s (spelt out: ledgers import this module).
EXPORT_PERSONAL_DATA = "registry.export_personal_data"
UNMASK = "registry.unmask_person"
VIEW_PERMISSIONS = {
    "people": "registry.view_person",
    "houses": "registry.view_house",
    "organizations": "registry.view_organization",
    "components": "registry.view_component",
}
IMPORT_PERMISSIONS = {
    "people": "registry.add_person",
    "houses": "registry.add_house",
    "organizations": "registry.add_organization",
    "components": "registry.add_component",
}
MOVE_PERMISSIONS = ("registry.change_residency", "registry.add_residency")
REGISTER_PERMISSIONS = ("registry.add_person", "registry.add_residency")


# Predicates ---------------------------------------------------------------------------------------


def can_view_person(user: User) -> bool:
    return user.has_perm("registry.view_person")


def can_view_house(user: User) -> bool:
    return user.has_perm("registry.view_house")


def can_change_house(user: User) -> bool:
    return user.has_perm("registry.change_house")


def can_view_building(user: User) -> bool:
    return user.has_perm("registry.view_building")


def can_view_organization(user: User) -> bool:
    return user.has_perm("registry.view_organization")


def can_view_data_quality(user: User) -> bool:
    return user.has_perm("registry.view_data_quality")


def can_unmask_person(user: User) -> bool:
    """May see full ID and phone numbers (with a reason, audited)."""
    return user.has_perm(UNMASK)


def can_export_personal_data(user: User) -> bool:
    return user.has_perm(EXPORT_PERSONAL_DATA)


def can_register_person(user: User) -> bool:
    """May register a resident in a house (a person and the residency), or approve a tenant's own."""
    return user.has_perms(REGISTER_PERMISSIONS)


def can_move_resident(user: User) -> bool:
    return user.has_perms(MOVE_PERMISSIONS)


def can_view_ledger(user: User, kind: str) -> bool:
    return kind in VIEW_PERMISSIONS and user.has_perm(VIEW_PERMISSIONS[kind])


def can_import_ledger(user: User, kind: str) -> bool:
    """May ``user`` import ledgers of ``kind``: the add permission of what the ledger creates."""
    return kind in IMPORT_PERMISSIONS and user.has_perm(IMPORT_PERMISSIONS[kind])


def can_export_ledger(user: User, kind: str) -> bool:
    """May ``user`` export ledgers of ``kind`` (the checks of ``ledger_export`` before a reason)."""
    if not can_view_ledger(user, kind):
        return False
    return kind != "people" or can_export_personal_data(user)


# Look-ups ---------------------------------------------------------------------------------------


def access_building_for_user(*, user: User, building_id: Any) -> Building:
    return selectors._get(
        selectors._scoped(Building.objects.all(), user),
        building_id,
        _("No building with id %(id)s.") % {"id": building_id},
    )


def access_house_for_user(*, user: User, house_id: Any) -> House:
    return selectors._get(
        selectors._scoped(House.objects.select_related("building"), user),
        house_id,
        _("No house with id %(id)s.") % {"id": house_id},
    )


def access_household_for_user(*, user: User, household_id: Any) -> Household:
    return selectors._get(
        selectors._scoped(
            Household.objects.select_related("house__building", "head", "care_class"), user
        ),
        household_id,
        _("No household with id %(id)s.") % {"id": household_id},
    )


def access_person_for_user(*, user: User, person_id: Any) -> Person:
    return selectors._get(
        selectors._people(user).select_related("merged_into"),
        person_id,
        _("No person with id %(id)s.") % {"id": person_id},
    )


def access_residency_for_user(*, user: User, residency_id: Any) -> Residency:
    """A residency whose house, or whose person's home, is inside the user's scope."""
    scope = scope_prefixes(user)
    residencies = Residency.objects.select_related("person", "house__building", "household")
    if not scope:
        residencies = residencies.none()
    elif scope is not EVERYTHING:
        residencies = residencies.filter(
            prefixes_q(scope, "region_code") | prefixes_q(scope, "person__region_code")
        )
    return selectors._get(
        residencies, residency_id, _("No residency with id %(id)s.") % {"id": residency_id}
    )


def access_organization_for_user(*, user: User, organization_id: Any) -> Organization:
    return selectors._get(
        selectors._scoped(Organization.objects.all(), user),
        organization_id,
        _("No organization with id %(id)s.") % {"id": organization_id},
    )


def access_component_for_user(*, user: User, component_id: Any) -> Component:
    return selectors._get(
        selectors._scoped(Component.objects.select_related("grid"), user),
        component_id,
        _("No component with id %(id)s.") % {"id": component_id},
    )


def access_house_by_token_for_user(*, user: User, token: str) -> House:
    """The house for a user whose scope covers it; outside the scope answers like unknown."""
    if not TOKEN_RE.fullmatch(token or ""):
        raise NotFoundError(_("No house with this code."))
    houses = filter_to_scope(House.objects.select_related("building"), user, "region_code")
    house = houses.filter(qr_token=token).first()
    if house is None:
        raise NotFoundError(_("No house with this code."))
    return house


def access_self_registration_for_user(*, user: User, registration_id: Any) -> SelfRegistration:
    message = _("No self-registration with id %(id)s.") % {"id": registration_id}
    try:
        return selfregistration._scoped(user).get(pk=registration_id)
    except (SelfRegistration.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(message) from None


def access_import_for_user(*, user: User, job_id: Any) -> LedgerImport:
    """An import job of the user's own (a superuser's: any); others answer like missing ones:
    a job's rejects hold the numbers of the rows it rejected."""
    jobs = (
        LedgerImport.objects.all()
        if user.is_superuser
        else LedgerImport.objects.filter(created_by=user)
    )
    try:
        return jobs.get(pk=job_id)
    except (LedgerImport.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("No ledger import with id %(id)s.") % {"id": job_id}) from None
