"""Formula injection: every xlsx / CSV export writes formula-like text as text (issue 10).

A resident may register as ``=HYPERLINK("http://x","y")`` through the public QR page; no workbook
the system writes may hold that as a live formula. Each export is read back with openpyxl or csv.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from wangge.registry.ledgers import importing
from wangge.registry.models import LedgerColumn, Person
from wangge.registry.tests import factories as f
from wangge.registry.tests.test_ledgers import PEOPLE_HEADERS, csv_bytes, person_row
from wangge.testing.factories import client_for

FORMULA = '=HYPERLINK("http://x","y")'
ESCAPED = "'" + FORMULA


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def export(user, kind: str, body: dict | None = None):
    response = client_for(user).post(
        reverse("api:ledger-export", args=[kind]), body or {}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.content


def cells(content: bytes) -> list:
    """Every cell of every sheet of a workbook."""
    workbook = load_workbook(io.BytesIO(content))
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def assert_no_formula(content: bytes, *expected: str) -> None:
    found = cells(content)
    assert not [c.coordinate for c in found if c.data_type == "f"]
    texts = {c.value for c in found if c.data_type == "s"}
    for value in expected:
        assert value in texts, (value, texts)


@pytest.mark.django_db
def test_a_formula_name_in_the_people_export_comes_back_as_text(cast):
    flat = f.house(grid_code=f.GRID_A)
    f.register(flat, name=FORMULA, id_number=f.resident_id(date(1980, 2, 3)), workplace="@SUM(A1)")
    content = export(cast.community_officer, "people")
    assert_no_formula(content, ESCAPED, "'@SUM(A1)")


@pytest.mark.django_db
def test_formula_text_in_the_houses_export_comes_back_as_text_and_numbers_stay_numbers(cast):
    f.house(f.building(f.GRID_A, address=FORMULA), room="-1", floor=3, area_m2="45.50")
    content = export(cast.grid_worker_a, "houses")
    assert_no_formula(content, ESCAPED, "'-1")
    numbers = {c.value for c in cells(content) if c.data_type == "n"}
    assert {3, 45.5} <= numbers


@pytest.mark.django_db
def test_a_formula_name_in_the_organizations_export_comes_back_as_text(cast):
    f.organization(f.GRID_A, name=FORMULA, credit_code=f.credit_code("MA03ABCD"))
    assert_no_formula(export(cast.grid_worker_a, "organizations"), ESCAPED)


@pytest.mark.django_db
def test_a_formula_name_in_the_components_export_comes_back_as_text(cast):
    f.component(f.UNIT_A, at=f.IN_GRID_A, name=FORMULA)
    assert_no_formula(export(cast.grid_worker_a, "components"), ESCAPED)


@pytest.mark.django_db
def test_a_formula_header_in_the_template_comes_back_as_text(cast):
    LedgerColumn.objects.filter(template__kind="people", field="occupation").update(
        header="=1+1", note=FORMULA
    )
    response = client_for(cast.grid_worker_a).get(reverse("api:ledger-template", args=["people"]))
    assert_no_formula(response.content, "'=1+1", ESCAPED)


def text_xlsx(headers: list[str], rows: list[dict[str, str]]) -> bytes:
    """A workbook whose cells are all text, as a clerk's typed "=..." name is in Excel."""
    workbook = Workbook()
    sheet = workbook.active
    for r, values in enumerate([headers, *([row.get(h, "") for h in headers] for row in rows)]):
        for c, value in enumerate(values):
            cell = sheet.cell(row=r + 1, column=c + 1)
            cell.value = value
            cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.django_db
def test_formula_cells_of_rejected_rows_come_back_as_text_in_xlsx_and_csv(cast):
    bad = person_row(1, 姓名=FORMULA, 公民身份号码="12345", 联系电话="+8613900001111")
    rows = [bad, person_row(2)]
    job = importing.ledger_import_start(
        kind="people",
        upload=SimpleUploadedFile("a.xlsx", text_xlsx(PEOPLE_HEADERS, rows)),
        actor=cast.grid_worker_a,
    )
    assert job.rejected_count == 1
    with job.rejects.open("rb") as handle:
        assert_no_formula(handle.read(), ESCAPED, "'+8613900001111")

    job = importing.ledger_import_start(
        kind="people",
        upload=SimpleUploadedFile("a.csv", csv_bytes(PEOPLE_HEADERS, rows)),
        actor=cast.grid_worker_a,
    )
    with job.rejects.open("rb") as handle:
        table = list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))
    assert table[1][PEOPLE_HEADERS.index("姓名")] == ESCAPED
    assert table[1][PEOPLE_HEADERS.index("联系电话")] == "'+8613900001111"


@pytest.mark.django_db
def test_an_escaped_export_imports_back_with_the_name_as_it_was(cast):
    number = f.resident_id(date(1981, 4, 5))
    f.register(f.house(grid_code=f.GRID_A), name=FORMULA, id_number=number)
    content = export(cast.community_officer, "people", {"reason": "台账核对往返测试"})
    job = importing.ledger_import_start(
        kind="people",
        upload=SimpleUploadedFile("export.xlsx", content),
        actor=cast.community_officer,
    )
    assert (job.created_count, job.unchanged_count, job.rejected_count) == (0, 1, 0), job.error
    assert Person.objects.get().name == FORMULA
