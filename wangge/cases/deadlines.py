"""The deadline poller: cases past their stage deadline become overdue, once, with an event.

Each case is marked through ``services.case_change_apply`` (compare-and-set on its version, the
``overdue`` event, its notices and audit row), so an action taken meanwhile wins."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from wangge.cases.models import Case, Stage
from wangge.cases.services import Change, case_change_apply
from wangge.cases.workflow import LEVEL_ABOVE, OPEN_STATES
from wangge.core.errors import ConflictError

logger = logging.getLogger(__name__)

# A case that overstays acceptance or dispatch at grid or community level moves one level up:
# what the grid or community cannot start in time is not a small matter any more (小事不出社区).
ESCALATING_STAGES = frozenset({Stage.ACCEPT, Stage.DISPATCH})
ESCALATING_LEVELS = frozenset({Case.Level.GRID, Case.Level.COMMUNITY})
OVERDUE = "overdue"  # the event's action


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
        updates = {"is_overdue": True}
        if case.stage in ESCALATING_STAGES and case.level in ESCALATING_LEVELS:
            updates["level"] = LEVEL_ABOVE[Case.Level(case.level)]
        recipients = [case.owner_user] if case.owner_user_id else []
        if case.owner_department_id:
            recipients += list(case.owner_department.members.filter(is_active=True))
        payload = {
            "stage": case.stage,
            "deadline": case.stage_deadline.isoformat(),
            "escalated_to": updates.get("level"),
        }
        change = Change(case.state, updates=updates, payload=payload, notify=recipients)
        try:
            with transaction.atomic():
                case_change_apply(case, OVERDUE, change, actor=None, now=now)
        except ConflictError:
            continue  # someone acted on it meanwhile; the next poll sees the new state
        flagged += 1
    if flagged:
        logger.info("flagged %s overdue case(s)", flagged)
    return flagged
