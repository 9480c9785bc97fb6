import time as clock
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wangge.lib.calendar import SHANGHAI, TimeUnit, WorkCalendar, parse_unit

WD, WH, HOUR, MINUTE = TimeUnit.WORKING_DAY, TimeUnit.WORKING_HOUR, TimeUnit.HOUR, TimeUnit.MINUTE
OFFICIAL_YEARS = frozenset(range(2004, 2027))


def official_calendar(**overrides) -> WorkCalendar:
    """The calendar of the chinese_calendar package (2004–2026), Monday–Friday after it."""
    fields = {
        "holidays": frozenset(chinese_calendar.holidays) - frozenset(chinese_calendar.workdays),
        "workdays": frozenset(chinese_calendar.workdays),
        "official_years": OFFICIAL_YEARS,
    }
    return WorkCalendar(**(fields | overrides))


CAL = official_calendar()


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# The known cases of the issue ----------------------------------------------------------------------


def test_national_day_is_skipped():
    assert CAL.add_working_time(at(2026, 9, 30, 17), 1, WD) == at(2026, 10, 8, 17)


def test_an_adjusted_saturday_is_a_working_day():
    assert CAL.add_working_time(at(2026, 10, 9, 17), 1, WD) == at(2026, 10, 10, 17)
    assert CAL.is_working_day(date(2026, 10, 10))


def test_a_deadline_in_a_year_without_data_falls_back_to_monday_to_friday():
    # chinese_calendar itself refuses 2027; the calendar counts Monday–Friday there.
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))
    deadline = CAL.add_working_time(at(2026, 12, 31, 10), 2, WD)
    assert deadline == at(2027, 1, 4, 10)  # Fri 1 Jan counts: no official data for 2027
    assert CAL.fallback_years(date(2026, 12, 31), deadline.date()) == [2027]


def test_the_official_years_agree_with_the_package():
    day = date(2004, 1, 1)
    while day.year < 2027:
        assert CAL.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


# Semantics outside office hours and at the edges -------------------------------------------------


def test_a_report_on_saturday_is_due_at_the_close_of_monday():
    assert CAL.add_working_time(at(2026, 10, 17, 10), 1, WD) == at(2026, 10, 19, 18)
    assert CAL.add_working_time(at(2026, 10, 17, 10), 2, WH) == at(2026, 10, 19, 11)


def test_the_evening_and_the_early_morning_count_from_the_next_opening():
    assert CAL.add_working_time(at(2026, 10, 16, 20), 1, WD) == at(2026, 10, 19, 18)  # Friday
    assert CAL.add_working_time(at(2026, 10, 19, 7), 1, WD) == at(2026, 10, 19, 18)
    assert CAL.add_working_time(at(2026, 10, 19, 7), 1, WH) == at(2026, 10, 19, 10)


def test_lunch_is_not_working_time():
    assert CAL.add_working_time(at(2026, 10, 19, 11), 2, WH) == at(2026, 10, 19, 14, 30)
    assert CAL.add_working_time(at(2026, 10, 19, 12, 30), 1, WH) == at(2026, 10, 19, 14, 30)
    assert CAL.working_time_between(at(2026, 10, 19, 12), at(2026, 10, 19, 13, 30), WH) == 0


def test_a_deadline_that_uses_up_a_period_is_its_closing_time():
    assert CAL.add_working_time(at(2026, 10, 19, 10), 2, WH) == at(2026, 10, 19, 12)
    assert CAL.add_working_time(at(2026, 10, 19, 9), 1, WD) == at(2026, 10, 19, 18)
    assert CAL.is_working_time(at(2026, 10, 19, 18))
    assert not CAL.is_working_time(at(2026, 10, 19, 18, 0, 1))


def test_subtracting_lands_on_an_opening_time():
    assert CAL.add_working_time(at(2026, 10, 19, 10), -1, WD) == at(2026, 10, 16, 10)
    assert CAL.add_working_time(at(2026, 10, 19, 10), -1, WH) == at(2026, 10, 19, 9)
    assert CAL.add_working_time(at(2026, 10, 19, 14), -2, WH) == at(2026, 10, 19, 10, 30)
    assert CAL.add_working_time(at(2026, 10, 19, 13, 30), -3, WH) == at(2026, 10, 19, 9)


def test_adding_nothing_returns_the_start():
    sunday = at(2026, 10, 18, 3)
    assert CAL.add_working_time(sunday, 0, WD) is sunday


