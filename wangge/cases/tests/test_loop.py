"""The whole loop through the services, and its exceptions."""

import pytest
from django.urls import reverse

from wangge.cases.models import Case, CaseEvent, Notification
from wangge.cases.tests.factories import IN_GRID_A, act, category, department, handler, report
from wangge.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from wangge.testing.factories import client_for, make_user

pytestmark = pytest.mark.django_db
S = Case.State


@pytest.fixture
def shizheng(cast):
    dept = department("shizheng", rule_for=category())
    return dept


@pytest.fixture
def clerk(shizheng):
    return handler("clerk", shizheng)


def run_to_handled(cast, clerk) -> Case:
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    act(case, "dispatch", cast.commander, department="shizheng")
    act(case, "acknowledge", clerk)
    act(case, "start", clerk)
    return act(case, "handle", clerk, result="已更换井盖")


def test_a_case_goes_round_the_whole_loop(cast, clerk):
    case = report(cast.grid_worker_a)
    assert case.state == S.REPORTED
    assert case.grid.code == "110102001001001" and case.level == "grid"
    assert case.number.startswith("110102-2026-") or case.number.startswith("110102-")
    assert case.stage == "accept" and case.stage_deadline is not None

    case = act(case, "accept", cast.operator)
    case = act(case, "dispatch", cast.commander, department="shizheng")
    assert case.owner_department.code == "shizheng" and case.stage == "handle"
    case = act(case, "acknowledge", clerk)
    case = act(case, "start", clerk)
    case = act(case, "handle", clerk, result="已更换井盖")
    assert case.handled_by == clerk and case.stage == "verify"
    case = act(case, "verify", cast.operator, result="pass", outcome="fixed")
    assert case.state == S.CLOSED and case.outcome == "fixed" and case.closed_at
    case = act(case, "evaluate", cast.grid_worker_a, satisfaction="satisfied")
    case = act(case, "archive", cast.operator)
    assert case.state == S.ARCHIVED

    steps = list(case.events.values_list("action", "actor__username", "from_state", "to_state"))
    assert steps == [
        ("report", "worker_a", "", "reported"),
        ("accept", "operator", "reported", "accepted"),
        ("dispatch", "commander", "accepted", "dispatched"),
        ("acknowledge", "clerk", "dispatched", "acknowledged"),
        ("start", "clerk", "acknowledged", "in_progress"),
        ("handle", "clerk", "in_progress", "handled"),
        ("verify", "operator", "handled", "closed"),
        ("evaluate", "worker_a", "closed", "evaluated"),
        ("archive", "operator", "evaluated", "archived"),
    ]
    assert case.version == 8


def test_closing_never_defaults_to_fixed(cast, clerk):
    case = run_to_handled(cast, clerk)
    with pytest.raises(InvalidInputError):
        act(case, "verify", cast.operator, result="pass")
    with pytest.raises(InvalidInputError):
        act(case, "verify", cast.operator, result="pass", outcome="not_fixed")
    closed = act(
        case, "verify", cast.operator, result="pass", outcome="not_fixed", reason="产权单位拒绝"
    )
    assert closed.outcome == "not_fixed"


def test_the_handler_may_not_verify_their_own_work(cast, clerk):
    case = run_to_handled(cast, clerk)
    clerk.groups.add(*cast.operator.groups.all())  # even with the operator's role
    with pytest.raises(PermissionDeniedError, match="handled a case may not verify"):
        act(case, "verify", clerk, result="pass", outcome="fixed")
    assert Case.objects.get(pk=case.pk).state == S.HANDLED


def test_a_failed_check_sends_it_back_for_rework(cast, clerk):
    case = run_to_handled(cast, clerk)
    case = act(case, "verify", cast.operator, result="fail", reason="井盖仍然松动")
    assert case.state == S.DISPATCHED and case.rework_count == 1
    assert case.owner_department.code == "shizheng"


def test_unsatisfied_reopens_to_the_dispatcher_with_the_comment(cast, clerk):
    case = run_to_handled(cast, clerk)
    act(case, "verify", cast.operator, result="pass", outcome="fixed")
    case = act(
        case, "evaluate", cast.grid_worker_a, satisfaction="unsatisfied", reason="井盖又坏了"
    )
    assert case.state == S.ACCEPTED and case.outcome == "" and case.owner_department is None
    event = case.events.last()
    assert event.reason == "井盖又坏了" and event.payload["reopened"] is True
    # A second evaluation finds the case moved on since the one it answers: a conflict, with the
    # current state (cases/tests/test_races.py: an action the previous state allowed is a 409).
    with pytest.raises(ConflictError, match="it is now"):
        act(case, "evaluate", cast.grid_worker_a, satisfaction="unsatisfied")


def test_a_case_bounced_three_times_goes_to_the_district(cast, clerk):
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    for bounce in range(3):
        act(case, "dispatch", cast.commander, department="shizheng")
        case = act(case, "return", clerk, reason=f"不属于本部门职责 {bounce}")
    assert case.return_count == 3 and case.level == "district" and case.state == S.ACCEPTED
    assert case.events.filter(action="return").last().payload["arbitration"] is True


