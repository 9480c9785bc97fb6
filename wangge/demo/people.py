"""The demo cast: one signed-in user per role, scoped to a real street, community and grid."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

from wangge.core.models import User
from wangge.core.roles import Role
from wangge.regions.models import Grid, Region

DEMO_PASSWORD = "wangge-demo"  # noqa: S105 — printed on purpose: a demo, on the loopback address


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    scope_code: str
    scope_name: str
    token: str


def demo_users_ensure(district_code: str) -> list[DemoLogin]:
    """Create (or bring back in line) the demo users of a district; returns their logins."""
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
            user.scope_code = scope_code
            user.is_staff = role is Role.SYSTEM_ADMIN
            user.is_superuser = role is Role.SYSTEM_ADMIN
            user.save()
            user.groups.set([Group.objects.get(name=role.value)])
            token, _created = Token.objects.get_or_create(user=user)
            logins.append(DemoLogin(user.username, role.value, scope_code, scope_name, token.key))
    # Department handlers (wangge.demo.departments), once demo_data has created them.
    from wangge.demo.departments import featured_logins

    logins += featured_logins(district_code)
    return logins
