"""QR codes of rented houses: label sheets whose codes are the houses' URLs, the QR page for a
grid worker in scope (a scan with its location), the same 404 for everyone else, rotation, and the
scan rate per grid and per grid worker."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from wangge.core.models import AuditLog
from wangge.registry import qrcodes
from wangge.registry.models import HouseScan
from wangge.registry.tests import factories as f
from wangge.testing.factories import client_for, make_user

LABEL_RE = re.compile(
    r'<g class="qr-label" data-house="(\d+)" data-url="([^"]+)">.*?'
    r'<g class="qr" transform="[^"]+"><path fill="#000" d="([^"]*)"/></g>',
    re.DOTALL,
)
RUN_RE = re.compile(r"M(\d+) (\d+)h(\d+)v1h-\d+z")


def _drawn_modules(path: str) -> set[tuple[int, int]]:
    dark = set()
    for x, y, length in RUN_RE.findall(path):
        dark.update((int(x) + i, int(y)) for i in range(int(length)))
    return dark


def _matrix_modules(url: str) -> set[tuple[int, int]]:
    matrix = qrcodes.make_code(url).matrix
    return {(x, y) for y, row in enumerate(matrix) for x, bit in enumerate(row) if bit}


@pytest.mark.django_db
def test_a_label_sheet_holds_one_code_per_rented_house_of_the_building_with_its_url(cast):
    building = f.building()
    rented = [f.house(building, rented=True) for _ in range(4)]
    f.house(building, rented=False)
    elsewhere = f.house(grid_code=f.GRID_B, rented=True)
    worker = client_for(cast.grid_worker_a)

    response = worker.get(
        reverse("api:house-qr-labels"), {"building": building.pk, "columns": 2, "rows": 3}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert (response["X-Labels"], response["X-Total-Pages"]) == ("4", "1")
    svg = response.content.decode()
    assert 'width="210mm" height="297mm"' in svg
    labels = LABEL_RE.findall(svg)
    assert len(labels) == 4
    by_house = {int(house): (url, path) for house, url, path in labels}
    assert set(by_house) == {house.pk for house in rented}
    for house in rented:
        url, path = by_house[house.pk]
        assert url == f"http://testserver/q/{house.qr_token}/"
        # The drawn modules are exactly segno's matrix for that URL.
        assert _drawn_modules(path) == _matrix_modules(url)
        assert house.building.address in svg

    # A selection that names a house of another grid simply does not get it.
    picked = worker.get(
        reverse("api:house-qr-labels"), {"ids": f"{rented[0].pk},{elsewhere.pk}"}
    ).content.decode()
    assert [int(h) for h, _u, _p in LABEL_RE.findall(picked)] == [rented[0].pk]
    # Without a filter: every rented house in the scope.
    everything = worker.get(reverse("api:house-qr-labels"))
    assert everything["X-Labels"] == "4"


@pytest.mark.django_db
def test_label_sheets_page_through_a_grid(cast, client):
    houses = [f.house(rented=True) for _ in range(5)]
    worker = client_for(cast.grid_worker_a)
    query = {"region": f.GRID_A, "columns": 1, "rows": 2}
    first = worker.get(reverse("api:house-qr-labels"), query)
    assert first["X-Total-Pages"] == "3"
    last = worker.get(reverse("api:house-qr-labels"), {**query, "page": 3})
    assert len(LABEL_RE.findall(last.content.decode())) == 1
    assert worker.get(reverse("api:house-qr-labels"), {**query, "page": 4}).status_code == 400

    client.force_login(cast.grid_worker_a)
    page = client.get(reverse("web:registry-qr-labels"), {"region": f.GRID_A})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="qr-sheet"') == 1
    assert len(LABEL_RE.findall(html)) == len(houses)


@pytest.mark.django_db
def test_a_single_code_comes_as_svg_pdf_or_png(cast):
    house = f.house(rented=True)
    worker = client_for(cast.grid_worker_a)
    url = reverse("api:house-qr", args=[house.pk])
    assert worker.get(url).content.lstrip().startswith(b"<?xml")
    assert worker.get(url, {"kind": "pdf"}).content.startswith(b"%PDF")
    assert worker.get(url, {"kind": "png"}).content.startswith(b"\x89PNG")
    assert worker.get(url, {"kind": "gif"}).status_code == 400
    assert client_for(cast.grid_worker_b).get(url).status_code == 404


@pytest.mark.django_db
def test_the_qr_page_shows_a_worker_in_scope_the_house_and_logs_the_scan(cast, client):
    house = f.house(rented=True)
    number = f.resident_id(date(1992, 2, 2))
    f.register(house, name="赵六", id_number=number, relation="tenant")
    client.force_login(cast.grid_worker_a)

    page = client.get(reverse("web:qr-house", args=[house.qr_token]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "赵六" in html
    assert number[:6] + "********" + number[-4:] in html
    assert number not in html
    assert "no-store" in page["Cache-Control"]
    scan = HouseScan.objects.get()
    assert (scan.house, scan.user, scan.region_code) == (house, cast.grid_worker_a, f.GRID_A)
    assert scan.lng is None

    locate = reverse("web:qr-locate", args=[house.qr_token])
    sent = client.post(locate, {"scan": scan.pk, "lng": "116.31", "lat": "39.93", "accuracy": "12"})
    assert sent.status_code == 204
    scan.refresh_from_db()
    assert (scan.lng, scan.lat, scan.accuracy_m) == (116.31, 39.93, 12.0)
    # Once only, and only the user's own recent scan.
    assert client.post(locate, {"scan": scan.pk, "lng": "1", "lat": "1"}).status_code == 404
    assert client.post(locate, {"scan": scan.pk + 1, "lng": "1", "lat": "1"}).status_code == 404
    second = client.get(reverse("web:qr-house", args=[house.qr_token]))
    assert second.status_code == 200
    newest = HouseScan.objects.latest("id")
    assert client.post(locate, {"scan": newest.pk, "lng": "x", "lat": "1"}).status_code == 400

    client.force_login(cast.grid_worker_b)
    assert client.post(locate, {"scan": newest.pk, "lng": "1", "lat": "1"}).status_code == 404

    # The scans are listed for the house.
    scans = client_for(cast.grid_worker_a).get(reverse("api:house-scans", args=[house.pk])).json()
    assert [s["username"] for s in scans] == ["worker_a", "worker_a"]


def _the_page(response, path: str) -> str:
    """The 404 page without what differs by request: its own address (the language form sends
    the user back to it) and the form's CSRF token (masked anew for every page)."""
    text = response.content.decode().replace(path, "PATH")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)


