from __future__ import annotations

from typing import Any

from wangge.core.models import AuditLog, User


def audit_log_write(
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit row. Call it inside the service's transaction so both land or neither does."""
    return AuditLog.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=details or {},
    )
