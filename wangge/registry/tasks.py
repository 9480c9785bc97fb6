"""Background work of the registry, run by the Huey consumer (``manage.py run_huey``)."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from wangge.registry.ledgers import importing


@db_task()
def run_ledger_import(job_id: int) -> int:
    """Import a queued ledger file; returns the number of rows read."""
    return importing.ledger_import_run(job_id).rows_done
