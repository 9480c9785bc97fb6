"""Writes of the closed loop. Each is one transaction: check the rules, compare-and-set the case,
append its event, queue its notifications, write its audit row. Side effects (sending) happen
after commit.

The one writer of a case's state: :func:`case_act` takes every action (a transfer to another grid
too, serializable and retried), :func:`case_change_apply` is the one compare-and-set (also used
by the overdue poller and a reporter's withdrawal), and ``events.case_event_append`` the one
writer of events and their audit rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from wangge.cases import sla
from wangge.cases.dispatch import eligible_people, suggest_department
from wangge.cases.events import case_event_append, new_event
from wangge.cases.models import (
    Case,
    CaseEvent,
    CaseNumberSequence,
    CasePhoto,
    Category,
    IntakeKey,
    Stage,
)
from wangge.cases.photos import PreparedPhoto, discard_files, store_photos
from wangge.cases.selectors import case_list
from wangge.cases.workflow import (
    LEVEL_ABOVE,
    OPEN_STATES,
    RULES,
    WITH_OWNER,
    Action,
    Refusal,
    refusal,
)
from wangge.core.bulk import insert_parts
from wangge.core.errors import (
    ConflictError,
    InvalidInputError,
    KeyReusedError,
    NotFoundError,
    PermissionDeniedError,
)
from wangge.core.models import Department, User
from wangge.core.roles import user_roles
from wangge.core.scope import code_in_prefixes, code_in_scope
from wangge.core.transactions import run_serializable
from wangge.lib.coords import Crs
from wangge.regions import locate
from wangge.regions.models import Grid, Region

S = Case.State
PUBLIC_SOURCES = frozenset(
    {
        Case.Source.CITIZEN_APP,
        Case.Source.OPEN311,
        Case.Source.HOTLINE,
        Case.Source.MESSAGE,
        Case.Source.WALK_IN,
    }
)


@dataclass
class Intake:
    """What a report says, validated by the caller's serializer."""

    source: str
    category: Category
    description: str
    lng: float | None = None
    lat: float | None = None
    crs: str = Crs.WGS84  # of lng/lat; the case stores the WGS-84 point (regions.locate)
    address: str = ""
    condition: str = ""
    urgency: str = Case.Urgency.NORMAL
    area_grade: str = "B"
    reporter_name: str = ""
    reporter_phone: str = ""
    self_handle: bool = False
    self_handle_result: str = ""
    idempotency_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def case_create(*, intake: Intake, actor: User | None, client: str = "") -> tuple[Case, bool]:
    """Register a report. Returns the case and whether it was created now.

    With an idempotency key, a repeated report (a client's retry, a sensor resending) returns the
    case the first one created and creates nothing; a unique constraint makes that hold under races.
    """
    client = client or (f"user:{actor.pk}" if actor is not None and actor.pk else "anonymous")
    fingerprint = _fingerprint(intake) if intake.idempotency_key else ""
    if intake.idempotency_key:
        existing = _case_for_key(client, intake.idempotency_key, fingerprint)
        if existing is not None:
            return existing, False
    # Located, checked and given its deadline before anything is written: the write holds the
    # district's number row (PostgreSQL) or the database's write lock (SQLite) until it commits.
    case = _new_case(intake, actor)
    event = _report_event(case, intake, actor)
    key = (
        IntakeKey(key=intake.idempotency_key, client=client, fingerprint=fingerprint)
        if intake.idempotency_key
        else None
    )
    try:
        _store(case, event, key)
    except IntegrityError:
        existing = (
            _case_for_key(client, intake.idempotency_key, fingerprint)
            if intake.idempotency_key
            else None
        )
        if existing is None:
            raise
        return existing, False
    return case, True


def _fingerprint(intake: Intake) -> str:
    """What makes two reports the same report, hashed."""
    fields = {
        name: getattr(intake, name)
        for name in (
            "source",
            "description",
            "lng",
            "lat",
            "address",
            "condition",
            "urgency",
            "area_grade",
            "reporter_name",
            "reporter_phone",
            "self_handle",
            "self_handle_result",
        )
    }
    fields["category"] = intake.category.pk
    if intake.crs != Crs.WGS84:
        fields["crs"] = str(intake.crs)
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _case_for_key(client: str, key: str, fingerprint: str) -> Case | None:
    found = IntakeKey.objects.filter(client=client, key=key).select_related("case").first()
    if found is None:
        return None
    if found.fingerprint and fingerprint and found.fingerprint != fingerprint:
        raise KeyReusedError(
            _("This Idempotency-Key was used for another report."),
            {
                "Idempotency-Key": [
                    _(
                        "Case %(number)s was created with this key from a different report; "
                        "use a new key for a new report."
                    )
                    % {"number": found.case.number}
                ]
            },
        )
    return found.case


