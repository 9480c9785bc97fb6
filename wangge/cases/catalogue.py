"""The service catalogue (一次性告知, 篇6): what a resident must do and bring for each service item.

The items are categories: every small class of kind ``service``, and any other small class that has
a procedure to tell. For each, the catalogue gathers what the officials configured elsewhere: the
handling time limit (``TimeLimit``, by area grade) and the department the responsibility matrix
names for the whole district. The catalogue is public information: it takes no data scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.db.models.functions import Length

from wangge.cases.models import AreaGrade, Category, ResponsibilityRule, Stage, TimeLimit
from wangge.core.models import Department


@dataclass(frozen=True)
class Limit:
    area_grade: str
    amount: Decimal
    unit: str


@dataclass
class ServiceItem:
    category: Category
    procedure: list[str]
    materials: list[str]
    limits: list[Limit]  # one per area grade, or one when every grade has the same limit
    department: Department | None


@dataclass
class ServiceClass:
    category: Category
    items: list[ServiceItem] = field(default_factory=list)


def is_service_item(category: Category) -> bool:
    """Whether a case of this category carries a procedure to tell the resident."""
    return category.parent_id is not None and (
        category.kind == Category.Kind.SERVICE or bool(category.procedure.strip())
    )


def _items() -> QuerySet[Category]:
    return Category.objects.filter(
        Q(kind=Category.Kind.SERVICE) | ~Q(procedure=""), active=True, parent__isnull=False
    ).select_related("parent")


def service_classes() -> list[Category]:
    """The big classes that hold at least one service item, in catalogue order."""
    parents = _items().values_list("parent_id", flat=True)
    return list(Category.objects.filter(pk__in=parents).order_by("sort_order", "code"))


def service_catalogue(*, query: str = "", big_class: str = "") -> list[ServiceClass]:
    """Service items by big class; ``query`` matches code, name, procedure or materials,
    ``big_class`` is a big class's code."""
    items = _items()
    if query:
        items = items.filter(
            Q(code__icontains=query)
            | Q(name__icontains=query)
            | Q(procedure__icontains=query)
            | Q(materials__icontains=query)
            | Q(parent__name__icontains=query)
        )
    if big_class:
        items = items.filter(parent__code=big_class)
    found = list(items.order_by("parent__sort_order", "parent__code", "sort_order", "code"))
    limits = _handling_limits([item.pk for item in found])
    departments = _district_departments(found)
    classes: dict[int, ServiceClass] = {}
    for item in found:
        group = classes.setdefault(item.parent_id, ServiceClass(item.parent))
        group.items.append(
            ServiceItem(
                category=item,
                procedure=numbered_lines(item.procedure),
                materials=numbered_lines(item.materials),
                limits=limits.get(item.pk, limits.get(None, [])),
                department=departments.get(item.pk),
            )
        )
    return list(classes.values())


def service_item(category: Category) -> ServiceItem | None:
    """The catalogue's entry for one category, or None when it is not a service item."""
    if not is_service_item(category):
        return None
    limits = _handling_limits([category.pk])
    return ServiceItem(
        category=category,
        procedure=numbered_lines(category.procedure),
        materials=numbered_lines(category.materials),
        limits=limits.get(category.pk, limits.get(None, [])),
        department=_district_departments([category]).get(category.pk),
    )


def numbered_lines(text: str) -> list[str]:
    """'1. 申请：…\\n2. …' as its lines without their numbers (the page numbers them)."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        number, dot, rest = line.partition(". ")
        lines.append(rest.strip() if dot and number.isdigit() else line)
    return [line for line in lines if line]


def _handling_limits(category_ids: list[int]) -> dict[int | None, list[Limit]]:
    """The handling stage's limit without a condition, by category (None: the default rows)."""
    rows = TimeLimit.objects.filter(
        Q(category_id__in=category_ids) | Q(category__isnull=True),
        stage=Stage.HANDLE,
        condition="",
    )
    by_category: dict[int | None, dict[str, Limit]] = {}
    for row in rows:
        by_category.setdefault(row.category_id, {})[row.area_grade] = Limit(
            row.area_grade, row.amount, row.unit
        )
    default = by_category.get(None, {})
    result: dict[int | None, list[Limit]] = {}
    for category_id, own in by_category.items():
        merged = {**default, **own}
        ordered = [merged[grade] for grade in AreaGrade.values if grade in merged]
        if len({(limit.amount, limit.unit) for limit in ordered}) == 1:
            ordered = [Limit("", ordered[0].amount, ordered[0].unit)]
        result[category_id] = ordered
    return result


def _district_departments(items: list[Category]) -> dict[int, Department]:
    """The department the matrix names district-wide (the shortest region prefix) for each item:
    a rule for the item itself over one for its big class, then the lower priority number."""
    wanted = {item.pk for item in items} | {item.parent_id for item in items if item.parent_id}
    rules = (
        ResponsibilityRule.objects.filter(category_id__in=wanted, department__active=True)
        .select_related("department")
        .order_by(Length("region_code"), "priority", "pk")
    )
    first: dict[int, ResponsibilityRule] = {}
    for rule in rules:
        if rule.category_id is not None:
            first.setdefault(rule.category_id, rule)
    result = {}
    for item in items:
        rule = first.get(item.pk) or (first.get(item.parent_id) if item.parent_id else None)
        if rule is not None:
            result[item.pk] = rule.department
    return result
