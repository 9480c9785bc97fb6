"""Background work of the loop, run by the Huey consumer (`manage.py run_huey`)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from wangge.cases import deadlines, notifications


@db_periodic_task(crontab(minute="*"))
def poll_deadlines() -> int:
    """Every minute: flag cases past their stage deadline, escalate and queue 督办 notices."""
    return deadlines.mark_overdue()


@db_periodic_task(crontab(minute="*"))
def retry_notifications() -> int:
    return notifications.send_due()


@db_task()
def send_notifications() -> int:
    return notifications.send_due()


def send_notifications_soon() -> None:
    send_notifications()
