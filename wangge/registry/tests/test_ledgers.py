"""Ledgers in: xlsx / csv import with rejects, idempotent by natural keys, as a background job."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from wangge.core.models import AuditLog
from wangge.registry.ledgers import importing
from wangge.registry.models import (
    Building,
    Component,
    House,
    LedgerColumn,
    LedgerImport,
    Organization,
    Person,
    PersonEvent,
    Residency,
)
from wangge.registry.tests import factories as f
from wangge.testing.factories import client_for

PEOPLE_HEADERS = [
    "姓名", "性别", "公民身份号码", "联系电话", "民族", "户籍地址", "人员类型", "网格编码",
    "楼栋地址", "楼栋名称", "单元", "房号", "居住关系", "入住日期", "职业", "工作单位",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads and rejects files go to a temporary MEDIA_ROOT, not the working tree's var/."""
    settings.MEDIA_ROOT = tmp_path


def person_row(n: int, **changes: str) -> dict[str, str]:
    born = date(1950, 1, 1) + timedelta(days=n * 17 % 25000)
    row = {
        "姓名": f"居民{n}",
        "性别": "",
        "公民身份号码": f.resident_id(born, sequence=n % 1000),
        "联系电话": f"139{n:08d}",
        "民族": "汉族",
        "户籍地址": "北京市西城区",
        "人员类型": "流动" if n % 7 == 0 else "户籍",
        "网格编码": f.GRID_A,
        "楼栋地址": f"西长安街{n % 5 + 1}号院1号楼",
        "楼栋名称": "1号楼",
        "单元": str(n % 3 + 1),
        "房号": f"{n % 40 + 101}",
        "居住关系": "租户" if n % 7 == 0 else "业主",
        "入住日期": "2024-05-01",
        "职业": "",
        "工作单位": "",
    }
    row.update(changes)
    return row


def xlsx(headers: list[str], rows: list[dict[str, str]], *, title: str | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h, "") for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(headers: list[str], rows: list[dict[str, str]], encoding: str = "utf-8") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return text.getvalue().encode(encoding)


def upload(content: bytes, name: str = "台账.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def start(kind: str, content: bytes, actor, name: str = "台账.xlsx") -> LedgerImport:
    return importing.ledger_import_start(kind=kind, upload=upload(content, name), actor=actor)


def rejects_of(job: LedgerImport) -> list[list[str]]:
    with job.rejects.open("rb") as handle:
        if job.file_format == "csv":
            return list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))
        sheet = load_workbook(handle).worksheets[0]
        return [
            [c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)
        ]


def bad_rows() -> list[tuple[dict[str, str], str]]:
    """37 bad rows, each with the header its reason must name."""
    bad: list[tuple[dict[str, str], str]] = []
    for i in range(6):  # bad check digit
        number = f.resident_id(date(1990, 1, 1), sequence=900 + i)
        wrong = str((int(number[-1]) + 1) % 10) if number[-1] != "X" else "0"
        bad.append((person_row(2000 + i, 公民身份号码=number[:-1] + wrong), "公民身份号码"))
    for i in range(5):  # unknown grid
        bad.append((person_row(2100 + i, 网格编码="110102999999999"), "网格编码"))
    for i in range(4):  # grid outside the importer's scope
        bad.append((person_row(2200 + i, 网格编码=f.GRID_B), "网格编码"))
    for i in range(5):  # empty name
        bad.append((person_row(2300 + i, 姓名=""), "姓名"))
    for i in range(5):  # bad phone
        bad.append((person_row(2400 + i, 联系电话="12345"), "联系电话"))
    for i in range(4):  # bad date
        bad.append((person_row(2500 + i, 入住日期="2024-13-45"), "入住日期"))
    for i in range(3):  # floating without a moving-in date
        bad.append((person_row(2600 + i, 人员类型="流动", 入住日期=""), "入住日期"))
    return bad