def _new_case(intake: Intake, actor: User | None) -> Case:
    """The case a report makes, not yet numbered or stored."""
    now = timezone.now()
    located, region_code = _locate(intake)
    grid = located.grid() if located is not None else None
    if intake.self_handle and not intake.category.allows_self_handling:
        raise InvalidInputError(
            _("This category cannot be handled on the spot."),
            {
                "self_handle": [
                    _("Category %(code)s needs dispatch.") % {"code": intake.category.code}
                ]
            },
        )
    if intake.self_handle and not intake.self_handle_result.strip():
        raise InvalidInputError(
            _("Say what was done."), {"result": [_("Required when handling on the spot.")]}
        )
    if intake.self_handle:
        state, stage = S.HANDLED, Stage.VERIFY
    elif intake.source in PUBLIC_SOURCES:
        state, stage = S.CHECKING, Stage.ACCEPT
    else:
        state, stage = S.REPORTED, Stage.ACCEPT
    case = Case(
        source=intake.source,
        category=intake.category,
        condition=intake.condition,
        description=intake.description,
        address=intake.address,
        lng=located.lng if located is not None else None,
        lat=located.lat if located is not None else None,
        h3_cell=located.h3_cell if located is not None else "",
        grid_id=grid.id if grid else None,
        region_code=region_code,
        area_grade=intake.area_grade,
        reporter=actor if actor is not None and actor.pk else None,
        reporter_name=intake.reporter_name,
        urgency=intake.urgency,
        state=state,
        level=Case.Level.GRID if grid else Case.Level.DISTRICT,
        stage=stage,
        stage_started_at=now,
        self_handled=intake.self_handle,
        handled_by=actor if intake.self_handle else None,
        created_at=now,
    )
    if intake.reporter_phone:
        _seal_phone(case, intake.reporter_phone)
    case.stage_deadline, case.stage_unit = sla.stage_deadline(case, stage, now)
    return case


def _report_event(case: Case, intake: Intake, actor: User | None) -> CaseEvent:
    payload = {"source": intake.source, "grid": case.region_code if case.grid_id else None}
    if intake.self_handle:
        payload["result"] = intake.self_handle_result
    return new_event("report", "", case.state, actor, "", payload, case.created_at)


def _store(case: Case, event: CaseEvent, key: IntakeKey | None) -> None:
    """Number the case and insert it, its report event and its intake key, all or nothing."""
    if connection.vendor == "postgresql":
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint: a key race must not end the caller's
                _store_in_one_statement(case, event, key)
        else:
            _store_in_one_statement(case, event, key)
        return
    with transaction.atomic():
        case.number = _next_number(case.region_code[:6], case.created_at)
        case.save(force_insert=True)
        event.case = case
        event.save(force_insert=True)
        if key is not None:
            key.case = case
            key.save(force_insert=True)


_REPORT_SQL = """
WITH number AS (
    INSERT INTO {numbers} (district_code, year, last) VALUES (%s, %s, 1)
    ON CONFLICT (district_code, year) DO UPDATE SET last = {numbers}.last + 1
    RETURNING last
), new_case AS (
    INSERT INTO {cases} ({case_columns}, number)
    SELECT {case_values}, %s || lpad(last::text, greatest(6, length(last::text)), '0') FROM number
    RETURNING id, number
), event AS (
    INSERT INTO {events} (case_id, {event_columns}) SELECT id, {event_values} FROM new_case
){key}
SELECT id, number FROM new_case
"""
_KEY_SQL = """, intake_key AS (
    INSERT INTO {keys} (case_id, {key_columns}) SELECT id, {key_values} FROM new_case
)"""


