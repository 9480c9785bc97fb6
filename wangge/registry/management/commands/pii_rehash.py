"""Recompute every lookup hash under the current WANGGE_PII_HASH_KEY (docs/security.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from wangge.core import pii
from wangge.core.audit import audit_log_write
from wangge.registry.sealed import sealed_columns


class Command(BaseCommand):
    help = (
        "Recompute the lookup hashes of sealed numbers after the hash key (or a normalizer) "
        "changed. Until it finishes, searches by number miss the rows not yet done."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        pii.check_keys()
        totals = {"rehashed": 0, "damaged": 0}
        for column in sealed_columns():
            model, token_field, hash_field = column.model, column.token_field, column.hash_field
            rows = model.objects.exclude(**{token_field: ""}).order_by("pk")
            rehashed = damaged = 0
            last_pk: Any = None
            while True:
                page = rows if last_pk is None else rows.filter(pk__gt=last_pk)
                batch = list(page.only("pk", token_field, hash_field)[:batch_size])
                if not batch:
                    break
                last_pk = batch[-1].pk
                changed = []
                for row in batch:
                    try:
                        value = pii.rehash(getattr(row, token_field), purpose=column.purpose)
                    except pii.PiiError as exc:
                        damaged += 1
                        self.stderr.write(f"{column.label} pk={row.pk}: {exc}")
                        continue
                    if value != getattr(row, hash_field):
                        setattr(row, hash_field, value)
                        changed.append(row)
                if changed and not dry_run:
                    with transaction.atomic():
                        model.objects.bulk_update(changed, [hash_field])
                rehashed += len(changed)
            totals["rehashed"] += rehashed
            totals["damaged"] += damaged
            verb = "would rehash" if dry_run else "rehashed"
            self.stdout.write(f"{column.label}: {verb} {rehashed}, damaged {damaged}")
        if not dry_run:
            audit_log_write(actor=None, action="pii.rehash", target_type="pii", details=totals)
        self.stdout.write(f"total: {totals['rehashed']} hashes, {totals['damaged']} damaged.")
