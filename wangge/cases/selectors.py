"""Reads of cases, always through the user's data scope."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import h3
from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from wangge.cases.models import Case, CaseEvent, Category
from wangge.cases.workflow import (
    LOCAL_OFFICERS,
    OFFICER_LEVEL,
    OPEN_STATES,
    RULES,
    STEPS,
    TRANSFER_ROLES,
    TRANSFERABLE_STATES,
    WITH_OWNER,
    Action,
)
from wangge.core.configcache import ConfigCache
from wangge.core.models import User
from wangge.core.roles import user_roles
from wangge.core.scope import scope_q, sees_everything
from wangge.regions import locate

DUPLICATE_RADIUS_M = 50
DUPLICATE_WINDOW = timedelta(hours=72)


def case_list(*, user: User, filters: dict | None = None) -> QuerySet[Case]:
    """Cases inside the user's scope, plus those the user reported or that were dispatched to the
    user or the user's department."""
    visible = scope_q(user, "region_code")
    if user.is_authenticated:
        # Reporters follow their own reports, even from outside their grids.
        visible |= Q(owner_user=user) | Q(reporter=user)
        if user.department_id is not None:
            visible |= Q(owner_department_id=user.department_id)
    cases = Case.objects.filter(visible).select_related("category", "grid", "owner_department")
    filters = filters or {}
    if state := filters.get("state"):
        cases = cases.filter(state__in=state if isinstance(state, list) else [state])
    if category := filters.get("category"):
        cases = cases.filter(category_q(category))
    if number := filters.get("number"):
        cases = cases.filter(number__contains=number)
    if region := filters.get("region"):
        cases = cases.filter(region_code__startswith=region)
    if filters.get("overdue") is not None:
        cases = cases.filter(is_overdue=filters["overdue"])
    if source := filters.get("source"):
        cases = cases.filter(source=source)
    if since := filters.get("since"):
        cases = cases.filter(created_at__gte=since)
    if until := filters.get("until"):
        cases = cases.filter(created_at__lt=until)
    return cases.order_by("-is_overdue", "stage_deadline", "-created_at")


def category_q(text: str) -> Q:
    """Cases of the category a person typed: its code, an older code (CategoryAlias) or its
    name (or part of it); a big class (大类) stands for all of its small classes."""
    text = text.strip()
    named = Category.objects.filter(
        Q(code=text) | Q(aliases__code=text) | Q(name__icontains=text)
    ).values("pk")
    return Q(category_id__in=named) | Q(category__parent_id__in=named)


# Work queues ---------------------------------------------------------------------------------------


