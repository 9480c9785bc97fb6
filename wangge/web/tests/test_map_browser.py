"""The map page in a real browser: Debian's Chromium driven by Playwright (no downloaded browser)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from wangge.regions.tests.factories import make_user

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

if not CHROMIUM.exists():
    # `make test` installs Debian's chromium; only a hand-run pytest without it gets here, and CI
    # (CI=true) must never silently pass without the browser.
    if os.environ.get("CI"):
        raise RuntimeError("Debian's chromium is missing: `make test` installs it")
    pytest.skip(
        "Debian's chromium is not installed (make test installs it)", allow_module_level=True
    )

# Playwright's sync API runs an event loop in this thread; the Django ORM calls made by the test's
# own set-up are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


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
