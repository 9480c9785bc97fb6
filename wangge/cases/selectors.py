"""Reads of cases, always through the user's data scope."""

from __future__ import annotations

from datetime import datetime, timedelta

import h3
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from wangge.cases.models import Case, Category
from wangge.cases.workflow import OPEN_STATES
from wangge.core.configcache import ConfigCache
from wangge.core.errors import NotFoundError
from wangge.core.models import User
from wangge.core.scope import scope_q

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
        cases = cases.filter(category__code=category)
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


def access_case_for_user(*, user: User, number: str) -> Case:
    case = case_list(user=user).filter(number=number).first()
    if case is None:
        raise NotFoundError(f"No case {number}.")
    return case


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
    cells = list(h3.grid_disk(h3.latlng_to_cell(lat, lng, 10), 1))
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
    cells = h3.grid_disk(h3.latlng_to_cell(lat, lng, 10), 1)
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
