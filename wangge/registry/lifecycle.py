"""The life of a resident in the registry: the real events, one service each.

register at a house → (move in elsewhere) → move out → deregister; change of residency type;
residence permit issued and renewed; details corrected; the photo set or removed; two records of
one person merged.

Every service is one transaction that writes the change, a ``PersonEvent`` row (the person's
history) and an audit row. Flips of a residency's state are conditional updates whose row count is
checked, so two grid workers acting at once cannot both deregister the same residency. Personal
numbers are sealed here (``registry.identity``) and appear in events and audit rows only masked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import IO, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import audit_log_write
from wangge.core.errors import ConflictError, InvalidInputError
from wangge.core.idmessages import id_error_text
from wangge.core.images import clean_upload
from wangge.core.models import User
from wangge.registry import identity
from wangge.registry.care import refresh_care_classes
from wangge.registry.ethnicities import normalize_ethnicity
from wangge.registry.models import (
    House,
    Household,
    Person,
    PersonEvent,
    Residency,
    Tag,
)

Errors = dict[str, list[str]]


@dataclass(frozen=True, repr=False)
class PersonDetails:
    """What is entered about a person when registering him. ``repr`` hides the numbers."""

    name: str
    residency_type: str
    id_type: str = Person.IdType.RESIDENT_ID
    id_number: str = ""
    phone: str = ""
    sex: str = ""
    birth_date: date | None = None
    ethnicity: str = ""
    hukou_address: str = ""
    occupation: str = ""
    workplace: str = ""
    tags: Sequence[Tag] = field(default_factory=tuple)

    def __repr__(self) -> str:
        return f"PersonDetails(name={self.name!r}, residency_type={self.residency_type!r}, …)"


@dataclass(frozen=True)
class Registration:
    person: Person
    residency: Residency
    created: bool  # False when the ID number was already in the registry


def invalid(errors: Mapping[str, Sequence[str]]) -> InvalidInputError:
    """One InvalidInputError for all field problems; its message names the first one."""
    field_name, messages = next(iter(errors.items()))
    return InvalidInputError(f"{field_name}: {messages[0]}", errors)


# Checking what was typed ------------------------------------------------------------------------


def _clean_name(value: str, errors: Errors) -> str:
    name = " ".join((value or "").split())
    if not name:
        errors["name"] = [_("Give the person's name.")]
    elif len(name) > 50:
        errors["name"] = [_("A name has at most 50 characters.")]
    return name


def _clean_id(id_type: str, raw: str, today: date, errors: Errors) -> identity.SealedId:
    if id_type not in Person.IdType.values:
        errors["id_type"] = [_("Unknown document type %(type)s.") % {"type": id_type}]
        return identity.NO_ID
    try:
        return identity.seal_id(raw, id_type=id_type, today=today)
    except ValueError as exc:
        errors["id_number"] = [
            _("Not a valid ID number: %(reason)s.") % {"reason": id_error_text(exc)}
        ]
        return identity.NO_ID


def _clean_phone(raw: str, errors: Errors) -> identity.SealedPhone:
    try:
        return identity.seal_phone(raw)
    except ValueError as exc:
        errors["phone"] = [
            _("Not a valid phone number: %(reason)s.") % {"reason": id_error_text(exc)}
        ]
        return identity.NO_PHONE


def _clean_ethnicity(value: str, errors: Errors) -> str:
    try:
        return normalize_ethnicity(value or "")
    except ValueError:
        errors["ethnicity"] = [_("Not an ethnic group of GB/T 3304: %(value)s.") % {"value": value}]
        return ""


def _clean_birth_and_sex(
    sealed: identity.SealedId | None,
    sex: str | None,
    birth_date: date | None,
    today: date,
    errors: Errors,
) -> dict[str, Any]:
    """Birth date and sex: from the resident ID when there is one, else as entered."""
    if sealed is not None and sealed.birth_date is not None:
        if birth_date and birth_date != sealed.birth_date:
            errors["birth_date"] = [_("The birth date differs from the one in the ID number.")]
        if sex and sex != sealed.sex:
            errors["sex"] = [_("The sex differs from the one in the ID number.")]
        return {"birth_date": sealed.birth_date, "sex": sealed.sex}
    values: dict[str, Any] = {}
    if birth_date is not None:
        if birth_date > today:
            errors["birth_date"] = [_("The birth date is in the future.")]
        values["birth_date"] = birth_date
    if sex is not None:
        if sex and sex not in Person.Sex.values:
            errors["sex"] = [_("Unknown sex %(value)s.") % {"value": sex}]
        values["sex"] = sex
    return values


def _id_columns(sealed: identity.SealedId) -> dict[str, str]:
    return {
        "id_number_encrypted": sealed.sealed.token,
        "id_number_hash": sealed.sealed.hash,
        "id_number_masked": sealed.sealed.masked,
        "id_number_suffix": sealed.suffix,
    }


def _phone_columns(sealed: identity.SealedPhone) -> dict[str, str]:
    return {
        "phone_encrypted": sealed.sealed.token,
        "phone_hash": sealed.sealed.hash,
        "phone_masked": sealed.sealed.masked,
        "phone_suffix": sealed.suffix,
    }


def _check_date(value: date | None, name: str, today: date, errors: Errors) -> None:
    if value is not None and value > today:
        errors[name] = [_("The date %(date)s is in the future.") % {"date": value.isoformat()}]


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


# History ----------------------------------------------------------------------------------------


def _event(
    person: Person,
    action: str,
    actor: User | None,
    *,
    residency: Residency | None = None,
    reason: str = "",
    **details: Any,
) -> PersonEvent:
    return PersonEvent.objects.create(
        person=person,
        residency=residency,
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        reason=reason[:500],
        details={k: v.isoformat() if isinstance(v, date) else v for k, v in details.items()},
    )


def _audit(actor: User | None, action: str, person: Person, **details: Any) -> None:
    audit_log_write(
        actor=actor,
        action=f"registry.{action}",
        target_type="registry.person",
        target_id=person.pk,
        details={k: v.isoformat() if isinstance(v, date) else v for k, v in details.items()},
    )


def refresh_home(person: Person) -> None:
    """Point the person's ``region_code`` at his home: the current residency moved into last;
    without one, the last residency not yet deregistered; without one, the last of all."""
    rows = list(
        Residency.objects.filter(person=person).values_list(
            "id", "region_code", "moved_in_on", "moved_out_on", "deregistered_at"
        )
    )
    if not rows:
        return

    def rank(row: tuple[Any, ...]) -> tuple[Any, ...]:
        pk, _code, moved_in, moved_out, deregistered = row
        open_ = deregistered is None
        return (open_ and moved_out is None, open_, moved_in or date.min, pk)

    home_code = max(rows, key=rank)[1]
    if home_code != person.region_code:
        Person.objects.filter(pk=person.pk).update(region_code=home_code)
        person.region_code = home_code


def _lag(since: date | None, today: date) -> int | None:
    return (today - since).days if since is not None else None


def _open_residency(
    *,
    person: Person,
    house: House,
    relation: str,
    household: Household | None,
    moved_in_on: date | None,
    registered: bool,
    has_id_copy: bool,
    actor: User | None,
    now: datetime,
) -> Residency:
    today = timezone.localdate(now)
    errors: Errors = {}
    if relation not in Residency.Relation.values:
        errors["relation"] = [_("Unknown relation %(value)s.") % {"value": relation}]
    if household is not None and household.house_id != house.pk:
        errors["household"] = [_("The household belongs to another house.")]
    _check_date(moved_in_on, "moved_in_on", today, errors)
    if moved_in_on is None and person.residency_type == Person.ResidencyType.FLOATING:
        errors["moved_in_on"] = [_("Give the date a floating resident moved in.")]
    if errors:
        raise invalid(errors)
    if Residency.objects.filter(person=person, house=house, deregistered_at__isnull=True).exists():
        raise ConflictError(_("This person is already registered at this house."))
    return Residency.objects.create(
        person=person,
        house=house,
        household=household,
        region_code=house.region_code,
        relation=relation,
        moved_in_on=moved_in_on,
        registered_at=now if registered else None,
        registered_by=actor if registered and actor is not None and actor.pk else None,
        registration_lag_days=_lag(moved_in_on, today) if registered else None,
        has_id_copy=has_id_copy,
    )


# Services --------------------------------------------------------------------------------------


@transaction.atomic
def person_register(
    *,
    details: PersonDetails,
    house: House,
    relation: str,
    household: Household | None = None,
    moved_in_on: date | None = None,
    registered: bool = True,
    has_id_copy: bool = False,
    actor: User | None,
) -> Registration:
    """Register a person at a house (人口登记).

    The ID number is the person's natural key: when it is already in the registry (under the same
    name) no second record is made, the existing person gets the new residency instead and
    ``created`` is False. ``registered=False`` records a reported move-in that still awaits its
    registration (``residency_register``).
    """
    now = timezone.now()
    today = timezone.localdate(now)
    errors: Errors = {}
    name = _clean_name(details.name, errors)
    sealed_id = _clean_id(details.id_type, details.id_number, today, errors)
    sealed_phone = _clean_phone(details.phone, errors)
    ethnicity = _clean_ethnicity(details.ethnicity, errors)
    born = _clean_birth_and_sex(sealed_id, details.sex, details.birth_date, today, errors)
    if details.residency_type not in Person.ResidencyType.values:
        errors["residency_type"] = [
            _("Unknown residency type %(value)s.") % {"value": details.residency_type}
        ]
    if errors:
        raise invalid(errors)

    existing = None
    if sealed_id.sealed.hash:
        existing = (
            Person.objects.select_for_update()
            .filter(id_number_hash=sealed_id.sealed.hash, status=Person.Status.ACTIVE)
            .first()
        )
    if existing is not None:
        if not _same_name(existing.name, name):
            raise invalid({"name": [_("This ID number is registered under another name.")]})
        person, created = existing, False
    else:
        person = Person(
            name=name,
            id_type=details.id_type,
            **_id_columns(sealed_id),
            **_phone_columns(sealed_phone),
            **born,
            ethnicity=ethnicity,
            hukou_address=details.hukou_address.strip()[:200],
            residency_type=details.residency_type,
            occupation=details.occupation.strip()[:50],
            workplace=details.workplace.strip()[:100],
            region_code=house.region_code,
        )
        try:
            with transaction.atomic():
                person.save()
        except IntegrityError:
            raise ConflictError(
                _("Someone registered this ID number at the same moment; try again.")
            ) from None
        person.tags.set(details.tags)
        created = True

    residency = _open_residency(
        person=person,
        house=house,
        relation=relation,
        household=household,
        moved_in_on=moved_in_on,
        registered=registered,
        has_id_copy=has_id_copy,
        actor=actor,
        now=now,
    )
    refresh_home(person)
    refresh_care_classes([residency.household_id])
    action = PersonEvent.Action.REGISTERED if created else PersonEvent.Action.MOVED_IN
    _event(
        person,
        action,
        actor,
        residency=residency,
        house=house.pk,
        relation=relation,
        moved_in_on=moved_in_on,
        registered=registered,
    )
    _audit(
        actor,
        "person_register",
        person,
        created=created,
        residency=residency.pk,
        house=house.pk,
        id_number=person.id_number_masked,
    )
    return Registration(person=person, residency=residency, created=created)


@transaction.atomic
def residency_move_in(
    *,
    person: Person,
    house: House,
    relation: str,
    household: Household | None = None,
    moved_in_on: date | None = None,
    registered: bool = True,
    has_id_copy: bool = False,
    actor: User | None,
) -> Residency:
    """A person already in the registry moves into (or starts to own) another house."""
    if person.status != Person.Status.ACTIVE:
        raise ConflictError(_("This record was merged into another one; use that one."))
    residency = _open_residency(
        person=person,
        house=house,
        relation=relation,
        household=household,
        moved_in_on=moved_in_on,
        registered=registered,
        has_id_copy=has_id_copy,
        actor=actor,
        now=timezone.now(),
    )
    refresh_home(person)
    refresh_care_classes([residency.household_id])
    _event(
        person,
        PersonEvent.Action.MOVED_IN,
        actor,
        residency=residency,
        house=house.pk,
        relation=relation,
        moved_in_on=moved_in_on,
        registered=registered,
    )
    _audit(actor, "residency_move_in", person, residency=residency.pk, house=house.pk)
    return residency


@transaction.atomic
def residency_register(*, residency: Residency, actor: User | None) -> Residency:
    """Complete the registration of a reported move-in (补登); its lag is measured today."""
    now = timezone.now()
    lag = _lag(residency.moved_in_on, timezone.localdate(now))
    updated = Residency.objects.filter(
        pk=residency.pk, registered_at__isnull=True, deregistered_at__isnull=True
    ).update(
        registered_at=now,
        registered_by=actor if actor is not None and actor.pk else None,
        registration_lag_days=lag,
        updated_at=now,
    )
    if updated != 1:
        raise ConflictError(_("This residency is already registered, or it was deregistered."))
    residency.refresh_from_db()
    _event(
        residency.person,
        PersonEvent.Action.REGISTRATION_COMPLETED,
        actor,
        residency=residency,
        lag_days=lag,
    )
    _audit(actor, "residency_register", residency.person, residency=residency.pk, lag_days=lag)
    return residency


@transaction.atomic
def residency_move_out(
    *, residency: Residency, moved_out_on: date, actor: User | None
) -> Residency:
    """Record that the person left the house on ``moved_out_on``; deregistration is separate."""
    now = timezone.now()
    errors: Errors = {}
    _check_date(moved_out_on, "moved_out_on", timezone.localdate(now), errors)
    if residency.moved_in_on and moved_out_on < residency.moved_in_on:
        errors["moved_out_on"] = [_("The person cannot move out before moving in.")]
    if errors:
        raise invalid(errors)
    updated = Residency.objects.filter(
        pk=residency.pk, moved_out_on__isnull=True, deregistered_at__isnull=True
    ).update(moved_out_on=moved_out_on, updated_at=now)
    if updated != 1:
        raise ConflictError(_("This residency already has a moving-out date, or was deregistered."))
    residency.refresh_from_db()
    person = residency.person
    refresh_home(person)
    refresh_care_classes([residency.household_id])
    _event(
        person, PersonEvent.Action.MOVED_OUT, actor, residency=residency, moved_out_on=moved_out_on
    )
    _audit(actor, "residency_move_out", person, residency=residency.pk, moved_out_on=moved_out_on)
    return residency


DEREGISTRATION_NEEDS_DATE = {
    Residency.DeregistrationReason.MOVED_AWAY,
    Residency.DeregistrationReason.DECEASED,
}


@transaction.atomic
def residency_deregister(
    *,
    residency: Residency,
    reason: str,
    moved_out_on: date | None = None,
    note: str = "",
    actor: User | None,
) -> Residency:
    """Deregister a residency (注销). Moving away and death need the date it happened (given now or
    recorded before by ``residency_move_out``); the lag from that date is kept for data quality."""
    now = timezone.now()
    today = timezone.localdate(now)
    errors: Errors = {}
    allowed = set(Residency.DeregistrationReason.values) - {Residency.DeregistrationReason.MERGED}
    if reason not in allowed:
        errors["reason"] = [_("Unknown reason %(value)s.") % {"value": reason}]
    left_on = residency.moved_out_on
    if moved_out_on is not None:
        if left_on is not None and moved_out_on != left_on:
            errors["moved_out_on"] = [
                _("The moving-out date was already recorded as %(date)s.")
                % {"date": left_on.isoformat()}
            ]
        left_on = moved_out_on
    if left_on is None and reason in DEREGISTRATION_NEEDS_DATE:
        errors["moved_out_on"] = [_("Give the date the person left.")]
    _check_date(left_on, "moved_out_on", today, errors)
    if left_on and residency.moved_in_on and left_on < residency.moved_in_on:
        errors["moved_out_on"] = [_("The person cannot move out before moving in.")]
    if errors:
        raise invalid(errors)
    updated = Residency.objects.filter(pk=residency.pk, deregistered_at__isnull=True).update(
        deregistered_at=now,
        deregistration_reason=reason,
        moved_out_on=left_on,
        deregistration_lag_days=_lag(left_on, today),
        updated_at=now,
    )
    if updated != 1:
        raise ConflictError(_("This residency was already deregistered."))
    residency.refresh_from_db()
    person = residency.person
    refresh_home(person)
    refresh_care_classes([residency.household_id])
    _event(
        person,
        PersonEvent.Action.DEREGISTERED,
        actor,
        residency=residency,
        reason=note,
        deregistration_reason=reason,
        moved_out_on=left_on,
        lag_days=residency.deregistration_lag_days,
    )
    _audit(
        actor,
        "residency_deregister",
        person,
        residency=residency.pk,
        reason=reason,
        lag_days=residency.deregistration_lag_days,
    )
    return residency


@transaction.atomic
def person_change_residency_type(
    *, person: Person, residency_type: str, reason: str = "", actor: User | None
) -> Person:
    """户籍 / 常住 / 流动: e.g. a floating resident who has lived here half a year becomes 常住."""
    if residency_type not in Person.ResidencyType.values:
        raise invalid(
            {"residency_type": [_("Unknown residency type %(value)s.") % {"value": residency_type}]}
        )
    old = person.residency_type
    if residency_type == old:
        raise invalid({"residency_type": [_("The person already has this residency type.")]})
    updated = Person.objects.filter(
        pk=person.pk, residency_type=old, status=Person.Status.ACTIVE
    ).update(residency_type=residency_type, updated_at=timezone.now())
    if updated != 1:
        raise ConflictError(_("The person was changed meanwhile; reload and try again."))
    person.residency_type = residency_type
    _event(
        person,
        PersonEvent.Action.RESIDENCY_TYPE_CHANGED,
        actor,
        reason=reason,
        **{"from": old, "to": residency_type},
    )
    _audit(actor, "person_change_residency_type", person, **{"from": old, "to": residency_type})
    return person


@transaction.atomic
def residency_issue_permit(
    *,
    residency: Residency,
    permit_number: str,
    issued_on: date,
    expires_on: date,
    actor: User | None,
) -> Residency:
    """Record a residence permit (居住证) issued to the resident of this residency."""
    today = timezone.localdate()
    errors: Errors = {}
    person = residency.person
    if person.residency_type == Person.ResidencyType.REGISTERED:
        errors["residency_type"] = [
            _("Registered residents (户籍人口) do not get a residence permit.")
        ]
    try:
        sealed = identity.seal_permit_number(permit_number)
    except ValueError as exc:
        errors["permit_number"] = [
            _("Not a valid permit number: %(reason)s.") % {"reason": id_error_text(exc)}
        ]
        sealed = None
    _check_date(issued_on, "issued_on", today, errors)
    if expires_on <= issued_on:
        errors["expires_on"] = [_("A permit expires after the day it is issued.")]
    if errors:
        raise invalid(errors)
    assert sealed is not None  # noqa: S101 — errors raised above otherwise
    updated = Residency.objects.filter(pk=residency.pk, deregistered_at__isnull=True).update(
        permit_number_encrypted=sealed.token,
        permit_number_hash=sealed.hash,
        permit_number_masked=sealed.masked,
        permit_status=Residency.PermitStatus.ISSUED,
        permit_issued_on=issued_on,
        permit_expires_on=expires_on,
        updated_at=timezone.now(),
    )
    if updated != 1:
        raise ConflictError(_("This residency was deregistered."))
    residency.refresh_from_db()
    _event(
        person,
        PersonEvent.Action.PERMIT_ISSUED,
        actor,
        residency=residency,
        permit_number=sealed.masked,
        issued_on=issued_on,
        expires_on=expires_on,
    )
    _audit(actor, "residency_issue_permit", person, residency=residency.pk, expires_on=expires_on)
    return residency


@transaction.atomic
def residency_renew_permit(
    *, residency: Residency, expires_on: date, actor: User | None
) -> Residency:
    """Extend a residence permit (签注) to ``expires_on``."""
    old = residency.permit_expires_on
    if residency.permit_status != Residency.PermitStatus.ISSUED or old is None:
        raise invalid({"expires_on": [_("There is no issued permit to renew.")]})
    if expires_on <= old:
        raise invalid(
            {
                "expires_on": [
                    _("A renewal extends the permit beyond %(date)s.") % {"date": old.isoformat()}
                ]
            }
        )
    updated = Residency.objects.filter(
        pk=residency.pk,
        deregistered_at__isnull=True,
        permit_status=Residency.PermitStatus.ISSUED,
        permit_expires_on=old,
    ).update(permit_expires_on=expires_on, updated_at=timezone.now())
    if updated != 1:
        raise ConflictError(_("The permit was changed meanwhile; reload and try again."))
    residency.refresh_from_db()
    _event(
        residency.person,
        PersonEvent.Action.PERMIT_RENEWED,
        actor,
        residency=residency,
        expires_on=expires_on,
        previous_expires_on=old,
    )
    _audit(
        actor,
        "residency_renew_permit",
        residency.person,
        residency=residency.pk,
        expires_on=expires_on,
    )
    return residency


PERSON_TEXT_FIELDS = {"hukou_address": 200, "occupation": 50, "workplace": 100}


@transaction.atomic
def person_update(
    *,
    person: Person,
    changes: Mapping[str, Any],
    actor: User | None,
    other_visible: Callable[[int], bool] | None = None,
) -> Person:
    """Correct a person's details. ``changes`` holds only what changes: name, id_type + id_number,
    phone, sex, birth_date (only without a resident ID), ethnicity, hukou_address, occupation,
    workplace, tags. An ID number that another record has is refused: merge the two instead.

    ``other_visible(person_id) -> bool`` tells whether the actor may learn the other record's id.
    """
    if person.status != Person.Status.ACTIVE:
        raise ConflictError(_("This record was merged into another one; use that one."))
    today = timezone.localdate()
    errors: Errors = {}
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = _clean_name(changes["name"], errors)
    sealed_id: identity.SealedId | None = None
    if "id_type" in changes or "id_number" in changes:
        if "id_number" not in changes:
            errors["id_number"] = [_("Enter the document number again when changing its type.")]
        else:
            id_type = changes.get("id_type", person.id_type)
            sealed_id = _clean_id(id_type, changes["id_number"], today, errors)
            values["id_type"] = id_type
            values.update(_id_columns(sealed_id))
    if "phone" in changes:
        values.update(_phone_columns(_clean_phone(changes["phone"], errors)))
    if "ethnicity" in changes:
        values["ethnicity"] = _clean_ethnicity(changes["ethnicity"], errors)
    for name, length in PERSON_TEXT_FIELDS.items():
        if name in changes:
            values[name] = (changes[name] or "").strip()[:length]

    derived_from_id = sealed_id is not None and sealed_id.birth_date is not None
    keeps_resident_id = (
        sealed_id is None
        and person.id_type == Person.IdType.RESIDENT_ID
        and bool(person.id_number_hash)
    )
    if derived_from_id:
        values.update(
            _clean_birth_and_sex(
                sealed_id, changes.get("sex"), changes.get("birth_date"), today, errors
            )
        )
    elif keeps_resident_id and ("sex" in changes or "birth_date" in changes):
        if changes.get("birth_date") not in (None, person.birth_date):
            errors["birth_date"] = [_("The birth date comes from the ID number.")]
        if changes.get("sex") not in (None, "", person.sex):
            errors["sex"] = [_("The sex comes from the ID number.")]
    elif "sex" in changes or "birth_date" in changes:
        values.update(
            _clean_birth_and_sex(None, changes.get("sex"), changes.get("birth_date"), today, errors)
        )
    if errors:
        raise invalid(errors)

    new_hash = values.get("id_number_hash")
    if new_hash and new_hash != person.id_number_hash:
        other = (
            Person.objects.filter(id_number_hash=new_hash, status=Person.Status.ACTIVE)
            .exclude(pk=person.pk)
            .values_list("pk", flat=True)
            .first()
        )
        if other is not None:
            current = {"person_id": other} if other_visible and other_visible(other) else {}
            raise ConflictError(
                _("Another record has this ID number: merge the two records instead."), current
            )
    old_masked = {"id_number": person.id_number_masked, "phone": person.phone_masked}
    changed = sorted(name for name, value in values.items() if getattr(person, name) != value)
    for name, value in values.items():
        setattr(person, name, value)
    if changed:
        try:
            with transaction.atomic():
                person.save(update_fields=[*changed, "updated_at"])
        except IntegrityError:
            raise ConflictError(
                _("Another record has this ID number: merge the two records instead.")
            ) from None
    if "tags" in changes:
        before = set(person.tags.values_list("code", flat=True))
        person.tags.set(changes["tags"])
        after = {tag.code for tag in changes["tags"]}
        if before != after:
            changed.append("tags")
            refresh_care_classes(_current_households(person))
    public = [name for name in changed if not name.endswith(("_encrypted", "_hash", "_suffix"))]
    details: dict[str, Any] = {"fields": public}
    if "id_number_masked" in changed:
        details["id_number"] = {"from": old_masked["id_number"], "to": person.id_number_masked}
    if "phone_masked" in changed:
        details["phone"] = {"from": old_masked["phone"], "to": person.phone_masked}
    if changed:
        _event(person, PersonEvent.Action.UPDATED, actor, **details)
        _audit(actor, "person_update", person, **details)
    return person


def _current_households(person: Person) -> Iterable[int | None]:
    return person.residencies.filter(
        moved_out_on__isnull=True, deregistered_at__isnull=True
    ).values_list("household_id", flat=True)


MERGE_FILL_FIELDS = (
    "sex",
    "birth_date",
    "ethnicity",
    "hukou_address",
    "occupation",
    "workplace",
    "photo",
)


@transaction.atomic
def person_merge(*, survivor: Person, duplicate: Person, reason: str, actor: User | None) -> Person:
    """Merge two records of one person (重复录入). The survivor takes over the duplicate's
    residencies, tags, headships and whatever details it lacks; the duplicate stays, marked
    ``merged`` and pointing at the survivor, with its own history, so nothing is lost.

    Refused when the two carry different ID numbers, birth dates or sexes: then they are two people.
    """
    if survivor.pk == duplicate.pk:
        raise invalid({"duplicate": [_("A record cannot be merged with itself.")]})
    locked = {
        p.pk: p
        for p in Person.objects.select_for_update().filter(pk__in=[survivor.pk, duplicate.pk])
    }
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    if survivor.status != Person.Status.ACTIVE or duplicate.status != Person.Status.ACTIVE:
        raise ConflictError(_("One of the records was already merged."))
    errors: Errors = {}
    if survivor.id_number_hash and duplicate.id_number_hash:
        if survivor.id_number_hash != duplicate.id_number_hash:
            errors["duplicate"] = [_("The records have different ID numbers: they are two people.")]
    for name in ("birth_date", "sex"):
        a, b = getattr(survivor, name), getattr(duplicate, name)
        if a and b and a != b:
            errors.setdefault("duplicate", []).append(
                _("The records differ in %(field)s.") % {"field": name}
            )
    reason = (reason or "").strip()
    if len(reason) < 4:
        errors["reason"] = [_("Give a reason of at least 4 characters.")]
    if errors:
        raise invalid(errors)

    now = timezone.now()
    Person.objects.filter(pk=duplicate.pk).update(
        status=Person.Status.MERGED, merged_into=survivor, updated_at=now
    )
    duplicate.status, duplicate.merged_into = Person.Status.MERGED, survivor

    fill: dict[str, Any] = {}
    if not survivor.id_number_hash and duplicate.id_number_hash:
        fill.update(
            id_type=duplicate.id_type,
            id_number_encrypted=duplicate.id_number_encrypted,
            id_number_hash=duplicate.id_number_hash,
            id_number_masked=duplicate.id_number_masked,
            id_number_suffix=duplicate.id_number_suffix,
        )
    if not survivor.phone_hash and duplicate.phone_hash:
        fill.update(
            phone_encrypted=duplicate.phone_encrypted,
            phone_hash=duplicate.phone_hash,
            phone_masked=duplicate.phone_masked,
            phone_suffix=duplicate.phone_suffix,
        )
    for name in MERGE_FILL_FIELDS:
        if not getattr(survivor, name) and getattr(duplicate, name):
            value = getattr(duplicate, name)
            fill[name] = value.name if name == "photo" else value
    for name, value in fill.items():
        setattr(survivor, name, value)
    if fill:
        survivor.save(update_fields=[*fill, "updated_at"])
    survivor.tags.add(*duplicate.tags.all())

    moved, closed = [], []
    households: set[int | None] = set()
    open_houses = set(
        Residency.objects.filter(person=survivor, deregistered_at__isnull=True).values_list(
            "house_id", flat=True
        )
    )
    for residency in Residency.objects.filter(person=duplicate).order_by("id"):
        households.add(residency.household_id)
        if residency.deregistered_at is None and residency.house_id in open_houses:
            Residency.objects.filter(pk=residency.pk).update(
                deregistered_at=now,
                deregistration_reason=Residency.DeregistrationReason.MERGED,
                updated_at=now,
            )
            closed.append(residency.pk)
        else:
            Residency.objects.filter(pk=residency.pk).update(person=survivor, updated_at=now)
            moved.append(residency.pk)
            if residency.deregistered_at is None:
                open_houses.add(residency.house_id)
    Household.objects.filter(head=duplicate).update(head=survivor)
    refresh_home(survivor)
    refresh_care_classes(households | set(_current_households(survivor)))

    _event(
        survivor,
        PersonEvent.Action.MERGED,
        actor,
        reason=reason,
        duplicate=duplicate.pk,
        residencies_moved=moved,
        residencies_closed=closed,
        filled=sorted(name for name in fill if not name.endswith(("_encrypted", "_hash"))),
    )
    _event(duplicate, PersonEvent.Action.MERGED_INTO, actor, reason=reason, survivor=survivor.pk)
    _audit(
        actor,
        "person_merge",
        survivor,
        duplicate=duplicate.pk,
        residencies_moved=moved,
        residencies_closed=closed,
    )
    return survivor


@transaction.atomic
def residency_update(
    *, residency: Residency, changes: Mapping[str, Any], actor: User | None
) -> Residency:
    """Correct the relation, the household (of the same house) or the ID-copy flag.

    Dates are not edited here: they are what the data-quality rules measure, so they change only
    through the events (move out, deregister) that record who did it and when.
    """
    errors: Errors = {}
    values: dict[str, Any] = {}
    if "relation" in changes:
        if changes["relation"] not in Residency.Relation.values:
            errors["relation"] = [_("Unknown relation %(value)s.") % {"value": changes["relation"]}]
        values["relation"] = changes["relation"]
    if "household" in changes:
        household = changes["household"]
        if household is not None and household.house_id != residency.house_id:
            errors["household"] = [_("The household belongs to another house.")]
        values["household"] = household
    if "has_id_copy" in changes:
        values["has_id_copy"] = bool(changes["has_id_copy"])
    if errors:
        raise invalid(errors)
    old_household = residency.household_id
    changed = [name for name, value in values.items() if getattr(residency, name) != value]
    for name in changed:
        setattr(residency, name, values[name])
    if changed:
        residency.save(update_fields=[*changed, "updated_at"])
        refresh_care_classes([old_household, residency.household_id])
        _event(
            residency.person,
            PersonEvent.Action.UPDATED,
            actor,
            residency=residency,
            fields=changed,
        )
        _audit(actor, "residency_update", residency.person, residency=residency.pk, fields=changed)
    return residency


# Photo --------------------------------------------------------------------------------------------


def person_photo_set(*, person: Person, stream: IO[bytes], actor: User | None) -> Person:
    """Store the person's photo (a new one replaces the old). The upload is checked and re-encoded
    without metadata first (``core.images``: JPEG, PNG or WebP, size-limited; refusals are field
    errors on ``photo``), outside the transaction since decoding is the slow part. The file is
    written in the transaction with the row, the history and the audit row; if that fails, the new
    file is removed, and the old file is removed only after the commit (unless another record, a
    merged duplicate, still points at it)."""
    _require_active(person)
    clean = clean_upload(stream, field="photo")
    digest = hashlib.sha256(clean.content).hexdigest()
    field_file = None
    try:
        with transaction.atomic():
            current = _lock_active(person)
            old_name = current.photo.name or ""
            current.photo.save(
                f"{current.pk}-{digest[:12]}.{clean.extension}",
                ContentFile(clean.content),
                save=False,
            )
            field_file = current.photo
            Person.objects.filter(pk=current.pk).update(
                photo=current.photo.name, updated_at=timezone.now()
            )
            change = "replaced" if old_name else "added"
            _event(current, PersonEvent.Action.UPDATED, actor, fields=["photo"], photo=change)
            _audit(
                actor,
                "person_photo_set",
                current,
                photo=change,
                sha256=digest,
                width=clean.width,
                height=clean.height,
                exif_gps_removed=clean.gps is not None,
            )
            if old_name:
                transaction.on_commit(partial(_delete_unused_photo, old_name))
    except BaseException:
        if field_file is not None and field_file.name:
            field_file.storage.delete(field_file.name)
        raise
    person.photo = current.photo
    return person


@transaction.atomic
def person_photo_clear(*, person: Person, actor: User | None) -> Person:
    """Remove the person's photo (e.g. a photo of someone else); the file goes after the commit."""
    current = _lock_active(person)
    old_name = current.photo.name or ""
    if not old_name:
        raise invalid({"photo": [_("This person has no photo.")]})
    Person.objects.filter(pk=current.pk).update(photo="", updated_at=timezone.now())
    _event(current, PersonEvent.Action.UPDATED, actor, fields=["photo"], photo="removed")
    _audit(actor, "person_photo_clear", current, photo="removed")
    transaction.on_commit(partial(_delete_unused_photo, old_name))
    person.photo = ""
    return person


def _require_active(person: Person) -> None:
    if person.status != Person.Status.ACTIVE:
        raise ConflictError(_("This record was merged into another one; use that one."))


def _lock_active(person: Person) -> Person:
    current = Person.objects.select_for_update().get(pk=person.pk)
    _require_active(current)
    return current


def _delete_unused_photo(name: str) -> None:
    """Delete a replaced photo's file unless a record still points at it (a merge copies the
    duplicate's photo name onto the survivor, so two records can share one file)."""
    if not Person.objects.filter(photo=name).exists():
        default_storage.delete(name)