def test_illegal_transition_names_the_state_in_words_not_codes(cast):
    """The message reaches the console's action panel; the allowed actions are in the API's
    ``allowed_actions``."""
    case = report(cast.grid_worker_a)
    with pytest.raises(InvalidInputError) as error:
        act(case, "dispatch", cast.commander, department="shizheng")
    assert "Reported (上报)" in error.value.message
    assert "reported" not in error.value.message and "dispatch" not in error.value.message


@pytest.mark.parametrize(
    ("persona", "error"),
    [
        ("grid_worker_a", PermissionDeniedError),  # right place, wrong role
        ("grid_worker_b", NotFoundError),  # another grid: the case does not exist for them
        ("other_community_officer", NotFoundError),
        ("nobody", NotFoundError),
        ("department_handler", PermissionDeniedError),
    ],
)
def test_dispatch_by_the_wrong_role_or_region_changes_nothing(cast, shizheng, persona, error):
    case = report(cast.grid_worker_a)
    case = act(case, "accept", cast.operator)
    events = CaseEvent.objects.count()
    with pytest.raises(error):
        act(case, "dispatch", getattr(cast, persona), department="shizheng")
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.state, fresh.version) == (S.ACCEPTED, case.version)
    assert CaseEvent.objects.count() == events


def test_only_the_department_dispatched_to_may_acknowledge(cast, clerk):
    other = handler("other_clerk", department("yuanlin"))
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    act(case, "dispatch", cast.commander, department="shizheng")
    with pytest.raises((PermissionDeniedError, NotFoundError)):
        act(case, "acknowledge", other)
    assert act(case, "acknowledge", clerk).state == S.ACKNOWLEDGED


def test_community_officers_accept_and_dispatch_only_community_level_cases(cast, clerk):
    case = report(cast.grid_worker_a)
    with pytest.raises(PermissionDeniedError, match="level"):
        act(case, "accept", cast.community_officer)
    case = act(case, "escalate", cast.grid_worker_a, reason="需要社区协调")
    assert case.level == "community"
    case = act(case, "accept", cast.community_officer)
    assert (
        act(case, "dispatch", cast.community_officer, department="shizheng").state == S.DISPATCHED
    )


def test_a_grid_worker_fixes_a_small_matter_on_the_spot(cast):
    small = category("T0002", self_handling=True)
    case = report(cast.grid_worker_a, cat=small, self_handle=True, self_handle_result="已清理")
    assert case.state == S.HANDLED and case.self_handled and case.handled_by == cast.grid_worker_a
    with pytest.raises(PermissionDeniedError):
        act(case, "verify", cast.grid_worker_a, result="pass", outcome="fixed")
    assert act(case, "verify", cast.operator, result="pass", outcome="fixed").state == S.CLOSED


def test_self_handling_is_refused_where_the_category_needs_dispatch(cast):
    with pytest.raises(InvalidInputError):
        report(cast.grid_worker_a, self_handle=True, self_handle_result="已处理")


def test_public_reports_are_checked_on_the_spot_first(cast):
    case = report(
        None, source=Case.Source.CITIZEN_APP, reporter_name="张三", reporter_phone="13812345678"
    )
    assert case.state == S.CHECKING
    assert case.reporter_phone_masked == "138****5678"
    assert "13812345678" not in case.reporter_phone_token
    case = act(case, "confirm", cast.grid_worker_a, note="现场确认")
    assert case.state == S.REPORTED


def test_a_report_outside_every_grid_is_refused(cast):
    with pytest.raises(InvalidInputError, match="outside every grid"):
        report(cast.grid_worker_a, at=(121.47, 31.23))
    assert Case.objects.count() == 0


def test_duplicates_are_found_and_merged_with_a_supporter_count(cast):
    first = report(cast.grid_worker_a)
    near = (IN_GRID_A[0] + 0.0003, IN_GRID_A[1])  # ≈ 26 m east
    second = report(cast.grid_worker_a, at=near)
    far = report(cast.grid_worker_a, at=(IN_GRID_A[0] + 0.003, IN_GRID_A[1]))  # ≈ 260 m

    detail = client_for(cast.operator).get(reverse("api:case", args=[second.number])).json()
    assert detail["duplicates"] == [first.number]
    assert far.number not in detail["duplicates"]

    merged = act(second, "merge", cast.operator, into=first.number)
    assert merged.state == S.CLOSED and merged.outcome == "duplicate"
    assert Case.objects.get(pk=first.pk).supporters == 1


def test_dispatch_queues_notifications_that_are_sent_after_commit(
    cast, clerk, django_capture_on_commit_callbacks, mailoutbox
):
    clerk.email = "clerk@example.org"
    clerk.save(update_fields=["email"])
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        act(case, "dispatch", cast.commander, department="shizheng")
    assert Notification.objects.filter(recipient=clerk, status="pending").count() == 2
    assert mailoutbox == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert Notification.objects.filter(recipient=clerk, status="sent").count() == 2
    assert len(mailoutbox) == 1 and case.number in mailoutbox[0].subject


