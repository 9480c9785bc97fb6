"""The write of a report: what is stored is what the case in hand says, numbered without gaps."""

from __future__ import annotations

import pytest
from django.utils import timezone

from wangge.cases.models import Case, CaseEvent, CaseNumberSequence, IntakeKey
from wangge.cases.tests.factories import report

pytestmark = pytest.mark.django_db


def test_the_stored_case_is_the_case_in_hand(cast):
    case = report(cast.grid_worker_a, reporter_phone="13800138000", idempotency_key="k-1")
    stored = Case.objects.get(pk=case.pk)
    for field in Case._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(case, field.attname), field.name
    event = CaseEvent.objects.get(case=case)
    assert (event.action, event.to_state, event.actor_id) == (
        "report",
        case.state,
        cast.grid_worker_a.pk,
    )
    assert event.created_at == case.created_at
    assert event.payload == {"source": case.source, "grid": case.region_code}
    assert IntakeKey.objects.get(case=case).key == "k-1"


def test_numbers_follow_each_other_and_keep_every_digit_past_a_million(cast):
    year = timezone.localtime().year
    first, second = report(cast.grid_worker_a), report(cast.grid_worker_a)
    assert (first.number, second.number) == (f"110102-{year}-000001", f"110102-{year}-000002")
    CaseNumberSequence.objects.filter(district_code="110102", year=year).update(last=999_999)
    assert report(cast.grid_worker_a).number == f"110102-{year}-1000000"
    assert report(cast.grid_worker_a).number == f"110102-{year}-1000001"
