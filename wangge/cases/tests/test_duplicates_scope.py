"""A report's answer names only the likely duplicates the reporter may see; the rest are counted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from wangge.cases.models import Case
from wangge.cases.tests.factories import IN_GRID_A, category, report
from wangge.testing.factories import client_for

pytestmark = pytest.mark.django_db

GRID_B = "110102003002004"


def body(item) -> dict:
    return {
        "source": "patrol",
        "category": item.id,
        "description": "井盖破损",
        "lng": IN_GRID_A[0],
        "lat": IN_GRID_A[1],
        "address": "测试路1号",
    }


def test_a_report_names_visible_duplicates_and_only_counts_the_others(cast):
    item = category()
    own = report(cast.grid_worker_a, cat=item)
    # The same spot, but the case was handed to grid B (a transfer): grid A may not see it.
    elsewhere = report(cast.operator, cat=item)
    Case.objects.filter(pk=elsewhere.pk).update(region_code=GRID_B)

    answer = client_for(cast.grid_worker_a).post(reverse("api:cases"), body(item), format="json")

    assert answer.status_code == 201, answer.json()
    assert answer.json()["duplicates"] == [own.number]
    assert answer.json()["duplicates_hidden"] == 1
    assert elsewhere.number not in answer.content.decode()
    detail = client_for(cast.grid_worker_a).get(reverse("api:case", args=[answer.json()["number"]]))
    assert (detail.json()["duplicates"], detail.json()["duplicates_hidden"]) == ([own.number], 1)

    seen_by_all = client_for(cast.commander).post(reverse("api:cases"), body(item), format="json")
    assert set(seen_by_all.json()["duplicates"]) >= {own.number, elsewhere.number}
    assert seen_by_all.json()["duplicates_hidden"] == 0


def test_a_report_without_duplicates_says_none_are_hidden(cast):
    answer = client_for(cast.grid_worker_a).post(
        reverse("api:cases"), body(category()), format="json"
    )
    assert (answer.json()["duplicates"], answer.json()["duplicates_hidden"]) == ([], 0)
