"""The service catalogue and the 404 page in a real browser (Debian's Chromium, Playwright), on a
desktop and on a 360-px phone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wangge.testing.browser import require_chromium

# The pictures in docs/ are refreshed only on request, so a test run leaves the checkout clean.
SCREENSHOTS = (
    Path(__file__).resolve().parents[3]
    / ("docs" if os.environ.get("WANGGE_UPDATE_DOC_SCREENSHOTS") else "var")
    / "screenshots"
)
SIZES = {"": {"width": 1280, "height": 900}, "-360": {"width": 360, "height": 760}}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

require_chromium()

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def signed_in(browser, live_server, viewport, username: str):
    page = browser.new_page(viewport=viewport, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/?next=/services/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click(".login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/services/")
    return page, errors


def fits(page) -> bool:
    """Nothing wider than the window: no sideways scrolling."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("suffix", list(SIZES))
def test_a_grid_worker_finds_a_service_and_reads_its_procedure_and_materials(
    cast, live_server, browser, suffix
):
    page, errors = signed_in(browser, live_server, SIZES[suffix], "worker_a")
    assert page.locator("h1").inner_text() == "服务事项目录"
    assert page.locator(".service-item").count() >= 32

    page.fill("#services-q", "低保")
    page.click(".services-search button[type=submit]")
    page.wait_for_url("**/services/?q=*")
    item = page.locator("#item-SS01001")
    if item.get_attribute("open") is None:  # one match opens itself; more stay folded
        item.locator("summary").click()
    item.locator(".service-steps li").first.wait_for()
    assert "向户籍所在地街道办事处提出书面申请" in item.inner_text()
    assert "户口簿" in item.locator(".service-materials").inner_text()
    assert "工作日" in item.inner_text()
    assert fits(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"services-catalogue{suffix}.png"), full_page=True)
    assert errors == []


@pytest.mark.parametrize("suffix", list(SIZES))
def test_a_missing_case_shows_the_branded_404_page_with_a_way_back(
    cast, live_server, browser, suffix
):
    page, errors = signed_in(browser, live_server, SIZES[suffix], "commander")
    response = page.goto(f"{live_server.url}/console/cases/110102-2026-999999/")
    assert response.status == 404
    assert page.locator(".site-header .brand").is_visible()
    assert page.locator("h1").inner_text() == "页面不存在"
    assert fits(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"error-404{suffix}.png"), full_page=True)
    page.click("text=返回首页")
    page.wait_for_url(f"{live_server.url}/console/**")  # home lands the commander on the console
    assert errors == []


def test_a_service_cases_page_tells_the_procedure_on_the_phone(cast, live_server, browser):
    from wangge.cases.models import Category
    from wangge.cases.tests.factories import report

    dibao = Category.objects.get(kind=Category.Kind.SERVICE, code="SS01001")
    case = report(cast.grid_worker_a, cat=dibao)
    page, errors = signed_in(browser, live_server, SIZES["-360"], "worker_a")
    page.goto(f"{live_server.url}/m/cases/{case.number}/")
    box = page.locator(".case-service")
    assert "一次性告知" in box.locator("summary").inner_text()
    box.locator("summary").click()  # folded below the actions: the work comes first
    assert box.locator(".service-materials li").count() == 7
    assert fits(page)
    page.screenshot(path=str(SCREENSHOTS / "case-service-box-360.png"), full_page=True)
    assert errors == []
