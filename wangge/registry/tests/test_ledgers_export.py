"""Ledgers out: exports in the template's columns — scoped, masked, watermarked, audited — and
export → import changes nothing."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from wangge.core.models import AuditLog
from wangge.registry.ledgers import importing
from wangge.registry.models import House, Organization, Person, PersonEvent, Residency
from wangge.registry.tests import factories as f
from wangge.testing.factories import client_for

ID_A = f.resident_id(date(1975, 3, 4), sequence=11)
ID_B = f.resident_id(date(1982, 6, 7), sequence=22)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads and rejects files go to a temporary MEDIA_ROOT, not the working tree's var/."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def people(cast):
    house_a = f.house(grid_code=f.GRID_A, rented=True)
    f.register(house_a, name="甲", id_number=ID_A, phone="13812345678", ethnicity="汉")
    f.register(
        house_a,
        name="乙",
        id_number=f.resident_id(date(1990, 1, 2), sequence=33),
        residency_type="floating",
        relation="tenant",
        moved_in_on=date(2025, 3, 1),
    )
    f.register(f.house(grid_code=f.GRID_B), name="丙", id_number=ID_B)
    return house_a


def export(user, kind: str, body: dict | None = None):
    return client_for(user).post(
        reverse("api:ledger-export", args=[kind]), body or {}, format="json"
    )


def sheet_rows(response) -> list[list]:
    workbook = load_workbook(io.BytesIO(response.content))
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


@pytest.mark.django_db
def test_people_export_needs_the_export_permission(cast, people):
    assert export(cast.grid_worker_a, "people").status_code == 403
    assert export(cast.nobody, "people").status_code == 403
    assert not AuditLog.objects.filter(action="registry.ledger_export").exists()


@pytest.mark.django_db
def test_people_export_is_scoped_masked_watermarked_and_audited(cast, people):
    response = export(cast.community_officer, "people", {"name": ""})
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    rows = sheet_rows(response)
    header = rows[0]
    names = [row[header.index("姓名")] for row in rows[1:]]
    assert sorted(names) == ["乙", "甲"]  # 丙 lives in grid B, outside the officer's community
    body = response.content
    assert ID_A.encode() not in body and b"13812345678" not in body
    first = dict(zip(header, rows[1 + names.index("甲")], strict=True))
    assert first["公民身份号码"] == ID_A[:6] + "********" + ID_A[-4:]
    assert first["联系电话"] == "138****5678"
    assert first["人员类型"] == "户籍" and first["居住关系"] == "业主" and first["民族"] == "汉族"
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.properties.creator == "officer_a"
    assert workbook.properties.description.startswith("导出人: officer_a ")
    assert "导出人: officer_a" in workbook.worksheets[0].oddHeader.center.text
    notes = [row[0] for row in workbook.worksheets[1].iter_rows(values_only=True)]
    assert any(str(n).startswith("导出人: officer_a") for n in notes)
    audit = AuditLog.objects.get(action="registry.ledger_export")
    assert audit.actor == cast.community_officer
    assert audit.details["rows"] == 2 and audit.details["unmasked"] is False


@pytest.mark.django_db
def test_full_numbers_need_the_unmask_permission_and_a_reason(cast, people, settings):
    short = export(cast.community_officer, "people", {"reason": "ok"})
    assert short.status_code == 400 and "reason" in short.json()["errors"]
    response = export(cast.community_officer, "people", {"reason": "核对居住证办理名单"})
    assert response.status_code == 200
    rows = sheet_rows(response)
    assert ID_A in [row[rows[0].index("公民身份号码")] for row in rows[1:]]
    audit = AuditLog.objects.get(action="registry.ledger_export")
    assert audit.details["unmasked"] is True and audit.details["reason"] == "核对居住证办理名单"
    assert ID_A not in str(audit.details)


@pytest.mark.django_db
def test_filters_narrow_the_export(cast, people):
    response = export(cast.community_officer, "people", {"residency_type": "floating"})
    assert [row[0] for row in sheet_rows(response)[1:]] == ["乙"]
    bad = export(cast.community_officer, "people", {"residency_type": "alien"})
    assert bad.status_code == 400


@pytest.mark.django_db
def test_export_then_import_changes_nothing(cast, people):
    response = export(cast.community_officer, "people", {"reason": "台账核对往返测试"})
    before = (Person.objects.count(), Residency.objects.count(), PersonEvent.objects.count())
    job = importing.ledger_import_start(
        kind="people",
        upload=SimpleUploadedFile("export.xlsx", response.content),
        actor=cast.community_officer,
    )
    assert (job.created_count, job.unchanged_count, job.rejected_count) == (0, 2, 0), job.error
    after = (Person.objects.count(), Residency.objects.count(), PersonEvent.objects.count())
    assert after == before


@pytest.mark.django_db
def test_a_masked_export_imported_again_is_rejected_not_half_written(cast, people):
    response = export(cast.community_officer, "people")
    job = importing.ledger_import_start(
        kind="people",
        upload=SimpleUploadedFile("export.xlsx", response.content),
        actor=cast.community_officer,
    )
    assert (job.created_count, job.rejected_count) == (0, 2)
    assert Person.objects.count() == 3


@pytest.mark.django_db
def test_houses_organizations_and_components_round_trip(cast, people):
    f.organization(f.GRID_A, credit_code=f.credit_code("MA02ABCD"), contact_phone="13900001111")
    f.component(f.UNIT_A, at=f.IN_GRID_A)
    for kind, model in (("houses", House), ("organizations", Organization)):
        response = export(cast.grid_worker_a, kind)
        assert response.status_code == 200, response.content
        count = model.objects.count()
        job = importing.ledger_import_start(
            kind=kind,
            upload=SimpleUploadedFile(f"{kind}.xlsx", response.content),
            actor=cast.grid_worker_a,
        )
        assert (job.created_count, job.rejected_count) == (0, 0), (kind, job.error)
        assert job.unchanged_count == len(sheet_rows(response)) - 1 > 0
        assert model.objects.count() == count
    response = export(cast.grid_worker_a, "components")
    rows = sheet_rows(response)
    assert len(rows) == 2 and rows[1][0].startswith("11010201001")
    job = importing.ledger_import_start(
        kind="components",
        upload=SimpleUploadedFile("c.xlsx", response.content),
        actor=cast.grid_worker_a,
    )
    assert (job.unchanged_count, job.rejected_count) == (1, 0)
    # The organization's contact phone leaves masked.
    response = export(cast.grid_worker_a, "organizations")
    assert b"13900001111" not in response.content


@pytest.mark.django_db
def test_exports_stay_inside_the_scope(cast, people):
    rows = sheet_rows(export(cast.grid_worker_b, "houses"))
    assert [row[0] for row in rows[1:]] == [f.GRID_B]
    assert export(cast.grid_worker_a, "spaceships").status_code == 404
