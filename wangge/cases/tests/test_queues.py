"""Work queues: ``actionable_cases`` holds exactly the cases ``workflow.allowed_actions`` offers.

The world has more than 300 cases with every combination of state, level, region, owner, flags and
handler that the rules look at, so that a queue built from a first slice of cases would miss some.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from wangge.cases.models import Case, Category, CategoryAlias
from wangge.cases.selectors import actionable_cases, case_list, owned_cases
from wangge.cases.tests.factories import category, department, handler
from wangge.cases.workflow import STEPS, Action, refusal
from wangge.core.roles import user_roles
from wangge.testing.factories import make_user

pytestmark = pytest.mark.django_db

S = Case.State
PHONE_ACTIONS = (Action.CONFIRM, Action.ACKNOWLEDGE, Action.START, Action.HANDLE, Action.VERIFY)
REGIONS = (
    "110102001001001",  # grid A
    "110102001001002",  # another grid of community A
    "110102003002004",  # grid B
    "110102001001",  # community A, address only
    "110102",  # the district, address only
)


@pytest.fixture
def world(cast):
    """More than 300 cases, varied on every field the workflow's rules read."""
    rng = random.Random(20261207)  # noqa: S311 — a reproducible mix, not a secret
    shizheng = department("shizheng")
    yuanlin = department("yuanlin")
    people = {
        "handler_shizheng": handler("handler_shizheng", shizheng),
        "handler_yuanlin": handler("handler_yuanlin", yuanlin),
    }
    owners = [
        (None, None),
        (shizheng, None),
        (yuanlin, None),
        (None, cast.grid_worker_a),
        (None, cast.community_officer),
        (shizheng, people["handler_shizheng"]),
    ]
    handled_by = [None, cast.grid_worker_a, cast.operator, people["handler_shizheng"]]
    item = category()
    now = timezone.now()
    cases = []
    for index in range(360):
        department_, person = rng.choice(owners)
        state = rng.choice(list(S))
        deadline = now + timedelta(hours=rng.randint(-48, 96)) if rng.random() < 0.8 else None
        cases.append(
            Case(
                number=f"110102-2026-{index + 1:06d}",
                source=Case.Source.PATROL,
                category=item,
                description="测试",
                region_code=rng.choice(REGIONS),
                state=state,
                level=rng.choice(list(Case.Level)),
                owner_department=department_,
                owner_user=person,
                handled_by=rng.choice(handled_by),
                reporter=rng.choice([None, cast.grid_worker_a, cast.grid_worker_b]),
                is_suspended=rng.random() < 0.15,
                extension_requested=rng.random() < 0.2,
                is_overdue=deadline is not None and deadline < now,
                stage_deadline=deadline,
                outcome="fixed" if state in {S.CLOSED, S.EVALUATED, S.ARCHIVED} else "",
                created_at=now - timedelta(hours=index),
            )
        )
    Case.objects.bulk_create(cases)
    return people


def personas(cast, world):
    return {
        "commander": cast.commander,
        "operator": cast.operator,
        "street_dispatcher": cast.street_dispatcher,
        "community_officer": cast.community_officer,
        "other_community_officer": cast.other_community_officer,
        "grid_worker_a": cast.grid_worker_a,
        "grid_worker_b": cast.grid_worker_b,
        "department_handler_without_department": cast.department_handler,
        "admin": cast.admin,
        "nobody": cast.nobody,
        **world,
    }


def expected(user, actions) -> set[str]:
    roles = user_roles(user)
    return {
        case.number
        for case in Case.objects.all()
        if any(refusal(user, case, action, roles) is None for action in actions)
    }


@pytest.mark.parametrize(
    "persona",
    [
        "commander",
        "operator",
        "street_dispatcher",
        "community_officer",
        "other_community_officer",
        "grid_worker_a",
        "grid_worker_b",
        "department_handler_without_department",
        "admin",
        "nobody",
        "handler_shizheng",
        "handler_yuanlin",
    ],
)
def test_the_phone_queue_is_exactly_the_cases_with_a_phone_action(cast, world, persona):
    user = personas(cast, world)[persona]
    assert Case.objects.count() > 300

    queue = set(actionable_cases(user=user, actions=PHONE_ACTIONS).values_list("number", flat=True))

    assert queue == expected(user, PHONE_ACTIONS)


@pytest.mark.parametrize(
    "persona", ["commander", "street_dispatcher", "community_officer", "handler_shizheng"]
)
def test_each_action_has_exactly_its_cases(cast, world, persona):
    user = personas(cast, world)[persona]
    for action in Action:
        queue = set(actionable_cases(user=user, actions=[action]).values_list("number", flat=True))
        assert queue == expected(user, [action]), action


def test_a_superuser_may_act_on_everything_the_rules_allow(cast, world):
    root = make_user("root", role=None, is_superuser=True)

    queue = set(actionable_cases(user=root).values_list("number", flat=True))

    assert queue == expected(root, STEPS)
    assert len(queue) > 100


def test_a_department_handler_finds_all_of_their_departments_cases(cast, world):
    user = world["handler_shizheng"]
    mine = actionable_cases(user=user, actions=[Action.ACKNOWLEDGE, Action.HANDLE])

    numbers = list(mine.values_list("number", flat=True))

    owned = Case.objects.filter(
        owner_department__code="shizheng",
        state__in=[S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS],
        is_suspended=False,
    )
    assert set(numbers) == set(owned.values_list("number", flat=True))
    assert set(owned_cases(user=user).values_list("number", flat=True)) >= set(numbers)


def test_the_queue_lists_overdue_first_then_the_nearest_deadline(cast, world):
    rows = list(actionable_cases(user=cast.commander))

    keys = [(not row.is_overdue, row.stage_deadline is None, row.stage_deadline) for row in rows]
    assert keys == sorted(keys, key=lambda k: (k[0], k[1], k[2] or timezone.now()))


# Filters a person types ----------------------------------------------------------------------------


def test_the_category_filter_takes_a_code_an_old_code_or_a_chinese_name(cast):
    from wangge.cases.tests.factories import report

    pothole = report(cast.grid_worker_a, cat=category("T0001"))
    litter = report(cast.grid_worker_a, cat=category("T0009"))
    Category.objects.filter(code="T0009").update(name="暴露垃圾")
    CategoryAlias.objects.create(category=Category.objects.get(code="T0009"), code="0109")

    def found(text):
        return set(case_list(user=cast.commander, filters={"category": text}))

    assert found("T0009") == {litter}
    assert found("0109") == {litter}
    assert found("暴露垃圾") == {litter}
    assert found("垃圾") == {litter}
    assert found("T0") == {pothole, litter}  # a big class stands for its small classes
    assert found("没有这类") == set()


def test_a_partial_number_filters_the_cases(cast):
    from wangge.cases.tests.factories import report

    first = report(cast.grid_worker_a)
    second = report(cast.grid_worker_a)

    assert set(case_list(user=cast.commander, filters={"number": second.number[-3:]})) == {second}
    assert set(case_list(user=cast.commander, filters={"number": "110102-"})) == {first, second}