@pytest.mark.django_db
def test_a_thousand_rows_with_37_bad_import_963_and_reject_37_with_reasons(cast):
    good = [person_row(n) for n in range(1, 959)]
    duplicates = [(dict(good[i]), "公民身份号码") for i in range(5)]  # same ID again in the file
    bad = bad_rows() + duplicates
    assert len(bad) == 37
    good += [person_row(n) for n in range(959, 964)]
    rows = good[:500] + [row for row, _header in bad] + good[500:]
    assert len(rows) == 1000 and len(good) == 963
    content = xlsx(PEOPLE_HEADERS, rows, title="西长安街社区人员台账")

    job = start("people", content, cast.grid_worker_a)

    assert job.status == LedgerImport.Status.DONE, job.error
    assert (job.rows_done, job.created_count, job.unchanged_count, job.rejected_count) == (
        1000, 963, 0, 37,
    )  # fmt: skip
    assert Person.objects.count() == 963
    assert Residency.objects.filter(registered_by=cast.grid_worker_a).count() == 963
    assert PersonEvent.objects.filter(action="registered").count() == 963
    assert Building.objects.count() == 5
    rejected = rejects_of(job)
    assert rejected[0] == [*PEOPLE_HEADERS, "错误原因"]
    assert len(rejected) == 1 + 37
    reasons = [row[-1] for row in rejected[1:]]
    for (_row, header), reason in zip(bad, reasons, strict=True):
        assert reason.startswith(header + ":"), (header, reason)
    assert "check digit" in reasons[0]
    # Duplicates name the first row: under the title and header rows, good row 0 is line 3.
    assert [re.search(r"row (\d+)", r)[1] for r in reasons[-5:]] == ["3", "4", "5", "6", "7"]
    # Nothing readable is stored: the numbers are sealed.
    person = Person.objects.get(name="居民1")
    assert person.id_number_masked.startswith("110102") and "*" in person.id_number_masked
    assert person.region_code == f.GRID_A and person.sex and person.birth_date

    again = start("people", content, cast.grid_worker_a)

    assert (again.created_count, again.unchanged_count, again.rejected_count) == (0, 963, 37)
    assert Person.objects.count() == 963
    assert Residency.objects.count() == 963
    assert House.objects.count() == len({(r["楼栋地址"], r["单元"], r["房号"]) for r in good})
    actions = AuditLog.objects.filter(
        actor=cast.grid_worker_a, action__startswith="registry.ledger"
    )
    assert sorted(actions.values_list("action", flat=True)) == [
        "registry.ledger_import", "registry.ledger_import",
        "registry.ledger_import_start", "registry.ledger_import_start",
    ]  # fmt: skip
    final = actions.filter(action="registry.ledger_import").order_by("id").first()
    assert final.details["added"] == 963 and final.details["rejected"] == 37
    assert "1101" not in str(final.details).replace(f.GRID_A, "")


@pytest.mark.django_db
def test_the_fixed_rejects_file_imports_the_rest(cast):
    rows = [person_row(1), person_row(2, 联系电话="12345")]
    job = start("people", csv_bytes(PEOPLE_HEADERS, rows), cast.grid_worker_a, "人员.csv")
    assert (job.created_count, job.rejected_count) == (1, 1)
    rejected = rejects_of(job)
    assert rejected[1][-1].startswith("联系电话: ")
    fixed = [dict(zip(rejected[0][:-1], rejected[1][:-1], strict=True))]
    fixed[0]["联系电话"] = "13912345678"
    headers = rejected[0][:-1]
    again = start("people", csv_bytes(headers, fixed), cast.grid_worker_a, "人员.csv")
    assert (again.created_count, again.rejected_count) == (1, 0)
    assert not again.rejects
    assert Person.objects.count() == 2