def _store_in_one_statement(case: Case, event: CaseEvent, key: IntakeKey | None) -> None:
    """PostgreSQL: the four writes of ``_store`` as one statement. Outside a transaction it commits
    by itself, so the district's number row is locked only while the server runs and commits it:
    with Python steps between the upsert and COMMIT, a thread waiting for its worker's GIL held
    the row, and every other report of the district, for milliseconds."""
    district, year = case.region_code[:6], timezone.localtime(case.created_at).year
    case_columns, case_values = insert_parts(case, exclude={"number"})
    event_columns, event_values = insert_parts(event, exclude={"case_id"})
    table = connection.ops.quote_name
    names = {
        "numbers": table(CaseNumberSequence._meta.db_table),
        "cases": table(Case._meta.db_table),
        "case_columns": ", ".join(case_columns),
        "case_values": ", ".join(["%s"] * len(case_values)),
        "events": table(CaseEvent._meta.db_table),
        "event_columns": ", ".join(event_columns),
        "event_values": ", ".join(["%s"] * len(event_values)),
        "key": "",
    }
    # The format of _next_number: the sequence number in at least six digits.
    params = [district, year, *case_values, f"{district}-{year}-", *event_values]
    if key is not None:
        key_columns, key_values = insert_parts(key, exclude={"case_id"})
        names["key"] = _KEY_SQL.format(
            keys=table(IntakeKey._meta.db_table),
            key_columns=", ".join(key_columns),
            key_values=", ".join(["%s"] * len(key_values)),
        )
        params += key_values
    with connection.cursor() as cursor:
        cursor.execute(_REPORT_SQL.format(**names), params)  # names from the models, values bound
        case.pk, case.number = cursor.fetchone()
    case._state.adding, case._state.db = False, connection.alias


def _seal_phone(case: Case, phone: str) -> None:
    from wangge.core import pii

    sealed = pii.seal(phone, purpose="phone", mask=pii.mask_phone)
    case.reporter_phone_token = sealed.token
    case.reporter_phone_hash = sealed.hash
    case.reporter_phone_masked = sealed.masked


def _locate(intake: Intake) -> tuple[locate.PointLocation | None, str]:
    """The report's point and its grid; no point and the district when only an address is given."""
    if intake.lng is not None and intake.lat is not None:
        located = locate.locate_point(intake.lng, intake.lat, crs=intake.crs)
        ref = located.grid()
        if ref is None:
            raise InvalidInputError(
                _("The location lies outside every grid of the district."),
                {
                    "location": [
                        _("(%(lng)s, %(lat)s) is in no grid.")
                        % {"lng": located.lng, "lat": located.lat}
                    ]
                },
            )
        return located, ref.code
    if not intake.address.strip():
        raise InvalidInputError(
            _("Give a location or an address."),
            {"location": [_("A point (lng, lat) or an address is required.")]},
        )
    districts = list(
        Region.objects.filter(level=Region.Level.DISTRICT).values_list("code", flat=True)
    )
    if len(districts) != 1:
        raise InvalidInputError(
            _("An address alone cannot be routed here; give a location."),
            {"location": [_("Several districts are loaded: a point is needed.")]},
        )
    return None, districts[0]


def _next_number(district_code: str, now: datetime) -> str:
    """The next case number of the district and year, in one statement (upsert … RETURNING)."""
    year = timezone.localtime(now).year
    table = CaseNumberSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (district_code, year, last) VALUES (%s, %s, 1) "  # noqa: S608 — table name from the model
            f"ON CONFLICT (district_code, year) DO UPDATE SET last = {table}.last + 1 "
            "RETURNING last",
            [district_code, year],
        )
        (last,) = cursor.fetchone()
    return f"{district_code}-{year}-{last:06d}"


# Actions ----------------------------------------------------------------------------------------


def case_act(
    *,
    number: str,
    action: str,
    actor: User,
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
    photos: Sequence[PreparedPhoto] = (),
) -> Case:
    """Take one action on a case, all or nothing.

    ``expected_version`` is the version the actor saw; when the case has changed since, the action
    is refused with a conflict instead of being applied to a case the actor has not seen.
    ``photos`` (checked beforehand with ``photos.prepare_photo``) are stored with the action: the
    handler's result and its after photos are recorded together or not at all.

    A transfer (``data``: ``to_grid``, ``reason``) runs at SERIALIZABLE through
    ``core.transactions.run_serializable``, retried whole when the database aborts it, so it must
    be called outside any transaction; ``transfers.case_transfer`` is its named form.
    """
    data = data or {}
    try:
        verb = Action(action)
    except ValueError:
        raise InvalidInputError(
            _("Unknown action %(action)s.") % {"action": action},
            {
                "action": [
                    _("Choose one of: %(all)s.") % {"all": ", ".join(a.value for a in Action)}
                ]
            },
        ) from None
    if photos and verb is not Action.HANDLE:
        raise InvalidInputError(
            _("Photos go with the handling result."),
            {"photos": [_("Only the handle action takes photos.")]},
        )
    if verb is Action.TRANSFER:
        return run_serializable(lambda: _act(number, verb, actor, data, expected_version, ()))
    return _act(number, verb, actor, data, expected_version, photos)


