"""The service catalogue (/services/, 一次性告知) and the service box on a service case's page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from wangge.cases.catalogue import numbered_lines, service_catalogue, service_item
from wangge.cases.models import Category, ResponsibilityRule, TimeLimit
from wangge.cases.tests.factories import category, department, report

pytestmark = pytest.mark.django_db

URL = reverse("web:services")


def zh(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def dibao() -> Category:
    return Category.objects.get(kind=Category.Kind.SERVICE, code="SS01001")


def test_the_catalogue_needs_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_every_signed_in_role_can_open_the_catalogue(cast):
    for user in vars(cast).values():
        assert zh(user).get(URL).status_code == 200, user.username


def test_the_catalogue_lists_the_seeded_service_items_by_class_with_their_procedure(cast):
    text = zh(cast.grid_worker_a).get(URL).content.decode()
    assert "服务事项目录" in text
    assert "社会救助" in text and "户籍与居住" in text  # big classes
    assert "最低生活保障（低保）申请" in text
    assert "向户籍所在地街道办事处提出书面申请" in text  # a step of its procedure
    assert "户口簿、全体共同生活家庭成员居民身份证" in text  # one of its materials
    # Numbered lines become list items: the "1. " is the list's, not the text's.
    assert "<li>户口簿" in text
    items = sum(len(group.items) for group in service_catalogue())
    assert items >= 32
    assert f"{items} 个服务事项" in text


def test_the_search_finds_items_by_name_and_by_material_and_says_when_nothing_matches(cast):
    client = zh(cast.community_officer)
    by_name = client.get(URL, {"q": "低保"}).content.decode()
    assert "最低生活保障（低保）申请" in by_name
    assert "居住证签注" not in by_name
    by_material = client.get(URL, {"q": "残疾人证"}).content.decode()
    assert "最低生活保障（低保）申请" in by_material  # 残疾人证 is among its materials
    nothing = client.get(URL, {"q": "宇宙飞船"}).content.decode()
    assert "没有匹配的服务事项" in nothing


def test_the_class_filter_keeps_one_class(cast):
    groups = service_catalogue(big_class="AS01")
    assert [group.category.code for group in groups] == ["AS01"]
    text = zh(cast.operator).get(URL, {"big_class": "AS01"}).content.decode()
    assert "最低生活保障（低保）申请" not in text
    assert 'value="AS01" selected' in text


def test_an_item_shows_its_own_time_limit_and_the_district_department_of_its_class(cast):
    item = dibao()
    minzheng = department("minzheng")
    minzheng.name = "区民政局"
    minzheng.save(update_fields=["name"])
    ResponsibilityRule.objects.create(
        category=item.parent, region_code="110102", department=minzheng
    )
    street = department("jiedao")
    ResponsibilityRule.objects.create(category=item, region_code="110102001", department=street)
    for grade in "ABC":
        TimeLimit.objects.create(
            category=item, area_grade=grade, stage="handle", amount=Decimal(20), unit="working_day"
        )

    found = service_item(item)

    assert found is not None
    assert found.department == street  # the item's own rule over its class's
    assert [(limit.area_grade, limit.amount) for limit in found.limits] == [("", Decimal(20))]
    text = zh(cast.grid_worker_a).get(URL, {"q": "低保"}).content.decode()
    assert "20 工作日" in text


def test_the_default_limits_differ_by_area_grade_and_are_shown_per_grade(cast):
    text = zh(cast.grid_worker_a).get(URL, {"q": "低保"}).content.decode()
    limits = service_item(dibao()).limits
    assert [limit.area_grade for limit in limits] == ["A", "B", "C"]
    assert "2 工作日" in text


def test_a_service_cases_page_tells_its_procedure_and_materials_and_other_cases_do_not(cast):
    service_case = report(cast.grid_worker_a, cat=dibao())
    other_case = report(cast.grid_worker_a, cat=category())
    client = zh(cast.commander)

    text = client.get(reverse("web:console-case", args=[service_case.number])).content.decode()
    assert "一次性告知" in text
    assert "向户籍所在地街道办事处提出书面申请" in text
    assert "户口簿、全体共同生活家庭成员居民身份证" in text
    assert reverse("web:services") + "#item-SS01001" in text

    phone = zh(cast.grid_worker_a)
    text = phone.get(reverse("web:mobile-case", args=[service_case.number])).content.decode()
    assert "向户籍所在地街道办事处提出书面申请" in text

    text = client.get(reverse("web:console-case", args=[other_case.number])).content.decode()
    assert "一次性告知" not in text
    assert service_item(other_case.category) is None


def test_numbered_lines_drop_their_numbers_and_keep_unnumbered_lines():
    assert numbered_lines("1. 申请：写申请\n2. 审核\n\n备注 3. 不是编号") == [
        "申请：写申请",
        "审核",
        "备注 3. 不是编号",
    ]
