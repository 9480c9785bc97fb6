"""The console (/console/) and the phone pages (/m/) through Django's test client."""

import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from wangge.cases.models import Case, CaseEvent, CasePhoto
from wangge.cases.photos import case_photo_add
from wangge.cases.tests.factories import IN_GRID_A, IN_GRID_B, act, category, department, report

pytestmark = pytest.mark.django_db

S = Case.State


def console(client, **params):
    return client.get(reverse("web:console"), params)


def case_url(case):
    return reverse("web:console-case", args=[case.number])


def numbers_in(response):
    return set(re.findall(r"\d{6}-\d{4}-\d{6}", response.content.decode()))


def png() -> io.BytesIO:
    stream = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(stream, "PNG")
    stream.seek(0)
    stream.name = "photo.png"
    return stream


@pytest.fixture
def accepted(cast):
    """A case in grid A, accepted and waiting for dispatch; the matrix suggests shizheng."""
    department("shizheng", rule_for=category())
    department("yuanlin")
    case = report(cast.grid_worker_a)
    return act(case, "accept", cast.operator)


# Access ------------------------------------------------------------------------------------------


def test_the_console_needs_a_login(client):
    response = console(client)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_someone_without_a_role_may_not_open_the_console(cast, client):
    client.force_login(cast.nobody)
    assert console(client).status_code == 403
    assert client.get(reverse("web:mobile-tasks")).status_code == 403


# Queues and counts ---------------------------------------------------------------------------------


def test_a_community_officer_sees_only_their_communitys_cases_and_counts(cast, client):
    mine = report(cast.grid_worker_a)
    theirs = report(cast.grid_worker_b, at=IN_GRID_B)
    client.force_login(cast.community_officer)

    response = console(client, queue="reported")

    assert response.status_code == 200
    assert numbers_in(response) == {mine.number}
    counts = response.context["counts"]
    assert counts["reported"] == 1 and counts["open"] == 1
    assert theirs.number not in response.content.decode()

    client.force_login(cast.commander)
    response = console(client, queue="reported")
    assert numbers_in(response) == {mine.number, theirs.number}
    assert response.context["counts"]["open"] == 2


def test_each_queue_holds_its_stages_and_the_summary_counts_flags(cast, client, accepted):
    checking = report(None, source=Case.Source.CITIZEN_APP)
    reported = report(cast.grid_worker_a)
    dispatched = act(report(cast.grid_worker_a), "accept", cast.operator)
    dispatched = act(dispatched, "dispatch", cast.commander, department="shizheng")
    act(dispatched, "supervise", cast.commander)
    client.force_login(cast.commander)

    counts = console(client).context["counts"]

    assert counts["checking"] == 1
    assert counts["reported"] == 1
    assert counts["accepted"] == 1
    assert counts["handling"] == 1
    assert counts["handled"] == 0
    assert counts["open"] == 4
    assert counts["supervised"] == 1
    assert numbers_in(console(client, queue="checking")) == {checking.number}
    assert numbers_in(console(client, queue="reported")) == {reported.number}
    assert numbers_in(console(client, queue="accepted")) == {accepted.number}
    assert numbers_in(console(client, queue="handling")) == {dispatched.number}


def test_the_closed_queue_lists_cases_closed_in_the_last_seven_days(cast, client):
    old = act(
        report(
            cast.grid_worker_a,
            self_handle=True,
            self_handle_result="已清理",
            cat=category("T0002", self_handling=True),
        ),
        "verify",
        cast.operator,
        result="pass",
        outcome="fixed",
    )
    recent = act(
        report(
            cast.grid_worker_a,
            self_handle=True,
            self_handle_result="已清理",
            cat=category("T0002", self_handling=True),
        ),
        "verify",
        cast.operator,
        result="pass",
        outcome="fixed",
    )
    from datetime import timedelta

    Case.objects.filter(pk=old.pk).update(closed_at=old.closed_at - timedelta(days=8))
    client.force_login(cast.commander)

    response = console(client, queue="closed")

    assert numbers_in(response) == {recent.number}
    assert response.context["counts"]["closed"] == 1


