"""Traffic lights show their colour wherever they are drawn: read back from a real browser.

A page stylesheet loaded after site.css once redefined ``.light`` and painted every light grey; this
reads the computed colour of a green, a yellow and a red light on the console queue, the case header,
a phone card and the case-map legend, and checks that they differ and match the legend.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from wangge.cases.models import Case
from wangge.cases.tests.factories import report
from wangge.testing.browser import require_chromium

SHOTS = (
    Path(__file__).resolve().parents[3]
    / ("docs" if os.environ.get("WANGGE_UPDATE_DOC_SCREENSHOTS") else "var")
    / "screenshots"
)
GREY = "rgb(173, 181, 189)"  # --light-none: "no deadline"

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


def public_report_with_light(light: str) -> Case:
    """A citizen's report in grid A (to confirm), its deadline set so its light is ``light``."""
    case = report(None, source=Case.Source.CITIZEN_APP)
    now = timezone.now()
    started, deadline, overdue = {
        "green": (now - timedelta(hours=1), now + timedelta(days=10), False),
        "yellow": (now - timedelta(days=9), now + timedelta(days=1), False),
        "red": (now - timedelta(days=2), now - timedelta(hours=1), True),
    }[light]
    Case.objects.filter(pk=case.pk).update(
        stage_started_at=started, stage_deadline=deadline, stage_unit="minute", is_overdue=overdue
    )
    return case


def colour(locator) -> str:
    locator.first.wait_for()
    return locator.first.evaluate("element => getComputedStyle(element).backgroundColor")


def colours_in(page, scope: str) -> dict[str, str]:
    return {
        light: colour(page.locator(f"{scope} .light.light-{light}"))
        for light in ("green", "yellow", "red")
    }


def test_green_yellow_and_red_lights_show_their_colours_everywhere(cast, live_server, browser):
    cases = {light: public_report_with_light(light) for light in ("green", "yellow", "red")}

    page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    sign_in(page, live_server, "commander", "/console/map/")
    legend = colours_in(page, ".legend")
    assert len(set(legend.values())) == 3, legend
    assert GREY not in legend.values()
    # The case map's markers take their colours from the same custom properties as the legend.
    markers = {
        light: page.evaluate(
            f"getComputedStyle(document.documentElement).getPropertyValue('--light-{light}')"
        ).strip()
        for light in legend
    }
    assert all(markers.values()) and len(set(markers.values())) == 3, markers

    page.goto(f"{live_server.url}/console/?queue=checking")
    queue = colours_in(page, "#queue-panel")
    assert queue == legend
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "lights-console-queue.png"))

    headers = {}
    for light, case in cases.items():
        page.goto(f"{live_server.url}/console/cases/{case.number}/")
        headers[light] = colour(page.locator(f".case-header .light-{light}"))
    assert headers == legend

    phone = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True, locale="zh-CN")
    sign_in(phone, live_server, "worker_a", "/m/")
    cards = colours_in(phone, ".m-page")
    assert cards == legend
    phone.screenshot(path=str(SHOTS / "lights-phone-tasks.png"), full_page=True)
