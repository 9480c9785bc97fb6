"""The audit log: one writer, a hash chain over its rows, and the verifier of that chain.

Every row stores ``prev_hash`` (the previous row's ``row_hash``) and ``row_hash`` = SHA-256 of
``prev_hash`` and the canonical JSON of the row's content. Writers take the lock on the one-row
``AuditChainHead`` (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transactions already
admit one writer), so rows are chained in id order. Changing, removing or inserting a row anywhere
breaks the chain at that row, and ``manage.py audit_verify`` names it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from wangge.core.models import GENESIS_HASH, AuditChainHead, AuditLog, User


def audit_row_content(
    *,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: str,
    details: Any,
    created_at: dt.datetime,
) -> str:
    """The canonical JSON of what a row says (its id is its place in the chain, not its content)."""
    return json.dumps(
        {
            "actor": actor_id,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "details": details,
            "created_at": created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def audit_row_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def audit_log_write(
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit row. Call it inside the service's transaction so both land or neither does.

    The chain head stays locked until that transaction ends: keep audit writes near its end.
    """
    actor_id = actor.pk if actor is not None and actor.pk else None
    # Store exactly what will be read back, so the hash is computed over the same values.
    clean_details = json.loads(json.dumps(details or {}))
    row = AuditLog(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=clean_details,
    )
    with transaction.atomic():
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        row.created_at = timezone.now()
        row.prev_hash = head.last_hash
        row.row_hash = audit_row_hash(head.last_hash, _content_of(row))
        row.save(force_insert=True)
        head.last_id = row.pk
        head.last_hash = row.row_hash
        head.save(update_fields=["last_id", "last_hash"])
    return row


def _content_of(row: AuditLog | Mapping[str, Any]) -> str:
    get = row.get if isinstance(row, Mapping) else lambda name: getattr(row, name)
    return audit_row_content(
        actor_id=get("actor_id"),
        action=get("action"),
        target_type=get("target_type"),
        target_id=get("target_id"),
        details=get("details"),
        created_at=get("created_at"),
    )


@dataclass(frozen=True)
class ChainBreak:
    row_id: int | None
    reason: str


_FIELDS = ("id", "actor_id", "action", "target_type", "target_id", "details", "created_at")


def audit_chain_rows() -> Iterable[dict[str, Any]]:
    return (
        AuditLog.objects.order_by("id")
        .values(*_FIELDS, "prev_hash", "row_hash")
        .iterator(chunk_size=2000)
    )


def audit_chain_verify(
    rows: Iterable[Mapping[str, Any]] | None = None,
) -> tuple[int, ChainBreak | None]:
    """Walk the chain in id order: (rows checked, the first break or None)."""
    expected_prev = GENESIS_HASH
    count = 0
    last_id = None
    for row in audit_chain_rows() if rows is None else rows:
        count += 1
        if row["prev_hash"] != expected_prev:
            return count, ChainBreak(row["id"], "does not follow the previous row (prev_hash)")
        if audit_row_hash(row["prev_hash"], _content_of(row)) != row["row_hash"]:
            return count, ChainBreak(row["id"], "its content does not match its hash")
        expected_prev = row["row_hash"]
        last_id = row["id"]
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_id, head.last_hash) != (last_id, expected_prev):
        return count, ChainBreak(
            head.last_id, "the chain head names a row that is not the last one"
        )
    return count, None
