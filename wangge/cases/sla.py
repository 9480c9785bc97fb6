"""Deadlines (时限): which time limit applies to a case's stage, when it falls due, how late it is."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from django.db.models import Q

from wangge.cases.models import Case, TimeLimit
from wangge.core.configcache import ConfigCache
from wangge.core.workcalendar import current_calendar
from wangge.lib.calendar import TimeUnit

YELLOW_FROM = 0.8  # share of the limit used up when the light turns yellow


class Light(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


def time_limit_for(
    *, category_id: int, condition: str, area_grade: str, stage: str
) -> TimeLimit | None:
    """The most specific time limit: the category's own over the default, exact condition over any."""
    return _time_limits.get((category_id, condition, area_grade, stage))


def _load_time_limit(key: tuple[int, str, str, str]) -> TimeLimit | None:
    category_id, condition, area_grade, stage = key
    candidates = TimeLimit.objects.filter(
        Q(category_id=category_id) | Q(category__isnull=True),
        condition__in={condition, ""},
        area_grade=area_grade,
        stage=stage,
    )
    return min(
        candidates,
        key=lambda limit: (limit.category_id is None, limit.condition != condition),
        default=None,
    )


# Read on every intake and transition; changed in the admin a few times a year.
_time_limits = ConfigCache(
    _load_time_limit, models=["cases.TimeLimit"], recheck_setting="WANGGE_CONFIG_RECHECK_SECONDS"
)


def stage_deadline(case: Case, stage: str, start: datetime) -> tuple[datetime | None, str]:
    """When the stage entered at ``start`` falls due, and the unit its limit is counted in."""
    limit = time_limit_for(
        category_id=case.category_id,
        condition=case.condition,
        area_grade=case.area_grade,
        stage=stage,
    )
    if limit is None:
        return None, ""
    deadline = current_calendar().add_working_time(start, limit.amount, TimeUnit(limit.unit))
    return deadline, limit.unit


def extend(deadline: datetime, amount: Decimal | int, unit: str) -> datetime:
    return current_calendar().add_working_time(deadline, amount, TimeUnit(unit))


def traffic_light(case: Case, now: datetime) -> Light | None:
    """Green below 80 % of the stage's limit, yellow from 80 % to 100 %, red past the deadline.

    Measured in working time, so a weekend does not turn a two-working-day limit red.
    """
    if case.stage_deadline is None or case.stage_started_at is None:
        return None
    if case.is_overdue or now >= case.stage_deadline:
        return Light.RED
    calendar = current_calendar()
    # Working limits are measured in working minutes, natural ones in minutes.
    working = case.stage_unit in {TimeUnit.WORKING_DAY, TimeUnit.WORKING_HOUR}
    unit = TimeUnit.WORKING_HOUR if working else TimeUnit.MINUTE
    allowed = calendar.working_time_between(case.stage_started_at, case.stage_deadline, unit)
    if allowed <= 0:
        return Light.YELLOW
    used = calendar.working_time_between(case.stage_started_at, now, unit)
    return Light.YELLOW if used / allowed >= YELLOW_FROM else Light.GREEN