@pytest.mark.django_db
def test_outside_the_scope_the_qr_page_is_the_same_404_as_an_unknown_code(cast, client):
    house = f.house(rented=True)
    unknown = reverse("web:qr-house", args=["A" * 22])
    known = reverse("web:qr-house", args=[house.qr_token])
    for user in (cast.grid_worker_b, cast.other_community_officer, cast.department_handler):
        client.force_login(user)
        outside, missing = client.get(known), client.get(unknown)
        assert outside.status_code == missing.status_code == 404
        assert _the_page(outside, known) == _the_page(missing, unknown)
    assert not HouseScan.objects.exists()
    # Inside the scope, higher up: a community officer's visit counts as a scan too.
    client.force_login(cast.community_officer)
    assert client.get(known).status_code == 200
    assert HouseScan.objects.get().user == cast.community_officer


@pytest.mark.django_db
def test_rotating_the_token_retires_the_old_code(cast, client):
    house = f.house(rented=True)
    old_url = reverse("web:qr-house", args=[house.qr_token])
    officer = client_for(cast.community_officer)

    rotated = officer.post(reverse("api:house-qr-rotate", args=[house.pk]))
    assert rotated.status_code == 200
    token = rotated.json()["qr_token"]
    assert token != house.qr_token and len(token) >= 20
    assert rotated.json()["url"] == f"http://testserver/q/{token}/"
    assert Client().get(old_url).status_code == 404
    assert Client().get(reverse("web:qr-house", args=[token])).status_code == 200
    client.force_login(cast.grid_worker_a)
    assert client.get(old_url).status_code == 404
    row = AuditLog.objects.get(action="registry.house_qr_rotate")
    assert house.qr_token not in repr(row.details) and token not in repr(row.details)

    assert (
        client_for(cast.grid_worker_b)
        .post(reverse("api:house-qr-rotate", args=[house.pk]))
        .status_code
        == 404
    )
    assert (
        client_for(cast.street_dispatcher)
        .post(reverse("api:house-qr-rotate", args=[house.pk]))
        .status_code
        == 403
    )


@pytest.mark.django_db
def test_the_scan_rate_counts_rented_houses_scanned_in_the_period_per_grid_and_worker(cast):
    with time_machine.travel("2026-05-20 10:00+08:00", tick=False):
        a1, a2, a3, a4 = (f.house(rented=True) for _ in range(4))
        f.house(rented=False)  # not counted
        b1 = f.house(grid_code=f.GRID_B, rented=True)
        helper = make_user("worker_a2", role="grid_worker", scope=f.GRID_A)
        now = timezone.now()
        qrcodes.house_scan_log(house=a1, user=cast.grid_worker_a, now=now)
        qrcodes.house_scan_log(house=a1, user=cast.grid_worker_a, now=now)  # counts once
        qrcodes.house_scan_log(house=a2, user=helper, now=now)
        qrcodes.house_scan_log(house=a3, user=cast.grid_worker_a, now=now - timedelta(days=30))
        qrcodes.house_scan_log(house=b1, user=cast.grid_worker_b, now=now)

        report = client_for(cast.community_officer).get(reverse("api:scan-rate")).json()
        assert (report["since"], report["until"]) == ("2026-05-01", "2026-05-20")
        rows = {row["code"]: row for row in report["rows"]}
        assert rows[f.GRID_A]["rented_houses"] == 4
        assert rows[f.GRID_A]["scanned_houses"] == 2
        assert rows[f.GRID_A]["scan_rate"] == 0.5
        assert f.GRID_B not in rows  # outside the officer's scope
        assert all(row["scan_rate"] is None for code, row in rows.items() if code != f.GRID_A)

        by_worker = client_for(cast.commander).get(reverse("api:scan-rate"), {"by": "worker"})
        workers = {row["username"]: row for row in by_worker.json()["rows"]}
        assert workers["worker_a"]["scanned_houses"] == 1
        assert workers["worker_a"]["scan_rate"] == 0.25
        assert workers["worker_a2"]["scan_rate"] == 0.25
        assert workers["worker_b"]["scan_rate"] == 1.0

        april = client_for(cast.commander).get(
            reverse("api:scan-rate"), {"since": "2026-04-01", "until": "2026-04-30"}
        )
        april_rows = {row["code"]: row for row in april.json()["rows"]}
        assert april_rows[f.GRID_A]["scanned_houses"] == 1  # a3, on 20 April
        assert a4.pk  # never scanned
        bad = client_for(cast.commander).get(
            reverse("api:scan-rate"), {"since": "2026-05-02", "until": "2026-05-01"}
        )
        assert bad.status_code == 400