@pytest.mark.django_db
def test_a_known_person_in_another_house_moves_in_and_keeps_one_record(cast):
    registration = f.register(name="居民1", id_number=person_row(1)["公民身份号码"])
    job = start("people", xlsx(PEOPLE_HEADERS, [person_row(1)]), cast.grid_worker_a)
    assert (job.created_count, job.rejected_count) == (1, 0)
    assert Person.objects.count() == 1
    assert registration.person.residencies.count() == 2
    assert registration.person.events.filter(action="moved_in").count() == 1


@pytest.mark.django_db
def test_imported_text_and_history_are_stored_as_written(cast):
    # A backslash and quotes are special in COPY's text format and in JSON: they must survive.
    row = person_row(1, 姓名="王\\五", 工作单位='"北京"\\分公司', 入住日期="2024-05-01")
    job = start("people", csv_bytes(PEOPLE_HEADERS, [row]), cast.grid_worker_a, "人员.csv")
    assert (job.created_count, job.rejected_count) == (1, 0), job.error

    person = Person.objects.get()
    assert (person.name, person.workplace) == ("王\\五", '"北京"\\分公司')
    assert (person.status, person.id_type, person.merged_into_id) == ("active", "resident_id", None)
    assert person.created_at is not None and person.updated_at is not None
    residency = person.residencies.get()
    assert residency.registered_by == cast.grid_worker_a and residency.registered_at is not None
    assert (residency.relation, residency.moved_in_on) == ("owner", date(2024, 5, 1))
    event = person.events.get()
    assert (event.action, event.residency_id, event.actor) == (
        "registered", residency.pk, cast.grid_worker_a,
    )  # fmt: skip
    assert event.details == {
        "house": residency.house_id,
        "relation": "owner",
        "moved_in_on": "2024-05-01",
        "registered": True,
        "ledger_import": job.pk,
    }


@pytest.mark.django_db
def test_a_known_id_number_under_another_name_is_rejected(cast):
    f.register(name="张三", id_number=person_row(1)["公民身份号码"])
    job = start("people", xlsx(PEOPLE_HEADERS, [person_row(1)]), cast.grid_worker_a)
    assert job.rejected_count == 1
    assert rejects_of(job)[1][-1].startswith("姓名: ")


@pytest.mark.django_db
def test_csv_in_gb18030_and_aliased_headers_are_read(cast):
    headers = [
        "身份证号" if h == "公民身份号码" else "手机号" if h == "联系电话" else h
        for h in PEOPLE_HEADERS
    ]
    rows = [
        {("身份证号" if k == "公民身份号码" else "手机号" if k == "联系电话" else k): v
         for k, v in person_row(n).items()}
        for n in (1, 2)
    ]  # fmt: skip
    job = start("people", csv_bytes(headers, rows, "gb18030"), cast.grid_worker_a, "台账.csv")
    assert (job.created_count, job.rejected_count) == (2, 0)
    assert set(Person.objects.values_list("name", flat=True)) == {"居民1", "居民2"}


@pytest.mark.django_db
def test_headers_are_data_edited_in_the_admin(cast):
    LedgerColumn.objects.filter(template__kind="people", field="name").update(aliases="户主姓名")
    headers = ["户主姓名" if h == "姓名" else h for h in PEOPLE_HEADERS]
    row = {("户主姓名" if k == "姓名" else k): v for k, v in person_row(1).items()}
    job = start("people", xlsx(headers, [row]), cast.grid_worker_a)
    assert job.created_count == 1


HOUSE_HEADERS = [
    "网格编码",
    "楼栋地址",
    "单元",
    "房号",
    "建筑面积",
    "房屋用途",
    "是否出租",
    "租赁合同",
]