def owner_q(user: User) -> Q:
    """Cases dispatched to the user in person or to the user's department (workflow.is_owner)."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    condition = Q(owner_user_id=user.pk)
    if user.department_id is not None:
        condition |= Q(owner_department_id=user.department_id)
    return condition


def action_q(user: User, action: Action, roles: set[str]) -> Q:
    """The cases on which ``user`` may take ``action`` now, as a filter.

    The SQL form of ``workflow.refusal``: each of its conditions (named by the ``Refusal`` it
    answers) has its line here, in the same order, so that ``refusal(user, case, action, roles)``
    is None exactly for the rows of ``Case.objects.filter(action_q(user, action, roles))``
    (cases/tests/test_queues.py proves it).
    """
    nothing = Q(pk__in=[])
    if not user.is_authenticated or not user.is_active:
        return nothing
    if action is Action.TRANSFER:
        return _transfer_q(user, roles)
    rule = RULES[action]
    condition = Q(state__in=sorted(rule.sources))  # Refusal.STATE
    owned = owner_q(user)
    if not sees_everything(user):  # Refusal.SCOPE (Q() | owned would be owned alone)
        condition &= scope_q(user, "region_code") | owned
    if action not in {Action.RESUME, Action.SUPERVISE}:
        condition &= Q(is_suspended=False)  # Refusal.SUSPENDED
    if rule.owner_only:
        return condition & owned  # Refusal.OWNER
    if not (roles & rule.roles) and not user.is_superuser:
        return nothing  # Refusal.ROLE
    local = roles & LOCAL_OFFICERS
    if (
        local
        and not roles & (rule.roles - LOCAL_OFFICERS)
        and action in {Action.ACCEPT, Action.DISPATCH}
    ):
        condition &= Q(level__in=sorted({OFFICER_LEVEL[role] for role in local}))  # Refusal.LEVEL
    if action is Action.VERIFY:
        condition &= ~Q(handled_by_id=user.pk)  # Refusal.OWN_WORK
    if action is Action.ESCALATE:
        condition &= ~Q(level=Case.Level.DISTRICT)  # Refusal.TOP_LEVEL
    if action in {Action.APPROVE_EXTENSION, Action.DENY_EXTENSION}:
        condition &= Q(extension_requested=True)  # Refusal.NO_REQUEST
    if action is Action.RESUME:
        condition &= Q(is_suspended=True)  # Refusal.NOT_SUSPENDED
    return condition


def _transfer_q(user: User, roles: set[str]) -> Q:
    """``workflow._transfer_refusal`` as a filter."""
    if not (user.is_superuser or roles & TRANSFER_ROLES):
        return Q(pk__in=[])  # Refusal.ROLE
    return (
        scope_q(user, "region_code")  # Refusal.SCOPE (owning the case is not enough)
        & Q(state__in=sorted(TRANSFERABLE_STATES))  # Refusal.STATE
        & Q(is_suspended=False)  # Refusal.SUSPENDED
        & Q(merged_into__isnull=True)  # Refusal.MERGED
    )


def actionable_q(user: User, actions: Iterable[Action], roles: set[str] | None = None) -> Q:
    """Cases on which ``user`` may take at least one of ``actions`` now."""
    roles = user_roles(user) if roles is None else roles
    condition = Q(pk__in=[])
    for action in actions:
        condition |= action_q(user, action, roles)
    return condition


def actionable_cases(*, user: User, actions: Iterable[Action] | None = None) -> QuerySet[Case]:
    """Cases this user, or the department they work in, can act on now (with any of ``actions``,
    by default any step of the action panel), the nearest deadline first.

    Built in SQL over the whole table, never by looking at a first slice of cases: a queue holds
    every case it should however many cases the user can see.
    """
    wanted = list(STEPS) if actions is None else list(actions)
    return by_deadline(
        Case.objects.filter(actionable_q(user, wanted)).select_related(
            "category", "grid", "owner_department", "owner_user"
        )
    )


def owned_cases(*, user: User) -> QuerySet[Case]:
    """Cases dispatched to the user or their department, in any state (a department's work)."""
    return Case.objects.filter(owner_q(user)).select_related(
        "category", "grid", "owner_department", "owner_user"
    )


def by_deadline(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Overdue first, then the nearest stage deadline; cases without a deadline last."""
    return cases.order_by(
        "-is_overdue", F("stage_deadline").asc(nulls_last=True), "-created_at", "-pk"
    )


def actionable_groups(
    *, user: User, groups: Iterable[tuple[str, Iterable[Action]]], number: str = ""
) -> list[tuple[str, QuerySet[Case]]]:
    """A work list split into groups: each case under the first group whose actions the user may
    take on it (so no case is counted twice), nearest deadline first; ``number`` filters by a part
    of the case number."""
    roles = user_roles(user)
    taken = Q(pk__in=[])
    found = []
    for key, actions in groups:
        wanted = actionable_q(user, actions, roles)
        cases = Case.objects.filter(wanted & ~taken)
        if number:
            cases = cases.filter(number__contains=number)
        cases = cases.select_related("category", "grid", "owner_user").defer("grid__boundary_wkb")
        found.append((key, by_deadline(cases)))
        taken |= wanted
    return found


def extension_news_q(now: datetime, *, days: int = 7) -> Q:
    """Cases with an extension request pending or answered within ``days``: what a department
    handler looks at to learn whether more time was granted."""
    answered = CaseEvent.objects.filter(
        case=OuterRef("pk"),
        action__in=(Action.APPROVE_EXTENSION.value, Action.DENY_EXTENSION.value),
        created_at__gte=now - timedelta(days=days),
    )
    return Q(extension_requested=True) | Q(Exists(answered))


def decisions_q() -> Q:
    """Cases waiting for a decision above the handlers: an extension request to answer, or a case
    returned so often that the district arbitrates who takes it (难事区内统筹)."""
    extension = Q(state__in=sorted(WITH_OWNER), extension_requested=True)
    arbitration = Q(
        state=Case.State.ACCEPTED,
        level=Case.Level.DISTRICT,
        return_count__gte=settings.WANGGE_RETURNS_BEFORE_ARBITRATION,
    )
    return extension | arbitration


def reportable_category(category_id: int) -> Category | None:
    """The active small class (小类) with this id, which a report may name; None if there is none.

    Read on every intake, so kept per process (``WANGGE_CONFIG_RECHECK_SECONDS``). The instance is
    shared: read it, never change it.
    """
    return _reportable.get(category_id)


def _load_reportable(category_id: int) -> Category | None:
    return (
        Category.objects.filter(pk=category_id, active=True, parent__isnull=False)
        .select_related("parent")
        .first()
    )


_reportable = ConfigCache(
    _load_reportable, models=["cases.Category"], recheck_setting="WANGGE_CONFIG_RECHECK_SECONDS"
)


def duplicate_candidates(
    *,
    category_id: int,
    lng: float,
    lat: float,
    at: datetime | None = None,
    exclude: int | None = None,
) -> list[Case]:
    """Open cases of the same category within 50 m and 72 hours: probably the same problem."""
    nearby = _nearby(category_id=category_id, lng=lng, lat=lat, at=at, exclude=exclude)
    return [case for case in nearby if _within_radius(lat, lng, case.lat, case.lng)]


def duplicate_numbers(
    *,
    category_id: int,
    lng: float,
    lat: float,
    at: datetime | None = None,
    exclude: int | None = None,
) -> list[str]:
    """The numbers of ``duplicate_candidates``, for intake's answer.

    The same conditions as ``_nearby`` in plain SQL: on intake's path the ORM's building of this
    query cost more than twice its execution.
    """
    at = at or timezone.now()
    cells = locate.h3_disk(lng, lat)
    states = sorted(OPEN_STATES)
    sql = (
        f"SELECT number, lat, lng FROM {Case._meta.db_table} "  # noqa: S608 — names from the model
        f"WHERE category_id = %s AND h3_cell IN ({', '.join(['%s'] * len(cells))}) "
        f"AND created_at >= %s AND state IN ({', '.join(['%s'] * len(states))}) "
        "AND merged_into_id IS NULL AND id <> %s ORDER BY created_at"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [category_id, *cells, at - DUPLICATE_WINDOW, *states, exclude or 0])
        rows = cursor.fetchall()
    return [number for number, lat_, lng_ in rows if _within_radius(lat, lng, lat_, lng_)]


def duplicates_for_user(*, user: User, case: Case) -> tuple[list[str], int]:
    """The likely duplicates of ``case`` (``duplicate_numbers``) that ``user`` may see, and how
    many others there are: a report's answer must not name cases outside the reporter's scope."""
    if case.lng is None or case.lat is None:
        return [], 0
    numbers = duplicate_numbers(
        category_id=case.category_id,
        lng=case.lng,
        lat=case.lat,
        at=case.created_at,
        exclude=case.pk,
    )
    if not numbers:
        return [], 0
    visible = set(case_list(user=user).filter(number__in=numbers).values_list("number", flat=True))
    shown = [number for number in numbers if number in visible]
    return shown, len(numbers) - len(shown)


def _nearby(
    *, category_id: int, lng: float, lat: float, at: datetime | None, exclude: int | None
) -> QuerySet[Case]:
    at = at or timezone.now()
    cells = locate.h3_disk(lng, lat)
    nearby = Case.objects.filter(
        category_id=category_id,
        h3_cell__in=cells,
        created_at__gte=at - DUPLICATE_WINDOW,
        state__in=OPEN_STATES,
        merged_into__isnull=True,
    )
    if exclude is not None:
        nearby = nearby.exclude(pk=exclude)
    return nearby.order_by("created_at")


def _within_radius(
    lat: float, lng: float, other_lat: float | None, other_lng: float | None
) -> bool:
    if other_lat is None or other_lng is None:
        return False
    distance = h3.great_circle_distance((lat, lng), (other_lat, other_lng), unit="m")
    return distance <= DUPLICATE_RADIUS_M
