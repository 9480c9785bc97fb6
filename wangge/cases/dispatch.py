"""The responsibility matrix (权责清单): which department a case belongs to."""

from __future__ import annotations

from django.db.models import Max, Q, QuerySet
from django.db.models.functions import Length

from wangge.cases.models import Case, ResponsibilityRule
from wangge.cases.workflow import FIELD, LOCAL_OFFICERS
from wangge.core.models import Department, User

# Who may be handed a case in person: the grid workers and officers who work where it is.
PERSON_ROLES = FIELD | LOCAL_OFFICERS


def suggest_department(case: Case) -> Department | None:
    """The department of the most specific matching rule, or None when no rule matches.

    Specific means: the longest region prefix containing the case, then a rule for the case's
    own category over one for its big class (大类) over one for every category, then the lower
    priority number.
    """
    prefixes = {case.region_code[:length] for length in (6, 9, 12, 15)}
    parent_id = case.category.parent_id
    rules = ResponsibilityRule.objects.filter(
        Q(category_id=case.category_id) | Q(category_id=parent_id) | Q(category__isnull=True),
        region_code__in=prefixes,
        department__active=True,
    ).select_related("department")

    def specificity(rule: ResponsibilityRule) -> int:
        if rule.category_id == case.category_id:
            return 0
        return 1 if rule.category_id is not None else 2

    best = min(
        rules,
        key=lambda r: (-len(r.region_code), specificity(r), r.priority),
        default=None,
    )
    return best.department if best else None


def eligible_people(case: Case) -> QuerySet[User]:
    """People a case may be dispatched to in person: active, holding a field or local-officer role,
    working where the case is (one of their scope's prefixes contains its region). The closest
    first: the grid worker of its grid before the community's and the street's officers.
    ``matched_scope`` is the closest such prefix (of prefixes of one code, the longest is the
    greatest)."""
    prefixes = {case.region_code[:length] for length in (6, 9, 12, 15) if case.region_code}
    return (
        User.objects.filter(
            is_active=True,
            scope_grants__prefix__in=prefixes,
            groups__name__in=PERSON_ROLES,
        )
        .annotate(matched_scope=Max("scope_grants__prefix"))
        .order_by(Length("matched_scope").desc(), "username")
    )