@pytest.mark.django_db
def test_houses_import_by_building_unit_and_room(cast):
    rows = [
        {"网格编码": f.GRID_A, "楼栋地址": "西长安街9号院2号楼", "单元": "1", "房号": "101",
         "建筑面积": "65.5", "房屋用途": "住宅", "是否出租": "是", "租赁合同": "否"},
        {"网格编码": f.GRID_A, "楼栋地址": "西长安街9号院2号楼", "单元": "1", "房号": "102",
         "建筑面积": "70", "房屋用途": "商铺", "是否出租": "否", "租赁合同": ""},
        {"网格编码": f.GRID_A, "楼栋地址": "西长安街9号院2号楼", "单元": "1", "房号": "101"},
        {"网格编码": f.GRID_A, "楼栋地址": "西长安街9号院2号楼", "单元": "1", "房号": "103",
         "是否出租": "也许"},
    ]  # fmt: skip
    job = start("houses", xlsx(HOUSE_HEADERS, rows), cast.grid_worker_a)
    assert (job.created_count, job.rejected_count) == (2, 2)
    reasons = [r[-1] for r in rejects_of(job)[1:]]
    assert reasons[0].startswith("房号: ") and reasons[1].startswith("是否出租: ")
    house = House.objects.get(room="101")
    assert house.rented and str(house.area_m2) == "65.50" and house.region_code == f.GRID_A
    assert House.objects.get(room="102").use == "shop"
    again = start("houses", xlsx(HOUSE_HEADERS, rows[:2]), cast.grid_worker_a)
    assert (again.created_count, again.unchanged_count) == (0, 2)


@pytest.mark.django_db
def test_a_building_in_another_grid_rejects_the_row(cast):
    building = f.building(f.GRID_B, address="前门大街1号楼")
    rows = [{"网格编码": f.GRID_A, "楼栋地址": building.address, "房号": "1"}]
    job = start("houses", xlsx(HOUSE_HEADERS, rows), cast.grid_worker_a)
    assert job.rejected_count == 1
    assert rejects_of(job)[1][-1].startswith("楼栋地址: ")


@pytest.mark.django_db
def test_organizations_import_by_credit_code(cast):
    headers = ["单位名称", "单位类型", "统一社会信用代码", "网格编码", "联系电话", "从业人数"]
    rows = [
        {"单位名称": "便民超市", "单位类型": "个体工商户", "统一社会信用代码": f.credit_code("MA01ABCD"),
         "网格编码": f.GRID_A, "联系电话": "13800001111", "从业人数": "3"},
        {"单位名称": "坏代码", "单位类型": "企业", "统一社会信用代码": "91110102MA01ABCDXX",
         "网格编码": f.GRID_A},
    ]  # fmt: skip
    job = start("organizations", xlsx(headers, rows), cast.grid_worker_a)
    assert (job.created_count, job.rejected_count) == (1, 1)
    org = Organization.objects.get()
    assert org.org_type == "individual" and org.contact_phone_masked == "138****1111"
    assert org.employees == 3
    assert start("organizations", xlsx(headers, rows), cast.grid_worker_a).unchanged_count == 1


@pytest.mark.django_db
def test_components_import_by_their_17_digit_id(cast):
    headers = ["部件标识码", "部件名称", "单元网格编码", "主管部门代码", "主管部门名称", "初始日期",
               "经度", "纬度"]  # fmt: skip
    base = {"部件名称": "供水井盖", "单元网格编码": f.UNIT_A, "主管部门代码": f.credit_code(),
            "主管部门名称": "区市政委", "初始日期": "2024-05-01"}  # fmt: skip
    rows = [
        {**base, "部件标识码": "11010201001000001", "经度": str(f.IN_GRID_A[0]), "纬度": str(f.IN_GRID_A[1])},
        {**base, "部件标识码": "11010201001000002", "经度": str(f.IN_GRID_B[0]), "纬度": str(f.IN_GRID_B[1])},
        {**base, "部件标识码": "12010201001000003"},
    ]  # fmt: skip
    job = start("components", xlsx(headers, rows), cast.grid_worker_a)
    assert (job.created_count, job.rejected_count) == (1, 2), rejects_of(job)
    reasons = [r[-1] for r in rejects_of(job)[1:]]
    assert reasons[0].startswith("单元网格编码: ")  # its point is in grid B, outside the scope
    assert reasons[1].startswith("部件标识码: ")  # district 120102 is not its grid's
    component = Component.objects.get()
    assert component.region_code == f.GRID_A and component.class_code == "01001"


