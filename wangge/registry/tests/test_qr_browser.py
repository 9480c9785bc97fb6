"""The QR page of a rented house on a phone, in Debian's Chromium: a tenant registers himself, the
grid worker scans the code (with the phone's position) and sees the registration waiting."""

import os
import re
from pathlib import Path

import pytest

from wangge.registry.models import HouseScan, SelfRegistration
from wangge.registry.tests import factories as f
from wangge.testing.browser import require_chromium

SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

require_chromium()

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_a_tenant_registers_on_the_phone_and_the_grid_worker_scans_the_code(
    cast, live_server, browser
):
    house = f.house(rented=True)
    url = f"{live_server.url}/q/{house.qr_token}/"
    SHOTS.mkdir(parents=True, exist_ok=True)

    tenant = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = tenant.new_page()
    page.goto(url)
    page.fill("input[name=name]", "李四")
    page.fill("input[name=id_number]", f.resident_id())
    page.fill("input[name=phone]", "13912345678")
    page.fill("input[name=moved_in_on]", "2020-01-02")
    page.screenshot(path=str(SHOTS / "qr-tenant-form.png"), full_page=True)
    page.click(".m-form button[type=submit]")
    page.wait_for_url(f"{url}?sent=1")
    assert page.locator(".m-done").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert SelfRegistration.objects.filter(house=house, status="pending").count() == 1

    worker = browser.new_context(
        viewport=PHONE,
        locale="zh-CN",
        geolocation={"longitude": 116.31, "latitude": 39.93, "accuracy": 15},
        permissions=["geolocation"],
    )
    page = worker.new_page()
    page.goto(f"{live_server.url}/accounts/login/?next=/q/{house.qr_token}/")
    page.fill("input[name=username]", "worker_a")
    page.fill("input[name=password]", "pw-worker_a")
    page.click(".login-form button[type=submit]")
    page.wait_for_url(url)
    assert "李四" in page.locator("body").inner_text()
    # Locator waits, not wait_for_function: its polling evaluates a string, which the page's CSP
    # (no 'unsafe-eval') refuses whenever the first check is not already true.
    from playwright.sync_api import expect

    scan = page.locator("#qr-scan")
    expect(scan).to_have_attribute("data-located", re.compile(r"."))
    expect(scan).to_have_text(scan.get_attribute("data-located") or "")
    page.screenshot(path=str(SHOTS / "qr-worker-house.png"), full_page=True)
    scan = HouseScan.objects.get(house=house)
    assert (scan.user.username, round(scan.lng, 2), round(scan.lat, 2)) == (
        "worker_a",
        116.31,
        39.93,
    )
    assert scan.accuracy_m == 15
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
