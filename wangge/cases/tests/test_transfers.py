"""Transferring a case between grids and streets: rules, history, outbox exactly once, API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from wangge.cases import notifications
from wangge.cases.models import Case, CaseEvent, Notification
from wangge.cases.tests.factories import act, category, department, handler, report
from wangge.cases.transfers import case_transfer
from wangge.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from wangge.core.models import AuditLog
from wangge.proof.workload import serialization_failure
from wangge.testing.factories import client_for, make_user

pytestmark = pytest.mark.django_db
S = Case.State
GRID_A = "110102001001001"
GRID_A2 = "110102001001002"  # same community as A
OTHER_STREET = "110102003002004"


def test_a_community_officer_moves_a_case_between_the_grids_of_his_community(cast):
    worker = make_user("worker_a2", role="grid_worker", scope=GRID_A2)
    case = report(cast.grid_worker_a)
    result = case_transfer(
        number=case.number,
        to_grid_code=GRID_A2,
        reason="位置在隔壁网格",
        actor=cast.community_officer,
    )
    case.refresh_from_db()
    assert (result.from_grid, result.to_grid) == (GRID_A, GRID_A2)
    assert case.grid.code == GRID_A2 and case.region_code == GRID_A2
    assert case.version == 1 and case.state == S.REPORTED and case.level == "grid"
    event = case.events.get(action="transfer")
    assert event.actor == cast.community_officer and event.reason == "位置在隔壁网格"
    assert event.payload["from_grid"] == GRID_A and event.payload["to_grid"] == GRID_A2
    assert list(Notification.objects.filter(event=event).values_list("recipient", flat=True)) == [
        worker.pk
    ]
    audit = AuditLog.objects.get(action="cases.case_transfer")
    assert audit.target_id == case.number and audit.actor == cast.community_officer


def test_the_new_grid_sees_the_case_and_the_old_grid_no_longer_does(cast):
    case = report(cast.grid_worker_a)
    case_transfer(
        number=case.number, to_grid_code=OTHER_STREET, reason="属新街口街道", actor=cast.commander
    )
    assert (
        client_for(cast.grid_worker_b).get(reverse("api:case", args=[case.number])).status_code
        == 200
    )
    # The reporter still follows his report; an officer of the old community does not.
    assert (
        client_for(cast.community_officer).get(reverse("api:case", args=[case.number])).status_code
        == 404
    )


def test_across_streets_needs_a_scope_covering_both(cast):
    case = report(cast.grid_worker_a)
    with pytest.raises(InvalidInputError) as caught:
        case_transfer(
            number=case.number,
            to_grid_code=OTHER_STREET,
            reason="跨街道",
            actor=cast.street_dispatcher,
        )
    assert "to_grid" in caught.value.errors
    with pytest.raises(NotFoundError):
        case_transfer(
            number=case.number,
            to_grid_code=GRID_A2,
            reason="别人的案件",
            actor=cast.other_community_officer,
        )
    with pytest.raises(PermissionDeniedError):
        case_transfer(
            number=case.number, to_grid_code=GRID_A2, reason="网格员", actor=cast.grid_worker_a
        )
    case.refresh_from_db()
    assert case.region_code == GRID_A and not case.events.filter(action="transfer").exists()


def test_bad_input_is_refused_field_by_field(cast):
    case = report(cast.grid_worker_a)
    with pytest.raises(InvalidInputError) as caught:
        case_transfer(number=case.number, to_grid_code=GRID_A, reason="", actor=cast.commander)
    assert set(caught.value.errors) == {"reason", "to_grid"}
    with pytest.raises(InvalidInputError):
        case_transfer(
            number=case.number,
            to_grid_code="110102999999999",
            reason="无此网格",
            actor=cast.commander,
        )
    with pytest.raises(ConflictError):
        case_transfer(
            number=case.number,
            to_grid_code=GRID_A2,
            reason="旧版本",
            actor=cast.commander,
            expected_version=7,
        )
    act(case, "void", cast.operator, reason="重复")
    with pytest.raises(PermissionDeniedError, match="cannot be transferred"):
        case_transfer(
            number=case.number, to_grid_code=GRID_A2, reason="已作废", actor=cast.commander
        )


def test_an_owner_who_cannot_act_in_the_new_grid_gives_the_case_back_to_dispatch(cast):
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    act(case, "dispatch", cast.commander, user="worker_a")
    case = case_transfer(
        number=case.number, to_grid_code=GRID_A2, reason="不属本网格", actor=cast.commander
    ).case
    assert case.state == S.ACCEPTED and case.owner_user is None and case.stage == "dispatch"
    assert case.events.get(action="transfer").payload["owner_cleared"] is True


def test_a_department_owner_keeps_the_case(cast):
    department("shizheng", rule_for=category())
    handler("clerk", department("shizheng"))
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    act(case, "dispatch", cast.commander, department="shizheng")
    case = case_transfer(
        number=case.number, to_grid_code=OTHER_STREET, reason="跨街道", actor=cast.commander
    ).case
    assert case.state == S.DISPATCHED and case.owner_department.code == "shizheng"


def test_a_forced_serialization_failure_leaves_exactly_one_event_and_one_set_of_notifications(
    cast, monkeypatch
):
    make_user("worker_a2", role="grid_worker", scope=GRID_A2)
    case = report(cast.grid_worker_a)
    real = notifications.queue_for_event
    calls: list[int] = []

    def fails_first_time(*args, **kwargs):
        real(*args, **kwargs)  # the rows are written, then the attempt dies
        calls.append(1)
        if len(calls) == 1:
            raise serialization_failure()

    monkeypatch.setattr(notifications, "queue_for_event", fails_first_time)
    case_transfer(number=case.number, to_grid_code=GRID_A2, reason="重试一次", actor=cast.commander)
    assert len(calls) == 2
    assert CaseEvent.objects.filter(case=case, action="transfer").count() == 1
    assert Notification.objects.filter(case=case).count() == 1
    assert AuditLog.objects.filter(action="cases.case_transfer").count() == 1
    assert Case.objects.get(pk=case.pk).version == 1


def test_the_api_transfers_and_answers_with_the_case(cast):
    case = report(cast.grid_worker_a)
    url = reverse("api:case-transfer", args=[case.number])
    response = client_for(cast.commander).post(
        url, {"to_grid": OTHER_STREET, "reason": "跨街道移交", "version": 0}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["region_code"] == OTHER_STREET
    stale = client_for(cast.commander).post(
        url, {"to_grid": GRID_A, "reason": "旧版本", "version": 0}, format="json"
    )
    assert stale.status_code == 409
    bad = client_for(cast.commander).post(url, {"to_grid": "12", "reason": ""}, format="json")
    assert bad.status_code == 400 and {"to_grid", "reason"} <= set(bad.json()["errors"])
    hidden = client_for(cast.grid_worker_a).post(
        url, {"to_grid": GRID_A, "reason": "看不见"}, format="json"
    )
    assert hidden.status_code in {403, 404}