def _act(
    number: str,
    verb: Action,
    actor: User,
    data: dict[str, Any],
    expected_version: int | None,
    photos: Sequence[PreparedPhoto],
) -> Case:
    change: Change | None = None
    try:
        with transaction.atomic():
            case = _case_for_actor(number, actor)
            if expected_version is not None and case.version != expected_version:
                raise _conflict(case)
            roles = user_roles(actor)
            why = refusal(actor, case, verb, roles)
            # (A transfer's state refusal stays a 403, as it always answered.)
            if why is Refusal.STATE and verb is not Action.TRANSFER and _lost_race(case, verb):
                raise _conflict(case)
            if why is not None:
                raise _refused(why, case, verb)
            reason = str(data.get("reason", "")).strip()
            if _needs_reason(verb, data) and len(reason) < 2:
                raise InvalidInputError(
                    _("Give a reason."),
                    {"reason": [_("A reason is required for this action.")]},
                )
            now = timezone.now()
            change = HANDLERS[verb](case, actor, data, now)
            case_change_apply(
                case, verb.value, change, actor=actor, reason=reason, now=now, photos=photos
            )
    except BaseException:
        if change is not None:
            discard_files(change.stored)  # files are not transactional
        raise
    case.refresh_from_db()
    return case


# Support (附议) ------------------------------------------------------------------------------------

SUPPORT = "support"  # the event's action: not a workflow step, the state does not change
# A reporter may withdraw his own report into an earlier one while it may still be merged.
WITHDRAWABLE_STATES = RULES[Action.MERGE].sources


def case_support(*, number: str, actor: User, note: str = "", withdraw_number: str = "") -> Case:
    """``actor`` supports (附议) open case ``number``; with ``withdraw_number``, his own later
    report of the same problem is merged into it instead of staying a case of its own (see
    ``duplicates``: what a report at a point would meet).

    All or nothing; a reporter supports a case once and never his own report.
    """
    note = note.strip()[:500]
    with transaction.atomic():
        case = _case_for_actor(number, actor)
        _check_supportable(case, actor)
        now = timezone.now()
        if withdraw_number:
            own = _withdrawable(withdraw_number, case, actor)
            change = _merge(own, actor, {"into": case.number}, now)
            # counts the reporter (and his supporters) on ``case``
            case_change_apply(own, Action.MERGE.value, change, actor=actor, reason=note, now=now)
            payload = {"duplicate": own.number}
        else:
            Case.objects.filter(pk=case.pk).update(supporters=F("supporters") + 1)
            payload = {}
        case_event_append(case, SUPPORT, actor=actor, reason=note, payload=payload, now=now)
    case.refresh_from_db()
    return case


def _check_supportable(case: Case, actor: User) -> None:
    if case.state not in OPEN_STATES or case.merged_into_id is not None:
        raise InvalidInputError(
            _("Case %(number)s is no longer open; report the problem instead.")
            % {"number": case.number},
            {"number": [_("Only an open case can be supported.")]},
        )
    if case.reporter_id == actor.pk:
        raise InvalidInputError(
            _("This is your own report."), {"number": [_("You cannot support your own report.")]}
        )
    if CaseEvent.objects.filter(case=case, action=SUPPORT, actor=actor).exists():
        raise InvalidInputError(
            _("You already support case %(number)s.") % {"number": case.number},
            {"number": [_("Each person supports a case once.")]},
        )


def _withdrawable(number: str, into: Case, actor: User) -> Case:
    own = case_list(user=actor).filter(number=number, reporter=actor).first()
    if own is None or own.pk == into.pk:
        raise InvalidInputError(
            _("No report %(number)s of yours to withdraw.") % {"number": number},
            {"withdraw": [_("Give the number of your own report.")]},
        )
    if own.state not in WITHDRAWABLE_STATES or own.merged_into_id is not None:
        raise InvalidInputError(
            _("Your report %(number)s is already being handled; it stays a case of its own.")
            % {"number": own.number},
            {"withdraw": [_("Only a report nobody has been dispatched to can be withdrawn.")]},
        )
    return own


# The one compare-and-set -------------------------------------------------------------------------


