"""The demo cast: one signed-in user per role, scoped to a real street, community and grid, and
one grid worker (网格员) per social grid.

Every social grid of a demo district has its own worker, ``gw-<grid code>`` (``gw-110102001001001``),
scoped to that grid, so a generated patrol report belongs to the worker of the grid it is in and no
worker sees another grid's cases. The printed ``gridworker_<district>`` is a second worker of the
district's first grid (the one the demo street, community and population are in).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

from wangge.core import scope
from wangge.core.models import ScopeGrant, User
from wangge.core.roles import Role
from wangge.core.scope import scope_grant_set
from wangge.regions.models import Grid, Region

DEMO_PASSWORD = "wangge-demo"  # noqa: S105 — printed on purpose: a demo, on the loopback address
GRID_WORKER_PREFIX = "gw-"


def grid_worker_username(grid_code: str) -> str:
    """The login of the demo worker of a social grid: ``gw-`` and the grid's 15-digit code."""
    return f"{GRID_WORKER_PREFIX}{grid_code}"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    scope_code: str
    scope_name: str
    token: str


def demo_users_ensure(district_code: str) -> list[DemoLogin]:
    """Create (or bring back in line) the demo users of a district and its grid workers; returns
    the logins of the one-per-role cast (``departments.featured_logins`` has the handlers)."""
    district = Region.objects.get(code=district_code, level=Region.Level.DISTRICT)
    street = district.children.order_by("code").first()
    community = street.children.order_by("code").first() if street else None
    grid = (
        Grid.objects.filter(community=community, layer_id="social").order_by("code").first()
        if community
        else None
    )
    if street is None or community is None or grid is None:
        raise ValueError(f"district {district_code} has no street, community or social grid yet")
    plan = [
        ("commander", Role.DISTRICT_COMMANDER, district.code, district.name),
        ("operator", Role.SUPERVISOR_OPERATOR, district.code, district.name),
        ("dispatcher", Role.DISPATCHER, district.code, district.name),
        ("street", Role.STREET_OFFICER, street.code, street.name),
        ("community", Role.COMMUNITY_OFFICER, community.code, community.name),
        ("gridworker", Role.GRID_WORKER, grid.code, grid.name),
        ("department", Role.DEPARTMENT_HANDLER, district.code, district.name),
        ("assessor", Role.ASSESSOR, district.code, district.name),
        ("admin", Role.SYSTEM_ADMIN, district.code, district.name),
    ]
    logins = []
    with transaction.atomic():
        for username, role, scope_code, scope_name in plan:
            user, created = User.objects.get_or_create(username=f"{username}_{district_code}")
            if created:
                user.set_password(DEMO_PASSWORD)
            user.first_name = str(role.label).split(" (")[0]
            user.is_staff = role is Role.SYSTEM_ADMIN
            user.is_superuser = role is Role.SYSTEM_ADMIN
            user.save()
            scope_grant_set(user=user, prefixes=[scope_code])
            user.groups.set([Group.objects.get(name=role.value)])
            token, _created = Token.objects.get_or_create(user=user)
            logins.append(DemoLogin(user.username, role.value, scope_code, scope_name, token.key))
    grid_workers_ensure(district_code)
    return logins


def grid_workers_ensure(district_code: str) -> int:
    """Create the missing ``gw-<grid code>`` worker of every social grid of the district.

    Written in bulk (about 1,600 users for Xicheng in well under a second): one password hash shared
    by all (PBKDF2 is deliberately slow), one insert for the users, one for their group and one for
    their scope grants (each his grid). Workers
    that exist are left alone. Returns the number of grid workers the district has.
    """
    grids = list(
        Grid.objects.filter(layer_id="social", code__startswith=district_code)
        .order_by("code")
        .values_list("code", "name")
    )
    wanted = {grid_worker_username(code): (code, name) for code, name in grids}
    existing = set(
        User.objects.filter(
            username__startswith=f"{GRID_WORKER_PREFIX}{district_code}"
        ).values_list("username", flat=True)
    )
    missing = [username for username in wanted if username not in existing]
    if missing:
        encoded = make_password(DEMO_PASSWORD)
        group = Group.objects.get(name=Role.GRID_WORKER.value)
        with transaction.atomic():
            User.objects.bulk_create(
                [
                    User(
                        username=username,
                        password=encoded,
                        first_name=f"{wanted[username][1]}网格员",
                    )
                    for username in missing
                ],
                batch_size=500,
            )
            created = list(User.objects.filter(username__in=missing).values_list("pk", "username"))
            membership = User.groups.through
            membership.objects.bulk_create(
                [membership(user_id=pk, group_id=group.pk) for pk, _name in created],
                batch_size=500,
            )
            ScopeGrant.objects.bulk_create(
                [ScopeGrant(user_id=pk, prefix=wanted[name][0]) for pk, name in created],
                batch_size=500,
            )
        scope.invalidate()  # bulk inserts send no signals
    return len(wanted)


def grid_workers_by_grid(district_code: str) -> dict[str, int]:
    """Grid code → the user id of the demo worker who reports and confirms there.

    The ``gw-`` worker of each grid, except the district's first grid, where the printed
    ``gridworker_<district>`` works (so the login the demo prints has its own reports).
    """
    workers = {
        username.removeprefix(GRID_WORKER_PREFIX): pk
        for username, pk in User.objects.filter(
            username__startswith=f"{GRID_WORKER_PREFIX}{district_code}", is_active=True
        ).values_list("username", "pk")
    }
    featured = (
        ScopeGrant.objects.filter(
            user__username=f"gridworker_{district_code}", user__is_active=True
        )
        .values_list("prefix", "user_id")
        .first()
    )
    if featured is not None:
        workers[featured[0]] = featured[1]
    return workers
