"""Re-encrypt every sealed personal number under the newest key (docs/security.md, rotation)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from wangge.core import pii
from wangge.core.audit import audit_log_write
from wangge.registry.sealed import sealed_columns


class Command(BaseCommand):
    help = (
        "Re-encrypt sealed ID, phone and permit numbers under the newest key of WANGGE_PII_KEYS. "
        "Resumable and idempotent: run it until it reports nothing left to do."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        pii.check_keys()
        newest = f"{pii.TOKEN_VERSION}.{pii.newest_key_id()}."
        totals = {"moved": 0, "damaged": 0}
        for column in sealed_columns():
            model, field = column.model, column.token_field
            # An indexable prefix test picks the candidates; reencrypt() verifies each token.
            pending = (
                model.objects.exclude(**{field: ""})
                .exclude(**{f"{field}__startswith": newest})
                .order_by("pk")
            )
            moved = damaged = 0
            last_pk: Any = None
            while True:
                rows = pending if last_pk is None else pending.filter(pk__gt=last_pk)
                batch = list(rows.only("pk", field)[:batch_size])
                if not batch:
                    break
                last_pk = batch[-1].pk
                changed = []
                for row in batch:
                    try:
                        token = pii.reencrypt(getattr(row, field), purpose=column.purpose)
                    except pii.PiiError as exc:
                        damaged += 1
                        self.stderr.write(f"{column.label} pk={row.pk}: {exc}")
                        continue
                    setattr(row, field, token)
                    changed.append(row)
                if changed and not dry_run:
                    with transaction.atomic():
                        model.objects.bulk_update(changed, [field])
                moved += len(changed)
            totals["moved"] += moved
            totals["damaged"] += damaged
            verb = "would move" if dry_run else "moved"
            self.stdout.write(f"{column.label}: {verb} {moved}, damaged {damaged}")
        if not dry_run:
            audit_log_write(
                actor=None,
                action="pii.reencrypt",
                target_type="pii",
                details={**totals, "key_id": pii.newest_key_id()},
            )
        done = "nothing left to do" if totals["moved"] == 0 else "run again to verify"
        self.stdout.write(f"total: {totals['moved']} tokens, {totals['damaged']} damaged; {done}.")