@dataclass
class Change:
    """What an action does to a case besides moving it to ``to_state``."""

    to_state: str
    updates: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    notify: list[User] = field(default_factory=list)
    follow_ups: list[Any] = field(default_factory=list)
    stored: list[CasePhoto] = field(default_factory=list)  # photos stored with it, if any


def case_change_apply(
    case: Case,
    action: str,
    change: Change,
    *,
    actor: User | None,
    now: datetime,
    reason: str = "",
    photos: Sequence[PreparedPhoto] = (),
) -> CaseEvent:
    """Apply ``change`` to ``case`` as it was read: compare-and-set (a conflict when the case has
    changed since), store ``photos``, append the event with its notices and audit row, run the
    follow-ups. Inside the caller's transaction; the one way a case's state is written."""
    _compare_and_set(case, change, now)
    if photos:
        change.stored = store_photos(case, photos, actor)
        change.payload["photos"] = [photo.pk for photo in change.stored]
    event = case_event_append(
        case,
        action,
        to_state=change.to_state,
        actor=actor,
        reason=reason,
        payload=change.payload,
        notify=change.notify,
        now=now,
    )
    for follow_up in change.follow_ups:
        follow_up(case, now)
    return event


def _case_for_actor(number: str, actor: User) -> Case:
    case = case_list(user=actor).filter(number=number).first()
    if case is None:
        raise NotFoundError(_("No case %(number)s.") % {"number": number})
    return case


def _conflict(case: Case) -> ConflictError:
    fresh = Case.objects.get(pk=case.pk)
    return ConflictError(
        _("Case %(number)s was changed by someone else; it is now %(state)s.")
        % {"number": fresh.number, "state": fresh.get_state_display()},
        current={"state": fresh.state, "version": fresh.version},
    )


def _lost_race(case: Case, action: Action) -> bool:
    """The action was possible until the case's last change: someone else moved it first (a loser
    that sent no ``version``), so the answer is a conflict rather than a wrong request."""
    last_from = (
        case.events.exclude(from_state=F("to_state"))
        .order_by("-created_at", "-id")
        .values_list("from_state", flat=True)
        .first()
    )
    return last_from in RULES[action].sources


def _refused(why: Refusal, case: Case, action: Action) -> Exception:
    """The answer to a refusal: outside the scope reads like missing (404); a step the state does
    not allow is a wrong request (400, on the action field); the rest is forbidden (403)."""
    if why is Refusal.SCOPE:
        return NotFoundError(_("No case %(number)s.") % {"number": case.number})
    if why is Refusal.STATE and action is not Action.TRANSFER:
        # Labels, not codes: the message reaches the console's action panel as it is.
        state = case.get_state_display()
        return InvalidInputError(
            why.message(case, action),
            {"action": [_("Not allowed while the case is %(state)s.") % {"state": state}]},
        )
    return PermissionDeniedError(why.message(case, action))


def _needs_reason(action: Action, data: dict[str, Any]) -> bool:
    if RULES[action].needs_reason:
        return True
    if action is Action.VERIFY and data.get("result") == "fail":
        return True
    return action is Action.EVALUATE and data.get("satisfaction") == "unsatisfied"


def _compare_and_set(case: Case, change: Change, now: datetime) -> None:
    updates = {"state": change.to_state, "version": F("version") + 1, "updated_at": now}
    updates.update(change.updates)
    changed = Case.objects.filter(pk=case.pk, state=case.state, version=case.version).update(
        **updates
    )
    if changed != 1:
        raise _conflict(case)


def _enter_stage(case: Case, stage: str, now: datetime) -> dict[str, Any]:
    deadline, unit = sla.stage_deadline(case, stage, now)
    return {
        "stage": stage,
        "stage_started_at": now,
        "stage_deadline": deadline,
        "stage_unit": unit,
        "is_overdue": False,
    }


def _leave_stages() -> dict[str, Any]:
    return {"stage": "", "stage_deadline": None, "stage_unit": "", "is_overdue": False}


# One function per action: what changes besides the state ----------------------------------------


