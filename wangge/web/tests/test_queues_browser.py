"""Every role signs in and lands on its own work, where the case just sent to it waits, found by
list and by number: grid worker, department handler, dispatcher, verifier; desktop and phone width.

Debian's Chromium driven by Playwright (see test_console_browser.py for the set-up's reasons).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from wangge.cases.models import Case
from wangge.cases.tests.factories import act, category, department, handler, report
from wangge.testing.browser import require_chromium

SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"
WIDTHS = {"desktop": (1280, 860), "phone": (360, 740)}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

require_chromium()

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def work(cast) -> dict[str, Case]:
    """One case waiting for each role: dispatched to the grid worker in person, dispatched to the
    department, accepted and waiting for the street's dispatcher, handled and waiting for the
    operator's verification."""
    shizheng = department("shizheng", rule_for=category())
    worker = handler("handler_shizheng", shizheng)

    def accepted() -> Case:
        return act(report(cast.grid_worker_b, at=(116.31, 39.93)), "accept", cast.operator)

    to_worker = act(accepted(), "dispatch", cast.commander, user="worker_a")
    to_department = act(accepted(), "dispatch", cast.commander, department="shizheng")
    to_dispatch = accepted()
    to_verify = act(accepted(), "dispatch", cast.commander, department="shizheng")
    act(to_verify, "acknowledge", worker)
    to_verify = act(to_verify, "handle", worker, result="已更换井盖")
    return {
        "worker_a": to_worker,
        "handler_shizheng": to_department,
        "dispatcher": to_dispatch,
        "operator": to_verify,
    }


def sign_in(page, live_server, username: str) -> None:
    """The login page without a ``next``: where the user lands is the system's choice."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click(".login-form button[type=submit]")


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_each_role_lands_on_its_work_and_finds_its_case_by_list_and_by_number(
    cast, work, live_server, browser, width
):
    # (user, landing path, the queue tab that opens, where a found case opens)
    roles = [
        ("worker_a", "/m/", None, "/m/cases/"),
        ("handler_shizheng", "/console/", "to-acknowledge", "/console/cases/"),
        ("dispatcher", "/console/", "accepted", "/console/cases/"),
        ("operator", "/console/", "handled", "/console/cases/"),
    ]
    w, h = WIDTHS[width]
    for username, landing, tab, case_path in roles:
        case = work[username]
        context = browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))

        sign_in(page, live_server, username)
        page.wait_for_url(f"{live_server.url}{landing}")

        # By list: the case is on the landing page, in the queue or group that opened.
        if tab is None:
            card = page.locator(f"#group-handle ~ .m-cards a[href='{case_path}{case.number}/']")
            expect(card).to_be_visible()
            search = "#task-number"
        else:
            expect(page.locator(f"#tab-{tab}")).to_have_attribute("aria-selected", "true")
            expect(page.locator(f"#queue-panel a:text-is('{case.number}')")).to_be_visible()
            search = "#filter-number"
        shot(page, f"queues-{username}-{width}.png")

        # By number: typing the whole number opens the case.
        page.fill(search, case.number)
        page.locator(search).press("Enter")
        page.wait_for_url(f"{live_server.url}{case_path}{case.number}/")
        expect(page.locator("body")).to_contain_text(case.number)

        # A part of the number keeps the case in the list, alone.
        page.goto(f"{live_server.url}{landing}")
        page.fill(search, case.number[-6:])
        page.locator(search).press("Enter")
        page.wait_for_url(f"**number={case.number[-6:]}*")
        expect(page.locator(f"a[href='{case_path}{case.number}/']").first).to_be_visible()
        listed = page.locator(".m-cards li" if tab is None else "#queue-panel tbody tr")
        expect(listed).to_have_count(1)
        assert errors == [], (username, errors)
        context.close()


def test_the_counters_open_their_lists_and_the_map_finds_a_number(cast, work, live_server, browser):
    late = work["handler_shizheng"]
    Case.objects.filter(pk=late.pk).update(is_overdue=True)
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server, "commander")
    page.wait_for_url(f"{live_server.url}/console/")

    page.click("a.summary-overdue")
    page.wait_for_url("**/console/?queue=overdue")
    expect(page.locator(f"#queue-panel a:text-is('{late.number}')")).to_be_visible()
    expect(page.locator("#queue-panel tbody tr")).to_have_count(1)
    shot(page, "queues-overdue-list.png")

    page.goto(f"{live_server.url}/console/map/")
    page.fill("#map-number", late.number)
    page.locator("#map-number").press("Enter")
    page.wait_for_url(f"**/console/cases/{late.number}/")
    page.goto(f"{live_server.url}/console/map/")
    page.fill("#map-number", "110102-2026-999999")
    page.locator("#map-number").press("Enter")
    expect(page.locator(".cases-map-search .field-error")).to_contain_text("110102-2026-999999")
    expect(page.locator("#cases-map-status")).not_to_contain_text("没有")  # the map is unfiltered
    shot(page, "queues-map-not-found.png")
    context.close()
