"""The notification inbox: only the recipient sees and marks his notifications; the badge counts them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wangge.cases.inbox import inbox_unread_count
from wangge.cases.models import Case, CaseEvent, Notification
from wangge.cases.tests.factories import report
from wangge.core.models import AuditLog, User

pytestmark = pytest.mark.django_db

BADGE = re.compile(r'<span class="inbox-badge" aria-hidden="true">(\d+)</span>')


def notify(
    recipient: User, case: Case, *, read: bool = False, ago: int = 0, channel: str = "inbox"
):
    """One notification of the case's report event, as cases.notifications.queue_for_event writes."""
    event = CaseEvent.objects.filter(case=case).order_by("pk").first()
    notification = Notification.objects.create(
        recipient=recipient,
        case=case,
        event=event,
        channel=channel,
        subject=f"Case {case.number}: {event.action}",
        body=case.description,
    )
    created = timezone.now() - timedelta(minutes=ago)
    Notification.objects.filter(pk=notification.pk).update(
        created_at=created, read_at=created if read else None
    )
    notification.refresh_from_db()
    return notification


@pytest.fixture
def case(cast) -> Case:
    return report(cast.grid_worker_a)


def test_the_inbox_lists_only_the_users_own_notifications_newest_first_in_chinese(
    cast, case, client
):
    older = notify(cast.grid_worker_a, case, ago=10)
    newer = notify(cast.grid_worker_a, case, ago=1)
    notify(cast.grid_worker_a, case, channel="email")  # the e-mail copy is not an inbox row
    someone_elses = notify(cast.grid_worker_b, case)
    client.force_login(cast.grid_worker_a)

    response = client.get(reverse("web:notifications"))

    assert response.status_code == 200
    listed = [item.pk for item in response.context["items"]]
    assert listed == [newer.pk, older.pk]
    assert someone_elses.pk not in listed
    text = response.content.decode()
    assert f"案件 {case.number}：上报" in text  # the action's Chinese name, not the code "report"
    assert f'href="{reverse("web:console-case", args=[case.number])}"' in text
    assert "Case " not in text


def test_the_header_badge_counts_the_unread_inbox_rows_once_per_request(cast, case, client):
    for minutes in range(3):
        notify(cast.commander, case, ago=minutes)
    notify(cast.commander, case, read=True)
    notify(cast.commander, case, channel="email")
    notify(cast.operator, case)
    client.force_login(cast.commander)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("web:notifications"))  # header and "mark all" both show it

    assert BADGE.findall(response.content.decode()) == ["3"]
    assert inbox_unread_count(user=cast.commander) == 3
    counts = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].upper().startswith("SELECT COUNT")
        and "cases_notification" in query["sql"]
        and '"read_at" IS NULL' in query["sql"]
    ]
    assert len(counts) == 1


def test_a_page_without_unread_notifications_shows_no_badge(cast, case, client):
    notify(cast.commander, case, read=True)
    client.force_login(cast.commander)
    response = client.get(reverse("web:console"))
    assert response.status_code == 200
    assert BADGE.findall(response.content.decode()) == []
    assert f'href="{reverse("web:notifications")}"' in response.content.decode()


def test_the_recipient_marks_one_notification_read_with_an_audit_row(cast, case, client):
    first = notify(cast.grid_worker_a, case)
    second = notify(cast.grid_worker_a, case)
    client.force_login(cast.grid_worker_a)

    response = client.post(reverse("web:notification-read", args=[first.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("web:notifications")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None
    assert second.read_at is None
    audit = AuditLog.objects.get(action="cases.notification_read")
    assert (audit.actor_id, audit.target_id) == (cast.grid_worker_a.pk, str(first.pk))
    assert audit.details == {"case": case.number}
    # A second click changes nothing and writes no second audit row.
    client.post(reverse("web:notification-read", args=[first.pk]))
    assert AuditLog.objects.filter(action="cases.notification_read").count() == 1


def test_someone_elses_notification_cannot_be_marked_read(cast, case, client):
    theirs = notify(cast.grid_worker_b, case)
    client.force_login(cast.grid_worker_a)

    response = client.post(reverse("web:notification-read", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert not AuditLog.objects.filter(action="cases.notification_read").exists()


def test_a_missing_notification_answers_404_like_someone_elses(cast, client):
    client.force_login(cast.grid_worker_a)
    assert client.post(reverse("web:notification-read", args=[999999])).status_code == 404


def test_marking_read_needs_a_post(cast, case, client):
    mine = notify(cast.grid_worker_a, case)
    client.force_login(cast.grid_worker_a)
    assert client.get(reverse("web:notification-read", args=[mine.pk])).status_code == 405
    assert client.get(reverse("web:notifications-read-all")).status_code == 405
    mine.refresh_from_db()
    assert mine.read_at is None


def test_marking_read_needs_the_csrf_token(cast, case):
    from django.test import Client

    mine = notify(cast.grid_worker_a, case)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cast.grid_worker_a)
    assert strict.post(reverse("web:notification-read", args=[mine.pk])).status_code == 403
    mine.refresh_from_db()
    assert mine.read_at is None


def test_mark_all_read_marks_only_the_users_own_unread_rows(cast, case, client):
    mine = [notify(cast.grid_worker_a, case) for _ in range(2)]
    theirs = notify(cast.grid_worker_b, case)
    client.force_login(cast.grid_worker_a)

    response = client.post(
        reverse("web:notifications-read-all"), {"next": "https://evil.example/"}, follow=True
    )

    assert response.redirect_chain[0][0] == reverse("web:notifications")  # no open redirect
    assert all(Notification.objects.get(pk=n.pk).read_at for n in mine)
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert inbox_unread_count(user=cast.grid_worker_a) == 0
    assert inbox_unread_count(user=cast.grid_worker_b) == 1
    audit = AuditLog.objects.get(action="cases.notification_read_all")
    assert audit.details == {"count": 2}
    assert BADGE.findall(response.content.decode()) == []


def test_the_inbox_is_paginated_and_can_show_only_unread(cast, case, client):
    for minutes in range(31):
        notify(cast.commander, case, ago=minutes, read=minutes % 2 == 1)
    client.force_login(cast.commander)

    first = client.get(reverse("web:notifications"))
    second = client.get(reverse("web:notifications"), {"page": 2})
    unread = client.get(reverse("web:notifications"), {"show": "unread"})

    assert len(first.context["items"]) == 30
    assert len(second.context["items"]) == 1
    assert len(unread.context["items"]) == 16
    assert all(item.unread for item in unread.context["items"])


def test_the_inbox_needs_a_login(client):
    response = client.get(reverse("web:notifications"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_inbox_speaks_english_on_request(cast, case, client):
    notify(cast.commander, case)
    client.force_login(cast.commander)
    text = client.get(reverse("web:notifications"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Case {case.number}: Report" in text
    assert "Mark read" in text
