"""The deadline poller: cases past their stage deadline become overdue, once, with an event."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from wangge.cases import notifications
from wangge.cases.models import Case, CaseEvent, Stage
from wangge.cases.workflow import LEVEL_ABOVE, OPEN_STATES

logger = logging.getLogger(__name__)

# A case that overstays acceptance or dispatch at grid or community level moves one level up:
# what the grid or community cannot start in time is not a small matter any more (小事不出社区).
ESCALATING_STAGES = frozenset({Stage.ACCEPT, Stage.DISPATCH})
ESCALATING_LEVELS = frozenset({Case.Level.GRID, Case.Level.COMMUNITY})


def mark_overdue(limit: int = 1000) -> int:
    """Flag due cases overdue; returns how many were flagged. Safe to run in several workers."""
    now = timezone.now()
    due = list(
        Case.objects.filter(
            is_overdue=False,
            is_suspended=False,
            stage_deadline__lte=now,
            state__in=OPEN_STATES,
        )
        .select_related("owner_user", "owner_department")
        .order_by("stage_deadline")[:limit]
    )
    flagged = 0
    for case in due:
        with transaction.atomic():
            updates = {"is_overdue": True, "version": F("version") + 1, "updated_at": now}
            escalate = case.stage in ESCALATING_STAGES and case.level in ESCALATING_LEVELS
            if escalate:
                updates["level"] = LEVEL_ABOVE[Case.Level(case.level)]
            changed = Case.objects.filter(
                pk=case.pk, version=case.version, is_overdue=False
            ).update(**updates)
            if changed != 1:
                continue  # someone acted on it meanwhile; the next poll sees the new state
            event = CaseEvent.objects.create(
                case=case,
                action="overdue",
                from_state=case.state,
                to_state=case.state,
                actor=None,
                payload={
                    "stage": case.stage,
                    "deadline": case.stage_deadline.isoformat(),
                    "escalated_to": updates.get("level"),
                },
                created_at=now,
            )
            recipients = [case.owner_user] if case.owner_user_id else []
            if case.owner_department_id:
                recipients += list(case.owner_department.members.filter(is_active=True))
            notifications.queue_for_event(case, event, recipients)
            flagged += 1
    if flagged:
        logger.info("flagged %s overdue case(s)", flagged)
    return flagged
