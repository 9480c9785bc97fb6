"""Stage deadlines in working time, across National Day 2026 and into 2027, and the poller."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from wangge.cases import tasks
from wangge.cases.models import Case, CaseEvent, TimeLimit
from wangge.cases.sla import Light, traffic_light
from wangge.cases.tests.factories import act, category, department, report

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_handling_deadline_skips_national_day(cast):
    department("shizheng")
    with time_machine.travel(at(2026, 9, 30, 17, 0), tick=False):
        case = act(report(cast.grid_worker_a), "accept", cast.operator)
        case = act(case, "dispatch", cast.commander, department="shizheng")
    # Grade B handling: 2 working days. 10-01..10-07 are off; 10-08 is the first working day.
    assert case.stage == "handle"
    assert case.stage_deadline.astimezone(SHANGHAI) == at(2026, 10, 9, 17, 0)


def test_a_working_saturday_counts(cast):
    TimeLimit.objects.filter(category=None, stage="handle", area_grade="B").update(amount=1)
    department("shizheng")
    with time_machine.travel(at(2026, 10, 9, 17, 0), tick=False):
        case = act(report(cast.grid_worker_a), "accept", cast.operator)
        case = act(case, "dispatch", cast.commander, department="shizheng")
    assert case.stage_deadline.astimezone(SHANGHAI) == at(2026, 10, 10, 17, 0)  # 调休 Saturday


def test_deadlines_run_into_2027_without_official_data(cast):
    department("shizheng")
    with time_machine.travel(at(2026, 12, 31, 10, 0), tick=False):
        case = act(report(cast.grid_worker_a), "accept", cast.operator)
        case = act(case, "dispatch", cast.commander, department="shizheng")
    deadline = case.stage_deadline.astimezone(SHANGHAI)
    assert deadline.year == 2027 and deadline.weekday() < 5


def test_a_category_limit_overrides_the_default(cast):
    urgent = category("T0003")
    TimeLimit.objects.create(
        category=urgent, area_grade="B", stage="accept", amount=30, unit="minute"
    )
    with time_machine.travel(at(2026, 11, 25, 10, 0), tick=False):
        case = report(cast.grid_worker_a, cat=urgent)
    assert case.stage_deadline.astimezone(SHANGHAI) == at(2026, 11, 25, 10, 30)


def test_traffic_light_turns_yellow_at_eighty_percent_and_red_when_late(cast):
    with time_machine.travel(at(2026, 11, 25, 9, 0), tick=False):
        case = report(cast.grid_worker_a)  # accept within 2 working hours: 11:00
    assert traffic_light(case, at(2026, 11, 25, 10, 0)) == Light.GREEN
    assert traffic_light(case, at(2026, 11, 25, 10, 40)) == Light.YELLOW
    assert traffic_light(case, at(2026, 11, 25, 11, 1)) == Light.RED


def test_the_periodic_task_flags_overdue_cases_once_and_escalates_stalled_ones(cast):
    with time_machine.travel(at(2026, 11, 25, 9, 0), tick=False):
        case = report(cast.grid_worker_a)
    with time_machine.travel(at(2026, 11, 25, 11, 30), tick=False):
        assert tasks.poll_deadlines.call_local() == 1
        assert tasks.poll_deadlines.call_local() == 0
    case = Case.objects.get(pk=case.pk)
    assert case.is_overdue and case.level == "community"
    event = CaseEvent.objects.get(case=case, action="overdue")
    assert event.payload["escalated_to"] == "community"


def test_suspended_cases_are_not_flagged(cast):
    with time_machine.travel(at(2026, 11, 25, 9, 0), tick=False):
        case = act(report(cast.grid_worker_a), "accept", cast.operator)
        act(case, "suspend", cast.operator, reason="等待产权确认", review_date="2026-12-31")
    with time_machine.travel(at(2026, 11, 26, 9, 0), tick=False):
        assert tasks.poll_deadlines.call_local() == 0