# Bad files ---------------------------------------------------------------------------------------


def post_file(client, kind: str, content: bytes, name: str):
    return client.post(
        reverse("api:ledger-imports", args=[kind]),
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "photo.png", "neither"),
        (b"hello", "notes.docx", "xlsx"),
        (b"PK\x03\x04 not really a zip", "ledger.xlsx", "cannot be read"),
        (b"\xd0\xcf\x11\xe0old", "ledger.xls", ".xls"),
        (b"", "empty.csv", "empty"),
        ("姓名,网格编码\n张三,110102001001001\n".encode(), "ledger.csv", "公民身份号码"),
        (",".join(PEOPLE_HEADERS).encode() + b"\n", "header-only.csv", "no rows"),
    ],
)
def test_bad_files_are_a_400_saying_why(cast, content, name, expected):
    response = post_file(client_for(cast.grid_worker_a), "people", content, name)
    assert response.status_code == 400, response.content
    assert expected in response.json()["detail"]
    assert "file" in response.json()["errors"]
    assert not LedgerImport.objects.exists()


@pytest.mark.django_db
def test_missing_required_headers_are_all_named(cast):
    content = csv_bytes(["姓名", "公民身份号码", "网格编码"], [person_row(1)])
    response = post_file(client_for(cast.grid_worker_a), "people", content, "a.csv")
    assert response.status_code == 400
    detail = response.json()["detail"]
    for header in ("人员类型", "楼栋地址", "房号", "居住关系"):
        assert header in detail


@pytest.mark.django_db
def test_a_file_too_large_is_refused(cast, settings):
    settings.WANGGE_LEDGER_MAX_BYTES = 100
    content = csv_bytes(PEOPLE_HEADERS, [person_row(1), person_row(2)])
    response = post_file(client_for(cast.grid_worker_a), "people", content, "a.csv")
    assert response.status_code == 400
    assert "too large" in response.json()["detail"]


# API and jobs ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_upload_returns_the_job_its_progress_and_rejects_only_to_its_importer(cast):
    worker = client_for(cast.grid_worker_a)
    rows = [person_row(1), person_row(2, 姓名="")]
    response = post_file(worker, "people", xlsx(PEOPLE_HEADERS, rows), "人员.xlsx")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "done" and body["percent"] == 100
    assert (body["created_count"], body["rejected_count"]) == (1, 1)
    job = worker.get(reverse("api:ledger-import", args=[body["id"]]))
    assert job.json()["rejects_url"] == reverse("api:ledger-import-rejects", args=[body["id"]])
    rejects = worker.get(job.json()["rejects_url"])
    assert rejects.status_code == 200
    assert "no-store" in rejects["Cache-Control"]
    assert b"".join(rejects.streaming_content).startswith(b"PK")
    other = client_for(cast.grid_worker_b)
    assert other.get(reverse("api:ledger-import", args=[body["id"]])).status_code == 404
    assert other.get(job.json()["rejects_url"]).status_code == 404
    # The uploaded file is gone once imported.
    assert not LedgerImport.objects.get(pk=body["id"]).source


@pytest.mark.django_db
def test_importing_needs_the_add_permission(cast):
    content = xlsx(PEOPLE_HEADERS, [person_row(1)])
    response = post_file(client_for(cast.street_dispatcher), "people", content, "a.xlsx")
    assert response.status_code == 403
    response = post_file(client_for(cast.grid_worker_a), "spaceships", content, "a.xlsx")
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["people", "houses", "organizations", "components"])
def test_templates_download_with_headers_and_notes(cast, kind):
    response = client_for(cast.grid_worker_a).get(reverse("api:ledger-template", args=[kind]))
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    header = [c.value for c in workbook.worksheets[0][1]]
    expected = list(
        LedgerColumn.objects.filter(template__kind=kind)
        .order_by("position")
        .values_list("header", flat=True)
    )
    assert header == expected
    notes = [row[0] for row in workbook.worksheets[1].iter_rows(values_only=True)]
    assert set(expected) <= set(notes)


