"""Rejects files (rows as uploaded, numbers in clear) are deleted after the kept days."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from wangge.core.models import AuditLog
from wangge.registry.models import LedgerImport
from wangge.registry.rejects import purge_rejects
from wangge.registry.tasks import purge_ledger_rejects

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def finished_job(actor, *, days_ago: float) -> LedgerImport:
    job = LedgerImport(
        kind="people", file_name="台账.csv", file_format="csv", created_by=actor, status="done"
    )
    job.finished_at = timezone.now() - timedelta(days=days_ago)
    job.rejects.save(
        "rejects.csv", ContentFile("姓名,公民身份号码,错误原因\n".encode()), save=False
    )
    job.save()
    return job


def test_old_rejects_files_are_deleted_and_recent_ones_kept(cast, settings):
    settings.WANGGE_LEDGER_REJECTS_DAYS = 7
    old = finished_job(cast.community_officer, days_ago=8)
    recent = finished_job(cast.community_officer, days_ago=6)
    old_path, recent_path = old.rejects.path, recent.rejects.path

    assert purge_rejects() == 1

    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old.rejects and recent.rejects
    assert not os.path.exists(old_path) and os.path.exists(recent_path)
    row = AuditLog.objects.get(action="registry.ledger_rejects_purged")
    assert row.details == {"imports": [old.pk], "days": 7}
    assert purge_rejects() == 0  # nothing left to delete, no second audit row
    assert AuditLog.objects.filter(action="registry.ledger_rejects_purged").count() == 1


def test_the_daily_task_purges(cast, settings):
    settings.WANGGE_LEDGER_REJECTS_DAYS = 1
    job = finished_job(cast.community_officer, days_ago=2)
    assert purge_ledger_rejects.call_local() == 1
    job.refresh_from_db()
    assert not job.rejects
