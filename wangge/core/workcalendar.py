"""The working calendar of this installation (工作日历), built from the package and the admin.

:func:`current_calendar` returns the :class:`wangge.lib.calendar.WorkCalendar` every deadline is
computed with:

- official holidays (休) and adjusted working days (调休上班, 班) from the ``chinese_calendar``
  package, which covers 2004–2026 (its own functions raise NotImplementedError outside that range,
  so we read its tables and never call them per date);
- :class:`~wangge.core.models.CalendarDay` rows entered in the admin, which override the package
  date by date (later years, corrections);
- office hours from :class:`~wangge.core.models.OfficePeriod` rows (default 09:00–12:00 and
  13:30–18:00), in ``settings.TIME_ZONE`` (Asia/Shanghai).

A year is official when the package covers it or a :class:`~wangge.core.models.CalendarYear` row
marks it complete. Any other year falls back to Monday–Friday (plus the rows entered for it): the
first computation that touches it logs a warning, once per year per process, and
:func:`calendar_warnings` lists it for the administrators' banner. Nothing here raises because a
year is missing.

Caching: each process keeps the built calendar with the calendar rows it was built from. At most
every ``WANGGE_CALENDAR_RECHECK_SECONDS`` (default 5) it reads the rows again (three small queries)
and rebuilds when they differ, so an edit made in one process reaches every worker within seconds,
including edits made with ``QuerySet.update()`` or in a shell, and a rolled-back edit never leaves a
stale calendar behind. Saving or deleting a row in this process (the admin) also drops the cache at
once through post_save / post_delete receivers, so the editor sees the change on the next request.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.models import CalendarDay, CalendarYear, OfficePeriod
from wangge.lib.calendar import DEFAULT_OFFICE_HOURS, WorkCalendar

logger = logging.getLogger(__name__)

# From this many days before a year begins, the coming year is "in use": deadlines set now can fall
# in it. The State Council publishes the next year's schedule in late October or November.
LOOKAHEAD_DAYS = 61
DEFAULT_RECHECK_SECONDS = 5.0

_Rows = tuple[
    tuple[tuple[date, str], ...],
    tuple[tuple[clock_time, clock_time], ...],
    tuple[tuple[int, bool], ...],
]


@dataclass(frozen=True)
class CalendarWarning:
    """A problem administrators should fix; ``year`` is None when it is not about one year."""

    year: int | None
    message: str

    def __str__(self) -> str:
        return self.message


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: _Rows | None = None
        self.calendar: WorkCalendar | None = None
        self.problems: tuple[str, ...] = ()
        self.checked_at = float("-inf")
        self.fallback_years: set[int] = set()


_cache = _Cache()


def current_calendar() -> WorkCalendar:
    """The working calendar in force, rebuilt when the calendar rows change (see module doc)."""
    now = time.monotonic()
    calendar = _cache.calendar
    recheck = getattr(settings, "WANGGE_CALENDAR_RECHECK_SECONDS", DEFAULT_RECHECK_SECONDS)
    if calendar is not None and now - _cache.checked_at < recheck:
        return calendar
    rows = _read_rows()
    with _cache.lock:
        if _cache.calendar is None or rows != _cache.rows:
            _cache.calendar, _cache.problems = _build(rows)
            _cache.rows = rows
        _cache.checked_at = now
        return _cache.calendar


def invalidate(*, forget_warnings: bool = False) -> None:
    """Drop this process's calendar; the next use reads the rows again.

    ``forget_warnings`` also forgets which fallback years were already logged (for tests).
    """
    with _cache.lock:
        _cache.calendar = None
        _cache.rows = None
        _cache.problems = ()
        _cache.checked_at = float("-inf")
        if forget_warnings:
            _cache.fallback_years = set()


def package_years() -> frozenset[int]:
    """The years the installed ``chinese_calendar`` package has official data for."""
    return frozenset(day.year for day in chinese_calendar.holidays)


def calendar_warnings(*, today: date | None = None) -> list[CalendarWarning]:
    """What administrators should be told about the calendar, for a banner; empty when all is well.

    Lists every year in use that has no official data: this year, next year from
    ``LOOKAHEAD_DAYS`` before it begins, and any year a computation of this process has touched.
    Also says when the office hours in the database are unusable and the defaults are in force.
    """
    calendar = current_calendar()
    today = today or timezone.localdate()
    in_use = {today.year, (today + timedelta(days=LOOKAHEAD_DAYS)).year}
    in_use |= _cache.fallback_years
    warnings = [
        CalendarWarning(
            year=year,
            message=_(
                "No official holiday schedule has been entered for %(year)s: working time in "
                "%(year)s counts Monday to Friday only. Enter the State Council's 休 and 班 days "
                "under Calendar days and mark %(year)s complete under Calendar years."
            )
            % {"year": year},
        )
        for year in sorted(in_use)
        if not calendar.has_official_data(year)
    ]
    warnings += [CalendarWarning(year=None, message=problem) for problem in _cache.problems]
    return warnings


def build_calendar(
    *,
    days: dict[date, str],
    office_hours: tuple[tuple[clock_time, clock_time], ...],
    complete_years: frozenset[int],
) -> WorkCalendar:
    """The package's days overridden by ``days`` (date → "holiday" / "workday"); raises on bad hours."""
    holidays = set(chinese_calendar.holidays) - set(chinese_calendar.workdays)
    workdays = set(chinese_calendar.workdays)
    for day, kind in days.items():
        holidays.discard(day)
        workdays.discard(day)
        (holidays if kind == CalendarDay.Kind.HOLIDAY else workdays).add(day)
    return WorkCalendar(
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        office_hours=office_hours,
        official_years=package_years() | complete_years,
        tz=ZoneInfo(settings.TIME_ZONE),
        on_fallback_year=_report_fallback_year,
    )


