"""Tenant self-registration through a rented house's QR page (篇9), and its approval.

A tenant without an account scans the code on the door and types his name, ID number, phone and
the day he moved in. That is stored as a pending ``SelfRegistration``, sealed like a Person's
numbers, and nothing enters the registry. A grid worker whose scope covers the house approves it
(``lifecycle.person_register`` at the house as a tenant, in the same transaction) or rejects it
with a reason. Either way the encrypted copies are erased from the pending row afterwards: the
registry holds the numbers now, or they were refused. Nobody is notified, so nothing sensitive
travels; the tenant learns the outcome from the grid worker's visit.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core import pii
from wangge.core.audit import audit_log_write
from wangge.core.errors import ConflictError, NotFoundError
from wangge.core.idmessages import id_error_text
from wangge.core.models import User
from wangge.core.scope import filter_to_scope
from wangge.registry import identity, lifecycle
from wangge.registry.lifecycle import Errors, invalid
from wangge.registry.models import House, Person, Residency, SelfRegistration

MAX_PENDING_PER_HOUSE = 20  # a flood from one door stops here; the grid worker clears it
MOVED_IN_MAX_YEARS = 10
MIN_REASON_LENGTH = 4

_ERASED = {
    "id_number_encrypted": "",
    "id_number_hash": "",
    "phone_encrypted": "",
    "phone_hash": "",
}


@dataclass(frozen=True, repr=False)
class TenantDetails:
    """What the tenant typed. ``repr`` hides the numbers."""

    name: str
    id_number: str
    phone: str
    moved_in_on: date | None
    wants_permit: bool = False

    def __repr__(self) -> str:
        return f"TenantDetails(name={self.name!r}, …)"


def _audit(actor: User | None, action: str, registration: SelfRegistration, **details: Any) -> None:
    audit_log_write(
        actor=actor,
        action=f"registry.{action}",
        target_type="registry.selfregistration",
        target_id=registration.pk,
        details={"house": registration.house_id, "id_number": registration.id_number_masked}
        | details,
    )


# Submitting ---------------------------------------------------------------------------------------


def self_registration_attempt_allowed(*, client: str) -> bool:
    """Count one attempt from ``client`` (its address, ``core.clientaddress``); False once the
    client has used up ``WANGGE_SELF_REGISTRATION_LIMIT`` in the current window.

    The counters live in Django's cache, shared by every process and app server when it is Redis
    (``WANGGE_REDIS_URL``); the key holds a keyed hash of the address, never the address.
    """
    window = settings.WANGGE_SELF_REGISTRATION_WINDOW_SECONDS
    key = self_registration_limit_key(client)
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= settings.WANGGE_SELF_REGISTRATION_LIMIT


def self_registration_limit_key(client: str) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"selfreg:{client or 'unknown'}".encode(), hashlib.sha256
    )
    return "wangge:selfreg:" + digest.hexdigest()[:32]


@transaction.atomic
def self_registration_submit(*, house: House, details: TenantDetails) -> SelfRegistration:
    """Store a tenant's registration as pending. Only rented houses take them."""
    now = timezone.now()
    today = timezone.localdate(now)
    errors: Errors = {}
    name = " ".join((details.name or "").split())
    if not name:
        errors["name"] = [_("Give your name.")]
    elif len(name) > 50:
        errors["name"] = [_("A name has at most 50 characters.")]
    sealed_id = identity.NO_ID
    if not (details.id_number or "").strip():
        errors["id_number"] = [_("Give your ID number.")]
    else:
        try:
            sealed_id = identity.seal_id(details.id_number, id_type="resident_id", today=today)
        except ValueError as exc:
            errors["id_number"] = [
                _("Not a valid ID number: %(reason)s.") % {"reason": id_error_text(exc)}
            ]
    sealed_phone = identity.NO_PHONE
    if not (details.phone or "").strip():
        errors["phone"] = [_("Give your phone number.")]
    else:
        try:
            sealed_phone = identity.seal_phone(details.phone)
        except ValueError as exc:
            errors["phone"] = [
                _("Not a valid phone number: %(reason)s.") % {"reason": id_error_text(exc)}
            ]
    moved_in_on = details.moved_in_on
    if moved_in_on is None:
        errors["moved_in_on"] = [_("Give the day you moved in.")]
    elif moved_in_on > today:
        errors["moved_in_on"] = [_("The day you moved in is in the future.")]
    elif moved_in_on < today - timedelta(days=365 * MOVED_IN_MAX_YEARS):
        errors["moved_in_on"] = [
            _("The day you moved in is more than %(years)d years ago.")
            % {"years": MOVED_IN_MAX_YEARS}
        ]
    if errors:
        raise invalid(errors)
    if not house.rented:
        raise NotFoundError(_("No house with this code."))
    pending = SelfRegistration.objects.filter(house=house, status=SelfRegistration.Status.PENDING)
    if pending.filter(id_number_hash=sealed_id.sealed.hash).exists():
        raise ConflictError(_("Your registration is already waiting for the grid worker."))
    if pending.count() >= MAX_PENDING_PER_HOUSE:
        raise ConflictError(
            _("Too many registrations are waiting at this house; ask the grid worker.")
        )
    registration = SelfRegistration(
        house=house,
        name=name,
        sex=sealed_id.sex,
        birth_date=sealed_id.birth_date,
        id_number_encrypted=sealed_id.sealed.token,
        id_number_hash=sealed_id.sealed.hash,
        id_number_masked=sealed_id.sealed.masked,
        id_number_suffix=sealed_id.suffix,
        phone_encrypted=sealed_phone.sealed.token,
        phone_hash=sealed_phone.sealed.hash,
        phone_masked=sealed_phone.sealed.masked,
        phone_suffix=sealed_phone.suffix,
        moved_in_on=moved_in_on,
        wants_permit=bool(details.wants_permit),
        submitted_at=now,
    )
    try:
        with transaction.atomic():
            registration.save()
    except IntegrityError:
        raise ConflictError(
            _("Your registration is already waiting for the grid worker.")
        ) from None
    _audit(None, "self_registration_submit", registration)
    return registration


