"""An event's details as words (web/views_cases.payload_highlights), in Chinese."""

from __future__ import annotations

import pytest
from django.utils import translation

from wangge.web.views_cases import PayloadNames, _names_in, payload_highlights

pytestmark = pytest.mark.django_db


def words(payload, names=None) -> dict[str, str]:
    with translation.override("zh-hans"):
        return dict(payload_highlights(payload, names or PayloadNames()))


def test_codes_become_names_of_departments_people_and_grids(cast):
    cast.grid_worker_a.first_name = "周网格"
    cast.grid_worker_a.save()
    payloads = [
        {"user": "worker_a", "department": None, "suggested": None},
        {"from_grid": "110102001001001", "to_grid": "110102003002004", "owner_cleared": True},
    ]
    names = _names_in(payloads)
    assert words(payloads[0], names) == {"个人": "周网格"}
    moved = words(payloads[1], names)
    assert "→" in moved["网格"] and "110102" not in moved["网格"]
    assert moved["承办方"] == "已清除：案件退回待派遣"


def test_photos_durations_stages_and_dates_read_as_words():
    assert words({"photos": [12, 13]}) == {"照片": "2 张照片"}
    assert words({"amount": "2.00", "unit": "working_day"}) == {"延期": "2 工作日"}
    overdue = words({"stage": "handle", "deadline": "2026-12-07T02:00:00+00:00"})
    assert overdue == {"阶段": "处置", "时限": "2026-12-07 10:00"}
    assert words({"review_date": "2026-12-20"}) == {"复查日期": "2026-12-20"}


def test_a_key_the_page_does_not_know_and_an_unknown_choice_are_left_out():
    assert words({"internal_flag": "x", "outcome": "solved", "stage": "nowhere"}) == {}
