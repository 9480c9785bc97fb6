"""The fixed cast of personas every app's tests use (see ../shared/STYLE.md §17).

``make_cast()`` needs the test territory loaded (``factories.load_test_territory``); the ``cast``
fixture of ``wangge/conftest.py`` does both.
"""

from __future__ import annotations

from dataclasses import dataclass

from wangge.core.models import User
from wangge.testing.factories import make_user


@dataclass
class Cast:
    commander: User  # 区指挥中心, the whole district
    operator: User  # 受理员/值班长, the whole district
    street_dispatcher: User  # 西长安街街道 (110102001)
    community_officer: User  # community 110102001001
    other_community_officer: User  # community 110102003002
    grid_worker_a: User  # grid 110102001001001
    grid_worker_b: User  # grid 110102003002004
    department_handler: User  # a department, district-wide scope
    admin: User  # system administrator, district-wide scope
    nobody: User  # signed in, no role and no scope: should see nothing


def make_cast() -> Cast:
    return Cast(
        commander=make_user("commander", role="district_commander", scope="110102"),
        operator=make_user("operator", role="supervisor_operator", scope="110102"),
        street_dispatcher=make_user("dispatcher", role="dispatcher", scope="110102001"),
        community_officer=make_user("officer_a", role="community_officer", scope="110102001001"),
        other_community_officer=make_user(
            "officer_b", role="community_officer", scope="110102003002"
        ),
        grid_worker_a=make_user("worker_a", role="grid_worker", scope="110102001001001"),
        grid_worker_b=make_user("worker_b", role="grid_worker", scope="110102003002004"),
        department_handler=make_user("handler", role="department_handler", scope="110102"),
        admin=make_user("admin", role="system_admin", scope="110102"),
        nobody=make_user("nobody", role=None),
    )