def test_a_failing_sender_is_retried_and_never_dropped(cast, clerk, monkeypatch):
    from wangge.cases import notifications

    def broken(notification):
        raise ConnectionError("SMTP down")

    monkeypatch.setitem(notifications.SENDERS, "inbox", broken)
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    act(case, "dispatch", cast.commander, department="shizheng")
    notifications.send_due()
    failed = Notification.objects.get(recipient=clerk, channel="inbox")
    assert failed.status == "failed" and failed.attempts >= 1
    assert "SMTP down" in failed.last_error and failed.next_attempt_at is not None


def test_suspend_needs_a_future_review_date_and_blocks_other_actions(cast):
    case = act(report(cast.grid_worker_a), "accept", cast.operator)
    with pytest.raises(InvalidInputError):
        act(case, "suspend", cast.operator, reason="待产权单位确认")
    case = act(case, "suspend", cast.operator, reason="待产权单位确认", review_date="2099-01-01")
    assert case.is_suspended
    with pytest.raises(PermissionDeniedError, match="suspended"):
        act(case, "dispatch", cast.commander, department="shizheng")
    assert not act(case, "resume", cast.operator).is_suspended


def test_extension_is_requested_and_approved(cast, clerk):
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    case = act(case, "dispatch", cast.commander, department="shizheng")
    before = case.stage_deadline
    case = act(
        case, "request_extension", clerk, reason="需采购配件", amount="2", unit="working_day"
    )
    assert case.extension_requested
    case = act(case, "approve_extension", cast.commander)
    assert case.stage_deadline > before and not case.extension_requested


SENT_SMS: list[str] = []


def fake_sms_gateway(notification):
    SENT_SMS.append(notification.subject)


def test_a_plugged_in_channel_sends_and_an_unknown_one_gives_up_visibly(cast, clerk, settings):
    from datetime import timedelta

    from django.utils import timezone

    from wangge.cases import notifications

    settings.WANGGE_NOTIFICATION_SENDERS = {"sms": "wangge.cases.tests.test_loop.fake_sms_gateway"}
    case = report(cast.grid_worker_a)
    sms = Notification.objects.create(
        recipient=clerk, case=case, channel="sms", subject="短信", next_attempt_at=timezone.now()
    )
    wecom = Notification.objects.create(
        recipient=clerk, case=case, channel="wecom", subject="企微", next_attempt_at=timezone.now()
    )
    notifications.send_due()
    assert Notification.objects.get(pk=sms.pk).status == "sent" and SENT_SMS == ["短信"]
    for _ in range(notifications.MAX_ATTEMPTS):
        Notification.objects.filter(pk=wecom.pk).exclude(status="gave_up").update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        notifications.send_due()
    gave_up = Notification.objects.get(pk=wecom.pk)
    assert gave_up.status == "gave_up" and "no sender configured" in gave_up.last_error


def test_a_department_member_without_a_region_scope_works_on_cases_sent_to_the_department(cast):
    dept = department("gongdian")
    lineman = make_user("lineman", role="department_handler", scope="")
    lineman.department = dept
    lineman.save(update_fields=["department"])
    case = act(report(cast.grid_worker_a), "accept", cast.operator)
    with pytest.raises(NotFoundError):
        act(case, "acknowledge", lineman)  # not dispatched to the department yet: invisible
    act(case, "dispatch", cast.commander, department="gongdian")
    assert act(case, "acknowledge", lineman).state == S.ACKNOWLEDGED


def test_a_reporter_follows_a_report_made_outside_their_grid(cast):
    from wangge.cases.selectors import case_list

    case = report(cast.grid_worker_b)  # at a point in grid A
    assert case_list(user=cast.grid_worker_b).filter(pk=case.pk).exists()
    with pytest.raises(NotFoundError):  # following is not acting: no action outside one's area
        act(case, "escalate", cast.grid_worker_b, reason="需要上级协调")


def test_merging_into_a_case_outside_ones_scope_is_refused(cast):
    theirs = report(cast.grid_worker_b, at=(116.39, 39.87))
    mine = report(cast.grid_worker_a)
    street_dispatcher = cast.street_dispatcher  # scope 110102001: not the east street
    with pytest.raises(InvalidInputError):
        act(mine, "merge", street_dispatcher, into=theirs.number)


def test_a_rule_for_the_big_class_suggests_the_department(cast):
    from wangge.cases.dispatch import suggest_department
    from wangge.cases.models import ResponsibilityRule

    item = category("T0004")
    big_rule_dept = department("huanwei")
    ResponsibilityRule.objects.create(
        category=item.parent, region_code="110102", department=big_rule_dept
    )
    case = report(cast.grid_worker_a, cat=item)
    assert suggest_department(case) == big_rule_dept
    own = department("yuanlin", rule_for=item)
    assert suggest_department(case) == own
