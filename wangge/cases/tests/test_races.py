"""The losers of a race answer 409 even when they sent no ``version``; a wrong request stays 400."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from wangge.cases.models import Case, CaseEvent
from wangge.cases.tests.factories import act, category, department, report
from wangge.cases.workflow import PHOTO_EVENT
from wangge.testing.factories import client_for

S = Case.State


def post_action(user, number: str, **body):
    return client_for(user).post(reverse("api:case-actions", args=[number]), body, format="json")


@pytest.mark.django_db
def test_the_second_of_two_without_a_version_gets_409_with_the_current_state(cast):
    case = report(cast.grid_worker_a)

    first = post_action(cast.operator, case.number, action="accept")
    second = post_action(cast.commander, case.number, action="accept")

    assert first.status_code == 200
    assert second.status_code == 409, second.json()
    assert second.json()["current"] == {"state": S.ACCEPTED, "version": first.json()["version"]}
    assert CaseEvent.objects.filter(case=case, action="accept").count() == 1


@pytest.mark.django_db
def test_a_photo_added_after_the_winner_does_not_turn_the_loser_into_a_bad_request(cast):
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    CaseEvent.objects.create(
        case=case,
        action=PHOTO_EVENT,
        from_state=S.ACCEPTED,
        to_state=S.ACCEPTED,
        created_at=Case.objects.get(pk=case.pk).updated_at,
    )
    assert post_action(cast.commander, case.number, action="accept").status_code == 409


@pytest.mark.django_db
def test_an_action_the_state_never_allowed_is_still_400(cast):
    case = report(cast.grid_worker_a)
    answer = post_action(cast.operator, case.number, action="archive")
    assert answer.status_code == 400
    assert "action" in answer.json()["errors"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL row locking is what this pins; SQLite serializes every writer anyway",
)
def test_twenty_dispatchers_without_a_version_one_wins_nineteen_get_409(cast):
    department("shizheng", rule_for=category())
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def dispatch() -> None:
        try:
            client = client_for(cast.commander)
            barrier.wait()
            answer = client.post(
                reverse("api:case-actions", args=[case.number]),
                {"action": "dispatch", "department": "shizheng"},
                format="json",
            )
            with lock:
                statuses.append(answer.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatch) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 19
    assert CaseEvent.objects.filter(case=case, action="dispatch").count() == 1
