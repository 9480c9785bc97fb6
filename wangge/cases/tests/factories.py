"""Cases for tests: a category, a department with its rule, and a case in any state."""

from __future__ import annotations

from typing import Any

from wangge.cases.models import Case, Category, ResponsibilityRule
from wangge.cases.services import Intake, case_act, case_create
from wangge.core.models import Department, User
from wangge.testing.factories import make_user

# A point in grid 110102001001001 of the test territory (wangge/testing/factories.py).
IN_GRID_A = (116.31, 39.93)
# A point in grid 110102003002004 (another street).
IN_GRID_B = (116.39, 39.87)


def category(
    code: str = "T0001", *, self_handling: bool = False, auto_dispatch: bool = False
) -> Category:
    big, _ = Category.objects.get_or_create(
        kind=Category.Kind.MATTER,
        code="T0",
        defaults={"name": "测试大类", "domain": "city_management"},
    )
    item, _ = Category.objects.update_or_create(
        kind=Category.Kind.MATTER,
        code=code,
        defaults={
            "name": f"测试事项{code}",
            "domain": "city_management",
            "parent": big,
            "allows_self_handling": self_handling,
            "auto_dispatch": auto_dispatch,
        },
    )
    return item


def department(code: str = "shizheng", *, rule_for: Category | None = None) -> Department:
    dept, _ = Department.objects.get_or_create(code=code, defaults={"name": f"部门{code}"})
    if rule_for is not None:
        ResponsibilityRule.objects.get_or_create(
            category=rule_for, region_code="110102", department=dept
        )
    return dept


def handler(username: str, dept: Department) -> User:
    user = make_user(username, role="department_handler", scope="110102")
    user.department = dept
    user.save(update_fields=["department"])
    return user


def report(
    actor: User | None,
    *,
    at: tuple[float, float] = IN_GRID_A,
    source: str = Case.Source.PATROL,
    cat: Category | None = None,
    **extra: Any,
) -> Case:
    intake = Intake(
        source=source,
        category=cat or category(),
        description="井盖破损，存在安全隐患",
        lng=at[0],
        lat=at[1],
        address="测试路1号",
        **extra,
    )
    case, _created = case_create(intake=intake, actor=actor)
    return case


def act(case: Case, action: str, actor: User, **data: Any) -> Case:
    return case_act(number=case.number, action=action, actor=actor, data=data)