# Reading ------------------------------------------------------------------------------------------


def _scoped(user: User) -> QuerySet[SelfRegistration]:
    rows = SelfRegistration.objects.select_related("house__building", "decided_by")
    return filter_to_scope(rows, user, "house__region_code")


def self_registration_list(
    *,
    user: User,
    status: str | None = SelfRegistration.Status.PENDING,
    house: int | None = None,
    region: str | None = None,
) -> QuerySet[SelfRegistration]:
    """Self-registrations at houses in the user's scope, oldest pending first."""
    rows = _scoped(user)
    if status:
        rows = rows.filter(status=status)
    if house is not None:
        rows = rows.filter(house_id=house)
    if region:
        rows = rows.filter(house__region_code__startswith=region)
    return rows.order_by("submitted_at", "id")


# Deciding -----------------------------------------------------------------------------------------


def _decide(registration: SelfRegistration, actor: User | None, **values: Any) -> None:
    """Flip pending → decided, erasing the sealed copies; a second decision is a 409."""
    updated = SelfRegistration.objects.filter(
        pk=registration.pk, status=SelfRegistration.Status.PENDING
    ).update(
        decided_at=timezone.now(),
        decided_by=actor if actor is not None and actor.pk else None,
        **_ERASED,
        **values,
    )
    if updated != 1:
        raise ConflictError(_("This self-registration was already decided."))
    registration.refresh_from_db()


@transaction.atomic
def self_registration_approve(
    *,
    registration: SelfRegistration,
    residency_type: str = Person.ResidencyType.FLOATING,
    has_id_copy: bool = False,
    actor: User | None,
) -> lifecycle.Registration:
    """Register the tenant at the house (as ``lifecycle.person_register`` does for a grid worker)
    and mark the self-registration approved, in one transaction: either both or neither."""
    locked = SelfRegistration.objects.select_for_update().filter(pk=registration.pk).first()
    if locked is None or locked.status != SelfRegistration.Status.PENDING:
        raise ConflictError(_("This self-registration was already decided."))
    # The numbers go from one sealed column to the other without being shown or logged:
    # person_register validates and seals them afresh (and finds a known ID number).
    details = lifecycle.PersonDetails(
        name=locked.name,
        residency_type=residency_type,
        id_number=pii.decrypt(locked.id_number_encrypted, purpose=pii.PURPOSE_RESIDENT_ID),
        phone=pii.decrypt(locked.phone_encrypted, purpose=pii.PURPOSE_PHONE),
    )
    result = lifecycle.person_register(
        details=details,
        house=locked.house,
        relation=Residency.Relation.TENANT,
        moved_in_on=locked.moved_in_on,
        registered=True,
        has_id_copy=has_id_copy,
        actor=actor,
    )
    _decide(
        locked,
        actor,
        status=SelfRegistration.Status.APPROVED,
        person=result.person,
        residency=result.residency,
    )
    _audit(
        actor,
        "self_registration_approve",
        locked,
        person=result.person.pk,
        residency=result.residency.pk,
        created=result.created,
    )
    registration.refresh_from_db()
    return result


@transaction.atomic
def self_registration_reject(
    *, registration: SelfRegistration, reason: str, actor: User | None
) -> SelfRegistration:
    """Refuse a self-registration with a reason; nothing enters the registry."""
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON_LENGTH:
        raise invalid(
            {"reason": [_("Give a reason of at least %(count)d characters.") % {"count": 4}]}
        )
    _decide(
        registration,
        actor,
        status=SelfRegistration.Status.REJECTED,
        reject_reason=reason[:500],
    )
    _audit(actor, "self_registration_reject", registration)
    return registration


def pending_count(*, user: User) -> int:
    return self_registration_list(user=user).count()


__all__ = [
    "MAX_PENDING_PER_HOUSE",
    "TenantDetails",
    "pending_count",
    "self_registration_approve",
    "self_registration_list",
    "self_registration_reject",
    "self_registration_submit",
]
