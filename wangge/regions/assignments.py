"""Reassigning a grid worker to another grid (网格员调整): which grid his data scope covers.

A grid worker's grid is the one grant of his data scope (``core.ScopeGrant``). Changing it is a
territory decision, so it lives here, above core, where grids are known. One serializable
transaction (``core.transactions.run_serializable``): the old grant is deleted only if it is still
there, then the new one written, so two officers moving the same worker at once cannot both win, and
an audit row records from where to where and why. A worker of several grids (一员多格) has his
grants edited in the administration, not here.

Who may reassign: community and street officers, the district commander and system
administrators, when both the worker's current grid and the new one lie inside their scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from wangge.core.audit import audit_log_write
from wangge.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from wangge.core.models import ScopeGrant, User
from wangge.core.scope import code_in_scope, user_prefixes
from wangge.core.transactions import run_serializable
from wangge.regions import locate
from wangge.regions.models import Grid
from wangge.regions.permissions import can_reassign_grid_workers, is_grid_worker


@dataclass(frozen=True)
class Reassignment:
    worker: User
    from_grid: str
    to_grid: str


def worker_reassign(*, username: str, to_grid_code: str, reason: str, actor: User) -> Reassignment:
    """Make grid worker ``username`` cover grid ``to_grid_code`` instead of his current one."""
    return run_serializable(
        lambda: _reassign(username=username, to_grid_code=to_grid_code, reason=reason, actor=actor)
    )


def _reassign(*, username: str, to_grid_code: str, reason: str, actor: User) -> Reassignment:
    if not can_reassign_grid_workers(actor):
        raise PermissionDeniedError(_("Your role may not reassign grid workers."))
    worker = User.objects.filter(username=username, is_active=True).first()
    grants = user_prefixes(worker) if worker is not None else []
    if worker is None or not grants or not all(code_in_scope(actor, g) for g in grants):
        raise NotFoundError(_("No grid worker %(name)s in your area.") % {"name": username})
    if not is_grid_worker(worker) or any(len(g) != 15 for g in grants):
        raise InvalidInputError(
            _("%(name)s is not a grid worker.") % {"name": username},
            {"username": [_("Only a grid worker's grid can be reassigned here.")]},
        )
    if len(grants) > 1:
        raise InvalidInputError(
            _("%(name)s covers several grids.") % {"name": username},
            {"username": [_("The grids of a worker of several grids are changed in the admin.")]},
        )
    old = grants[0]
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if len(reason) < 2:
        errors["reason"] = [_("Give a reason for the reassignment.")]
    code = (to_grid_code or "").strip()
    exists = (
        code_in_scope(actor, code)
        and Grid.objects.filter(layer_id=locate.DEFAULT_LAYER, code=code).exists()
    )
    if not exists:
        errors["to_grid"] = [_("No grid %(code)s in your area.") % {"code": code or "—"}]
    elif code == old:
        errors["to_grid"] = [_("%(name)s already covers this grid.") % {"name": username}]
    if errors:
        field_name, messages = next(iter(errors.items()))
        raise InvalidInputError(f"{field_name}: {messages[0]}", errors)

    removed, _per_model = ScopeGrant.objects.filter(user=worker, prefix=old).delete()
    if removed != 1:
        raise ConflictError(_("%(name)s was reassigned by someone else.") % {"name": username})
    ScopeGrant.objects.create(user=worker, prefix=code)
    audit_log_write(
        actor=actor,
        action="core.worker_reassign",
        target_type="core.user",
        target_id=worker.pk,
        details={"username": username, "from_grid": old, "to_grid": code, "reason": reason[:200]},
    )
    return Reassignment(worker=worker, from_grid=old, to_grid=code)
