"""The Content-Security-Policy does not break the pages: Chromium reports no violation on the map,
the console, a case page with its map, the phone report form and the TOTP enrolment page."""

import os

import pytest

from wangge.cases.tests.factories import report
from wangge.testing.browser import require_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

require_chromium()

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def watch(page, problems: list[str]) -> None:
    """Collect script errors and the console's CSP violation reports, with the page's address."""
    page.on("pageerror", lambda exc: problems.append(f"{page.url}: {exc}"))

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            problems.append(f"{page.url}: {message.text}")

    page.on("console", on_console)


def test_no_page_breaks_the_content_security_policy(cast, live_server, browser, settings):
    # Tiles from another origin (127.0.0.1 instead of localhost): img-src must name that host.
    port = live_server.url.rsplit(":", 1)[1]
    settings.WANGGE_TILE_URL = (
        f"http://127.0.0.1:{port}/static/vendor/leaflet/images/layers.png?{{z}}/{{x}}/{{y}}"
    )
    settings.WANGGE_REQUIRE_TOTP = True
    case = report(cast.grid_worker_a, reporter_name="李四")
    page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    problems: list[str] = []
    watch(page, problems)
    tiles: list[str] = []
    page.on(
        "requestfinished",
        lambda request: (
            tiles.append(request.url)
            if "{" not in request.url and "layers.png?" in request.url
            else None
        ),
    )

    # The commander must enrol TOTP first: the enrolment page with its QR code.
    page.goto(f"{live_server.url}/accounts/login/?next=/map/")
    page.fill("input[name=username]", "commander")
    page.fill("input[name=password]", "pw-commander")
    page.click(".login-form button[type=submit]")
    page.wait_for_url("**/accounts/totp/enrol/**")
    page.locator("img[src^='data:image/svg+xml']").wait_for()

    settings.WANGGE_REQUIRE_TOTP = False
    page.goto(f"{live_server.url}/map/")
    page.locator("#map.leaflet-container").wait_for()
    page.locator("#region-tree .tree-label[data-code='110102001']").wait_for()
    page.wait_for_load_state("networkidle")
    assert tiles, "no map tile was loaded from the tile host"

    page.goto(f"{live_server.url}/console/")
    page.click("#tab-reported")  # HTMX
    page.locator(f"#queue-panel a:text-is('{case.number}')").wait_for()
    page.goto(f"{live_server.url}/console/cases/{case.number}/")
    page.locator("#case-map[data-grid-shown='true']").wait_for()

    worker = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    watch(worker, problems)
    worker.goto(f"{live_server.url}/accounts/login/?next=/m/report/")
    worker.fill("input[name=username]", "worker_a")
    worker.fill("input[name=password]", "pw-worker_a")
    worker.click(".login-form button[type=submit]")
    worker.wait_for_url("**/m/report/")
    worker.wait_for_load_state("networkidle")

    assert problems == []
