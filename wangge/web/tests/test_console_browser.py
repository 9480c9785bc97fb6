"""The console and the phone pages in a real browser: Debian's Chromium driven by Playwright."""

import os
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from wangge.cases.models import Case, CasePhoto
from wangge.cases.tests.factories import IN_GRID_A, IN_GRID_B, act, category, department, report
from wangge.testing.browser import require_chromium

SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"
NUMBER = re.compile(r"^\d{6}-\d{4}-\d{6}$")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

require_chromium()

# Playwright's sync API runs an event loop in this thread; the Django ORM calls made by the test's
# own set-up are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def sign_in(page, live_server, username: str, next_path: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click(".login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_path}")


def shot(page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=full_page)


def watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_an_operator_accepts_and_the_commander_dispatches_through_the_console(
    cast, live_server, browser
):
    department("shizheng", rule_for=category())
    department("yuanlin")
    case = report(cast.grid_worker_a)
    report(cast.grid_worker_b, at=IN_GRID_B)

    # The operator (受理员) finds the case in the "to accept" queue and accepts it.
    page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    errors = watch_errors(page)
    sign_in(page, live_server, "operator", "/console/")
    assert page.locator(".summary-count").first.inner_text() == "2"
    page.fill("#filter-region", "110102001")  # the west street: the filter reloads the counts
    page.click(".console-filter button[type=submit]")
    # expect() polls from Playwright's side: a string predicate would need 'unsafe-eval' (CSP).
    expect(page.locator(".summary-count").first).to_have_text("1")
    assert "region=110102001" in page.url
    page.click("#tab-reported")  # loaded by HTMX
    # The console opened on this queue already (the first one waiting for the operator): wait for
    # the tab's own load, which pushes its URL, rather than for a row that is there before it.
    page.wait_for_url("**/console/?queue=reported&region=110102001")
    row_link = page.locator(f"#queue-panel a:text-is('{case.number}')")
    row_link.wait_for()
    assert page.locator("#tab-reported").get_attribute("aria-selected") == "true"
    shot(page, "console-queue.png")
    row_link.click()
    page.wait_for_url(f"**/console/cases/{case.number}/")
    page.locator("#case-map[data-grid-shown='true']").wait_for()  # the grid's outline
    assert page.locator("[data-dialog-open='dialog-dispatch']").count() == 0  # not the operator's
    page.click("form[data-action='accept'] button[type=submit]")
    page.locator(".state-badge[data-state='accepted']").wait_for()
    assert Case.objects.get(pk=case.pk).state == Case.State.ACCEPTED
    page.locator("#case-map[data-grid-shown='true']").wait_for()
    shot(page, "console-case-accepted.png", full_page=True)
    assert errors == []

    # The commander opens the dispatch dialog: the matrix's department is already chosen.
    commander = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    errors = watch_errors(commander)
    sign_in(commander, live_server, "commander", f"/console/cases/{case.number}/")
    commander.click("[data-dialog-open='dialog-dispatch']")
    dialog = commander.locator("#dialog-dispatch")
    dialog.wait_for(state="visible")
    assert dialog.locator("select[name=department]").input_value() == "shizheng"
    shot(commander, "console-dispatch-dialog.png")
    dialog.locator("button[type=submit]").click()
    commander.locator(".state-badge[data-state='dispatched']").wait_for()
    dispatched = Case.objects.get(pk=case.pk)
    assert dispatched.state == Case.State.DISPATCHED
    assert dispatched.owner_department.code == "shizheng"
    assert commander.locator(".message-success").count() == 1
    commander.locator("#case-map[data-grid-shown='true']").wait_for()
    shot(commander, "console-case-dispatched.png", full_page=True)
    assert errors == []


def test_the_open_cases_map_draws_the_cases_in_scope(cast, live_server, browser):
    report(cast.grid_worker_a)
    late = report(cast.grid_worker_a, at=(116.32, 39.925))
    Case.objects.filter(pk=late.pk).update(is_overdue=True)
    report(cast.grid_worker_b, at=IN_GRID_B)
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    errors = watch_errors(page)
    sign_in(page, live_server, "officer_a", "/console/map/")
    expect(page.locator("#cases-map-status")).to_contain_text("2")
    page.locator("#cases-map[data-outlines-shown='true']").wait_for()

    # A click on the red (overdue) marker opens its popup, which links to the case.
    x, y = page.evaluate(
        """([lat, lng]) => {
            const point = document.getElementById('cases-map').leafletMap
                .latLngToContainerPoint([lat, lng]);
            return [point.x, point.y];
        }""",
        [late.lat, late.lng],
    )
    box = page.locator("#cases-map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    popup = page.locator(".case-popup")
    popup.wait_for()
    assert late.number in popup.inner_text()
    page.wait_for_timeout(300)  # the popup fades in
    shot(page, "console-map.png")
    popup.locator("a").first.click()
    page.wait_for_url(f"**/console/cases/{late.number}/")
    assert errors == []


def test_a_grid_worker_reports_a_case_on_a_phone(cast, live_server, browser, tmp_path):
    category()
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (180, 40, 40)).save(photo, "PNG")
    lng, lat = IN_GRID_A
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        geolocation={"longitude": lng, "latitude": lat, "accuracy": 12},
        permissions=["geolocation"],
    )
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, live_server, "worker_a", "/m/report/")

    page.locator("#location-status").filter(has_text="116.31").wait_for()
    page.fill("#category-search", "测试事项")
    page.locator(".m-option").first.click()
    assert page.locator("#category-chosen").is_visible()
    page.fill("#description", "人行道井盖破损")
    page.set_input_files("#photo", str(photo))
    page.fill("#address", "测试路1号")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "mobile-report-form.png", full_page=True)
    page.click("#report-submit")

    page.locator("#report-done").wait_for(state="visible")
    number = page.locator("#done-number").inner_text()
    assert NUMBER.match(number), number
    case = Case.objects.get(number=number)
    assert case.reporter == cast.grid_worker_a
    assert case.grid.code == "110102001001001"
    assert case.description == "人行道井盖破损"
    assert CasePhoto.objects.filter(case=case, kind="before").count() == 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width}px)"
    shot(page, "mobile-report-done.png")

    # The task list and a case page fit the phone too.
    department("shizheng", rule_for=category())
    task = act(report(cast.grid_worker_b, at=IN_GRID_A), "accept", cast.operator)
    act(task, "dispatch", cast.commander, user="worker_a")
    page.goto(f"{live_server.url}/m/")
    page.locator(".m-card").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "mobile-tasks.png", full_page=True)
    page.locator(".m-card").first.click()
    page.locator(".m-case-header").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "mobile-case.png", full_page=True)
    assert errors == []
    context.close()