def _confirm(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    return Change(S.REPORTED, payload={"note": str(data.get("note", ""))[:500]})


def _accept(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    updates = {**_enter_stage(case, Stage.DISPATCH, now), "accepted_at": now}
    change = Change(S.ACCEPTED, updates=updates)
    if case.category.auto_dispatch:
        change.follow_ups.append(_auto_dispatch)
    return change


def _auto_dispatch(case: Case, now: datetime) -> None:
    department = suggest_department(case)
    if department is None:
        return
    fresh = Case.objects.get(pk=case.pk)
    updates = {
        **_enter_stage(fresh, Stage.HANDLE, now),
        "owner_department": department,
        "owner_user": None,
    }
    change = Change(
        S.DISPATCHED,
        updates=updates,
        payload={"department": department.code, "automatic": True},
        notify=_members(department),
    )
    case_change_apply(fresh, Action.DISPATCH.value, change, actor=None, now=now)


def _void(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    return Change(S.VOIDED, updates={**_leave_stages(), "outcome": ""})


def _dispatch(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    department, person = _dispatch_target(case, data)
    updates = {
        **_enter_stage(case, Stage.HANDLE, now),
        "owner_department": department,
        "owner_user": person,
    }
    suggested = suggest_department(case)
    payload = {
        "department": department.code if department else None,
        "user": person.username if person else None,
        "suggested": suggested.code if suggested else None,
    }
    recipients = [person] if person else list(department.members.filter(is_active=True))
    return Change(S.DISPATCHED, updates=updates, payload=payload, notify=recipients)


def _dispatch_target(case: Case, data: dict[str, Any]) -> tuple[Department | None, User | None]:
    department_code = data.get("department")
    username = data.get("user")
    if bool(department_code) == bool(username):
        raise InvalidInputError(
            _("Dispatch to a department or to a person."),
            {"department": [_("Give exactly one of department and user.")]},
        )
    if department_code:
        department = Department.objects.filter(code=department_code, active=True).first()
        if department is None:
            raise InvalidInputError(
                _("No such department."),
                {"department": [_("Unknown code %(code)s.") % {"code": department_code}]},
            )
        return department, None
    person = eligible_people(case).filter(username=username).first()
    if person is None:
        raise InvalidInputError(
            _("No such person for this case."),
            {"user": [_("%(user)s does not work where the case is.") % {"user": username}]},
        )
    return None, person


def _acknowledge(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    return Change(S.ACKNOWLEDGED)


def _start(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    return Change(S.IN_PROGRESS)


def _handle(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    result = str(data.get("result", "")).strip()
    if not result:
        raise InvalidInputError(_("Say what was done."), {"result": [_("This field is required.")]})
    updates = {
        **_enter_stage(case, Stage.VERIFY, now),
        "handled_by": actor,
        "extension_requested": False,
    }
    return Change(S.HANDLED, updates=updates, payload={"result": result[:2000]})


def _return(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    returns = case.return_count + 1
    updates = {
        **_enter_stage(case, Stage.DISPATCH, now),
        "owner_department": None,
        "owner_user": None,
        "return_count": returns,
        "extension_requested": False,
    }
    payload: dict[str, Any] = {"returns": returns}
    if returns >= settings.WANGGE_RETURNS_BEFORE_ARBITRATION and case.level != Case.Level.DISTRICT:
        # A case bounced between departments goes to the district for arbitration (难事区内统筹).
        updates["level"] = Case.Level.DISTRICT
        payload["arbitration"] = True
    return Change(S.ACCEPTED, updates=updates, payload=payload)


def _request_extension(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    amount, unit = _amount_and_unit(data)
    return Change(
        case.state,
        updates={"extension_requested": True},
        payload={"amount": str(amount), "unit": unit},
    )


def _approve_extension(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    request = case.events.filter(action=Action.REQUEST_EXTENSION).order_by("-created_at").first()
    amount = Decimal(request.payload["amount"]) if request else Decimal(1)
    unit = request.payload["unit"] if request else "working_day"
    base = case.stage_deadline or now
    deadline = sla.extend(base, amount, unit)
    updates = {
        "stage_deadline": deadline,
        "is_overdue": deadline <= now,
        "extension_requested": False,
    }
    return Change(case.state, updates=updates, payload={"new_deadline": deadline.isoformat()})


def _deny_extension(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    return Change(case.state, updates={"extension_requested": False})


def _verify(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    result = data.get("result")
    if result == "pass":
        outcome = data.get("outcome")
        if outcome not in {o.value for o in Case.Outcome if o.value}:
            raise InvalidInputError(
                _("Say how the case ends."),
                {"outcome": [_("Choose one of: %(all)s.") % {"all": _choice_labels(Case.Outcome)}]},
            )
        if outcome != Case.Outcome.FIXED and len(str(data.get("reason", "")).strip()) < 2:
            raise InvalidInputError(
                _("Closing without a fix needs a reason."),
                {"reason": [_("This field is required.")]},
            )
        return Change(
            S.CLOSED,
            updates={**_leave_stages(), "outcome": outcome, "closed_at": now},
            payload={"result": "pass", "outcome": outcome},
        )
    if result == "fail":
        updates = {**_enter_stage(case, Stage.HANDLE, now), "rework_count": case.rework_count + 1}
        notify = [case.owner_user] if case.owner_user_id else _members(case.owner_department)
        if case.self_handled and case.owner_department_id is None and case.owner_user_id is None:
            # A failed on-the-spot fix goes to the dispatcher like a new case.
            updates = {
                **_enter_stage(case, Stage.DISPATCH, now),
                "rework_count": case.rework_count + 1,
            }
            return Change(S.ACCEPTED, updates=updates, payload={"result": "fail"})
        return Change(S.DISPATCHED, updates=updates, payload={"result": "fail"}, notify=notify)
    raise InvalidInputError(
        _("Give the result of the check."), {"result": [_("Passed, or failed and sent back.")]}
    )


def _evaluate(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    satisfaction = data.get("satisfaction")
    if satisfaction not in {s.value for s in Case.Satisfaction if s.value}:
        raise InvalidInputError(
            _("Choose how satisfied the reporter is."),
            {
                "satisfaction": [
                    _("Choose one of: %(all)s.") % {"all": _choice_labels(Case.Satisfaction)}
                ]
            },
        )
    if satisfaction == Case.Satisfaction.UNSATISFIED:
        # 不满意 reopens the case to the dispatcher with the complaint: it must reach the authority.
        updates = {
            **_enter_stage(case, Stage.DISPATCH, now),
            "satisfaction": satisfaction,
            "outcome": "",
            "closed_at": None,
            "owner_department": None,
            "owner_user": None,
        }
        return Change(
            S.ACCEPTED, updates=updates, payload={"satisfaction": satisfaction, "reopened": True}
        )
    return Change(
        S.EVALUATED, updates={"satisfaction": satisfaction}, payload={"satisfaction": satisfaction}
    )


def _archive(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    return Change(S.ARCHIVED)


def _suspend(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    review = data.get("review_date")
    try:
        review_date = datetime.fromisoformat(str(review)).date() if review else None
    except ValueError:
        raise InvalidInputError(
            _("Invalid review date."), {"review_date": [_("Use YYYY-MM-DD.")]}
        ) from None
    if review_date is None or review_date <= timezone.localdate(now):
        raise InvalidInputError(
            _("A suspended case needs a review date in the future."),
            {"review_date": [_("A date after today is required.")]},
        )
    return Change(
        case.state,
        updates={"is_suspended": True, "suspended_until": review_date},
        payload={"review_date": review_date.isoformat()},
    )


def _resume(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    updates: dict[str, Any] = {"is_suspended": False, "suspended_until": None}
    if case.stage:
        updates.update(_enter_stage(case, case.stage, now))
    return Change(case.state, updates=updates)


def _escalate(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    level = LEVEL_ABOVE[Case.Level(case.level)]
    target = S.REPORTED if case.state == S.REPORTED else S.ACCEPTED
    updates = {"level": level, "owner_department": None, "owner_user": None}
    if target == S.ACCEPTED:
        updates.update(_enter_stage(case, Stage.DISPATCH, now))
    return Change(target, updates=updates, payload={"from_level": case.level, "to_level": level})


def _supervise(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    notify = [case.owner_user] if case.owner_user_id else _members(case.owner_department)
    return Change(case.state, updates={"is_supervised": True}, payload={}, notify=notify)


def _merge(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    master_number = str(data.get("into", ""))
    master = case_list(user=actor).filter(number=master_number).exclude(pk=case.pk).first()
    if master is None or master.state in {S.VOIDED, S.ARCHIVED} or master.merged_into_id:
        raise InvalidInputError(
            _("No open case to merge into."), {"into": [_("Give the number of the master case.")]}
        )
    if master.category_id != case.category_id:
        raise InvalidInputError(
            _("Only cases of the same category can be merged."),
            {"into": [_("Different category.")]},
        )

    def count_supporter(_case: Case, _now: datetime) -> None:
        Case.objects.filter(pk=master.pk).update(supporters=F("supporters") + 1 + case.supporters)

    return Change(
        S.CLOSED,
        updates={
            **_leave_stages(),
            "outcome": Case.Outcome.DUPLICATE,
            "merged_into": master,
            "closed_at": now,
        },
        payload={"into": master.number},
        follow_ups=[count_supporter],
    )


def _choice_labels(choices: type[models.TextChoices]) -> str:
    """The labels of a choice set as a reader's list, each quoted (a label may hold a comma); the
    codes are in the API's schema."""
    return pgettext("list separator", ", ").join(
        f"“{label}”" for value, label in choices.choices if value
    )


def _members(department: Department | None) -> list[User]:
    return list(department.members.filter(is_active=True)) if department else []


def _amount_and_unit(data: dict[str, Any]) -> tuple[Decimal, str]:
    try:
        amount = Decimal(str(data.get("amount", "")))
    except InvalidOperation:
        amount = Decimal(0)
    unit = str(data.get("unit", "working_day"))
    if amount <= 0 or amount > 365:
        raise InvalidInputError(_("Invalid extension."), {"amount": [_("A number from 0 to 365.")]})
    if unit not in {"working_day", "working_hour", "hour", "minute"}:
        raise InvalidInputError(_("Invalid extension."), {"unit": [_("Unknown unit.")]})
    return amount, unit


def _transfer(case: Case, actor: User, data: dict[str, Any], now: datetime) -> Change:
    """To another social grid of the actor's scope: the grid and region code (the new community's
    and street's officers see it, the old ones no longer do), the level kept; an owner who cannot
    act in the new grid is cleared and the case goes back to dispatch there."""
    errors: dict[str, list[str]] = {}
    if len(str(data.get("reason", "")).strip()) < 2:
        errors["reason"] = [_("Give a reason for the transfer.")]
    target = _transfer_target(str(data.get("to_grid") or ""), actor, errors)
    if target is not None and target.pk == case.grid_id:
        errors["to_grid"] = [_("The case is already in grid %(code)s.") % {"code": target.code}]
    if errors:
        field_name, messages = next(iter(errors.items()))
        raise InvalidInputError(f"{field_name}: {messages[0]}", errors)
    assert target is not None  # noqa: S101 — errors is empty only when the grid was found
    from_grid = case.grid.code if case.grid_id else case.region_code
    updates: dict[str, Any] = {"grid_id": target.pk, "region_code": target.code}
    to_state = case.state
    owner_cleared = _owner_cannot_act_in(case, target.code)
    if owner_cleared:
        to_state = S.ACCEPTED
        updates.update(
            _enter_stage(case, Stage.DISPATCH, now),
            owner_user=None,
            owner_department=None,
            extension_requested=False,
        )
    payload = {
        "from_grid": from_grid,
        "to_grid": target.code,
        "from_street": from_grid[:9],
        "to_street": target.code[:9],
        "owner_cleared": owner_cleared,
    }
    return Change(to_state, updates=updates, payload=payload, notify=_grid_workers(target.code))


def _transfer_target(code: str, actor: User, errors: dict[str, list[str]]) -> Grid | None:
    code = code.strip()
    grid = None
    if code and code_in_scope(actor, code):
        grid = (
            Grid.objects.select_related("community")
            .filter(layer_id=locate.DEFAULT_LAYER, code=code)
            .first()
        )
    if grid is None:
        # Outside the scope reads like missing, as everywhere.
        errors["to_grid"] = [_("No grid %(code)s in your area.") % {"code": code or "—"}]
    return grid


def _owner_cannot_act_in(case: Case, grid_code: str) -> bool:
    if case.state not in WITH_OWNER:
        return False
    if case.owner_user_id is not None:
        return not code_in_scope(case.owner_user, grid_code)
    if case.owner_department_id is not None:
        area = case.owner_department.scope_code
        return bool(area) and not code_in_prefixes([area], grid_code)
    return False


def _grid_workers(grid_code: str) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, scope_grants__prefix=grid_code, groups__name="grid_worker"
        ).distinct()
    )


HANDLERS = {
    Action.CONFIRM: _confirm,
    Action.ACCEPT: _accept,
    Action.VOID: _void,
    Action.DISPATCH: _dispatch,
    Action.ACKNOWLEDGE: _acknowledge,
    Action.START: _start,
    Action.HANDLE: _handle,
    Action.RETURN: _return,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.APPROVE_EXTENSION: _approve_extension,
    Action.DENY_EXTENSION: _deny_extension,
    Action.VERIFY: _verify,
    Action.EVALUATE: _evaluate,
    Action.ARCHIVE: _archive,
    Action.SUSPEND: _suspend,
    Action.RESUME: _resume,
    Action.ESCALATE: _escalate,
    Action.SUPERVISE: _supervise,
    Action.MERGE: _merge,
    Action.TRANSFER: _transfer,
}
