"""The phone's report page and verify panel in a real browser: what the system knows, it shows.

A grid worker at 360 px sees the grid of the point he stands on, a warning outside his own grid,
a case of the same category reported nearby before he sends (and again after), and can add his
support instead; a verifier sees what the handler said and the after photo beside the verify form.
"""

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from wangge.cases.models import Case
from wangge.cases.photos import prepare_photo
from wangge.cases.services import case_act
from wangge.cases.tests.factories import IN_GRID_A, IN_GRID_B, act, category, handler, report
from wangge.cases.tests.factories import department as make_department
from wangge.regions.models import Grid
from wangge.testing.browser import require_chromium

# The pictures in docs/ are refreshed only on request, so a test run leaves the checkout clean.
SCREENSHOTS = (
    Path(__file__).resolve().parents[3]
    / ("docs" if os.environ.get("WANGGE_UPDATE_DOC_SCREENSHOTS") else "var")
    / "screenshots"
)
NEAR_A = (IN_GRID_A[0] + 0.00004, IN_GRID_A[1])  # ≈ 3 m east of IN_GRID_A

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

require_chromium()

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def phone(browser, at: tuple[float, float]):
    return browser.new_context(
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        geolocation={"longitude": at[0], "latitude": at[1], "accuracy": 8},
        permissions=["geolocation"],
    )


def sign_in(page, live_server, username: str, next_path: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click(".login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_path}")


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width}px)"


def choose_category(page) -> None:
    page.fill("#category-search", "测试事项")
    page.locator(".m-option").first.click()


def test_a_grid_worker_sees_a_nearby_report_before_and_after_sending_and_supports_it(
    cast, live_server, browser
):
    category()
    grid_a = Grid.objects.get(code="110102001001001", layer_id="social")
    earlier = report(cast.community_officer)  # in grid A, which worker_a may see
    context = phone(browser, NEAR_A)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server, "worker_a", "/m/report/")

    # Located: the grid's name, no warning (it is his own grid).
    expect(page.locator("#location-grid")).to_contain_text(grid_a.name)
    assert page.locator("#outside-warning").is_hidden()

    # The category chosen: the earlier report is named, 3 m away, with the time it was made.
    choose_category(page)
    duplicate = page.locator(f"#duplicate-list [data-number='{earlier.number}']")
    expect(duplicate).to_be_visible()
    expect(duplicate).to_contain_text("3 米外")
    expect(duplicate).to_contain_text("已有人")
    page.fill("#description", "井盖又松动了")
    page.click("#report-submit")  # not yet: add support or report anyway
    expect(page.locator("#report-error")).to_contain_text("仍要上报")
    fits(page)
    shot(page, "mobile-report-duplicate.png")
    assert Case.objects.count() == 1

    # Report anyway: sent; the answer names the same case, with the offer to withdraw into it.
    page.click("#report-anyway")
    page.locator("#report-done").wait_for(state="visible")
    mine = Case.objects.get(number=page.locator("#done-number").inner_text())
    after = page.locator(f"#done-duplicate-list [data-number='{earlier.number}']")
    expect(after).to_be_visible()
    expect(after).to_contain_text("3 米外")
    fits(page)
    shot(page, "mobile-report-duplicate-after.png")

    after.locator("[data-support]").click()
    expect(page.locator("#support-done")).to_be_visible()
    expect(page.locator("#support-text")).to_contain_text(earlier.number)
    mine.refresh_from_db()
    assert mine.merged_into_id == earlier.pk and mine.outcome == "duplicate"
    assert Case.objects.get(pk=earlier.pk).supporters == 1
    assert errors == []
    context.close()


def test_a_point_outside_the_workers_grid_warns_and_asks_before_sending(cast, live_server, browser):
    category()
    grid_b = Grid.objects.get(code="110102003002004", layer_id="social")
    context = phone(browser, IN_GRID_B)
    page = context.new_page()
    sign_in(page, live_server, "worker_a", "/m/report/")

    warning = page.locator("#outside-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("不在您负责的网格内")
    expect(warning).to_contain_text(grid_b.name)
    choose_category(page)
    page.fill("#description", "路灯不亮")
    page.click("#report-submit")
    expect(page.locator("#report-error")).to_contain_text("请先确认")
    assert Case.objects.count() == 0
    fits(page)

    page.check("#outside-confirm")
    page.click("#report-submit")
    page.locator("#report-done").wait_for(state="visible")
    assert Case.objects.get().region_code == grid_b.code
    context.close()


def after_photo() -> io.BytesIO:
    stream = io.BytesIO()
    Image.new("RGB", (80, 60), (40, 140, 60)).save(stream, "PNG")
    stream.seek(0)
    return stream


def test_the_verify_panel_shows_what_the_handler_said_and_the_after_photo(
    cast, live_server, browser
):
    dept = make_department("shizheng", rule_for=category())
    clerk = handler("clerk", dept)
    case = act(report(cast.grid_worker_b, at=IN_GRID_A), "accept", cast.operator)
    act(case, "dispatch", cast.commander, department="shizheng")
    act(case, "acknowledge", clerk)
    case_act(
        number=case.number,
        action="handle",
        actor=clerk,
        data={"result": "已更换井盖并设置警示"},
        photos=[prepare_photo(kind="after", stream=after_photo())],
    )

    context = phone(browser, IN_GRID_A)
    page = context.new_page()
    sign_in(page, live_server, "worker_a", f"/m/cases/{case.number}/")
    panel = page.locator("details[data-action='verify'] .handling-report")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("已更换井盖并设置警示")
    expect(panel).to_contain_text("clerk")
    image = panel.locator("img")
    expect(image).to_have_count(1)
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    fits(page)
    panel.scroll_into_view_if_needed()
    shot(page, "mobile-verify.png")
    context.close()

    # The console's action panel shows the same to the operator.
    desk = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    sign_in(desk, live_server, "operator", f"/console/cases/{case.number}/")
    console_panel = desk.locator("details[data-action='verify'] .handling-report")
    desk.locator("details[data-action='verify'] summary").click()
    expect(console_panel).to_contain_text("已更换井盖并设置警示")
    expect(console_panel.locator("img")).to_have_count(1)
    desk.close()
