"""The rules of the loop: which action moves a case from which state to which, and who may take it.

Pure rules over a case's own fields and the acting user's roles and scope; no queries beyond what
the objects already hold. ``services.py`` applies them inside a transaction; the API and the console
ask :func:`allowed_actions` what to offer.

发现上报 → 立案 → 指挥派遣 → 处置反馈 → 任务核查 → 结案归档 → 评价, with the exceptions
回退 (return), 延期 (extension), 挂账 (suspend), 升级 (escalate), 督办 (supervise), 返工 (rework)
and duplicate merge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from wangge.cases.models import Case, CasePhoto
from wangge.core.models import User
from wangge.core.scope import code_in_scope

S = Case.State


class Action(StrEnum):
    CONFIRM = "confirm"  # 核实: a grid worker confirms a public report on the spot
    ACCEPT = "accept"  # 立案
    VOID = "void"  # 不予立案 / 作废
    DISPATCH = "dispatch"  # 派遣
    ACKNOWLEDGE = "acknowledge"  # 签收
    START = "start"  # 开始处置
    HANDLE = "handle"  # 处置反馈
    RETURN = "return"  # 回退
    REQUEST_EXTENSION = "request_extension"  # 申请延期
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"
    VERIFY = "verify"  # 核查: pass closes, fail sends it back (返工)
    EVALUATE = "evaluate"  # 评价
    ARCHIVE = "archive"  # 归档
    SUSPEND = "suspend"  # 挂账
    RESUME = "resume"
    ESCALATE = "escalate"  # 升级
    SUPERVISE = "supervise"  # 督办
    MERGE = "merge"  # 合并重复
    # 转办/移交: to another grid of the actor's scope (cases.transfers). Not a step of the action
    # panel: the state stays, unless the owner cannot act in the new grid (back to dispatch).
    TRANSFER = "transfer"


# The actions the action panel and the work queues offer: every action but a transfer.
STEPS: tuple[Action, ...] = tuple(action for action in Action if action is not Action.TRANSFER)


class Refusal(StrEnum):
    """Why a user may not take an action (or add a photo) now; ``message`` says it to the user."""

    STATE = "state"
    SCOPE = "scope"
    SUSPENDED = "suspended"
    OWNER = "owner"
    ROLE = "role"
    LEVEL = "level"
    OWN_WORK = "own_work"
    TOP_LEVEL = "top_level"
    NO_REQUEST = "no_request"
    NOT_SUSPENDED = "not_suspended"
    MERGED = "merged"
    PARTY = "party"  # a photo: not a party of the case's current step

    def message(self, case: Case, action: Action | None = None, *, photo_kind: str = "") -> str:
        """The refusal in the reader's language: of ``action``, or of adding a ``photo_kind``
        photo. (A refusal for the scope is answered as "no such case" by the callers.)"""
        if photo_kind:
            text = _PHOTO_TEXTS[self]
            if self is Refusal.PARTY:
                text = text[photo_kind == CasePhoto.Kind.BEFORE]
        elif action is Action.TRANSFER:
            text = _TRANSFER_TEXTS[self]
        else:
            text = _ACTION_TEXTS[self]
        return str(text) % {
            "number": case.number,
            "state": case.get_state_display(),
            "level": case.get_level_display(),
        }


_ACTION_TEXTS: dict[Refusal, Promise] = {
    Refusal.STATE: _("This action is not possible while the case is %(state)s."),
    Refusal.ROLE: _("Your role may not take this action on cases."),
    Refusal.OWNER: _("Only the department or person the case is dispatched to may do this."),
    Refusal.LEVEL: _("This case is handled at the %(level)s level, not yours."),
    Refusal.OWN_WORK: _("The person who handled a case may not verify it."),
    Refusal.SUSPENDED: _("The case is suspended; resume it first."),
    Refusal.TOP_LEVEL: _("The case is already at the district level."),
    Refusal.NO_REQUEST: _("There is no extension request to decide."),
    Refusal.NOT_SUSPENDED: _("The case is not suspended."),
}
_TRANSFER_TEXTS: dict[Refusal, Promise] = {
    Refusal.ROLE: _("Your role may not transfer cases."),
    Refusal.STATE: _("A case in state %(state)s cannot be transferred."),
    Refusal.SUSPENDED: _("The case is suspended; resume it first."),
    Refusal.MERGED: _("The case was merged into another one."),
}
_PHOTO_TEXTS: dict[Refusal, Any] = {
    Refusal.STATE: _("Case %(number)s is %(state)s: photos can no longer be added."),
    Refusal.SUSPENDED: _("The case is suspended; resume it first."),
    # (after, before)
    Refusal.PARTY: (
        _("Photos of the result are added by whoever handles or verifies the case."),
        _("Photos of the problem are added by its reporter or by whoever accepts the case."),
    ),
}


OPEN_STATES = frozenset(
    {S.CHECKING, S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.HANDLED}
)
WITH_OWNER = frozenset({S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS})

# Roles (core.roles.Role values) that may take each action, before scope and ownership checks.
CENTER = frozenset({"district_commander", "supervisor_operator"})
DISPATCHERS = frozenset({"district_commander", "dispatcher"})
LOCAL_OFFICERS = frozenset({"street_officer", "community_officer"})
FIELD = frozenset({"grid_worker", "community_officer"})
TRANSFER_ROLES = CENTER | DISPATCHERS | LOCAL_OFFICERS
TRANSFERABLE_STATES = frozenset(
    {S.CHECKING, S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS}
)


@dataclass(frozen=True)
class Rule:
    sources: frozenset[str]
    roles: frozenset[str]
    needs_reason: bool = False
    owner_only: bool = False  # only the department or person the case is dispatched to


RULES: dict[Action, Rule] = {
    Action.CONFIRM: Rule(frozenset({S.CHECKING}), FIELD | CENTER),
    Action.ACCEPT: Rule(frozenset({S.REPORTED}), CENTER | LOCAL_OFFICERS),
    Action.VOID: Rule(frozenset({S.CHECKING, S.REPORTED}), CENTER, needs_reason=True),
    Action.DISPATCH: Rule(frozenset({S.ACCEPTED}), DISPATCHERS | LOCAL_OFFICERS),
    Action.ACKNOWLEDGE: Rule(frozenset({S.DISPATCHED}), frozenset(), owner_only=True),
    Action.START: Rule(frozenset({S.ACKNOWLEDGED}), frozenset(), owner_only=True),
    Action.HANDLE: Rule(frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS}), frozenset(), owner_only=True),
    Action.RETURN: Rule(
        frozenset({S.DISPATCHED, S.ACKNOWLEDGED}), frozenset(), needs_reason=True, owner_only=True
    ),
    Action.REQUEST_EXTENSION: Rule(WITH_OWNER, frozenset(), needs_reason=True, owner_only=True),
    Action.APPROVE_EXTENSION: Rule(WITH_OWNER, DISPATCHERS),
    Action.DENY_EXTENSION: Rule(WITH_OWNER, DISPATCHERS, needs_reason=True),
    Action.VERIFY: Rule(frozenset({S.HANDLED}), CENTER | FIELD),
    Action.EVALUATE: Rule(frozenset({S.CLOSED}), CENTER | FIELD),
    Action.ARCHIVE: Rule(frozenset({S.CLOSED, S.EVALUATED}), CENTER),
    Action.SUSPEND: Rule(OPEN_STATES - {S.HANDLED}, CENTER, needs_reason=True),
    Action.RESUME: Rule(OPEN_STATES, CENTER),
    Action.ESCALATE: Rule(
        frozenset({S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS}),
        FIELD | LOCAL_OFFICERS | DISPATCHERS,
        needs_reason=True,
    ),
    Action.SUPERVISE: Rule(OPEN_STATES, frozenset({"district_commander", "street_officer"})),
    Action.MERGE: Rule(frozenset({S.CHECKING, S.REPORTED, S.ACCEPTED}), CENTER | DISPATCHERS),
    # A transfer needs a reason too; the transfer itself checks it together with the target grid.
    Action.TRANSFER: Rule(TRANSFERABLE_STATES, TRANSFER_ROLES),
}

LEVEL_ABOVE = {
    Case.Level.GRID: Case.Level.COMMUNITY,
    Case.Level.COMMUNITY: Case.Level.STREET,
    Case.Level.STREET: Case.Level.DISTRICT,
}
# The level a local officer works at, by role: a community officer dispatches community cases.
OFFICER_LEVEL = {"community_officer": Case.Level.COMMUNITY, "street_officer": Case.Level.STREET}


def is_owner(user: User, case: Case) -> bool:
    """The person or a member of the department the case is dispatched to."""
    if case.owner_user_id is not None and case.owner_user_id == user.pk:
        return True
    department_id = getattr(user, "department_id", None)
    return department_id is not None and department_id == case.owner_department_id


def refusal(user: User, case: Case, action: Action, roles: Iterable[str]) -> Refusal | None:
    """Why ``user`` may not take ``action`` on ``case`` now, or None when they may.

    Each condition on its own line, in the order a person would check them (STYLE.md §10).
    ``selectors.action_q`` is the same as a filter, line by line.
    """
    rule = RULES[action]
    roles = set(roles)
    if action is Action.TRANSFER:
        return _transfer_refusal(user, case, roles)
    if case.state not in rule.sources:
        return Refusal.STATE
    if not (user.is_superuser or code_in_scope(user, case.region_code) or is_owner(user, case)):
        return Refusal.SCOPE
    if case.is_suspended and action not in {Action.RESUME, Action.SUPERVISE}:
        return Refusal.SUSPENDED
    if rule.owner_only:
        return None if is_owner(user, case) else Refusal.OWNER
    if not (roles & rule.roles) and not user.is_superuser:
        return Refusal.ROLE
    local = roles & LOCAL_OFFICERS
    if (
        local
        and not roles & (rule.roles - LOCAL_OFFICERS)
        and action
        in {
            Action.ACCEPT,
            Action.DISPATCH,
        }
    ):
        # 小事不出社区: a community or street officer handles cases at their own level only.
        if not any(OFFICER_LEVEL[role] == case.level for role in local):
            return Refusal.LEVEL
    if action is Action.VERIFY and case.handled_by_id == user.pk:
        return Refusal.OWN_WORK
    if action is Action.ESCALATE and case.level == Case.Level.DISTRICT:
        return Refusal.TOP_LEVEL
    if action is Action.APPROVE_EXTENSION and not case.extension_requested:
        return Refusal.NO_REQUEST
    if action is Action.DENY_EXTENSION and not case.extension_requested:
        return Refusal.NO_REQUEST
    if action is Action.RESUME and not case.is_suspended:
        return Refusal.NOT_SUSPENDED
    return None


def _transfer_refusal(user: User, case: Case, roles: set[str]) -> Refusal | None:
    """A transfer: the case's grid in the user's scope (owning it is not enough), a role of the
    district centre, a dispatcher or a local officer, an open case not yet being verified."""
    if not (user.is_superuser or code_in_scope(user, case.region_code)):
        return Refusal.SCOPE
    if not (user.is_superuser or roles & TRANSFER_ROLES):
        return Refusal.ROLE
    if case.state not in TRANSFERABLE_STATES:
        return Refusal.STATE
    if case.is_suspended:
        return Refusal.SUSPENDED
    if case.merged_into_id is not None:
        return Refusal.MERGED
    return None


def allowed_actions(user: User, case: Case, roles: Iterable[str]) -> list[Action]:
    """The steps (not transfers) ``user`` may take on ``case`` now: what the action panel offers."""
    roles = set(roles)
    return [action for action in STEPS if refusal(user, case, action, roles) is None]


# Photos ------------------------------------------------------------------------------------------

PHOTO_EVENT = "add_photo"  # the CaseEvent.action of a photo added outside an action


def photo_refusal(user: User, case: Case, kind: str, roles: Iterable[str]) -> Refusal | None:
    """Why ``user`` may not add a ``kind`` ("before"/"after") photo to ``case`` now, or None.

    A before photo shows the problem as reported: its reporter adds it while the case is open, and
    so may whoever may confirm or accept it. An after photo shows the result: the department or
    person handling it (while they may report handling), the one who handled it until it is
    verified, and whoever may verify it. Seeing a case is not enough; a closed, voided or
    suspended case takes no photo.
    """
    roles = set(roles)
    if case.state not in OPEN_STATES:
        return Refusal.STATE
    if case.is_suspended:
        return Refusal.SUSPENDED
    if kind == CasePhoto.Kind.BEFORE:
        if case.reporter_id is not None and case.reporter_id == user.pk:
            return None
        deciders = (Action.CONFIRM, Action.ACCEPT)
    else:
        if case.state == S.HANDLED and case.handled_by_id == user.pk:
            return None
        deciders = (Action.HANDLE, Action.VERIFY)
    if any(refusal(user, case, action, roles) is None for action in deciders):
        return None
    return Refusal.PARTY