def test_fractional_working_days_are_shares_of_the_office_day():
    assert CAL.office_day == timedelta(hours=7, minutes=30)
    assert CAL.add_working_time(at(2026, 10, 19, 9), Decimal("0.5"), WD) == at(2026, 10, 19, 14, 15)
    assert CAL.add_working_time(at(2026, 10, 19, 9), 0.4, WD) == at(2026, 10, 19, 12)
    assert CAL.working_time_between(at(2026, 10, 19, 9), at(2026, 10, 19, 12), WD) == 0.4


def test_natural_units_count_holidays_and_nights():
    assert CAL.add_working_time(at(2026, 9, 30, 17), 24, HOUR) == at(2026, 10, 1, 17)
    assert CAL.add_working_time(at(2026, 9, 30, 23, 50), 30, MINUTE) == at(2026, 10, 1, 0, 20)
    assert CAL.working_time_between(at(2026, 10, 1), at(2026, 10, 2, 6), HOUR) == 30
    assert CAL.working_time_between(at(2026, 10, 1), at(2026, 10, 1, 0, 1, 30), MINUTE) == 1.5


def test_measuring_over_a_year_and_backwards():
    assert CAL.working_time_between(at(2026, 1, 1), at(2027, 1, 1), WD) == 248
    assert CAL.working_time_between(at(2027, 1, 1), at(2026, 1, 1), WD) == -248
    assert CAL.working_time_between(at(2026, 10, 1, 10), at(2026, 10, 7, 15), WH) == 0


def test_results_keep_the_time_zone_of_the_input():
    start = datetime(2026, 9, 30, 9, tzinfo=UTC)  # 17:00 in Shanghai
    deadline = CAL.add_working_time(start, 1, WD)
    assert deadline.tzinfo is UTC
    assert deadline == at(2026, 10, 8, 17)
    assert CAL.add_working_time(start, 90, MINUTE).tzinfo is UTC


def test_next_working_moment():
    assert CAL.next_working_moment(at(2026, 10, 3, 15)) == at(2026, 10, 8, 9)
    assert CAL.next_working_moment(at(2026, 10, 9, 12, 5)) == at(2026, 10, 9, 13, 30)
    assert CAL.next_working_moment(at(2026, 10, 9, 18, 30)) == at(2026, 10, 10, 9)
    inside = at(2026, 10, 9, 10)
    assert CAL.next_working_moment(inside) is inside


def test_units_by_code_or_chinese_label():
    assert parse_unit("工作日") is WD and parse_unit("working_hour") is WH
    assert CAL.add_working_time(at(2026, 9, 30, 17), 1, "工作日") == at(2026, 10, 8, 17)
    with pytest.raises(ValueError, match="unknown time unit"):
        parse_unit("fortnight")


def test_office_hours_are_configurable():
    cal = official_calendar(office_hours=((time(8, 30), time(12)), (time(14), time(17, 30))))
    assert cal.office_day == timedelta(hours=7)
    assert cal.add_working_time(at(2026, 10, 19, 11), 2, WH) == at(2026, 10, 19, 15)
    assert cal.add_working_time(at(2026, 10, 17, 11), 1, WD) == at(2026, 10, 19, 17, 30)


def test_hand_entered_days_apply_in_a_year_without_official_data():
    cal = official_calendar(holidays=CAL.holidays | {date(2027, 1, 1)})
    assert cal.add_working_time(at(2026, 12, 31, 10), 2, WD) == at(2027, 1, 5, 10)
    assert not cal.has_official_data(2027)


def test_the_fallback_hook_hears_of_every_year_without_data():
    heard: list[int] = []
    cal = official_calendar(on_fallback_year=heard.append)
    cal.add_working_time(at(2026, 3, 2, 10), 5, WD)
    assert heard == []
    cal.add_working_time(at(2026, 12, 31, 10), 300, WD)
    assert heard == [2027, 2028]
    cal.is_working_day(date(2030, 5, 1))
    assert heard[-1] == 2030


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: CAL.add_working_time(datetime(2026, 1, 5, 10), 1, WD), ValueError),  # noqa: DTZ001
        (lambda: CAL.working_time_between(at(2026, 1, 5), datetime(2026, 1, 6), WH), ValueError),  # noqa: DTZ001
        (lambda: CAL.add_working_time(at(2026, 1, 5), float("nan"), WD), ValueError),
        (lambda: CAL.add_working_time(at(2026, 1, 5), float("inf"), HOUR), ValueError),
        (lambda: CAL.add_working_time(at(2026, 1, 5), "1", WD), TypeError),
        (lambda: CAL.is_working_day(at(2026, 1, 5)), TypeError),
        (lambda: WorkCalendar(office_hours=()), ValueError),
        (
            lambda: WorkCalendar(office_hours=((time(9), time(12)), (time(11), time(18)))),
            ValueError,
        ),
        (lambda: WorkCalendar(office_hours=((time(12), time(9)),)), ValueError),
        (
            lambda: WorkCalendar(
                holidays=frozenset({date(2027, 1, 1)}), workdays=frozenset({date(2027, 1, 1)})
            ),
            ValueError,
        ),
    ],
)
def test_bad_input_is_refused(call, error):
    with pytest.raises(error):
        call()


