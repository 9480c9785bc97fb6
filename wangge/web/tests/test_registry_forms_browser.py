"""The registry's new pages in a real browser (Debian's Chromium driven by Playwright): a grid worker
on a 360-px phone registers a tenant at a rented house through the form (an error first, then
valid), and each new page is photographed on the desktop and the phone."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from wangge.core.models import AuditLog
from wangge.registry import qrcodes
from wangge.registry.models import Person
from wangge.registry.tests.factories import (
    GRID_A,
    GRID_B,
    building,
    house,
    register,
    resident_id,
)
from wangge.testing.browser import require_chromium
from wangge.testing.factories import make_user

SCREENSHOTS = (
    Path(__file__).resolve().parents[3]
    / ("docs" if os.environ.get("WANGGE_UPDATE_DOC_SCREENSHOTS") else "var")
    / "screenshots"
)
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

require_chromium()

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _login(browser, live_server, username: str, viewport: dict[str, int], next_url: str):
    page = browser.new_page(viewport=viewport, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click(".login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_url}")
    return page, errors


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def _shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_grid_worker_registers_a_tenant_on_a_phone_after_correcting_the_id_number(
    cast, live_server, browser
):
    rented = house(
        building(GRID_A, address="北京市西城区府右街南胡同3号院2号楼"), room="502", rented=True
    )
    number = resident_id(sequence=219)
    page, errors = _login(browser, live_server, "worker_a", PHONE, f"/registry/houses/{rented.pk}/")
    page.locator("img[alt='本房屋的二维码']").wait_for()
    _no_sideways_scroll(page)
    _shoot(page, "registry-house-qr-360")

    page.click("a:text-is('登记住户')")
    page.wait_for_url(f"**/registry/houses/{rented.pk}/register/")
    _no_sideways_scroll(page)
    page.fill("#id_name", "孙租户")
    page.fill("#id_id_number", number[:-1] + ("1" if number[-1] != "1" else "2"))
    page.fill("#id_phone", "13700001111")
    page.select_option("#id_residency_type", "floating")
    page.select_option("#id_relation", "tenant")
    page.click("button:text-is('登记')")
    page.locator(".field-error").first.wait_for()
    assert "证件号码无效" in page.locator("#id_id_number ~ .field-error").inner_text()
    _no_sideways_scroll(page)
    _shoot(page, "registry-register-errors-360")
    assert not Person.objects.filter(name="孙租户").exists()

    page.fill("#id_id_number", number)  # not sent back: typed again
    page.fill("#id_moved_in_on", (timezone.localdate() - timedelta(days=1)).isoformat())
    page.click("button:text-is('登记')")
    page.wait_for_url(f"**/registry/houses/{rented.pk}/")
    assert "已在本房屋登记 孙租户" in page.locator(".messages").inner_text()
    person = Person.objects.get(name="孙租户")
    assert AuditLog.objects.filter(
        action="registry.person_register", target_id=str(person.pk)
    ).exists()
    assert number not in page.content()
    assert errors == []


def test_the_new_registry_pages_on_the_desktop_and_a_phone(cast, live_server, browser):
    week_ago = timezone.localdate() - timedelta(days=7)
    rented_a = house(building(GRID_A, address="北京市西城区府右街南胡同3号院1号楼"), rented=True)
    rented_b = house(building(GRID_B, address="北京市西城区新街口东街9号"), rented=True)
    for name, at in (("甲流入", rented_a), ("丙流入", rented_a), ("乙流入", rented_b)):
        register(
            at,
            name=name,
            residency_type="floating",
            relation="tenant",
            moved_in_on=week_ago,
            registered=False,
        )
    residency = register(rented_a, name="王建军", moved_in_on=week_ago).residency
    qrcodes.house_scan_log(house=rented_a, user=cast.grid_worker_a)
    make_user("assessor", role="assessor", scope="110102")

    page, errors = _login(browser, live_server, "worker_a", DESKTOP, "/registry/quality/")
    page.click(".report-total a:has-text('流入未登记超过2天')")
    page.locator("#records-title").wait_for()
    assert page.locator("#records tbody tr").count() == 2
    assert "乙流入" not in page.content()
    _shoot(page, "registry-quality")
    page.set_viewport_size(PHONE)
    _no_sideways_scroll(page)
    _shoot(page, "registry-quality-360")

    page.set_viewport_size(DESKTOP)
    page.click(".registry-subnav a:text-is('二维码扫码率')")
    page.wait_for_url("**/registry/qr-stats/")
    _shoot(page, "registry-qr-stats")
    page.set_viewport_size(PHONE)
    _no_sideways_scroll(page)
    _shoot(page, "registry-qr-stats-360")

    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/registry/houses/{rented_a.pk}/")
    page.locator("img[alt='本房屋的二维码']").wait_for()
    assert page.evaluate("document.querySelector(\"img[alt='本房屋的二维码']\").naturalWidth") > 0
    _shoot(page, "registry-house-qr")

    page.goto(f"{live_server.url}/registry/residencies/{residency.pk}/deregister/")
    _shoot(page, "registry-deregister")
    page.set_viewport_size(PHONE)
    _no_sideways_scroll(page)
    _shoot(page, "registry-deregister-360")
    assert errors == []

    page, errors = _login(browser, live_server, "assessor", DESKTOP, "/registry/quality/")
    page.click(".report-total a:has-text('流入未登记超过2天')")
    page.locator("#records-title").wait_for()
    assert "甲流入" not in page.content()
    _shoot(page, "registry-quality-assessor")
    assert errors == []