def test_a_queue_lists_overdue_cases_first_with_a_red_light(cast, client):
    first = report(cast.grid_worker_a)
    late = report(cast.grid_worker_a)
    Case.objects.filter(pk=late.pk).update(is_overdue=True)
    client.force_login(cast.commander)

    response = console(client, queue="reported")

    rows = response.context["rows"]
    assert [row.case.number for row in rows] == [late.number, first.number]
    assert rows[0].light == "red" and rows[1].light == "green"
    assert "light-red" in response.content.decode()
    assert rows[1].time_left  # e.g. "1 d 2 h left"


def test_the_console_filters_by_category_and_region(cast, client):
    pothole = report(cast.grid_worker_a)
    litter = report(cast.grid_worker_a, cat=category("T0009"))
    east = report(cast.grid_worker_b, at=IN_GRID_B)
    client.force_login(cast.commander)

    assert numbers_in(console(client, queue="reported", category="T0009")) == {litter.number}
    by_region = console(client, queue="reported", region="110102001")
    assert numbers_in(by_region) == {pothole.number, litter.number}
    assert by_region.context["counts"]["reported"] == 2
    assert east.number in console(client, queue="reported").content.decode()
    bad = client.get(
        reverse("web:console"), {"queue": "reported", "region": "abc"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert bad.status_code == 200 and "6 to 15 digits" in bad.content.decode()


def test_a_queue_tab_loads_its_list_alone_for_htmx_and_redirects_a_plain_request(cast, client):
    case = report(cast.grid_worker_a)
    client.force_login(cast.commander)
    url = reverse("web:console-queue", args=["reported"])

    partial = client.get(url, {"region": "110102"}, HTTP_HX_REQUEST="true")
    plain = client.get(url, {"region": "110102"})

    assert partial.status_code == 200
    assert case.number in partial.content.decode()
    assert "<html" not in partial.content.decode()
    assert plain.status_code == 302
    assert plain["Location"] == f"{reverse('web:console')}?queue=reported&region=110102"
    assert client.get(reverse("web:console-queue", args=["nope"])).status_code == 404


def test_the_queue_pages_by_fifty(cast, client):
    for _ in range(51):
        report(cast.grid_worker_a)
    client.force_login(cast.commander)

    first = console(client, queue="reported")
    second = console(client, queue="reported", page=2)

    assert len(first.context["rows"]) == 50
    assert len(second.context["rows"]) == 1
    assert first.context["counts"]["reported"] == 51


def test_the_console_list_makes_the_same_few_queries_however_many_cases(
    cast, client, django_assert_max_num_queries, settings
):
    # The test settings re-read the working calendar on every use (3 queries per traffic light)
    # and a user's roles on every question (2 queries); in production both are cached for
    # seconds, as here.
    settings.WANGGE_CALENDAR_RECHECK_SECONDS = 3600.0
    settings.WANGGE_ACCESS_RECHECK_SECONDS = 3600.0
    department("shizheng", rule_for=category())
    for _ in range(3):
        case = act(report(cast.grid_worker_a), "accept", cast.operator)
        act(case, "dispatch", cast.commander, user="worker_a")
    client.force_login(cast.commander)
    console(client, queue="handling")  # warm the working calendar's cache

    with django_assert_max_num_queries(12):
        small = console(client, queue="handling")
    for _ in range(20):
        case = act(report(cast.grid_worker_b, at=IN_GRID_B), "accept", cast.operator)
        act(case, "dispatch", cast.commander, department="shizheng")
    with django_assert_max_num_queries(12):
        large = console(client, queue="handling")
    with django_assert_max_num_queries(8):
        client.get(reverse("web:console-queue", args=["handling"]), HTTP_HX_REQUEST="true")

    assert len(small.context["rows"]) == 3
    assert len(large.context["rows"]) == 23


# The case page ------------------------------------------------------------------------------------


def action_names(response):
    return [item["name"] for item in response.context["action_items"]]


def test_the_case_page_offers_only_the_actions_the_user_may_take(cast, client):
    case = report(cast.grid_worker_a)
    client.force_login(cast.operator)
    operator_view = client.get(case_url(case))
    client.force_login(cast.grid_worker_a)
    worker_view = client.get(case_url(case))

    assert operator_view.status_code == 200
    assert "accept" in action_names(operator_view)
    assert "dispatch" not in action_names(operator_view)
    assert 'name="action" value="accept"' in operator_view.content.decode()
    assert action_names(worker_view) == ["escalate"]
    assert 'value="accept"' not in worker_view.content.decode()
    assert 'value="dispatch"' not in worker_view.content.decode()


def test_a_case_outside_the_scope_is_not_found(cast, client):
    case = report(cast.grid_worker_a)
    client.force_login(cast.other_community_officer)
    assert client.get(case_url(case)).status_code == 404
    assert client.post(case_url(case), {"action": "accept"}).status_code == 404


def test_the_dispatch_dialog_preselects_the_matrix_suggestion(cast, client, accepted):
    client.force_login(cast.commander)
    response = client.get(case_url(accepted))

    assert response.context["suggested"].code == "shizheng"
    html = response.content.decode()
    assert re.search(r'<option value="shizheng" selected>', html)
    assert not re.search(r'<option value="yuanlin" selected>', html)
    assert "(matrix suggestion)" in html or "权责清单建议" in html


def test_posting_the_dispatch_form_dispatches_the_case(cast, client, accepted):
    client.force_login(cast.commander)
    response = client.post(
        case_url(accepted),
        {
            "action": "dispatch",
            "version": accepted.version,
            "target": "department",
            "department": "yuanlin",
            "user": "worker_a",  # the other target's field is ignored
            "reason": "请尽快处理",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == case_url(accepted)
    case = Case.objects.get(pk=accepted.pk)
    assert case.state == S.DISPATCHED
    assert case.owner_department.code == "yuanlin" and case.owner_user is None
    event = case.events.get(action="dispatch")
    assert event.actor == cast.commander and event.reason == "请尽快处理"
    assert event.payload["suggested"] == "shizheng"
    page = client.get(case_url(accepted))
    assert "dispatch" not in action_names(page)


def test_dispatching_to_a_person(cast, client, accepted):
    client.force_login(cast.commander)
    client.post(
        case_url(accepted),
        {"action": "dispatch", "version": accepted.version, "target": "user", "user": "worker_a"},
    )
    case = Case.objects.get(pk=accepted.pk)
    assert case.state == S.DISPATCHED and case.owner_user == cast.grid_worker_a


def test_a_stale_page_gets_the_conflict_message_and_changes_nothing(cast, client, accepted):
    seen_version = accepted.version
    act(accepted, "dispatch", cast.street_dispatcher, department="shizheng")  # someone else, first
    events_before = CaseEvent.objects.filter(case=accepted).count()
    client.force_login(cast.commander)

    response = client.post(
        case_url(accepted),
        {"action": "dispatch", "version": seen_version, "department": "yuanlin"},
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert "alert-conflict" in html
    assert "Someone else acted on this case first." in html or "他人已先" in html
    case = Case.objects.get(pk=accepted.pk)
    assert case.owner_department.code == "shizheng"
    assert CaseEvent.objects.filter(case=accepted).count() == events_before
    # The page shows the case as it is now: dispatched, and no dispatch form any more.
    assert response.context["case"].state == S.DISPATCHED
    assert "dispatch" not in action_names(response)


def test_a_domain_error_is_shown_next_to_its_form(cast, client):
    case = report(
        cast.grid_worker_a,
        self_handle=True,
        self_handle_result="已清理",
        cat=category("T0002", self_handling=True),
    )
    client.force_login(cast.operator)

    response = client.post(
        case_url(case), {"action": "verify", "version": case.version, "result": "pass"}
    )

    assert response.status_code == 400
    assert response.context["action_error"].action == "verify"
    html = response.content.decode()
    verify_panel = html[html.index('data-action="verify"') :]
    assert "form-errors" in verify_panel[: verify_panel.index("</form>")]
    assert Case.objects.get(pk=case.pk).state == S.HANDLED
    # No outcome is chosen for the user.
    assert '<option value="" selected' not in html
    assert "selected>" not in verify_panel[: verify_panel.index("</select>")]


def test_a_forbidden_action_says_why(cast, client, accepted):
    client.force_login(cast.grid_worker_a)
    response = client.post(
        case_url(accepted), {"action": "dispatch", "version": accepted.version, "department": "x"}
    )
    assert response.status_code == 403
    assert Case.objects.get(pk=accepted.pk).state == S.ACCEPTED


def test_the_timeline_lists_every_event_with_labels_and_details(cast, client, accepted):
    act(accepted, "dispatch", cast.commander, department="yuanlin")
    client.force_login(cast.commander)

    response = client.get(case_url(accepted), HTTP_ACCEPT_LANGUAGE="en")

    timeline = response.context["timeline"]
    assert [row.event.action for row in timeline] == ["report", "accept", "dispatch"]
    assert [row.label for row in timeline] == ["Report", "Accept", "Dispatch"]
    dispatch = timeline[2]
    assert ("Department", "部门yuanlin") in dispatch.highlights
    assert ("Matrix suggestion", "部门shizheng") in dispatch.highlights
    assert dispatch.actor == "commander"


def test_merge_shows_duplicate_candidates_the_user_may_see(cast, client):
    first = report(cast.grid_worker_a)
    second = report(cast.grid_worker_a)
    client.force_login(cast.operator)

    response = client.get(case_url(second))

    assert "merge" in action_names(response)
    candidates = response.context["candidates"]
    assert [c.case.number for c in candidates] == [first.number]
    assert candidates[0].distance_m == 0
    merged = client.post(
        case_url(second), {"action": "merge", "version": second.version, "into": first.number}
    )
    assert merged.status_code == 302
    assert Case.objects.get(pk=second.pk).merged_into_id == first.pk


def test_photos_are_served_only_to_those_who_may_see_the_case(cast, client):
    case = report(cast.grid_worker_a)
    photo = case_photo_add(case=case, kind="before", stream=png(), actor=cast.grid_worker_a)
    url = reverse("web:case-photo", args=[case.number, photo.pk])
    client.force_login(cast.community_officer)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    client.force_login(cast.other_community_officer)
    assert client.get(url).status_code == 404


# The open-cases map ---------------------------------------------------------------------------------


def test_the_map_data_lists_open_cases_in_scope_within_the_box(cast, client):
    west = report(cast.grid_worker_a)
    east = report(cast.grid_worker_b, at=IN_GRID_B)
    client.force_login(cast.community_officer)
    url = reverse("web:console-map-data")

    mine = client.get(url).json()
    assert [p["number"] for p in mine["points"]] == [west.number]
    assert mine["points"][0]["light"] == "green"
    assert mine["truncated"] is False

    client.force_login(cast.commander)
    everything = client.get(url).json()
    assert {p["number"] for p in everything["points"]} == {west.number, east.number}
    boxed = client.get(url, {"bbox": "116.35,39.86,116.40,39.90"}).json()
    assert [p["number"] for p in boxed["points"]] == [east.number]
    assert client.get(url, {"bbox": "1,2,3"}).status_code == 400
    assert client.get(reverse("web:console-map")).status_code == 200


# Phone pages --------------------------------------------------------------------------------------


def test_a_grid_worker_sees_their_tasks(cast, client):
    department("shizheng", rule_for=category())
    public = report(None, source=Case.Source.CITIZEN_APP)
    mine = act(report(cast.grid_worker_b, at=IN_GRID_A), "accept", cast.operator)
    mine = act(mine, "dispatch", cast.commander, user="worker_a")
    to_department = act(report(cast.grid_worker_b, at=IN_GRID_A), "accept", cast.operator)
    act(to_department, "dispatch", cast.commander, department="shizheng")
    handled = report(
        cast.grid_worker_b,
        at=IN_GRID_A,
        self_handle=True,
        self_handle_result="已清理",
        cat=category("T0002", self_handling=True),
    )
    client.force_login(cast.grid_worker_a)

    response = client.get(reverse("web:mobile-tasks"))

    groups = {g.key: [r.case.number for r in g.rows] for g in response.context["groups"]}
    assert groups == {
        "confirm": [public.number],
        "handle": [mine.number],
        "verify": [handled.number],
    }
    client.force_login(cast.grid_worker_b)
    other = client.get(reverse("web:mobile-tasks"))
    assert all(not g.rows for g in other.context["groups"])


def test_a_grid_worker_handles_a_case_with_a_photo_on_the_phone(cast, client):
    department("shizheng", rule_for=category())
    case = act(report(cast.grid_worker_a), "accept", cast.operator)
    case = act(case, "dispatch", cast.commander, user="worker_a")
    case = act(case, "acknowledge", cast.grid_worker_a)
    client.force_login(cast.grid_worker_a)
    url = reverse("web:mobile-case", args=[case.number])

    page = client.get(url)
    assert action_names(page) == ["start", "handle"]
    assert 'capture="environment"' in page.content.decode()
    response = client.post(
        url, {"action": "handle", "version": case.version, "result": "已修复", "photo": png()}
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == S.HANDLED
    assert CasePhoto.objects.filter(case=case, kind="after").count() == 1


def test_a_grid_worker_confirms_a_public_report_on_the_phone(cast, client):
    case = report(None, source=Case.Source.CITIZEN_APP)
    client.force_login(cast.grid_worker_a)
    response = client.post(
        reverse("web:mobile-case", args=[case.number]),
        {"action": "confirm", "version": case.version, "note": "属实"},
    )
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == S.REPORTED


def test_a_photo_can_be_added_on_the_phone_case_page(cast, client):
    case = report(cast.grid_worker_a)
    client.force_login(cast.grid_worker_a)
    url = reverse("web:mobile-case", args=[case.number])

    added = client.post(url, {"action": "add_photo", "kind": "before", "photo": png()})
    missing = client.post(url, {"action": "add_photo", "kind": "before"})

    assert added.status_code == 302
    assert CasePhoto.objects.filter(case=case, kind="before").count() == 1
    assert missing.status_code == 400
    assert missing.context["action_error"].action == "add_photo"


def test_the_report_page_asks_for_a_camera_photo(cast, client):
    client.force_login(cast.grid_worker_a)
    html = client.get(reverse("web:mobile-report")).content.decode()
    assert 'accept="image/*" capture="environment"' in html
    assert "web/mobile.js" in html
    client.force_login(cast.admin)  # may see cases, may not report them
    assert client.get(reverse("web:mobile-report")).status_code == 403


def test_the_grid_worker_reports_through_the_api_it_posts_to(cast):
    """The report form's request, as mobile.js sends it."""
    from wangge.testing.factories import client_for

    api = client_for(cast.grid_worker_a)
    body = {
        "source": "patrol",
        "category": category().id,
        "description": "井盖破损",
        "lng": IN_GRID_A[0],
        "lat": IN_GRID_A[1],
        "crs": "wgs84",
        "address": "",
        "self_handle": False,
        "result": "",
    }
    created = api.post(reverse("api:cases"), body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert created.status_code == 201, created.json()
