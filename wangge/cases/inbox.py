"""The in-app inbox: a user's own notifications (the outbox rows of channel "inbox"), read and marked.

Reads take the requesting user and return only his rows; another user's notification is "not found",
never "forbidden". Marking read is a write: a conditional UPDATE (only rows still unread change, so a
double click or two tabs change nothing twice) and one audit row, in one transaction.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from wangge.cases.models import Notification
from wangge.core.audit import audit_log_write
from wangge.core.models import User

INBOX = Notification.Channel.INBOX


def inbox_list(*, user: User) -> QuerySet[Notification]:
    """The user's inbox notifications, newest first (index ``notification_inbox_idx``)."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return (
        Notification.objects.filter(recipient=user, channel=INBOX)
        .select_related("case", "event")
        .order_by("-created_at", "-pk")
    )


def inbox_unread_count(*, user: User) -> int:
    """How many of the user's inbox notifications are unread: one COUNT on a partial index."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, channel=INBOX, read_at__isnull=True).count()


@transaction.atomic
def notification_mark_read(*, notification: Notification, actor: User) -> bool:
    """Mark one of the actor's notifications read; False when it already was."""
    changed = Notification.objects.filter(
        pk=notification.pk, recipient=actor, channel=INBOX, read_at__isnull=True
    ).update(read_at=timezone.now())
    if changed:
        audit_log_write(
            actor=actor,
            action="cases.notification_read",
            target_type="cases.notification",
            target_id=notification.pk,
            details={"case": notification.case.number if notification.case else None},
        )
    return changed == 1


@transaction.atomic
def notification_mark_all_read(*, actor: User) -> int:
    """Mark every unread notification of the actor read; returns how many changed."""
    changed = Notification.objects.filter(
        recipient=actor, channel=INBOX, read_at__isnull=True
    ).update(read_at=timezone.now())
    if changed:
        audit_log_write(
            actor=actor,
            action="cases.notification_read_all",
            target_type="cases.notification",
            details={"count": changed},
        )
    return changed
