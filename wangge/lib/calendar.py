"""Working-time arithmetic on the Chinese official calendar (工作日历).

Four units (:class:`TimeUnit`):

- 工作日 working day and 工作时 working hour count only office hours (办公时间, default
  09:00–12:00 and 13:30–18:00) on working days (工作日): Monday to Friday, minus official
  holidays (法定节假日, 休), plus adjusted working days on a weekend (调休上班, 班).
- 小时 hour and 分钟 minute are natural time (自然时): every moment counts, holidays too.

Both working units measure one and the same *working clock* that runs only during office hours on
working days; one 工作日 is the length of one day's office hours (7.5 工作时 by default). This is
the rule of 数字城管 deadlines ("节假日和非工作时间不计时"), and it makes "1 工作日" and
"7.5 工作时" always name the same deadline. Consequences, all tested:

- Inside office hours, "+1 工作日" is the same clock time on the next working day
  (2026-09-30 17:00 + 1 工作日 = 2026-10-08 17:00, National Day 10-01..10-07 being off).
- A start outside office hours (a weekend, a holiday, the evening, lunch) starts the clock when the
  office next opens. A case reported on Saturday with 1 工作日 is due on Monday at the close of
  office hours (18:00), not on Tuesday: Monday's office hours are the one working day it was given,
  and a report made on Saturday gets neither more nor less time than one made at 08:00 on Monday.
- A deadline (positive amount of a working unit) is the *earliest* moment at which the working
  clock has run the amount: when that moment is a closing time it is given as the closing time
  (12:00, 18:00), never as the next opening. Subtracting gives the *latest* such moment, so it lands
  on an opening time (09:00, 13:30). Either way the result is a working moment
  (:meth:`WorkCalendar.is_working_time` counts opening and closing instants as working).
- Adding zero returns the start unchanged.

Years without official data: :attr:`WorkCalendar.official_years` lists the years whose holidays
and adjusted working days are known. Any other year follows the Monday–Friday rule (plus whatever
explicit days were given for it). This module only computes; ``wangge.core.workcalendar`` builds the
calendar, logs the fallback and shows it to administrators.

Datetimes must be aware (a naive one raises ValueError). Working units are computed in the
calendar's time zone (Asia/Shanghai) and results are returned in the time zone of the input.
Amounts may be int, float or Decimal, negative or fractional; they are exact to the microsecond.
Every operation costs O(log n) in the number of holidays, whatever the span: no loop over days.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_OFFICE_HOURS: tuple[tuple[time, time], ...] = (
    (time(9, 0), time(12, 0)),
    (time(13, 30), time(18, 0)),
)

_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_US_PER_HOUR = 60 * _US_PER_MINUTE
_MAX_ORDINAL = date.max.toordinal()


class TimeUnit(StrEnum):
    """Units of a time limit (时限单位); Chinese labels in :data:`UNIT_LABELS`."""

    WORKING_DAY = "working_day"  # 工作日
    WORKING_HOUR = "working_hour"  # 工作时
    HOUR = "hour"  # 小时 (自然时)
    MINUTE = "minute"  # 分钟

    @property
    def is_working(self) -> bool:
        return self in (TimeUnit.WORKING_DAY, TimeUnit.WORKING_HOUR)


UNIT_LABELS: dict[TimeUnit, str] = {
    TimeUnit.WORKING_DAY: "工作日",
    TimeUnit.WORKING_HOUR: "工作时",
    TimeUnit.HOUR: "小时",
    TimeUnit.MINUTE: "分钟",
}


def parse_unit(text: str | TimeUnit) -> TimeUnit:
    """A unit from its code ("working_day") or its Chinese label ("工作日")."""
    for unit, label in UNIT_LABELS.items():
        if text == unit.value or text == label:
            return unit
    allowed = ", ".join(f"{u.value} ({label})" for u, label in UNIT_LABELS.items())
    raise ValueError(f"unknown time unit {text!r}; expected one of {allowed}")


def _time_us(value: time) -> int:
    return (
        value.hour * 3600 + value.minute * 60 + value.second
    ) * _US_PER_SECOND + value.microsecond


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), got {value!r}")


def _weekdays_before(ordinal: int) -> int:
    """How many Mondays–Fridays have an ordinal in [1, ordinal); ordinal 1 (0001-01-01) is a Monday."""
    weeks, rest = divmod(ordinal - 1, 7)
    return weeks * 5 + min(rest, 5)


@dataclass(frozen=True)
class WorkCalendar:
    """Working days and office hours, and time arithmetic on them.

    ``holidays`` are days off (休) and ``workdays`` adjusted working days (班); the two must not
    share a date. A date in neither is a working day when it is a Monday to Friday.
    ``office_hours`` are the periods of a working day as wall-clock (start, end) pairs, in order and
    not overlapping. ``official_years`` are the years whose holidays and adjusted days are known;
    ``on_fallback_year`` (optional) is called with a year outside them each time a computation
    reads a date of that year, so the caller can report that the Monday–Friday rule was used.
    """

    holidays: frozenset[date] = field(default=frozenset(), repr=False)
    workdays: frozenset[date] = field(default=frozenset(), repr=False)
    office_hours: tuple[tuple[time, time], ...] = DEFAULT_OFFICE_HOURS
    official_years: frozenset[int] = frozenset()
    tz: tzinfo = SHANGHAI
    on_fallback_year: Callable[[int], object] | None = field(
        default=None, compare=False, repr=False
    )

    # Derived in __post_init__: office periods in microseconds since midnight, the length of one
    # working day, and the sorted exceptions to the Monday–Friday rule that ranks are counted from.
    _periods: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _day_us: int = field(init=False, repr=False, compare=False)
    _weekday_holidays: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _weekend_workdays: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        both = self.holidays & self.workdays
        if both:
            days = ", ".join(d.isoformat() for d in sorted(both)[:5])
            raise ValueError(f"dates cannot be both holidays and working days: {days}")
        if not self.office_hours:
            raise ValueError("office hours need at least one period")
        periods: list[tuple[int, int]] = []
        for start, end in self.office_hours:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("office hours are wall-clock times without a time zone")
            if not start < end:
                raise ValueError(
                    f"office period {start:%H:%M}–{end:%H:%M} must end after it starts"
                )
            if periods and _time_us(start) < periods[-1][1]:
                raise ValueError("office periods must be in order and must not overlap")
            periods.append((_time_us(start), _time_us(end)))
        object.__setattr__(self, "_periods", tuple(periods))
        object.__setattr__(self, "_day_us", sum(end - start for start, end in periods))
        object.__setattr__(
            self,
            "_weekday_holidays",
            tuple(sorted(d.toordinal() for d in self.holidays if d.weekday() < 5)),
        )
        object.__setattr__(
            self,
            "_weekend_workdays",
            tuple(sorted(d.toordinal() for d in self.workdays if d.weekday() >= 5)),
        )

    # Days ---------------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day (工作日): 班 days yes, 休 days no, else Monday–Friday."""
        if isinstance(day, datetime):
            raise TypeError("is_working_day takes a date; use is_working_time for a datetime")
        self._touch(day, day)
        return self._is_working_day(day)

    def has_official_data(self, year: int) -> bool:
        """Whether ``year``'s holidays and adjusted days are known, rather than Monday–Friday."""
        return year in self.official_years

    def fallback_years(self, first: date, last: date) -> list[int]:
        """The years from ``first`` to ``last`` (inclusive) that have no official data."""
        return [y for y in range(first.year, last.year + 1) if y not in self.official_years]

    @property
    def office_day(self) -> timedelta:
        """The length of one working day's office hours: the size of one 工作日."""
        return timedelta(microseconds=self._day_us)

    # Moments ------------------------------------------------------------------------------------

    def is_working_time(self, moment: datetime) -> bool:
        """Whether ``moment`` is in office hours on a working day; opening and closing instants count."""
        _require_aware(moment, "moment")
        local = moment.astimezone(self.tz)
        self._touch(local.date(), local.date())
        if not self._is_working_day(local.date()):
            return False
        clock = _time_us(local.time())
        return any(start <= clock <= end for start, end in self._periods)

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself when it is working time, else the next opening of office hours."""
        if self.is_working_time(moment):
            return moment
        local = moment.astimezone(self.tz)
        result = self._moment_at(self._position(local), latest=True)
        self._touch(local.date(), result.date())
        return result.astimezone(moment.tzinfo)

    def add_working_time(
        self, start: datetime, amount: int | float | Decimal, unit: TimeUnit | str
    ) -> datetime:
        """The moment ``amount`` ``unit`` after ``start`` (before it when ``amount`` is negative).

        For 工作日 and 工作时 the result is the earliest moment (the latest one when subtracting)
        at which the working clock has advanced by the amount, so it is always a working moment;
        see the module docstring. For 小时 and 分钟 it is plain elapsed time. The result is in the
        time zone of ``start``. The amount is rounded to the microsecond; when that is zero the
        result is ``start`` itself, even outside office hours.
        """
        _require_aware(start, "start")
        unit = parse_unit(unit)
        step = _to_microseconds(amount, self._unit_us(unit))
        if step == 0:
            return start
        if not unit.is_working:
            try:
                result = start.astimezone(UTC) + timedelta(microseconds=step)
            except OverflowError:
                raise ValueError("the result is outside the supported dates") from None
            return result.astimezone(start.tzinfo)
        local = start.astimezone(self.tz)
        result = self._moment_at(self._position(local) + step, latest=step < 0)
        self._touch(min(local.date(), result.date()), max(local.date(), result.date()))
        return result.astimezone(start.tzinfo)

    def working_time_between(self, a: datetime, b: datetime, unit: TimeUnit | str) -> float:
        """How much ``unit`` time runs from ``a`` to ``b``; negative when ``b`` is before ``a``.

        For 工作日 and 工作时 only office hours on working days count, so the answer may be
        fractional (a morning is 0.4 工作日 by default) and is 0 between two moments of one weekend.
        """
        _require_aware(a, "a")
        _require_aware(b, "b")
        unit = parse_unit(unit)
        if not unit.is_working:
            elapsed = b.astimezone(UTC) - a.astimezone(UTC)
            return (elapsed // timedelta(microseconds=1)) / self._unit_us(unit)
        local_a = a.astimezone(self.tz)
        local_b = b.astimezone(self.tz)
        self._touch(min(local_a.date(), local_b.date()), max(local_a.date(), local_b.date()))
        return (self._position(local_b) - self._position(local_a)) / self._unit_us(unit)

    # The working clock --------------------------------------------------------------------------
    # A moment's position is the working time, in microseconds, from 0001-01-01 00:00 to it:
    # rank(day) whole working days before its date plus the office time elapsed on its date. The
    # position never decreases; it stands still outside office hours.

    def _is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def _rank(self, ordinal: int) -> int:
        """How many working days come before the day with this ordinal."""
        return (
            _weekdays_before(ordinal)
            - bisect.bisect_left(self._weekday_holidays, ordinal)
            + bisect.bisect_left(self._weekend_workdays, ordinal)
        )

    def _position(self, local: datetime) -> int:
        day = local.date()
        position = self._rank(day.toordinal()) * self._day_us
        if self._is_working_day(day):
            clock = _time_us(local.time())
            position += sum(min(max(clock - s, 0), e - s) for s, e in self._periods)
        return position

    def _working_day_of_rank(self, rank: int) -> date:
        """The working day that has ``rank`` working days before it."""
        # The smallest ordinal whose following day has a rank beyond ``rank`` is that working day.
        lo, hi = 1, _MAX_ORDINAL
        if rank < 0 or self._rank(hi + 1) <= rank:
            raise ValueError("the result is outside the supported dates")
        while lo < hi:
            mid = (lo + hi) // 2
            if self._rank(mid + 1) > rank:
                hi = mid
            else:
                lo = mid + 1
        return date.fromordinal(lo)

    def _moment_at(self, position: int, *, latest: bool) -> datetime:
        """The earliest (or latest) local moment whose position is ``position``."""
        rank, offset = divmod(position, self._day_us)
        if offset == 0 and not latest:
            rank, offset = rank - 1, self._day_us  # the close of the previous working day
        day = self._working_day_of_rank(rank)
        elapsed = 0
        for start, end in self._periods:
            length = end - start
            if offset < elapsed + length or (offset == elapsed + length and not latest):
                clock = start + offset - elapsed
                break
            elapsed += length
        else:  # pragma: no cover — offset is at most one office day
            raise AssertionError(offset)
        midnight = datetime.combine(day, time(0), tzinfo=self.tz)
        return midnight + timedelta(microseconds=clock)

    def _unit_us(self, unit: TimeUnit) -> int:
        return {
            TimeUnit.WORKING_DAY: self._day_us,
            TimeUnit.WORKING_HOUR: _US_PER_HOUR,
            TimeUnit.HOUR: _US_PER_HOUR,
            TimeUnit.MINUTE: _US_PER_MINUTE,
        }[unit]

    def _touch(self, first: date, last: date) -> None:
        if self.on_fallback_year is None:
            return
        for year in range(first.year, last.year + 1):
            if year not in self.official_years:
                self.on_fallback_year(year)


def _to_microseconds(amount: int | float | Decimal, unit_us: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int | float | Decimal | Fraction):
        raise TypeError(f"amount must be a number, not {type(amount).__name__}")
    try:
        return round(Fraction(amount) * unit_us)
    except (ValueError, OverflowError):
        raise ValueError(f"amount must be a finite number, got {amount!r}") from None
