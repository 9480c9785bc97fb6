"""The notification inbox (/notifications/): the user's own notifications, newest first, marked read.

Thin: the rows come from ``cases.inbox.inbox_list``, the writes are ``notification_mark_read`` and
``notification_mark_all_read``. Someone else's notification answers 404, like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from wangge.cases.inbox import (
    inbox_list,
    notification_mark_all_read,
    notification_mark_read,
)
from wangge.cases.models import Notification
from wangge.cases.permissions import access_notification_for_user
from wangge.core.errors import NotFoundError
from wangge.web.views_cases import ACTION_LABELS

PAGE_SIZE = 30


@dataclass(frozen=True)
class Item:
    pk: int
    title: str
    body: str
    case_number: str | None
    created_at: datetime
    unread: bool


def _title(notification: Notification) -> str:
    """What happened, in the reader's language (the stored subject was written in the sender's)."""
    event = notification.event
    if notification.case is None or event is None:
        return notification.subject
    action = ACTION_LABELS.get(event.action, event.action)
    return _("Case %(number)s: %(action)s") % {"number": notification.case.number, "action": action}


def _item(notification: Notification) -> Item:
    return Item(
        pk=notification.pk,
        title=_title(notification),
        body=notification.body,
        case_number=notification.case.number if notification.case else None,
        created_at=notification.created_at,
        unread=notification.read_at is None,
    )


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    rows = inbox_list(user=request.user)
    if request.GET.get("show") == "unread":
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "page": page,
        "items": [_item(notification) for notification in page.object_list],
        "unread_only": request.GET.get("show") == "unread",
    }
    return render(request, "web/notifications.html", context)


def _back(request: HttpRequest) -> str:
    """Back to the page the form was on (same site only), else the inbox."""
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else reverse("web:notifications")


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notification = access_notification_for_user(user=request.user, notification_id=pk)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    notification_mark_read(notification=notification, actor=request.user)
    return redirect(_back(request))


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    changed = notification_mark_all_read(actor=request.user)
    if changed:
        messages.success(
            request,
            ngettext(
                "%(count)d notification marked read.",
                "%(count)d notifications marked read.",
                changed,
            )
            % {"count": changed},
        )
    return redirect(_back(request))
