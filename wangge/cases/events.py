"""The one writer of a case's history: :func:`case_event_append`.

Every write of the loop ends here (an action of ``services.case_act``, a transfer, the overdue
poller, a support, a photo added): one ``CaseEvent`` row, which is also the outbox (its
notifications are queued in the same transaction), and one audit row named ``cases.case_<action>``
(``cases.photo_add`` for a photo), both in the caller's transaction. The database refuses UPDATE
and DELETE of case events (migration ``cases.0006_case_events_append_only``). Only intake writes
its ``report`` event elsewhere, in the same statement as the case (``services._store``), and
writes no audit row: the intake hot path does not queue on the audit chain's lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from wangge.cases import notifications
from wangge.cases.models import Case, CaseEvent
from wangge.core.audit import audit_log_write
from wangge.core.models import User

AUDIT_TEXT_LIMIT = 200  # the event keeps the whole text; its audit row a beginning
# Audit action names that predate the rule "cases.case_<event action>".
AUDIT_ACTIONS = {"add_photo": "cases.photo_add"}


def case_event_append(
    case: Case,
    action: str,
    *,
    actor: User | None,
    now: datetime,
    to_state: str | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    notify: Iterable[User | None] = (),
    audit_details: dict[str, Any] | None = None,
) -> CaseEvent:
    """Append ``action`` to ``case``'s history, queue its notices and write its audit row.

    ``case`` is the case as it was before the change (its state is the event's ``from_state``);
    ``to_state`` defaults to the same state. Call inside the writing transaction, after the
    compare-and-set of the case (``services.case_change_apply``) when the case itself changes.
    ``audit_details`` replaces the default details (the payload, texts cut short, and the reason).
    """
    event = new_event(
        action,
        case.state,
        case.state if to_state is None else to_state,
        actor,
        reason,
        payload,
        now,
    )
    event.case = case
    event.save(force_insert=True)
    notifications.queue_for_event(case, event, notify)
    if audit_details is None:
        audit_details = {key: _short(value) for key, value in event.payload.items()}
        if reason:
            audit_details["reason"] = reason[:AUDIT_TEXT_LIMIT]
    audit_log_write(
        actor=actor,
        action=AUDIT_ACTIONS.get(action, f"cases.case_{action}"),
        target_type="cases.case",
        target_id=case.number,
        details=audit_details,
    )
    return event


def new_event(
    action: str,
    from_state: str,
    to_state: str,
    actor: User | None,
    reason: str,
    payload: dict[str, Any] | None,
    now: datetime,
) -> CaseEvent:
    """An event not yet stored nor tied to its case (intake stores its ``report`` event itself)."""
    return CaseEvent(
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor if actor is not None and actor.pk else None,
        reason=reason,
        payload=payload or {},
        created_at=now,
    )


def _short(value: Any) -> Any:
    return value[:AUDIT_TEXT_LIMIT] if isinstance(value, str) else value
