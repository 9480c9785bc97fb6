"""Background work of the registry, run by the Huey consumer (``manage.py run_huey``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from wangge.registry import rejects
from wangge.registry.ledgers import importing


@db_task()
def run_ledger_import(job_id: int) -> int:
    """Import a queued ledger file; returns the number of rows read."""
    return importing.ledger_import_run(job_id).rows_done


@db_periodic_task(crontab(hour="3", minute="17"))
def purge_ledger_rejects() -> int:
    """Daily: delete the rejects files older than ``WANGGE_LEDGER_REJECTS_DAYS``."""
    return rejects.purge_rejects()
