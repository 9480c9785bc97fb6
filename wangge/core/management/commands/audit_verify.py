"""Check the audit log's hash chain: exit 0 when intact, 1 naming the first broken row."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wangge.core.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exit 1 and name the first row that breaks it."

    def handle(self, *args: Any, **options: Any) -> None:
        count, broken = audit_chain_verify()
        if broken is not None:
            raise CommandError(
                f"audit log chain broken at row {broken.row_id}: {broken.reason} "
                f"({count} rows read)",
                returncode=1,
            )
        self.stdout.write(f"audit log chain intact: {count} rows")
