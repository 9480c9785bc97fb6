"""The ledger page: upload with a polled progress fragment, rejects, templates, export."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from wangge.core.models import AuditLog
from wangge.registry.models import LedgerImport, Person
from wangge.registry.tests.test_ledgers import PEOPLE_HEADERS, person_row, xlsx


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads and rejects files go to a temporary MEDIA_ROOT, not the working tree's var/."""
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.django_db
def test_upload_shows_the_job_with_its_progress_and_rejects(client, cast):
    client.force_login(cast.grid_worker_a)
    page = client.get(reverse("web:ledgers"))
    assert page.status_code == 200
    assert reverse("web:ledger-template", args=["people"]).encode() in page.content
    content = xlsx(PEOPLE_HEADERS, [person_row(1), person_row(2, 联系电话="12")])
    response = client.post(
        reverse("web:ledgers"),
        {"kind": "people", "file": SimpleUploadedFile("人员.xlsx", content)},
    )
    job = LedgerImport.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"?job={job.pk}")
    page = client.get(response["Location"])
    assert b"<progress" in page.content and b'value="100"' in page.content
    fragment = client.get(reverse("web:ledger-job", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert b"hx-trigger" not in fragment.content  # finished: no more polling
    assert reverse("web:ledger-rejects", args=[job.pk]).encode() in fragment.content
    rejects = client.get(reverse("web:ledger-rejects", args=[job.pk]))
    assert rejects.status_code == 200
    assert Person.objects.count() == 1
    client.force_login(cast.grid_worker_b)
    assert client.get(reverse("web:ledger-job", args=[job.pk])).status_code == 404
    assert client.get(reverse("web:ledger-rejects", args=[job.pk])).status_code == 404


@pytest.mark.django_db
def test_a_running_job_is_polled(client, cast):
    job = LedgerImport.objects.create(
        kind="people", file_name="a.xlsx", file_format="xlsx", created_by=cast.grid_worker_a,
        status="running", rows_total=10, rows_done=4,
    )  # fmt: skip
    client.force_login(cast.grid_worker_a)
    fragment = client.get(reverse("web:ledger-job", args=[job.pk]))
    assert b'hx-trigger="every 1s"' in fragment.content
    assert b'value="40"' in fragment.content


@pytest.mark.django_db
def test_a_bad_file_is_explained_on_the_page(client, cast):
    client.force_login(cast.grid_worker_a)
    response = client.post(
        reverse("web:ledgers"),
        {"kind": "people", "file": SimpleUploadedFile("a.csv", "姓名\n张三\n".encode())},
    )
    assert response.status_code == 400
    assert "公民身份号码".encode() in response.content
    assert not LedgerImport.objects.exists()


@pytest.mark.django_db
def test_export_from_the_page_is_audited_and_needs_the_permission(client, cast):
    client.force_login(cast.grid_worker_a)
    assert client.post(reverse("web:ledger-export", args=["people"])).status_code == 403
    assert client.post(reverse("web:ledger-export", args=["houses"])).status_code == 200
    client.force_login(cast.community_officer)
    response = client.post(reverse("web:ledger-export", args=["people"]), {"region": "110102001"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AuditLog.objects.filter(action="registry.ledger_export").count() == 2
