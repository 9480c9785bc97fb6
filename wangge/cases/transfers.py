"""Transferring a case to another grid (转办/移交), within a community or across streets.

A case lands in the grid its point lies in; sometimes that is the wrong grid (the point was taken
from across the street, the responsibility lies with the neighbouring community). A transfer moves
it: the grid, the region code (so the new community's and street's officers see it and the old
ones no longer do), the owner when the owner cannot act there, one ``CaseEvent``, the new grid's
workers notified, an audit row.

A transfer is an action of ``services.case_act`` (``Action.TRANSFER``; its rule is
``workflow._transfer_refusal``, its change ``services._transfer``), run as one serializable
transaction through ``core.transactions.run_serializable``: a transfer racing another change of
the same case either sees it or is retried, and the version is compared and set.
:func:`case_transfer` is its named form, answering what moved where.

Who may transfer: the district centre, dispatchers and street or community officers, when both the
case's current grid and the target grid lie inside their scope. So a community officer moves cases
between the grids of his community, a street between its communities, the district across streets.
"""

from __future__ import annotations

from dataclasses import dataclass

from wangge.cases.models import Case
from wangge.cases.services import case_act
from wangge.cases.workflow import Action
from wangge.core.models import User

ACTION = Action.TRANSFER.value


@dataclass(frozen=True)
class Transfer:
    case: Case
    from_grid: str
    to_grid: str
    owner_cleared: bool


def case_transfer(
    *,
    number: str,
    to_grid_code: str,
    reason: str,
    actor: User,
    expected_version: int | None = None,
) -> Transfer:
    """Move case ``number`` to the social grid ``to_grid_code``, all or nothing."""
    case = case_act(
        number=number,
        action=ACTION,
        data={"to_grid": to_grid_code, "reason": reason},
        actor=actor,
        expected_version=expected_version,
    )
    moved = case.events.filter(action=ACTION).order_by("-created_at", "-id").first()
    assert moved is not None  # noqa: S101 — case_act has just written it
    return Transfer(
        case=case,
        from_grid=moved.payload["from_grid"],
        to_grid=moved.payload["to_grid"],
        owner_cleared=moved.payload["owner_cleared"],
    )
