"""The ledger page in a real browser (Debian's Chromium, Playwright): desktop and a 360-px phone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wangge.registry.tests.test_ledgers import PEOPLE_HEADERS, person_row, xlsx
from wangge.testing.browser import require_chromium

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


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.parametrize(("width", "name"), [(1280, "ledgers"), (360, "ledgers-360")])
def test_a_clerk_imports_a_ledger_and_sees_every_problem_of_each_rejected_row(
    cast, live_server, browser, tmp_path, width, name
):
    upload = tmp_path / "西长安街人员台账.xlsx"
    upload.write_bytes(
        xlsx(
            PEOPLE_HEADERS,
            [
                person_row(1),
                person_row(2),
                person_row(3, 姓名="", 联系电话="12345", 入住日期="2024-13-45"),
                person_row(4, 性别="男", 人员类型="流动", 入住日期="", 民族="火星族"),
            ],
        )
    )
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/?next=/registry/ledgers/")
    page.fill("input[name=username]", "officer_a")
    page.fill("input[name=password]", "pw-officer_a")
    page.click(".login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/registry/ledgers/")
    assert page.locator(".site-header").is_visible()

    page.select_option("#ledger-kind", "people")
    page.set_input_files("#ledger-file", str(upload))
    page.click(".ledger-upload button[type=submit]")
    page.wait_for_url("**/registry/ledgers/?job=*")
    page.locator(".ledger-job[data-status=done]").wait_for()
    problems = page.locator(".ledger-rejected > ol > li")
    assert "110102" not in page.locator(".ledger-rejected").inner_text()  # no ID numbers shown
    assert problems.count() == 2
    assert problems.nth(0).locator("li").count() == 3
    assert problems.nth(1).locator("li").count() == 3
    row = page.locator("tr[aria-current=true]")
    assert row.locator("td").nth(2).inner_text().strip() == "已完成"
    assert [row.locator("td").nth(i).inner_text() for i in (3, 5)] == ["2", "2"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    # Nothing of the page's own wider than the screen on a phone (the navigation is the site's).
    wide = page.evaluate(
        "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right"
        " > document.documentElement.clientWidth + 1 && !e.closest('.table-scroll'))"
        ".map(e => e.tagName + '.' + e.className).slice(0, 5)"
    )
    assert wide == []
    assert errors == []
