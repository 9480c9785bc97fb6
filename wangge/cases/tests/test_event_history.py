"""A case's history is append-only in the database, and every write of the loop writes its event
and its audit row through the one writer (``events.case_event_append``)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from wangge.cases.models import Case, CaseEvent
from wangge.cases.tests.factories import act, report
from wangge.core.errors import InvalidInputError
from wangge.core.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("statement", "verb"),
    [
        ("UPDATE cases_caseevent SET reason = 'x' WHERE id = %s", "UPDATE"),
        ("DELETE FROM cases_caseevent WHERE id = %s", "DELETE"),
    ],
)
def test_the_database_refuses_to_change_or_remove_a_case_event(cast, settings, statement, verb):
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    event = case.events.get(action="accept")
    settings.WANGGE_AUDIT_APPEND_ONLY = True  # SQLite's triggers ask it; PostgreSQL's always refuse
    with pytest.raises(IntegrityError, match=f"append-only: {verb} refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            CaseEvent.objects.filter(pk=event.pk).update(reason="改写")
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            Case.objects.filter(pk=case.pk).delete()  # takes its events with it
    assert list(case.events.values_list("action", "reason")) == [("report", ""), ("accept", "")]


def test_voiding_and_merging_still_work_with_the_history_protected(cast, settings):
    settings.WANGGE_AUDIT_APPEND_ONLY = True
    master, duplicate, wrong = (report(cast.grid_worker_a) for _ in range(3))
    act(duplicate, "merge", cast.operator, into=master.number)
    act(wrong, "void", cast.operator, reason="误报")
    assert Case.objects.get(pk=duplicate.pk).merged_into_id == master.pk
    assert Case.objects.get(pk=master.pk).supporters == 1
    assert Case.objects.get(pk=wrong.pk).state == Case.State.VOIDED


def test_each_action_writes_one_audit_row_and_a_refused_one_none(cast):
    case = report(cast.grid_worker_a)  # intake writes no audit row (its hot path)
    act(case, "accept", cast.operator)
    with pytest.raises(InvalidInputError):
        act(case, "archive", cast.commander)  # not closed yet
    act(case, "escalate", cast.commander, reason="街道" * 150)
    rows = AuditLog.objects.filter(target_type="cases.case", target_id=case.number).order_by("id")
    assert list(rows.values_list("action", "actor")) == [
        ("cases.case_accept", cast.operator.pk),
        ("cases.case_escalate", cast.commander.pk),
    ]
    escalated = rows.get(action="cases.case_escalate").details
    assert escalated == {"from_level": "grid", "to_level": "community", "reason": "街道" * 100}
    assert case.events.get(action="escalate").reason == "街道" * 150  # the event keeps it all
