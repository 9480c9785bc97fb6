"""The outbox: notifications written in the case's transaction and sent after commit.

A send that fails is retried with growing pauses and, after the last try, marked ``gave_up`` where
administrators see it; nothing is dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from wangge.cases.models import Case, CaseEvent, Notification
from wangge.core.models import User

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
CLAIM_FOR = timedelta(minutes=5)  # a worker that dies mid-send frees the row after this
Sender = Callable[[Notification], None]


def queue_for_event(case: Case, event: CaseEvent, recipients: Iterable[User | None]) -> None:
    """Write one inbox notification (and one e-mail where an address is known) per recipient."""
    people = {person.pk: person for person in recipients if person is not None and person.pk}
    if not people:
        return
    subject = _("Case %(number)s: %(action)s") % {"number": case.number, "action": event.action}
    body = case.description[:500]
    rows = []
    for person in people.values():
        rows.append(
            Notification(
                recipient=person,
                case=case,
                event=event,
                channel="inbox",
                subject=subject,
                body=body,
                next_attempt_at=event.created_at,
            )
        )
        if person.email:
            rows.append(
                Notification(
                    recipient=person,
                    case=case,
                    event=event,
                    channel="email",
                    subject=subject,
                    body=body,
                    next_attempt_at=event.created_at,
                )
            )
    Notification.objects.bulk_create(rows)
    transaction.on_commit(_wake_sender)


def _wake_sender() -> None:
    from wangge.cases.tasks import send_notifications_soon

    send_notifications_soon()


def _send_inbox(notification: Notification) -> None:
    """The inbox is the notification row itself: it is delivered once committed."""


def _send_email(notification: Notification) -> None:
    send_mail(
        notification.subject,
        notification.body,
        settings.DEFAULT_FROM_EMAIL,
        [notification.recipient.email],
        fail_silently=False,
    )


SENDERS: dict[str, Sender] = {"inbox": _send_inbox, "email": _send_email}


def sender_for(channel: str) -> Sender | None:
    """The sender of a channel: built in, or a dotted path from WANGGE_NOTIFICATION_SENDERS.

    SMS and WeCom gateways differ per city; a deployment plugs its own function in by setting
    e.g. ``WANGGE_NOTIFICATION_SENDERS=sms=myorg.sms.send,wecom=myorg.wecom.send``.
    """
    if channel in SENDERS:
        return SENDERS[channel]
    path = settings.WANGGE_NOTIFICATION_SENDERS.get(channel)
    return import_string(path) if path else None


def send_due(limit: int = 500) -> int:
    """Send the notifications that are due; returns how many were sent."""
    now = timezone.now()
    due = list(
        Notification.objects.filter(
            status__in=[Notification.Status.PENDING, Notification.Status.FAILED],
            next_attempt_at__lte=now,
        )
        .select_related("recipient")
        .order_by("next_attempt_at")[:limit]
    )
    sent = 0
    for notification in due:
        # Claim the row first, so two workers never send the same notification.
        claimed = Notification.objects.filter(
            pk=notification.pk,
            attempts=notification.attempts,
            next_attempt_at=notification.next_attempt_at,
        ).update(next_attempt_at=now + CLAIM_FOR)
        if claimed != 1:
            continue
        try:
            sender = sender_for(notification.channel)
            if sender is None:
                raise RuntimeError(f"no sender configured for channel {notification.channel}")
            sender(notification)
        except Exception as exc:  # noqa: BLE001 — any failure of a backend is recorded and retried
            _record_failure(notification, exc, now)
            continue
        Notification.objects.filter(pk=notification.pk).update(
            status=Notification.Status.SENT,
            sent_at=now,
            attempts=notification.attempts + 1,
            next_attempt_at=None,
        )
        sent += 1
    return sent


def _record_failure(notification: Notification, exc: Exception, now: datetime) -> None:
    attempts = notification.attempts + 1
    gave_up = attempts >= MAX_ATTEMPTS
    logger.warning(
        "notification %s (%s) failed, attempt %s: %s",
        notification.pk,
        notification.channel,
        attempts,
        exc,
    )
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.GAVE_UP if gave_up else Notification.Status.FAILED,
        attempts=attempts,
        last_error=f"{type(exc).__name__}: {exc}"[:1000],
        next_attempt_at=None if gave_up else now + timedelta(minutes=2**attempts),
    )
