"""The ledger page: upload with a polled progress fragment, rejects, templates, export."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from wangge.core.models import AuditLog
from wangge.registry import permissions
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


@pytest.mark.django_db
def test_the_page_shows_every_problem_of_the_rejected_rows(client, cast):
    client.force_login(cast.grid_worker_a)
    content = xlsx(PEOPLE_HEADERS, [person_row(1), person_row(2, 姓名="", 联系电话="12")])
    response = client.post(
        reverse("web:ledgers"), {"kind": "people", "file": SimpleUploadedFile("a.xlsx", content)}
    )
    page = client.get(response["Location"]).content.decode()
    assert "姓名:" in page and "联系电话:" in page


@pytest.mark.django_db
def test_a_small_file_is_imported_before_the_page_answers(client, cast, monkeypatch):
    from wangge.registry import tasks

    monkeypatch.setattr(tasks, "run_ledger_import", lambda job_id: pytest.fail("queued"))
    client.force_login(cast.grid_worker_a)
    content = xlsx(PEOPLE_HEADERS, [person_row(1)])
    client.post(
        reverse("web:ledgers"), {"kind": "people", "file": SimpleUploadedFile("a.xlsx", content)}
    )
    assert LedgerImport.objects.get().status == LedgerImport.Status.DONE


@pytest.mark.django_db
def test_a_queued_job_says_why_it_waits_and_the_table_agrees_with_the_box(client, cast):
    from datetime import timedelta

    from django.utils import timezone

    job = LedgerImport.objects.create(
        kind="people", file_name="big.xlsx", file_format="xlsx", created_by=cast.grid_worker_a,
        rows_total=5000,
    )  # fmt: skip
    client.force_login(cast.grid_worker_a)
    fragment = client.get(reverse("web:ledger-job", args=[job.pk])).content.decode()
    assert "等待后台任务" in fragment
    assert fragment.count("排队中") == 2  # the box and the table row
    LedgerImport.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(minutes=2), status="running", rows_done=2500,
        created_count=2000, rejected_count=500,
    )  # fmt: skip
    fragment = client.get(reverse("web:ledger-job", args=[job.pk])).content.decode()
    assert fragment.count("进行中") == 2
    assert 'hx-trigger="every 1s"' in fragment
    row = fragment.split(f'data-job="{job.pk}"')[1].split("</tr>")[0]
    assert ">2000<" in row and ">500<" in row
    assert "新增 2000 行，已存在 0 行，错误 500 行" in fragment


@pytest.mark.django_db
def test_a_job_stuck_in_the_queue_is_explained(client, cast):
    from datetime import timedelta

    from django.utils import timezone

    job = LedgerImport.objects.create(
        kind="people", file_name="big.xlsx", file_format="xlsx", created_by=cast.grid_worker_a
    )
    LedgerImport.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    client.force_login(cast.grid_worker_a)
    fragment = client.get(reverse("web:ledger-job", args=[job.pk])).content.decode()
    assert "run_huey" in fragment


@pytest.mark.django_db
def test_roles_see_only_the_upload_and_export_forms_they_may_use(client, cast):

    for user in (cast.grid_worker_a, cast.community_officer, cast.nobody, cast.street_dispatcher):
        client.force_login(user)
        page = client.get(reverse("web:ledgers")).content.decode()
        for kind in ("people", "houses", "organizations", "components"):
            may_import = permissions.can_import_ledger(user, kind)
            assert (f'<option value="{kind}"' in page) == may_import, (user, kind)
            may_export = permissions.can_export_ledger(user, kind)
            action = reverse("web:ledger-export", args=[kind])
            assert (f'action="{action}"' in page) == may_export, (user, kind)
        if not any(permissions.can_import_ledger(user, k) for k in ("people", "houses")):
            assert 'name="file"' not in page


@pytest.mark.django_db
def test_the_ledger_page_has_the_site_layout(client, cast):
    client.force_login(cast.community_officer)
    page = client.get(reverse("web:ledgers")).content.decode()
    assert 'class="site-header"' in page and 'class="site-nav"' in page
    assert "web/console.css" in page and "web/ledgers.css" in page
    assert " style=" not in page.split("<main", 1)[1]
