"""The map page in a real browser: Debian's Chromium driven by Playwright (no downloaded browser)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from wangge.testing.browser import require_chromium
from wangge.testing.factories import make_user

SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

require_chromium()

# Playwright's sync API runs an event loop in this thread; the Django ORM calls made by the test's
# own set-up are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next=/map/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click(".login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/map/")


def test_a_community_officer_sees_the_tree_selects_a_grid_and_searches(
    territory, live_server, browser
):
    make_user("officer", role="community_officer", scope="110102001001")
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server, "officer")

    tree = page.locator("#region-tree")
    tree.locator(".tree-label[data-code='110102001001']").wait_for()
    assert "110102003" not in tree.inner_text()  # another street: outside the scope

    tree.locator(".tree-label[data-code='110102001001']").click()
    card = page.locator("#card")
    card.wait_for(state="visible")
    assert "110102001001" in card.inner_text()

    page.fill("#search-input", "第2网格")
    option = page.locator(".search-option").first
    option.wait_for()
    option.click()
    # expect() polls from Playwright's side: a string predicate would need 'unsafe-eval' (CSP).
    expect(page.locator("#card-title")).to_contain_text("第2网格")
    assert "110102001001002" in card.inner_text()
    assert "区域树" in page.content()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "map-community-officer.png"))
    assert errors == []


def test_the_map_works_on_a_phone_sized_screen(territory, live_server, browser):
    make_user("commander", role="district_commander", scope="110102")
    page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    sign_in(page, live_server, "commander")
    page.locator("#map.leaflet-container").wait_for()
    toggle = page.locator("#tree-toggle")
    assert toggle.is_visible()
    toggle.click()
    page.locator("#region-tree .tree-label[data-code='110102003']").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width}px)"


SHOT_DIR = SHOTS  # docs/screenshots/ holds the card taken on the demo district


def test_a_grid_card_names_its_worker_and_links_to_its_registry_and_cases(
    cast, live_server, browser
):
    cast.grid_worker_a.last_name, cast.grid_worker_a.first_name = "王", "小明"
    cast.grid_worker_a.save(update_fields=["last_name", "first_name"])
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server, "commander")
    page.locator("#region-tree .tree-label[data-code='110102001']").wait_for()
    assert page.locator(".grid-label").count() == 0  # no grid names at district zoom

    page.goto(f"{live_server.url}/map/#grid=social/110102001001001")
    card = page.locator("#card")
    expect(page.locator("#card-title")).to_have_text("社区001第1网格")
    expect(card).to_contain_text("网格员")
    expect(card).to_contain_text("王小明")
    assert "worker_a" not in card.inner_text()
    registry = card.locator("#card-links a", has_text="本网格人口房屋")
    cases = card.locator("#card-links a", has_text="本网格案件")
    assert registry.get_attribute("href") == "/registry/grids/110102001001001/"
    assert cases.get_attribute("href") == "/console/?region=110102001001001"

    # Names come in once the grids are big enough on screen to hold them.
    zoom_in = page.locator(".leaflet-control-zoom-in")
    for _ in range(3):
        if page.locator(".grid-label").count():
            break
        zoom_in.click()
        page.wait_for_timeout(400)
    expect(page.locator(".grid-label", has_text="社区001第1网格")).to_have_count(1)
    SHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOT_DIR / "map-grid-card-links.png"))

    # Zooming out stops near the district: the zoom-out button gives up after a few steps.
    zoom_out = page.locator(".leaflet-control-zoom-out")
    for _ in range(15):
        if "leaflet-disabled" in (zoom_out.get_attribute("class") or ""):
            break
        zoom_out.click()
        page.wait_for_timeout(300)
    assert "leaflet-disabled" in zoom_out.get_attribute("class")
    assert page.locator(".grid-label").count() == 0

    registry_url = f"{live_server.url}/map/#grid=social/110102001001001"
    page.goto(registry_url)
    page.locator("#card-links a", has_text="本网格人口房屋").click()
    page.wait_for_url(f"{live_server.url}/registry/grids/110102001001001/")
    assert errors == []


def test_a_unit_grid_card_shows_a_dash_for_households_and_no_worker(cast, live_server, browser):
    page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True, locale="zh-CN")
    sign_in(page, live_server, "commander")
    page.goto(f"{live_server.url}/map/#grid=unit/110102001001001")
    card = page.locator("#card")
    expect(page.locator("#card-title")).to_have_text("单元网格001")
    facts = dict(
        zip(
            card.locator("dt").all_inner_texts(),
            card.locator("dd").all_inner_texts(),
            strict=True,
        )
    )
    assert facts["户数"] == "—"
    assert "网格员" not in facts
    assert card.locator("#card-links").is_hidden()
    # The social grid of the same code on a phone: worker, links, and nothing wider than the screen.
    page.goto(f"{live_server.url}/map/#grid=social/110102001001001")
    expect(card).to_contain_text("未登记姓名")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width}px)"
    SHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOT_DIR / "map-grid-card-links-phone.png"))
