"""The demo year of cases: histories the state machine allows, rows the services would write,
realistic shares, determinism, and numbering that real cases continue."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import shapely
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from wangge.cases import deadlines, sla
from wangge.cases.dispatch import suggest_department
from wangge.cases.models import Case, CaseEvent, CaseNumberSequence, Category, ResponsibilityRule
from wangge.cases.selectors import case_list
from wangge.cases.services import Intake, case_act, case_create
from wangge.cases.workflow import OPEN_STATES, RULES, Action
from wangge.core import pii
from wangge.core.models import Department, ScopeGrant, User
from wangge.core.roles import user_roles
from wangge.core.scope import code_in_scope, scope_prefixes
from wangge.core.workcalendar import current_calendar
from wangge.demo import cases as demo_cases
from wangge.demo.departments import departments_ensure
from wangge.demo.people import DEMO_PASSWORD, demo_users_ensure
from wangge.lib.calendar import TimeUnit
from wangge.regions.models import Grid

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 9, 20, 15, 30, tzinfo=SHANGHAI)
COUNT = 4000
S = Case.State

# Where each action may lead (services.HANDLERS); "same" keeps the state.
TARGETS = {
    "report": {S.CHECKING, S.REPORTED, S.HANDLED},
    "confirm": {S.REPORTED},
    "accept": {S.ACCEPTED},
    "void": {S.VOIDED},
    "dispatch": {S.DISPATCHED},
    "acknowledge": {S.ACKNOWLEDGED},
    "start": {S.IN_PROGRESS},
    "handle": {S.HANDLED},
    "return": {S.ACCEPTED},
    "verify": {S.CLOSED, S.DISPATCHED, S.ACCEPTED},
    "evaluate": {S.EVALUATED, S.ACCEPTED},
    "archive": {S.ARCHIVED},
    "merge": {S.CLOSED},
}
SAME_STATE = {
    "overdue",
    "request_extension",
    "approve_extension",
    "deny_extension",
    "suspend",
    "resume",
    "supervise",
}


@pytest.fixture
def demo(territory):
    demo_users_ensure("110102")
    departments_ensure("110102")


def generate(count: int = COUNT, seed: int = 7) -> int:
    return demo_cases.generate_cases("110102", count=count, seed=seed, now=NOW)


def histories() -> dict[int, list[CaseEvent]]:
    by_case: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in CaseEvent.objects.order_by("created_at", "id"):
        by_case[event.case_id].append(event)
    return by_case


def forget_cases() -> None:
    if connection.vendor == "postgresql":
        # Case events are append-only (cases 0006); as the table's owner would, for this test's
        # transaction only (DDL is transactional: the rollback restores the trigger).
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE cases_caseevent DISABLE TRIGGER cases_caseevent_append_only"
            )
    Case.objects.update(merged_into=None)
    Case.objects.all().delete()
    CaseNumberSequence.objects.all().delete()


def test_departments_handlers_and_matrix_are_idempotent(demo, capsys):
    first = departments_ensure("110102")
    assert first.created_rules == 0  # the fixture created them all
    assert first.departments == 25 + 2  # and the teams of the test district's two streets
    assert ResponsibilityRule.objects.filter(region_code="110102").count() > 500
    handler = User.objects.get(username="chengguan_110102")
    assert handler.department.code == "chengguan-110102"
    assert handler.department.name == "西城区城管执法局"
    assert user_roles(handler) == {"department_handler"}
    assert scope_prefixes(handler) == {"110102"}
    assert User.objects.get(username="department_110102").department == handler.department

    def suggestion(kind: str, code: str, region: str) -> str:
        category = Category.objects.get(kind=kind, code=code)
        return suggest_department(Case(category=category, region_code=region)).code

    assert suggestion("component", "01011", "110102003002004") == "ranqi-110102"  # 燃气井盖
    assert suggestion("matter", "06010", "110102003002004") == "huanwei-110102"  # 暴露垃圾
    assert suggestion("affair", "SS07003", "110102003002004") == "reli-110102"  # 供暖不热
    # Street order goes to the street's own team; advertising only in the first street.
    assert suggestion("matter", "09006", "110102001001001") == "jiedao001-110102"
    assert suggestion("matter", "09006", "110102003002004") == "jiedao003-110102"
    assert suggestion("matter", "07001", "110102001001001") == "jiedao001-110102"
    assert suggestion("matter", "07001", "110102003002004") == "chengguan-110102"

    call_command("demo_logins")
    assert "chengguan_110102" in capsys.readouterr().out


def test_every_history_is_a_path_of_the_state_machine(demo):
    assert generate() == COUNT
    users = {u.pk: u for u in User.objects.all()}
    roles = {pk: user_roles(u) for pk, u in users.items()}
    departments = dict(Department.objects.values_list("code", "pk"))
    cases = {c.pk: c for c in Case.objects.all()}
    assert len(cases) == COUNT
    for case_id, events in histories().items():
        case = cases[case_id]
        assert events[0].action == "report" and events[0].from_state == ""
        assert events[0].created_at == case.created_at
        state, owner_department, previous = "", None, None
        for event in events:
            assert event.from_state == state, (case.number, event)
            if previous is not None:
                assert event.created_at >= previous
            if event.action in SAME_STATE:
                assert event.to_state == state
            else:
                assert event.to_state in TARGETS[event.action], (case.number, event)
            if event.action in {a.value for a in Action}:
                rule = RULES[Action(event.action)]
                assert state in rule.sources, (case.number, event)
                actor = users.get(event.actor_id)
                if event.action == "dispatch" and actor is None:
                    assert event.payload["automatic"]
                elif rule.owner_only:
                    assert actor.department_id == owner_department, (case.number, event)
                else:
                    assert roles[actor.pk] & rule.roles, (case.number, event)
                    assert code_in_scope(actor, case.region_code)
            else:
                assert event.action in {"report", "overdue"} or event.actor_id is None
            if event.action == "dispatch":
                owner_department = departments[event.payload["department"]]
            if event.action in {"return", "evaluate"} and event.to_state == S.ACCEPTED:
                owner_department = None
            if event.action == "verify":
                assert event.actor_id != case.handled_by_id or event.payload["result"] == "fail"
            state, previous = event.to_state, event.created_at
        assert case.state == state
        assert case.version == len(events) - 1
        assert case.updated_at == events[-1].created_at
        assert case.owner_department_id == owner_department
        if case.state in {S.CLOSED, S.EVALUATED, S.ARCHIVED}:
            assert case.outcome and case.closed_at is not None
        assert (case.merged_into_id is not None) == (case.outcome == Case.Outcome.DUPLICATE)


def test_open_cases_have_the_deadline_the_services_would_give(demo):
    generate()
    open_cases = list(Case.objects.filter(state__in=OPEN_STATES).prefetch_related("events"))
    assert len({c.state for c in open_cases}) >= 3  # all seven with 100,000 cases
    now = NOW
    for case in open_cases:
        assert case.stage and case.stage_deadline is not None and case.stage_unit
        extended = [e for e in case.events.all() if e.action == "approve_extension"]
        if extended and extended[-1].created_at > case.stage_started_at:
            expected = datetime.fromisoformat(extended[-1].payload["new_deadline"])
        else:
            expected, _unit = sla.stage_deadline(case, case.stage, case.stage_started_at)
        assert case.stage_deadline == expected, case.number
        # The poller has flagged every case whose deadline passed before its last run.
        if not case.is_suspended:
            polled = demo_cases.poll_after(demo_cases._us(case.stage_deadline))
            assert case.is_overdue == (polled <= demo_cases._us(now)), case.number


def test_the_year_looks_like_a_district(demo):
    generate()
    cases = Case.objects.all()
    n = cases.count()
    overdue = set(CaseEvent.objects.filter(action="overdue").values_list("case_id", flat=True))
    closed = cases.filter(state__in=[S.CLOSED, S.EVALUATED, S.ARCHIVED])
    on_time = closed.exclude(pk__in=overdue).count()
    assert on_time / closed.count() > 0.75  # most closed on time
    assert 0.04 < len(overdue) / n < 0.3  # some overdue
    assert 0.02 < cases.filter(return_count__gt=0).count() / n < 0.09
    assert 0.01 < cases.filter(rework_count__gt=0).count() / n < 0.06
    assert cases.filter(state=S.VOIDED).count() / n < 0.03
    assert 0.03 < cases.filter(self_handled=True).count() / n < 0.2
    assert cases.filter(merged_into__isnull=False).count() / n < 0.01
    satisfaction = Counter(cases.exclude(satisfaction="").values_list("satisfaction", flat=True))
    assert satisfaction.most_common(1)[0][0] == Case.Satisfaction.SATISFIED
    sources = Counter(cases.values_list("source", flat=True))
    assert sources.most_common(1)[0][0] == Case.Source.PATROL
    assert len(sources) >= 6
    # Open cases are the recent ones, apart from those suspended (挂账) for a while.
    recent = NOW - timedelta(days=30)
    old_open = cases.filter(state__in=OPEN_STATES, created_at__lt=recent)
    assert not old_open.exclude(events__action="suspend")
    # Seasons: summer street life, winter snow, no cases in the holiday quiet at Spring Festival.
    month = Counter(
        c.astimezone(SHANGHAI).month
        for c in cases.filter(category__parent__code="06", category__kind="matter").values_list(
            "created_at", flat=True
        )
    )
    assert month[7] + month[8] > 1.3 * (month[1] + month[2])
    snow = cases.filter(category__code="10001", category__kind="matter").values_list(
        "created_at", flat=True
    )
    snow_months = Counter(c.astimezone(SHANGHAI).month for c in snow)
    assert snow_months[12] + snow_months[1] + snow_months[2] >= 0.8 * len(snow)
    assert not any(snow_months[m] for m in range(5, 10))
    per_day = Counter(
        c.astimezone(SHANGHAI).date() for c in cases.values_list("created_at", flat=True)
    )
    festival = [per_day[NOW.date().replace(month=2, day=d)] for d in range(16, 23)]  # 2026 春节
    normal = [per_day[NOW.date().replace(month=3, day=d)] for d in range(9, 14)]  # Mon–Fri
    assert sum(festival) / len(festival) < 0.7 * sum(normal) / len(normal)
    # Located in their grid, with the H3 cell of their point.
    for case in cases[:50]:
        assert case.grid.boundary.contains(shapely.Point(case.lng, case.lat))
        assert case.region_code == case.grid.code


def test_each_grid_worker_sees_the_cases_of_their_grid_only(demo):
    generate(1500)
    printed = User.objects.get(username="gridworker_110102")
    visible = case_list(user=printed)
    assert visible.filter(reporter=printed).exists()  # the printed worker has their own reports
    (printed_grid,) = scope_prefixes(printed)
    assert set(visible.values_list("region_code", flat=True)) == {printed_grid}
    other_grid = Case.objects.exclude(region_code=printed_grid).first().region_code
    worker = User.objects.get(username=f"gw-{other_grid}")
    assert user_roles(worker) == {"grid_worker"} and scope_prefixes(worker) == {other_grid}
    assert set(case_list(user=worker).values_list("region_code", flat=True)) == {other_grid}
    # Every patrol report and on-site check is the work of the grid's own worker.
    patrols = Case.objects.filter(source=Case.Source.PATROL).select_related("reporter")
    grants = _grants()
    assert patrols and all(grants[c.reporter_id] == {c.region_code} for c in patrols)
    confirms = CaseEvent.objects.filter(action="confirm").select_related("case", "actor")
    assert confirms and all(grants[e.actor_id] == {e.case.region_code} for e in confirms)


def _grants() -> dict[int, set[str]]:
    """User id → his scope grants, in one query."""
    grants: dict[int, set[str]] = defaultdict(set)
    for user_id, prefix in ScopeGrant.objects.values_list("user_id", "prefix"):
        grants[user_id].add(prefix)
    return grants


def test_demo_users_give_every_social_grid_its_worker_once(demo):
    grids = Grid.objects.filter(layer_id="social", code__startswith="110102")
    workers = User.objects.filter(username__startswith="gw-110102")
    grants = _grants()
    assert sorted(p for w in workers for p in grants[w.pk]) == sorted(g.code for g in grids)
    assert workers.first().check_password(DEMO_PASSWORD)
    demo_users_ensure("110102")
    assert User.objects.filter(username__startswith="gw-110102").count() == grids.count()


def test_same_seed_same_year(demo):
    def snapshot() -> list[tuple]:
        rows = Case.objects.order_by("number").values_list(
            "number", "category_id", "state", "created_at", "lng", "lat", "reporter_phone_hash"
        )
        events = CaseEvent.objects.order_by("case__number", "created_at", "id").values_list(
            "case__number", "action", "to_state", "actor_id", "reason", "payload", "created_at"
        )
        return [*rows, *events]

    generate(600, seed=11)
    first = snapshot()
    forget_cases()
    generate(600, seed=11)
    assert snapshot() == first
    forget_cases()
    generate(600, seed=12)
    assert snapshot() != first


def test_a_real_case_continues_the_numbering(demo):
    generate(600)
    years = Counter(int(n.split("-")[1]) for n in Case.objects.values_list("number", flat=True))
    for year, n in years.items():
        numbers = Case.objects.filter(number__startswith=f"110102-{year}-")
        assert sorted(numbers.values_list("number", flat=True))[-1] == f"110102-{year}-{n:06d}"
        assert CaseNumberSequence.objects.get(district_code="110102", year=year).last == n
    worker = User.objects.get(username="gridworker_110102")
    category = Category.objects.get(kind="matter", code="06010")
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        case, created = case_create(
            intake=Intake(
                source="patrol", category=category, description="暴露垃圾", lng=116.31, lat=39.93
            ),
            actor=worker,
        )
    assert created and case.number == f"110102-2026-{years[2026] + 1:06d}"


def test_the_work_clock_is_the_calendar(demo):
    calendar = current_calendar()
    first = NOW.date() - timedelta(days=400)
    clock = demo_cases.WorkClock(calendar, first, NOW.date() + timedelta(days=60))
    rnd = random.Random(5)
    starts = [
        datetime(2026, 9, 30, 17, 0, tzinfo=SHANGHAI),  # before National Day
        datetime(2026, 10, 9, 17, 0, tzinfo=SHANGHAI),  # before a working Saturday
        datetime(2026, 2, 13, 18, 0, tzinfo=SHANGHAI),  # closing time before Spring Festival
        datetime(2026, 3, 2, 12, 0, tzinfo=SHANGHAI),  # lunch
    ]
    starts += [NOW - timedelta(seconds=rnd.randint(0, 380 * 86400)) for _ in range(400)]
    for start in starts:
        for amount, unit in ((1, "working_hour"), (2, "working_day"), (Decimal("0.5"), "hour")):
            for scale in (1, rnd.random() * 3):
                value = amount * Decimal(str(round(scale, 4)))
                expected = calendar.add_working_time(start, value, TimeUnit(unit))
                step = round(value * clock.unit_us(unit))
                t = demo_cases._us(start)
                got = clock.add(t, step, TimeUnit(unit).is_working)
                assert demo_cases._dt(got) == expected, (start, value, unit)


def _intake_of(case: Case) -> Intake:
    report = case.events.order_by("created_at", "id").first()
    phone = ""
    if case.reporter_phone_token:
        phone = pii.decrypt(case.reporter_phone_token, purpose=pii.PURPOSE_PHONE)
    return Intake(
        source=case.source,
        category=case.category,
        description=case.description,
        lng=case.lng,
        lat=case.lat,
        address=case.address,
        condition=case.condition,
        urgency=case.urgency,
        area_grade=case.area_grade,
        reporter_name=case.reporter_name,
        reporter_phone=phone,
        self_handle=case.self_handled,
        self_handle_result=report.payload.get("result", ""),
    )


def _data_of(event: CaseEvent, numbers: dict[int, str], old_numbers: dict[str, int]) -> dict:
    data = {"reason": event.reason} if event.reason else {}
    payload = event.payload
    if event.action == "confirm":
        data["note"] = payload["note"]
    elif event.action == "dispatch":
        data["department"] = payload["department"]
    elif event.action == "handle":
        data["result"] = payload["result"]
    elif event.action == "request_extension":
        data.update(amount=payload["amount"], unit=payload["unit"])
    elif event.action == "verify":
        data.update({k: v for k, v in payload.items() if k in {"result", "outcome"}})
    elif event.action == "evaluate":
        data["satisfaction"] = payload["satisfaction"]
    elif event.action == "suspend":
        data["review_date"] = payload["review_date"]
    elif event.action == "merge":
        data["into"] = numbers[old_numbers[payload["into"]]]
    return data


FIELDS = [
    f.attname
    for f in Case._meta.concrete_fields
    if f.attname
    not in {"id", "number", "reporter_phone_token", "merged_into_id", "supporters", "updated_at"}
]


def test_generated_rows_are_the_rows_the_services_write(demo):
    """Replay a sample of generated cases through case_create, case_act and the deadline poller,
    at the generated times, and compare every column and every event."""
    generate()
    by_action: dict[str, list[int]] = defaultdict(list)
    for case_id, action in CaseEvent.objects.values_list("case_id", "action").distinct():
        by_action[action].append(case_id)
    rnd = random.Random(3)
    sample = set(rnd.sample(sorted(Case.objects.values_list("pk", flat=True)), 25))
    special = {
        "reopened": CaseEvent.objects.filter(action="evaluate", payload__reopened=True),
        "escalated": CaseEvent.objects.filter(
            action="overdue", payload__escalated_to__isnull=False
        ),
        "self-handled fail": CaseEvent.objects.filter(
            action="verify", payload__result="fail", case__self_handled=True
        ),
        "returned twice": CaseEvent.objects.filter(action="return", payload__returns=2),
    }
    for kind, found in special.items():
        by_action[kind] = list(found.values_list("case_id", flat=True).distinct())
    assert all(by_action[kind] for kind in special), by_action.keys()
    for _action, ids in sorted(by_action.items()):
        sample |= set(rnd.sample(sorted(ids), min(3, len(ids))))
    for duplicate in Case.objects.filter(pk__in=sample, merged_into__isnull=False):
        sample.add(duplicate.merged_into_id)
    generated = {
        c.pk: c
        for c in Case.objects.filter(pk__in=sample).select_related("category", "merged_into")
    }
    events = {
        case_id: [
            (e.action, e.from_state, e.to_state, e.actor_id, e.reason, e.payload, e.created_at)
            for e in CaseEvent.objects.filter(case_id=case_id).order_by("created_at", "id")
        ]
        for case_id in generated
    }
    intakes = {pk: _intake_of(c) for pk, c in generated.items()}
    timeline = sorted(
        (e[6], pk, index) for pk, history in events.items() for index, e in enumerate(history)
    )
    forget_cases()

    users = {u.pk: u for u in User.objects.all()}
    old_numbers = {c.number: pk for pk, c in generated.items()}
    numbers: dict[int, str] = {}
    polled = set()
    for moment, pk, index in timeline:
        action, _from, _to, actor_id, reason, payload, _at = events[pk][index]
        with time_machine.travel(moment, tick=False):
            if action == "report":
                case, _created = case_create(intake=intakes[pk], actor=users.get(actor_id))
                numbers[pk] = case.number
            elif action == "overdue":
                if moment not in polled:
                    deadlines.mark_overdue()
                    polled.add(moment)
            elif action == "dispatch" and actor_id is None:
                continue  # dispatched automatically by the acceptance
            else:
                event = CaseEvent(action=action, reason=reason, payload=payload)
                case_act(
                    number=numbers[pk],
                    action=action,
                    actor=users[actor_id],
                    data=_data_of(event, numbers, old_numbers),
                )
    assert len(numbers) == len(generated)
    old_number_of = {numbers[pk]: c.number for pk, c in generated.items()}
    for pk, old in generated.items():
        new = Case.objects.get(number=numbers[pk])
        for name in FIELDS:
            assert getattr(new, name) == getattr(old, name), (old.number, name)
        assert new.updated_at == events[pk][-1][6]
        assert (new.merged_into_id is None) == (old.merged_into_id is None)
        replayed = [
            (e.action, e.from_state, e.to_state, e.actor_id, e.reason, e.payload, e.created_at)
            for e in new.events.order_by("created_at", "id")
        ]
        for _action, *_, payload, _at in replayed:
            if "into" in payload:  # the master was numbered anew too
                payload["into"] = old_number_of[payload["into"]]
        assert replayed == events[pk], old.number


@pytest.mark.slow
def test_demo_data_generates_the_cases_once(capsys):
    call_command("demo_data", "--district", "110102", "--cases", "3000", "--population", "small")
    printed = capsys.readouterr().out
    assert "Cases: 3,000 with" in printed
    assert Case.objects.count() == 3000
    call_command("demo_data", "--district", "110102", "--cases", "3000", "--population", "small")
    assert "3,000 cases already: generating none" in capsys.readouterr().out
    assert Case.objects.count() == 3000
    busiest = (
        Case.objects.values("owner_department__code").annotate(n=Count("id")).order_by("-n").first()
    )
    assert busiest["owner_department__code"] == "chengguan-110102"
