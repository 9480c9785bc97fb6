"""Rejects files of ledger imports are kept for a while, then deleted.

A rejects file holds the rejected rows as they were uploaded, ID and phone numbers in clear, so it
is personal data kept outside the sealed columns (PIPL: no longer than the purpose needs). The
importer has ``WANGGE_LEDGER_REJECTS_DAYS`` days to download it, fix the rows and import them again;
then the daily task deletes the file and writes one audit row for what it deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from wangge.core.audit import audit_log_write
from wangge.registry.models import LedgerImport


def purge_rejects(*, now: datetime | None = None) -> int:
    """Delete the rejects files of imports finished more than the kept days ago; how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.WANGGE_LEDGER_REJECTS_DAYS)
    jobs = list(
        LedgerImport.objects.filter(finished_at__lt=cutoff).exclude(rejects="").order_by("pk")
    )
    for job in jobs:
        job.rejects.delete(save=False)  # a file already gone is not an error
    if jobs:
        with transaction.atomic():
            LedgerImport.objects.filter(pk__in=[job.pk for job in jobs]).update(rejects="")
            audit_log_write(
                actor=None,
                action="registry.ledger_rejects_purged",
                target_type="registry.ledgerimport",
                details={
                    "imports": [job.pk for job in jobs],
                    "days": settings.WANGGE_LEDGER_REJECTS_DAYS,
                },
            )
    return len(jobs)
