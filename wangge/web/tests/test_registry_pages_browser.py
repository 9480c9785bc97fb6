"""The registry pages in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from wangge.core.models import AuditLog
from wangge.registry.tests.factories import (
    GRID_A,
    IN_GRID_A,
    UNIT_A,
    building,
    component,
    house,
    household,
    register,
    resident_id,
    tag,
)
from wangge.testing.browser import require_chromium

# The page's picture in docs/ is refreshed only on request, so a test run leaves the checkout clean.
SCREENSHOTS = (
    Path(__file__).resolve().parents[3]
    / ("docs" if os.environ.get("WANGGE_UPDATE_DOC_SCREENSHOTS") else "var")
    / "screenshots"
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

require_chromium()

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_a_community_officer_walks_from_the_grid_to_a_person_and_unmasks_his_id(
    cast, live_server, browser
):
    number = resident_id(date(1948, 11, 2), sequence=135)
    flat = house(
        building(GRID_A, address="北京市西城区府右街南胡同3号院1号楼", floors=6), room="301"
    )
    family = household(flat, number="1")
    person = register(
        flat,
        name="王秀英",
        id_number=number,
        phone="13812345678",
        household=family,
        ethnicity="满族",
        tags=[tag("lonely_elderly"), tag("very_old")],
    ).person
    component(UNIT_A, at=IN_GRID_A, serial=7)

    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/?next=/registry/")
    page.fill("input[name=username]", "officer_a")
    page.fill("input[name=password]", "pw-officer_a")
    page.click(".login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/registry/")

    page.click(f"a[href='/registry/grids/{GRID_A}/']")
    page.wait_for_url(f"**/registry/grids/{GRID_A}/")
    page.click("text=北京市西城区府右街南胡同3号院1号楼")
    page.wait_for_url("**/registry/buildings/*/")
    page.click("a:text-is('301')")
    page.wait_for_url(f"**/registry/houses/{flat.pk}/")
    page.click("#residents-title ~ .table-scroll a:text-is('王秀英')")
    page.wait_for_url(f"**/registry/people/{person.pk}/")

    content = page.content()
    assert number not in content
    assert page.locator("[data-field=id_number]").inner_text() == person.id_number_masked
    assert "独居老人" in content
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "registry-person.png"), full_page=True)

    page.fill("#unmask-reason", "办理居住证核验")
    page.click(".unmask-form button[type=submit]")
    page.locator("[data-field=id_number] .unmasked").wait_for()
    assert page.locator("[data-field=id_number]").inner_text() == number
    assert AuditLog.objects.filter(action="pii.unmask", target_id=str(person.pk)).count() == 1

    page.goto(f"{live_server.url}/registry/components/")
    page.locator("#components-map[data-loaded='true']").wait_for()
    assert page.locator("#components-map").get_attribute("data-count") == "1"
    assert errors == []
