"""Shared fixtures: the test district and a fixed cast of personas (see ../shared/STYLE.md §17)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import translation
from rest_framework.test import APIClient

from wangge.core import configcache, workcalendar
from wangge.regions import locate
from wangge.testing import logcapture
from wangge.testing.factories import load_test_territory
from wangge.testing.personas import Cast, make_cast


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
    (wangge/testing/logcapture.py)."""
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


@pytest.fixture
def cast(territory) -> Cast:
    return make_cast()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def browser():
    """Debian's Chromium through Playwright, for the browser tests (wangge/testing/browser.py)."""
    from playwright.sync_api import sync_playwright

    from wangge.testing.browser import CHROMIUM, LAUNCH_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()
