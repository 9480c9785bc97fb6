"""The header, its page links and the notification inbox in a real browser, desktop and 360 px."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from wangge.cases.models import CaseEvent, Notification
from wangge.cases.tests.factories import report
from wangge.testing.browser import require_chromium

# docs/screenshots/ holds the same pages taken on the demo district; these stay in var/.
SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

require_chromium()

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def sign_in(page, live_server, username: str, next_path: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click(".login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_path}")


def inbox_for(user, count: int) -> list[Notification]:
    rows = []
    for _ in range(count):
        case = report(user)
        event = CaseEvent.objects.filter(case=case).first()
        rows.append(
            Notification.objects.create(
                recipient=user,
                case=case,
                event=event,
                channel="inbox",
                subject="x",
                body=case.description,
            )
        )
    return rows


def test_the_header_links_every_page_and_the_inbox_marks_notifications_read(
    cast, live_server, browser
):
    inbox_for(cast.grid_worker_a, 3)
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server, "worker_a", "/m/")

    nav = page.locator(".site-nav")
    assert nav.locator(".nav-links").is_visible()
    for name in ("地图", "我的任务", "指挥台", "案件地图"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(nav.locator("a[aria-current='page']")).to_have_text("我的任务")
    expect(page.locator(".inbox-badge")).to_have_text("3")

    page.locator(".inbox-link").click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    expect(page.locator(".inbox-item")).to_have_count(3)
    expect(page.locator(".inbox-item.is-unread")).to_have_count(3)
    page.locator(".inbox-item").first.locator(".inbox-read-form button").click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    expect(page.locator(".inbox-badge")).to_have_text("2")
    expect(page.locator(".inbox-item.is-unread")).to_have_count(2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "notifications-inbox.png"), full_page=True)

    page.locator(".inbox-all-form button").click()
    page.locator(".message-success").wait_for()
    assert page.locator(".inbox-badge").count() == 0
    assert Notification.objects.filter(recipient=cast.grid_worker_a, read_at=None).count() == 0
    first = page.locator(".inbox-item a").first
    number = re.search(r"\d{6}-\d{4}-\d{6}", first.inner_text()).group()
    first.click()
    page.wait_for_url(f"**/console/cases/{number}/")
    assert errors == []


def test_on_a_phone_the_page_links_fold_into_a_menu(cast, live_server, browser):
    inbox_for(cast.commander, 2)
    page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True, locale="zh-CN")
    sign_in(page, live_server, "commander", "/console/")

    links = page.locator(".nav-links")
    assert links.is_hidden()
    toggle = page.locator(".nav-toggle")
    expect(toggle).to_have_text("页面")
    toggle.click()
    expect(links).to_be_visible()
    for name in ("地图", "指挥台", "案件地图", "人口房屋", "台账", "二维码标签"):
        expect(links.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.locator(".inbox-badge")).to_have_text("2")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width}px)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "nav-phone-menu.png"))

    links.get_by_role("link", name="台账", exact=True).click()
    page.wait_for_url(f"{live_server.url}/registry/ledgers/")
    page.goto(f"{live_server.url}/notifications/")
    expect(page.locator(".inbox-item")).to_have_count(2)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the inbox scrolls sideways ({width}px)"
    page.screenshot(path=str(SHOTS / "notifications-inbox-phone.png"), full_page=True)
