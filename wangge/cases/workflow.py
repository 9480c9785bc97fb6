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


OPEN_STATES = frozenset(
    {S.CHECKING, S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.HANDLED}
)
WITH_OWNER = frozenset({S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS})

# Roles (core.roles.Role values) that may take each action, before scope and ownership checks.
CENTER = frozenset({"district_commander", "supervisor_operator"})
DISPATCHERS = frozenset({"district_commander", "dispatcher"})
LOCAL_OFFICERS = frozenset({"street_officer", "community_officer"})
FIELD = frozenset({"grid_worker", "community_officer"})


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


def refusal(user: User, case: Case, action: Action, roles: Iterable[str]) -> str | None:
    """Why ``user`` may not take ``action`` on ``case`` now, or None when they may.

    Each condition on its own line, in the order a person would check them (STYLE.md §10).
    """
    rule = RULES[action]
    roles = set(roles)
    if case.state not in rule.sources:
        return "state"
    if not (user.is_superuser or code_in_scope(user, case.region_code) or is_owner(user, case)):
        return "scope"
    if case.is_suspended and action not in {Action.RESUME, Action.SUPERVISE}:
        return "suspended"
    if rule.owner_only:
        return None if is_owner(user, case) else "owner"
    if not (roles & rule.roles) and not user.is_superuser:
        return "role"
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
            return "level"
    if action is Action.VERIFY and case.handled_by_id == user.pk:
        return "own_work"
    if action is Action.ESCALATE and case.level == Case.Level.DISTRICT:
        return "top_level"
    if action is Action.APPROVE_EXTENSION and not case.extension_requested:
        return "no_request"
    if action is Action.DENY_EXTENSION and not case.extension_requested:
        return "no_request"
    if action is Action.RESUME and not case.is_suspended:
        return "not_suspended"
    return None


def allowed_actions(user: User, case: Case, roles: Iterable[str]) -> list[Action]:
    roles = set(roles)
    return [action for action in Action if refusal(user, case, action, roles) is None]


# Photos ------------------------------------------------------------------------------------------

PHOTO_EVENT = "add_photo"  # the CaseEvent.action of a photo added outside an action


def photo_refusal(user: User, case: Case, kind: str, roles: Iterable[str]) -> str | None:
    """Why ``user`` may not add a ``kind`` ("before"/"after") photo to ``case`` now, or None.

    A before photo shows the problem as reported: its reporter adds it while the case is open, and
    so may whoever may confirm or accept it. An after photo shows the result: the department or
    person handling it (while they may report handling), the one who handled it until it is
    verified, and whoever may verify it. Seeing a case is not enough; a closed, voided or
    suspended case takes no photo.
    """
    roles = set(roles)
    if case.state not in OPEN_STATES:
        return "state"
    if case.is_suspended:
        return "suspended"
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
    return "party"