@pytest.mark.django_db
def test_rows_checked_in_worker_processes_give_the_same_outcome(cast, settings, monkeypatch):
    settings.WANGGE_LEDGER_WORKERS = 2
    monkeypatch.setattr(importing, "CHUNK_ROWS", 7)
    rows = [person_row(n) for n in range(1, 40)] + [row for row, _header in bad_rows()[:10]]
    rows.append(person_row(5))  # a duplicate in another chunk
    job = start("people", csv_bytes(PEOPLE_HEADERS, rows), cast.grid_worker_a, "a.csv")
    assert (job.created_count, job.rejected_count) == (39, 11), job.error
    reasons = [r[-1] for r in rejects_of(job)[1:]]
    assert reasons[-1] == "公民身份号码: The same as row 6 of this file."


@pytest.mark.django_db
def test_a_template_column_must_name_a_field_of_its_kind(cast):
    column = LedgerColumn.objects.filter(template__kind="houses").first()
    column.field = "id_number"
    with pytest.raises(ValidationError):
        column.full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["人员.xlsx", "人员.csv"])
def test_a_row_with_several_problems_lists_every_one_in_one_rejects_file(cast, name):
    male_id = f.resident_id(date(1980, 1, 1), sequence=11)  # odd sequence: a man
    rows = [
        person_row(1),
        # Four fields wrong on their own.
        person_row(2, 姓名="", 联系电话="12345", 入住日期="2024-13-45", 居住关系="邻居"),
        # A field wrong on its own and two rules across fields (sex vs ID, floating needs a date).
        person_row(3, 公民身份号码=male_id, 性别="女", 人员类型="流动", 入住日期="", 民族="火星族"),
        # The area code of the ID is no area code, and the grid is outside the importer's area.
        person_row(4, 公民身份号码=f.resident_id(area="000000"), 网格编码=f.GRID_B),
    ]
    content = (
        xlsx(PEOPLE_HEADERS, rows) if name.endswith("xlsx") else csv_bytes(PEOPLE_HEADERS, rows)
    )
    job = start("people", content, cast.grid_worker_a, name)
    assert (job.created_count, job.rejected_count) == (1, 3)
    rejected = rejects_of(job)
    reasons = [row[-1].split("；") for row in rejected[1:]]
    assert [[r.split(":")[0] for r in row] for row in reasons] == [
        ["姓名", "联系电话", "居住关系", "入住日期"],
        ["性别", "民族", "入住日期"],
        ["公民身份号码", "网格编码"],
    ]
    assert "000000" in reasons[2][0]


@pytest.mark.django_db
def test_a_rule_across_fields_is_not_reported_on_a_field_already_wrong(cast):
    rows = [person_row(1, 人员类型="流动", 入住日期="2024-13-45")]
    job = start("people", csv_bytes(PEOPLE_HEADERS, rows), cast.grid_worker_a, "a.csv")
    [reason] = [row[-1] for row in rejects_of(job)[1:]]
    assert reason.count("入住日期") == 1


@pytest.mark.django_db
def test_id_problems_in_the_rejects_file_are_in_the_importers_language(cast):
    from django.utils import translation

    rows = [person_row(1, 公民身份号码=f.resident_id(area="990000"), 联系电话="12812345678")]
    with translation.override("zh-hans"):
        job = start("people", csv_bytes(PEOPLE_HEADERS, rows), cast.grid_worker_a, "a.csv")
    [reason] = [row[-1] for row in rejects_of(job)[1:]]
    assert "前6位990000不是行政区划代码" in reason
    assert "手机号码第二位应为3至9，而不是2" in reason
    assert "not" not in reason