def _read_rows() -> _Rows:
    return (
        tuple(CalendarDay.objects.order_by("date").values_list("date", "kind")),
        tuple(OfficePeriod.objects.order_by("start").values_list("start", "end")),
        tuple(CalendarYear.objects.order_by("year").values_list("year", "complete")),
    )


def _build(rows: _Rows) -> tuple[WorkCalendar, tuple[str, ...]]:
    day_rows, period_rows, year_rows = rows
    days = dict(day_rows)
    complete = frozenset(year for year, done in year_rows if done)
    office_hours = period_rows or DEFAULT_OFFICE_HOURS
    try:
        return build_calendar(days=days, office_hours=office_hours, complete_years=complete), ()
    except ValueError as error:
        # Office periods that overlap slipped past the admin's validation; deadlines must go on.
        logger.error("office hours %s are unusable (%s); using the defaults", office_hours, error)
        problem = _(
            "The office hours entered are unusable (%(error)s); the default hours 09:00–12:00 "
            "and 13:30–18:00 are in force. Correct them under Office hours."
        ) % {"error": error}
        calendar = build_calendar(
            days=days, office_hours=DEFAULT_OFFICE_HOURS, complete_years=complete
        )
        return calendar, (problem,)


def _report_fallback_year(year: int) -> None:
    if year in _cache.fallback_years:
        return
    with _cache.lock:
        if year in _cache.fallback_years:
            return
        _cache.fallback_years = _cache.fallback_years | {year}
    logger.warning(
        "no official holidays for %s: working time in %s falls back to Monday-Friday; enter the "
        "official schedule in the admin (Calendar days, Calendar years)",
        year,
        year,
    )


def _rows_changed(**kwargs: object) -> None:
    invalidate()


for _model in (CalendarDay, CalendarYear, OfficePeriod):
    post_save.connect(
        _rows_changed, sender=_model, dispatch_uid=f"workcalendar.save.{_model.__name__}"
    )
    post_delete.connect(
        _rows_changed, sender=_model, dispatch_uid=f"workcalendar.delete.{_model.__name__}"
    )
