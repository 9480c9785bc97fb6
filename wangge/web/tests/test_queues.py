"""Everyone sees all of their own work: landing pages, the phone's task list, the department's
console, number search, category names, counters that open their lists, the decisions queue."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from wangge.cases.models import Case, Category, CategoryAlias
from wangge.cases.tests.factories import IN_GRID_B, act, category, department, handler, report
from wangge.testing.factories import make_user

pytestmark = pytest.mark.django_db

S = Case.State


def numbers_in(response) -> set[str]:
    return set(re.findall(r"\d{6}-\d{4}-\d{6}", response.content.decode()))


def dispatched_to(dept_code: str, cast, count: int = 1) -> list[Case]:
    """``count`` cases in grid A dispatched to a department, made fast: one through the services,
    the rest copies of it with their own numbers."""
    department(dept_code, rule_for=category())
    case = act(report(cast.grid_worker_a), "accept", cast.operator)
    case = act(case, "dispatch", cast.commander, department=dept_code)
    copies = []
    for index in range(count - 1):
        copy = Case.objects.get(pk=case.pk)
        copy.pk = None
        copy.number = f"110102-2026-9{index:05d}"
        copy.stage_deadline = case.stage_deadline + timedelta(minutes=index + 1)
        copies.append(copy)
    Case.objects.bulk_create(copies)
    return [case, *copies]


# Landing pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "page"),
    [
        ("grid_worker_a", "web:mobile-tasks"),
        ("department_handler", "web:console"),
        ("street_dispatcher", "web:console"),
        ("operator", "web:console"),
        ("commander", "web:console"),
        ("community_officer", "web:console"),
        ("nobody", "web:map"),
    ],
)
def test_every_role_lands_on_the_page_where_its_work_is(cast, client, persona, page):
    client.force_login(getattr(cast, persona))

    assert client.get(reverse("web:home"))["Location"] == reverse(page)


def test_an_assessor_lands_on_the_data_quality_report(cast, client):
    assessor = make_user("assessor", role="assessor", scope="110102")

    client.force_login(assessor)

    assert client.get(reverse("web:home"))["Location"] == reverse("web:registry-quality")


def test_a_registry_only_user_lands_on_the_registry_and_an_administrator_on_the_admin(cast, client):
    clerk = make_user("clerk", role=None, scope="110102")
    clerk.user_permissions.add(Permission.objects.get(codename="view_building"))
    cast.admin.is_staff = True
    cast.admin.save(update_fields=["is_staff"])

    client.force_login(clerk)
    assert client.get(reverse("web:home"))["Location"] == reverse("web:registry")
    client.force_login(cast.admin)
    assert client.get(reverse("web:home"))["Location"] == reverse("admin:index")


def test_signing_in_lands_on_the_roles_own_work(cast, client):
    response = client.post(
        reverse("login"), {"username": "worker_a", "password": "pw-worker_a"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("web:mobile-tasks")


def test_the_brand_link_leads_home(cast, client):
    client.force_login(cast.commander)

    text = client.get(reverse("web:console")).content.decode()

    assert f'class="brand" href="{reverse("web:home")}"' in text


# The phone's task list -----------------------------------------------------------------------------


def test_the_phone_lists_every_case_dispatched_to_the_department_beyond_three_hundred(cast, client):
    cases = dispatched_to("shizheng", cast, count=320)
    user = handler("handler_shizheng", Case.objects.get(pk=cases[0].pk).owner_department)
    for _ in range(5):  # other work in the district comes first in the scope's order
        report(cast.grid_worker_b, at=IN_GRID_B)
    client.force_login(user)

    first = client.get(reverse("web:mobile-tasks"))
    group = {g.key: g for g in first.context["groups"]}["handle"]
    pages = [
        client.get(reverse("web:mobile-tasks"), {"group": "handle", "page": number})
        for number in range(1, 17)
    ]

    assert group.count == 320
    assert len(group.rows) == 20
    assert "?group=handle" in first.content.decode()
    listed = set().union(*(numbers_in(page) for page in pages))
    assert listed == {case.number for case in cases}
    deadlines = [row.case.stage_deadline for row in pages[0].context["groups"][0].rows]
    assert deadlines == sorted(deadlines)


def test_an_unknown_task_group_is_not_found(cast, client):
    client.force_login(cast.grid_worker_a)

    assert client.get(reverse("web:mobile-tasks"), {"group": "nope"}).status_code == 404


# Number search ---------------------------------------------------------------------------------------


def test_a_whole_number_on_the_console_opens_the_case(cast, client):
    case = report(cast.grid_worker_a)
    client.force_login(cast.community_officer)

    response = client.get(reverse("web:console"), {"number": case.number})
    htmx = client.get(reverse("web:console"), {"number": case.number}, HTTP_HX_REQUEST="true")

    assert response["Location"] == reverse("web:console-case", args=[case.number])
    assert htmx["HX-Redirect"] == reverse("web:console-case", args=[case.number])


def test_a_number_outside_the_scope_is_not_found_on_the_console_page(cast, client):
    theirs = report(cast.grid_worker_b, at=IN_GRID_B)
    client.force_login(cast.community_officer)

    response = client.get(
        reverse("web:console"), {"number": theirs.number}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    assert response.status_code == 200
    assert f"您的范围内没有案件 {theirs.number}" in response.content.decode()
    assert not response.context["rows"]


def test_part_of_a_number_filters_the_console(cast, client):
    first = report(cast.grid_worker_a)
    second = report(cast.grid_worker_a)
    client.force_login(cast.commander)

    response = client.get(
        reverse("web:console"), {"queue": "reported", "number": second.number[-6:]}
    )

    assert numbers_in(response) == {second.number}
    assert response.context["counts"]["reported"] == 1
    assert first.number not in response.content.decode()


def test_a_whole_number_on_the_phone_opens_the_phone_case_page(cast, client):
    case = report(cast.grid_worker_a)
    client.force_login(cast.grid_worker_a)

    response = client.get(reverse("web:mobile-tasks"), {"number": case.number})
    missing = client.get(
        reverse("web:mobile-tasks"), {"number": "110102-2026-999999"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response["Location"] == reverse("web:mobile-case", args=[case.number])
    assert missing.status_code == 200
    assert missing.context["form"].errors["number"] == ["No case 110102-2026-999999 in your area."]


def test_the_case_map_searches_by_number(cast, client):
    case = report(cast.grid_worker_a)
    other = report(cast.grid_worker_a)
    client.force_login(cast.commander)

    exact = client.get(reverse("web:console-map"), {"number": case.number})
    partial = client.get(reverse("web:console-map"), {"number": case.number[-6:]})
    points = client.get(reverse("web:console-map-data"), {"number": case.number[-6:]}).json()

    assert exact["Location"] == reverse("web:console-case", args=[case.number])
    assert f"?number={case.number[-6:]}" in partial.content.decode()
    assert [point["number"] for point in points["points"]] == [case.number]
    assert other.number != case.number


def test_a_number_with_letters_is_refused_next_to_the_field(cast, client):
    client.force_login(cast.commander)

    response = client.get(reverse("web:console"), {"number": "abc"}, HTTP_ACCEPT_LANGUAGE="en")

    assert "digits and hyphens" in response.content.decode()


# Category names ------------------------------------------------------------------------------------


def test_the_console_filters_by_a_chinese_category_name_or_an_old_code(cast, client):
    litter = report(cast.grid_worker_a, cat=category("T0009"))
    report(cast.grid_worker_a)
    Category.objects.filter(code="T0009").update(name="暴露垃圾")
    CategoryAlias.objects.create(category=Category.objects.get(code="T0009"), code="0109")
    client.force_login(cast.commander)

    for text in ("暴露垃圾", "垃圾", "0109", "T0009"):
        response = client.get(reverse("web:console"), {"queue": "reported", "category": text})
        assert numbers_in(response) == {litter.number}, text


# Counters and the decisions queue ------------------------------------------------------------------


def test_the_counters_link_to_their_lists(cast, client):
    late = report(cast.grid_worker_a)
    report(cast.grid_worker_a)
    Case.objects.filter(pk=late.pk).update(is_overdue=True)
    client.force_login(cast.commander)

    page = client.get(reverse("web:console")).content.decode()
    overdue = client.get(reverse("web:console"), {"queue": "overdue"})

    for key in ("overdue", "supervised", "suspended"):
        assert f"?queue={key}" in page
    assert numbers_in(overdue) == {late.number}
    assert overdue.context["queue"].key == "overdue"


def test_extension_requests_and_arbitrations_have_their_own_queue(cast, client, settings):
    settings.WANGGE_RETURNS_BEFORE_ARBITRATION = 1
    [waiting] = dispatched_to("shizheng", cast)
    user = handler("handler_shizheng", waiting.owner_department)
    act(waiting, "request_extension", user, reason="材料未到", amount="2", unit="working_day")
    [bounced] = dispatched_to("yuanlin", cast)
    act(bounced, "return", handler("handler_yuanlin", bounced.owner_department), reason="不归我们")
    client.force_login(cast.commander)

    response = client.get(reverse("web:console"), {"queue": "decisions"})
    client.force_login(cast.operator)
    operator = client.get(reverse("web:console"))

    assert numbers_in(response) == {waiting.number, bounced.number}
    assert response.context["counts"]["decisions"] == 2
    assert "decisions" not in [tab["queue"].key for tab in operator.context["tabs"]]


# The department's console --------------------------------------------------------------------------


def test_a_department_handler_console_holds_the_departments_work_by_step(cast, client):
    [fresh] = dispatched_to("shizheng", cast)
    user = handler("handler_shizheng", fresh.owner_department)
    [signed] = dispatched_to("shizheng", cast)
    act(signed, "acknowledge", user)
    [reworked] = dispatched_to("shizheng", cast)
    act(reworked, "acknowledge", user)
    act(reworked, "handle", user, result="已修复")
    act(reworked, "verify", cast.operator, result="fail", reason="未修好")
    [answered] = dispatched_to("shizheng", cast)
    act(answered, "request_extension", user, reason="等材料", amount="1", unit="working_day")
    act(answered, "approve_extension", cast.commander)
    [elsewhere] = dispatched_to("yuanlin", cast)
    district = report(cast.grid_worker_a)
    client.force_login(user)

    landing = client.get(reverse("web:console"))

    def listed(key):
        return numbers_in(client.get(reverse("web:console"), {"queue": key}))

    assert [tab["queue"].key for tab in landing.context["tabs"]] == [
        "to-acknowledge",
        "acknowledged",
        "in-progress",
        "rework",
        "extensions",
        "awaiting-verification",
    ]
    assert landing.context["queue"].key == "to-acknowledge"
    assert listed("to-acknowledge") == {fresh.number, answered.number}
    assert listed("acknowledged") == {signed.number}
    assert listed("rework") == {reworked.number}
    assert listed("extensions") == {answered.number}
    assert landing.context["counts"]["open"] == 4
    everything = set().union(*(listed(tab["queue"].key) for tab in landing.context["tabs"]))
    assert elsewhere.number not in everything and district.number not in everything
    for tab in landing.context["tabs"]:
        assert tab["count"] == len(listed(tab["queue"].key))
    assert client.get(reverse("web:console"), {"queue": "checking"}).context["queue"].key == (
        "to-acknowledge"
    )


def test_the_console_opens_on_the_first_queue_waiting_for_the_user(cast, client):
    department("shizheng", rule_for=category())
    accepted = act(report(cast.grid_worker_a), "accept", cast.operator)
    report(None, source=Case.Source.CITIZEN_APP)  # "to check": not the dispatcher's work
    client.force_login(cast.street_dispatcher)

    response = client.get(reverse("web:console"))

    assert response.context["queue"].key == "accepted"
    assert accepted.number in numbers_in(response)


def test_a_superuser_lands_on_the_console(cast, client):
    root = make_user("root", role=None, is_superuser=True)
    client.force_login(root)

    assert client.get(reverse("web:home"))["Location"] == reverse("web:console")
    assert client.get(reverse("web:console")).status_code == 200
