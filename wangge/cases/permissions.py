"""Who may do what with cases: ``can_*`` predicates and ``access_*_for_user`` look-ups. The rules of
the loop's actions (who may accept, dispatch, verify, …) are ``cases.workflow``'s Refusal rules."""

from __future__ import annotations

from django.utils.translation import gettext as _

from wangge.cases.inbox import inbox_list
from wangge.cases.models import Case, Notification
from wangge.cases.selectors import case_list
from wangge.core.errors import NotFoundError
from wangge.core.models import User


def can_view_cases(user: User) -> bool:
    """May open the case pages at all (which cases: ``selectors.case_list`` by the data scope)."""
    return user.has_perm("cases.view_case")


def access_case_for_user(*, user: User, number: str) -> Case:
    case = case_list(user=user).filter(number=number).first()
    if case is None:
        raise NotFoundError(f"No case {number}.")
    return case


def access_notification_for_user(*, user: User, notification_id: object) -> Notification:
    """The user's own inbox notification; anyone else's (or a missing one) is not found."""
    try:
        pk = int(str(notification_id))
    except ValueError:
        pk = None
    found = inbox_list(user=user).filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise NotFoundError(_("No such notification."))
    return found
