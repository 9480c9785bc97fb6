"""Data scope (数据范围): which part of the territory a user may see.

A user's scope is a set of region-code prefixes, one per ``ScopeGrant`` row: one grid, several
grids (一员多格), a community, a street, a department's districts. One rule, used by every
selector: a row is visible when its region code starts with one of the user's prefixes.
Superusers see everything (``EVERYTHING``); an inactive user or one without grants sees nothing
(the empty set).

The set is kept per process like roles (``core.roles.user_access``): a grant saved or deleted in
this process is seen at once, one saved in another process within WANGGE_ACCESS_RECHECK_SECONDS.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, Final, Literal, TypeVar

from django.db.models import Model, Q, QuerySet

from wangge.core.configcache import ConfigCache
from wangge.core.models import ScopeGrant, User

M = TypeVar("M", bound=Model)


class _Everything(enum.Enum):
    EVERYTHING = "everything"


EVERYTHING: Final = _Everything.EVERYTHING
Scope = frozenset[str] | Literal[_Everything.EVERYTHING]
NOTHING: frozenset[str] = frozenset()


def collapse(prefixes: Iterable[str]) -> frozenset[str]:
    """The prefixes without those a shorter one already covers (110102001 swallows 110102001004)."""
    kept: list[str] = []
    for prefix in sorted(set(prefixes), key=lambda p: (len(p), p)):
        if prefix and not any(prefix.startswith(shorter) for shorter in kept):
            kept.append(prefix)
    return frozenset(kept)


def _load_prefixes(user_id: int) -> frozenset[str]:
    return collapse(ScopeGrant.objects.filter(user_id=user_id).values_list("prefix", flat=True))


_prefixes = ConfigCache(
    _load_prefixes,
    models=["core.ScopeGrant"],
    recheck_setting="WANGGE_ACCESS_RECHECK_SECONDS",
)


def invalidate() -> None:
    """Forget every cached scope (after grants are written in bulk, which sends no signals)."""
    _prefixes.invalidate()


def scope_prefixes(user: Any) -> Scope:
    """The region-code prefixes the user may see, collapsed; ``EVERYTHING`` for superusers."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if user.is_superuser:
        return EVERYTHING
    return _prefixes.get(user.pk)


def sees_everything(user: Any) -> bool:
    return scope_prefixes(user) is EVERYTHING


def prefixes_q(scope: Scope, field: str = "code") -> Q:
    """A filter on ``field`` (a region code column) keeping rows under one of the prefixes.

    For "everything" it is a condition that is always true, not an empty ``Q()``: an empty Q
    vanishes when OR-ed (``Q() | Q(reporter=user)`` is just ``Q(reporter=user)``), which once left
    superusers seeing only their own reports.
    """
    if scope is EVERYTHING:
        return ~Q(pk__in=[])
    if not scope:
        return Q(pk__in=[])
    condition = Q()
    for prefix in sorted(scope):
        condition |= Q(**{f"{field}__startswith": prefix})
    return condition


def scope_q(user: Any, field: str = "code") -> Q:
    """A filter on ``field`` (a region code column) that keeps only rows inside the user's scope."""
    return prefixes_q(scope_prefixes(user), field)


def filter_to_scope(queryset: QuerySet[M], user: Any, field: str = "code") -> QuerySet[M]:
    scope = scope_prefixes(user)
    if scope is EVERYTHING:
        return queryset
    if not scope:
        return queryset.none()
    return queryset.filter(prefixes_q(scope, field))


def code_in_prefixes(scope: Scope, code: str) -> bool:
    if scope is EVERYTHING:
        return True
    return any(code.startswith(prefix) for prefix in scope)


def code_in_scope(user: Any, code: str) -> bool:
    return code_in_prefixes(scope_prefixes(user), code)


def user_prefixes(user: Any) -> list[str]:
    """The user's own grants, collapsed, shortest first: what he is assigned (superusers too,
    whose scope is everything), e.g. to centre a map. Cached like ``scope_prefixes``."""
    if not user.is_authenticated:
        return []
    return sorted(_prefixes.get(user.pk), key=_by_length)


def _by_length(prefix: str) -> tuple[int, str]:
    return (len(prefix), prefix)


def scope_grant_set(*, user: User, prefixes: Iterable[str]) -> tuple[set[str], set[str]]:
    """Make the user's grants exactly ``prefixes``; returns (added, removed). The caller audits
    and holds the transaction."""
    wanted = {p.strip() for p in prefixes if p and p.strip()}
    current = set(user.scope_grants.values_list("prefix", flat=True))
    removed = current - wanted
    added = wanted - current
    if removed:
        for grant in ScopeGrant.objects.filter(user=user, prefix__in=removed):
            grant.delete()
    for prefix in sorted(added):
        ScopeGrant.objects.create(user=user, prefix=prefix)
    return added, removed
