"""Reads of cases, always through the user's data scope."""

from __future__ import annotations

from datetime import datetime, timedelta

import h3
from django.db.models import Q, QuerySet
from django.utils import timezone

from wangge.cases.models import Case
from wangge.cases.workflow import OPEN_STATES
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
    at = at or timezone.now()
    origin = h3.latlng_to_cell(lat, lng, 10)
    cells = h3.grid_disk(origin, 1)
    nearby = Case.objects.filter(
        category_id=category_id,
        h3_cell__in=cells,
        created_at__gte=at - DUPLICATE_WINDOW,
        state__in=OPEN_STATES,
        merged_into__isnull=True,
    )
    if exclude is not None:
        nearby = nearby.exclude(pk=exclude)
    return [
        case
        for case in nearby.order_by("created_at")
        if case.lat is not None
        and h3.great_circle_distance((lat, lng), (case.lat, case.lng), unit="m")
        <= DUPLICATE_RADIUS_M
    ]