def test_far_deadlines_and_long_spans_are_cheap():
    start, end = at(2026, 1, 1, 10), at(2026, 12, 31, 15)
    began = clock.perf_counter()
    for _ in range(1000):
        CAL.add_working_time(start, 200, WD)
        CAL.working_time_between(start, end, WH)
    assert clock.perf_counter() - began < 1.0  # about 30 µs a pair; a day-by-day loop is ~100×
    assert CAL.add_working_time(at(2004, 1, 5, 10), 5000, WD).year == 2024


# Properties -----------------------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001 — hypothesis adds the zone
    max_value=datetime(2028, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([SHANGHAI, UTC]),
)
working_units = st.sampled_from([WD, WH])
any_unit = st.sampled_from(list(TimeUnit))
amounts = st.one_of(
    st.integers(min_value=-400, max_value=400),
    st.floats(min_value=-400, max_value=400, allow_nan=False),
    st.decimals(min_value=-400, max_value=400, places=3),
)


@given(start=moments, amount=amounts, unit=any_unit)
def test_adding_then_measuring_gives_back_the_amount(start, amount, unit):
    deadline = CAL.add_working_time(start, amount, unit)
    # Amounts are exact to the microsecond: 1e-7 of a minute is 6 µs.
    assert CAL.working_time_between(start, deadline, unit) == pytest.approx(
        float(amount), rel=1e-12, abs=1e-7
    )


@given(start=moments, amount=amounts.filter(lambda a: abs(a) >= 0.001), unit=working_units)
def test_a_working_deadline_is_always_a_working_moment(start, amount, unit):
    deadline = CAL.add_working_time(start, amount, unit)
    assert CAL.is_working_time(deadline)
    assert CAL.is_working_day(deadline.astimezone(SHANGHAI).date())
    assert (deadline > start) if amount > 0 else (deadline < start)


@given(start=moments, x=st.integers(0, 300), y=st.integers(0, 300), unit=any_unit)
def test_adding_in_two_steps_is_adding_once(start, x, y, unit):
    two_steps = CAL.add_working_time(CAL.add_working_time(start, x, unit), y, unit)
    assert two_steps == CAL.add_working_time(start, x + y, unit)


@given(a=moments, b=moments, c=moments, unit=any_unit)
def test_measuring_is_additive_and_antisymmetric(a, b, c, unit):
    ab, bc, ac = (CAL.working_time_between(p, q, unit) for p, q in ((a, b), (b, c), (a, c)))
    assert ab + bc == pytest.approx(ac, abs=1e-6)
    assert CAL.working_time_between(b, a, unit) == -ab


@given(a=moments, span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)))
@settings(max_examples=200)
def test_working_hours_agree_with_counting_day_by_day(a, span):
    b = a + span
    local_a, local_b = a.astimezone(SHANGHAI), b.astimezone(SHANGHAI)
    expected = timedelta(0)
    day = local_a.date()
    while day <= local_b.date():
        if CAL.is_working_day(day):
            for opens, closes in CAL.office_hours:
                lo = max(local_a, datetime.combine(day, opens, tzinfo=SHANGHAI))
                hi = min(local_b, datetime.combine(day, closes, tzinfo=SHANGHAI))
                expected += max(hi - lo, timedelta(0))
        day += timedelta(days=1)
    assert CAL.working_time_between(a, b, WH) == pytest.approx(expected / timedelta(hours=1))


@given(moment=moments)
def test_the_next_working_moment_is_the_next_one(moment):
    found = CAL.next_working_moment(moment)
    assert found >= moment
    assert CAL.is_working_time(found)
    assert CAL.working_time_between(moment, found, WH) == 0
    if found > moment:
        assert not CAL.is_working_time(moment)
