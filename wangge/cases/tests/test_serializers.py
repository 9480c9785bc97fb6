"""Intake answers with a body built by hand for speed: it must be what the serializer would give."""

from __future__ import annotations

import pytest
from django.test import override_settings

from wangge.cases import selectors
from wangge.cases.models import Case
from wangge.cases.serializers import CaseCreatedOut, case_created_body
from wangge.cases.tests.factories import IN_GRID_A, act, category, department, report

pytestmark = pytest.mark.django_db


def _serializer_body(case: Case, actions: list[str], duplicates: list[str]) -> dict:
    case.allowed_actions = actions
    case.duplicate_numbers = duplicates
    case.duplicates_hidden_count = 0
    return dict(CaseCreatedOut(case).data)


def _cases(cast) -> list[Case]:
    plain = report(cast.grid_worker_a)
    public = report(
        None,
        source=Case.Source.HOTLINE,
        reporter_name="王先生",
        reporter_phone="13812345678",
        cat=category("T0002"),
    )
    on_the_spot = report(
        cast.grid_worker_a,
        cat=category("T0003", self_handling=True),
        self_handle=True,
        self_handle_result="已清理",
    )
    dispatched = report(cast.grid_worker_a, cat=category("T0004"))
    act(dispatched, "accept", cast.operator)
    act(dispatched, "dispatch", cast.street_dispatcher, department=department().code)
    dispatched.refresh_from_db()
    return [plain, public, on_the_spot, dispatched]


def test_the_created_body_is_what_the_serializer_gives(cast):
    for case in _cases(cast):
        actions, duplicates = ["accept", "void"], ["110102-2026-000001"]
        assert case_created_body(case, allowed_actions=actions, duplicates=duplicates) == (
            _serializer_body(case, actions, duplicates)
        ), case.number


def test_the_created_body_has_every_field_of_the_schema(cast):
    case = report(cast.grid_worker_a)
    body = case_created_body(case, allowed_actions=[], duplicates=[])
    assert list(body) == list(CaseCreatedOut().fields)


@override_settings(WANGGE_CONFIG_RECHECK_SECONDS=3600)
def test_a_renamed_category_shows_at_once_in_the_process_that_saved_it(cast):
    item = category("T0005")
    case = report(cast.grid_worker_a, cat=item)
    assert case_created_body(case, allowed_actions=[], duplicates=[])["category"]["name"] == (
        "测试事项T0005"
    )
    item.name = "井盖缺失"
    item.save()
    assert selectors.reportable_category(item.pk).name == "井盖缺失"
    assert case_created_body(case, allowed_actions=[], duplicates=[])["category"]["name"] == (
        "井盖缺失"
    )
    item.active = False
    item.save()
    assert selectors.reportable_category(item.pk) is None


def test_duplicate_numbers_agree_with_the_candidates(cast):
    first = report(cast.grid_worker_a)
    second = report(cast.grid_worker_a, at=(IN_GRID_A[0] + 0.0002, IN_GRID_A[1]))
    far = report(cast.grid_worker_a, at=(IN_GRID_A[0] + 0.003, IN_GRID_A[1]))
    query = {"category_id": first.category_id, "lng": IN_GRID_A[0], "lat": IN_GRID_A[1]}
    numbers = selectors.duplicate_numbers(**query, exclude=first.pk)
    assert numbers == [c.number for c in selectors.duplicate_candidates(**query, exclude=first.pk)]
    assert numbers == [second.number]
    assert far.number not in selectors.duplicate_numbers(**query)
