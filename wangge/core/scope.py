"""Data scope (数据范围): which part of the territory a user may see.

One rule, used by every selector: a row is visible when its region code starts with the user's scope
code. Superusers see everything; a user with no scope sees nothing.
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, Q, QuerySet

from wangge.core.models import User

M = TypeVar("M", bound=Model)

EVERYTHING = ""


def scope_prefix(user: User) -> str | None:
    """The code prefix the user may see; ``""`` for everything; None for nothing."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return EVERYTHING
    return user.scope_code or None


def scope_q(user: User, field: str = "code") -> Q:
    """A filter on ``field`` (a region code column) that keeps only rows inside the user's scope.

    For "everything" it is a condition that is always true, not an empty ``Q()``: an empty Q
    vanishes when OR-ed (``Q() | Q(reporter=user)`` is just ``Q(reporter=user)``), which once left
    superusers seeing only their own reports.
    """
    prefix = scope_prefix(user)
    if prefix is None:
        return Q(pk__in=[])
    if prefix == EVERYTHING:
        return ~Q(pk__in=[])
    return Q(**{f"{field}__startswith": prefix})


def filter_to_scope(queryset: QuerySet[M], user: User, field: str = "code") -> QuerySet[M]:
    if scope_prefix(user) is None:
        return queryset.none()
    return queryset.filter(scope_q(user, field))


def code_in_scope(user: User, code: str) -> bool:
    prefix = scope_prefix(user)
    return prefix is not None and code.startswith(prefix)
