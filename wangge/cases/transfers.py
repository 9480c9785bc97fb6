"""Transferring a case to another grid (转办/移交), within a community or across streets.

A case lands in the grid its point lies in; sometimes that is the wrong grid (the point was taken
from across the street, the responsibility lies with the neighbouring community). A transfer moves
it: the grid, the region code (so the new community's and street's officers see it and the old
ones no longer do), the owner when the owner cannot act there, one ``CaseEvent``, the new grid's
workers notified, an audit row. It is one serializable transaction through
``core.transactions.run_serializable``: a transfer racing another change of the same case either
sees it or is retried, and the version is compared and set.

Who may transfer: the district centre, dispatchers and street or community officers, when both the
case's current grid and the target grid lie inside their scope. So a community officer moves cases
between the grids of his community, a street between its communities, the district across streets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.cases import notifications
from wangge.cases.models import Case, CaseEvent, Stage
from wangge.cases.selectors import case_list
from wangge.cases.sla import stage_deadline
from wangge.cases.workflow import CENTER, DISPATCHERS, LOCAL_OFFICERS, WITH_OWNER
from wangge.core.audit import audit_log_write
from wangge.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from wangge.core.models import User
from wangge.core.roles import user_roles
from wangge.core.scope import code_in_scope
from wangge.core.transactions import run_serializable
from wangge.regions import locate
from wangge.regions.models import Grid

S = Case.State
TRANSFER_ROLES = CENTER | DISPATCHERS | LOCAL_OFFICERS
TRANSFERABLE_STATES = frozenset(
    {S.CHECKING, S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS}
)
ACTION = "transfer"


@dataclass(frozen=True)
class Transfer:
    case: Case
    from_grid: str
    to_grid: str
    owner_cleared: bool


def case_transfer(
    *,
    number: str,
    to_grid_code: str,
    reason: str,
    actor: User,
    expected_version: int | None = None,
) -> Transfer:
    """Move case ``number`` to the social grid ``to_grid_code``, all or nothing."""
    return run_serializable(
        lambda: _transfer(
            number=number,
            to_grid_code=to_grid_code,
            reason=reason,
            actor=actor,
            expected_version=expected_version,
        )
    )


def refusal(actor: User, case: Case, roles: set[str]) -> str | None:
    """Why ``actor`` may not transfer ``case`` now, or None. Each condition on its own line."""
    if not (actor.is_superuser or code_in_scope(actor, case.region_code)):
        return "scope"
    if not (actor.is_superuser or roles & TRANSFER_ROLES):
        return "role"
    if case.state not in TRANSFERABLE_STATES:
        return "state"
    if case.is_suspended:
        return "suspended"
    if case.merged_into_id is not None:
        return "merged"
    return None


def _transfer(
    *, number: str, to_grid_code: str, reason: str, actor: User, expected_version: int | None
) -> Transfer:
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if len(reason) < 2:
        errors["reason"] = [_("Give a reason for the transfer.")]
    case = case_list(user=actor).filter(number=number).first()
    if case is None:
        raise NotFoundError(_("No case %(number)s.") % {"number": number})
    why = refusal(actor, case, user_roles(actor))
    if why == "scope":
        raise NotFoundError(_("No case %(number)s.") % {"number": number})
    if why is not None:
        raise PermissionDeniedError(_refusal_message(why, case))
    if expected_version is not None and case.version != expected_version:
        raise _conflict(case)
    target = _target_grid(to_grid_code, actor, errors)
    if target is not None and target.pk == case.grid_id:
        errors["to_grid"] = [_("The case is already in grid %(code)s.") % {"code": target.code}]
    if errors:
        field_name, messages = next(iter(errors.items()))
        raise InvalidInputError(f"{field_name}: {messages[0]}", errors)
    assert target is not None  # noqa: S101 — errors is empty only when the grid was found

    now = timezone.now()
    from_grid = case.grid.code if case.grid_id else case.region_code
    updates: dict[str, Any] = {
        "grid_id": target.pk,
        "region_code": target.code,
        "version": F("version") + 1,
        "updated_at": now,
    }
    to_state = case.state
    owner_cleared = _owner_cannot_act_in(case, target.code)
    if owner_cleared:
        # The owner cannot act in the new grid: the case goes back to dispatch there.
        deadline, unit = stage_deadline(case, Stage.DISPATCH, now)
        to_state = S.ACCEPTED
        updates.update(
            owner_user=None,
            owner_department=None,
            state=to_state,
            stage=Stage.DISPATCH,
            stage_started_at=now,
            stage_deadline=deadline,
            stage_unit=unit,
            is_overdue=False,
            extension_requested=False,
        )
    changed = Case.objects.filter(pk=case.pk, state=case.state, version=case.version).update(
        **updates
    )
    if changed != 1:
        raise _conflict(case)
    payload = {
        "from_grid": from_grid,
        "to_grid": target.code,
        "from_street": from_grid[:9],
        "to_street": target.code[:9],
        "owner_cleared": owner_cleared,
    }
    event = CaseEvent.objects.create(
        case=case,
        action=ACTION,
        from_state=case.state,
        to_state=to_state,
        actor=actor if actor.pk else None,
        reason=reason,
        payload=payload,
        created_at=now,
    )
    case.refresh_from_db()
    notifications.queue_for_event(case, event, _grid_workers(target.code))
    audit_log_write(
        actor=actor,
        action="cases.case_transfer",
        target_type="cases.case",
        target_id=case.number,
        details={**payload, "reason": reason[:200]},
    )
    return Transfer(
        case=case, from_grid=from_grid, to_grid=target.code, owner_cleared=owner_cleared
    )


def _target_grid(code: str, actor: User, errors: dict[str, list[str]]) -> Grid | None:
    code = (code or "").strip()
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
        return bool(area) and not grid_code.startswith(area)
    return False


def _grid_workers(grid_code: str) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, scope_grants__prefix=grid_code, groups__name="grid_worker"
        ).distinct()
    )


def _conflict(case: Case) -> ConflictError:
    fresh = Case.objects.get(pk=case.pk)
    return ConflictError(
        _("Case %(number)s was changed by someone else; it is now %(state)s.")
        % {"number": fresh.number, "state": fresh.get_state_display()},
        current={"state": fresh.state, "version": fresh.version},
    )


def _refusal_message(why: str, case: Case) -> str:
    messages = {
        "role": _("Your role may not transfer cases."),
        "state": _("A case in state %(state)s cannot be transferred."),
        "suspended": _("The case is suspended; resume it first."),
        "merged": _("The case was merged into another one."),
    }
    return messages[why] % {"state": case.get_state_display()}
