"""Shared fixtures: the test district and a fixed cast of personas (see ../shared/STYLE.md §17)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection
from django.utils import translation
from rest_framework.test import APIClient

from wangge.core import configcache, workcalendar
from wangge.core.models import User
from wangge.core.testing import logcapture
from wangge.regions import locate
from wangge.regions.tests.factories import load_test_territory, make_user


@pytest.fixture(autouse=True)
def _fresh_locate_index():
    """Each test starts without a cached grid index or calendar (tests roll back their rows)."""
    locate.invalidate()
    workcalendar.invalidate(forget_warnings=True)
    configcache.invalidate_all()
    yield
    locate.invalidate()
    workcalendar.invalidate(forget_warnings=True)
    configcache.invalidate_all()


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Services called directly speak English in tests; requests still pick their language."""
    with translation.override("en"):
        yield


@pytest.fixture(scope="session", autouse=True)
def _no_full_numbers_in_the_logs():
    """Every log record of the run is scanned; a full ID or phone number in one fails the run
    (wangge/core/testing/logcapture.py)."""
    with logcapture.watching() as handler:
        yield
    assert not handler.findings, "full personal numbers in the logs:\n" + handler.report()


@pytest.fixture(scope="session", autouse=True)
def _end_stray_connections(django_db_setup, django_db_blocker):
    """Close connections the live server's keep-alive threads still hold, so the PostgreSQL test
    database can be dropped at the end of the run."""
    yield
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql" and _test_database_open():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


def _test_database_open() -> bool:
    """False when no test used the database: the connection still names the real one."""
    return connection.settings_dict["NAME"].startswith("test_") or bool(
        connection.settings_dict.get("TEST", {}).get("NAME")
        and connection.settings_dict["NAME"] == connection.settings_dict["TEST"]["NAME"]
    )


@pytest.fixture
def territory(db) -> None:
    load_test_territory()


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


@pytest.fixture
def cast(territory) -> Cast:
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


@pytest.fixture
def api() -> APIClient:
    return APIClient()
