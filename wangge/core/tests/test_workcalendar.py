import logging
from datetime import date, datetime, time

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from wangge.core import workcalendar
from wangge.core.models import CalendarDay, CalendarYear, OfficePeriod, User
from wangge.core.workcalendar import calendar_warnings, current_calendar, package_years
from wangge.lib.calendar import SHANGHAI, TimeUnit

pytestmark = pytest.mark.django_db

WD, WH = TimeUnit.WORKING_DAY, TimeUnit.WORKING_HOUR


@pytest.fixture(autouse=True)
def _fresh_calendar(settings):
    settings.WANGGE_CALENDAR_RECHECK_SECONDS = 0.0
    workcalendar.invalidate(forget_warnings=True)
    yield
    workcalendar.invalidate(forget_warnings=True)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_the_package_provides_the_official_years():
    assert set(range(2004, 2027)) <= package_years()
    assert current_calendar().has_official_data(2026)


def test_the_known_cases():
    calendar = current_calendar()
    assert calendar.add_working_time(at(2026, 9, 30, 17), 1, WD) == at(2026, 10, 8, 17)
    assert calendar.add_working_time(at(2026, 10, 9, 17), 1, WD) == at(2026, 10, 10, 17)
    deadline = calendar.add_working_time(at(2026, 12, 31, 10), 2, WD)
    assert deadline == at(2027, 1, 4, 10)


def test_the_seeded_office_hours_are_the_defaults():
    assert list(OfficePeriod.objects.values_list("start", "end")) == [
        (time(9), time(12)),
        (time(13, 30), time(18)),
    ]
    assert current_calendar().office_hours == ((time(9), time(12)), (time(13, 30), time(18)))


def test_a_year_without_data_warns_once_and_shows_on_the_banner(caplog):
    caplog.set_level(logging.WARNING, logger="wangge.core.workcalendar")
    calendar = current_calendar()
    calendar.add_working_time(at(2026, 12, 31, 10), 2, WD)
    calendar.add_working_time(at(2027, 3, 1, 10), 2, WD)
    fallback_logs = [r for r in caplog.records if "falls back to Monday-Friday" in r.getMessage()]
    assert [r.args[0] for r in fallback_logs] == [2027]
    assert [w.year for w in calendar_warnings(today=date(2026, 6, 1))] == [2027]


def test_the_banner_warns_of_next_year_two_months_ahead():
    assert calendar_warnings(today=date(2026, 6, 1)) == []
    warnings = calendar_warnings(today=date(2026, 11, 15))
    assert [w.year for w in warnings] == [2027]
    assert "2027" in str(warnings[0])
    assert [w.year for w in calendar_warnings(today=date(2027, 2, 1))] == [2027]


def test_entering_a_later_year_by_hand_replaces_the_fallback():
    CalendarDay.objects.create(date=date(2027, 1, 1), kind="holiday", name="元旦")
    CalendarYear.objects.create(year=2027, complete=True, note="国办发明电〔2026〕x号")
    calendar = current_calendar()
    assert calendar.add_working_time(at(2026, 12, 31, 10), 2, WD) == at(2027, 1, 5, 10)
    assert calendar.has_official_data(2027)
    assert calendar_warnings(today=date(2026, 12, 1)) == []


def test_rows_override_the_package():
    CalendarDay.objects.create(date=date(2026, 10, 8), kind="holiday", name="本地调整")
    assert current_calendar().add_working_time(at(2026, 9, 30, 17), 1, WD) == at(2026, 10, 9, 17)
    CalendarDay.objects.create(date=date(2026, 10, 5), kind="workday", name="本地调整")
    assert current_calendar().add_working_time(at(2026, 9, 30, 17), 1, WD) == at(2026, 10, 5, 17)


def test_a_saved_row_drops_the_cache_at_once(settings):
    settings.WANGGE_CALENDAR_RECHECK_SECONDS = 3600.0
    before = current_calendar()
    assert current_calendar() is before
    row = CalendarDay.objects.create(date=date(2026, 10, 12), kind="holiday")
    assert not current_calendar().is_working_day(date(2026, 10, 12))
    row.delete()
    assert current_calendar().is_working_day(date(2026, 10, 12))


def test_changes_without_signals_are_seen_at_the_next_recheck(settings):
    settings.WANGGE_CALENDAR_RECHECK_SECONDS = 3600.0
    CalendarDay.objects.create(date=date(2026, 10, 12), kind="holiday")
    assert not current_calendar().is_working_day(date(2026, 10, 12))
    CalendarDay.objects.filter(date=date(2026, 10, 12)).update(kind="workday")  # another process
    assert not current_calendar().is_working_day(date(2026, 10, 12))  # still cached
    settings.WANGGE_CALENDAR_RECHECK_SECONDS = 0.0
    assert current_calendar().is_working_day(date(2026, 10, 12))


def test_an_unchanged_calendar_is_reused(django_assert_num_queries):
    first = current_calendar()
    with django_assert_num_queries(3):  # the recheck reads the three small tables, no rebuild
        assert current_calendar() is first


def test_office_hours_come_from_the_table():
    OfficePeriod.objects.all().delete()
    OfficePeriod.objects.create(start=time(8, 30), end=time(12))
    OfficePeriod.objects.create(start=time(14), end=time(17, 30))
    calendar = current_calendar()
    assert calendar.add_working_time(at(2026, 10, 19, 11), 2, WH) == at(2026, 10, 19, 15)
    assert calendar.add_working_time(at(2026, 10, 17, 11), 1, WD) == at(2026, 10, 19, 17, 30)


def test_unusable_office_hours_fall_back_to_the_defaults_and_warn(caplog):
    OfficePeriod.objects.filter(start=time(13, 30)).update(start=time(11))  # overlaps the morning
    calendar = current_calendar()
    assert calendar.office_hours == ((time(9), time(12)), (time(13, 30), time(18)))
    assert [w.year for w in calendar_warnings(today=date(2026, 6, 1))] == [None]
    assert "office hours" in caplog.text


def test_no_office_hours_at_all_means_the_defaults():
    OfficePeriod.objects.all().delete()
    assert current_calendar().office_hours == ((time(9), time(12)), (time(13, 30), time(18)))


def test_the_admin_refuses_overlapping_office_periods():
    period = OfficePeriod(start=time(11), end=time(14))
    with pytest.raises(ValidationError, match="overlaps"):
        period.full_clean()
    with pytest.raises(ValidationError):
        OfficePeriod(start=time(19), end=time(18, 30)).full_clean()
    OfficePeriod(start=time(19), end=time(20)).full_clean()


@time_machine.travel(datetime(2026, 12, 1, 10, tzinfo=SHANGHAI), tick=False)
def test_administrators_see_the_warning_on_the_calendar_pages(client):
    admin = User.objects.create_superuser("root", password="x")
    client.force_login(admin)
    CalendarYear.objects.create(year=2027, complete=False)
    CalendarDay.objects.create(date=date(2027, 1, 1), kind="holiday", name="元旦")
    for name in ("core_calendarday", "core_calendaryear", "core_officeperiod"):
        page = client.get(reverse(f"admin:{name}_changelist"), HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200
        assert "No official holiday schedule has been entered for 2027" in page.content.decode()
    years = client.get(reverse("admin:core_calendaryear_changelist"))
    assert years.context["cl"].result_list[0].entered == 1


@pytest.mark.django_db
def test_administrators_see_the_missing_year_banner_in_the_admin(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="pw")
    client.force_login(admin)
    with time_machine.travel(datetime(2026, 11, 25, 10, tzinfo=SHANGHAI), tick=False):
        page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No official holiday schedule has been entered for 2027" in page
