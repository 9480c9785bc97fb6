"""The one bulk writer: ``COPY`` text as psycopg writes it, rows stored as the ORM stores them."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import psycopg.adapt
import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from psycopg._copy_base import TextFormatter  # the formatter psycopg's Copy writes with
from psycopg.types.json import Jsonb

from wangge.cases.models import TimeLimit
from wangge.core import bulk
from wangge.core.models import GENESIS_HASH, AuditLog, OfficePeriod
from wangge.regions.models import Region
from wangge.registry.models import Organization
from wangge.registry.tests import factories as f

TEXTS = [
    "plain",
    "tab\there",
    "line\nbreak",
    "windows\r\nline",
    "back\\slash",
    "\\N",  # the text, not NULL
    "控制\b\v\f字符",
    "",
    " 王五 ",
]
SHANGHAI = ZoneInfo("Asia/Shanghai")
VALUES: list[Any] = [
    *TEXTS,
    None,
    0,
    -7,
    10**20,
    1.5,
    -0.25,
    math.inf,
    Decimal("12.50"),
    Decimal("-0.01"),
    Decimal("NaN"),
    True,
    False,
    date(2024, 5, 1),
    datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
    datetime(2026, 7, 1, 23, 59, 59, tzinfo=SHANGHAI),
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
    time(9, 30),
    time(13, 30, 0, 5),
    UUID(int=5),
]
# bytea: psycopg writes the hex format once it knows the server (its formatter alone writes the
# older escape format), so these are compared with a connection's encoding, on PostgreSQL.
BYTES: list[Any] = [b"\x00\\\t\n\xff", bytearray(b"wkb"), memoryview(b"")]
JSON_VALUES: list[Any] = [
    {"中": "a\tb", "path": "x\\y", "n": [1, None, True, 2.5], "line": "1\n2"},
    [],
    {"nested": {"quote": '"', "empty": {}}},
]


def psycopg_copy_text(row: list[Any]) -> str:
    """``row`` as psycopg's own ``COPY`` formatter writes it (JSON as ``Jsonb`` without ASCII
    escapes, which is what a JSON field's ``COPY`` text is)."""
    dumps = partial(json.dumps, ensure_ascii=False)
    adapted = [Jsonb(v, dumps=dumps) if isinstance(v, dict | list) else v for v in row]
    formatter = TextFormatter(psycopg.adapt.Transformer())
    return (bytes(formatter.write_row(adapted)) + bytes(formatter.end())).decode()


def copy_line(row: list[Any]) -> str:
    return "\t".join(map(bulk.copy_text, row)) + "\n"


def test_copy_text_escapes_what_copy_reads_specially():
    # Moved here from registry/tests/test_ledgers.py with copy_text itself.
    assert bulk.copy_text("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re"
    assert bulk.copy_text("王五") == "王五"
    assert bulk.copy_text(None) == "\\N"
    assert (bulk.copy_text(True), bulk.copy_text(False)) == ("t", "f")
    assert bulk.copy_text(date(2024, 5, 1)) == "2024-05-01"
    assert bulk.copy_text({"a": "中\t"}) == '{"a": "中\\\\t"}'


@pytest.mark.parametrize("value", VALUES + JSON_VALUES, ids=repr)
def test_copy_text_writes_each_value_as_psycopg_does(value):
    row = ["before", value, "after"]
    assert copy_line(row) == psycopg_copy_text(row)


def test_copy_text_writes_a_whole_row_as_psycopg_does():
    row = VALUES + JSON_VALUES
    assert copy_line(row) == psycopg_copy_text(row)


def test_copy_text_writes_bytes_in_the_hex_format():
    assert [bulk.copy_text(value) for value in BYTES] == ["\\\\x005c090aff", "\\\\x776b62", "\\\\x"]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's COPY is PostgreSQL's")
def test_encode_rows_writes_what_copy_text_and_psycopg_write():
    rows = [VALUES, list(reversed(VALUES))]
    assert bulk.encode_rows(rows).decode() == "".join(map(psycopg_copy_text, rows))
    with_bytes = [[*VALUES, *BYTES], [*BYTES, *VALUES]]
    assert bulk.encode_rows(with_bytes).decode() == "".join(map(copy_line, with_bytes))


# Rows through bulk.Table, read back through the ORM ----------------------------------------------


def _insert_and_reload(instances: list[models.Model]) -> list[models.Model]:
    """Write unsaved instances through ``bulk.Table`` (their values as they are, ids reserved)
    and read them back through the ORM."""
    model = type(instances[0])
    table = bulk.Table(model)
    for instance, pk in zip(instances, table.reserve_ids(len(instances)), strict=True):
        instance.pk = pk
    table.insert([[getattr(i, name) for name in table.names] for i in instances])
    stored = model._base_manager.in_bulk([i.pk for i in instances])
    return [stored[i.pk] for i in instances]


def _assert_same_fields(expected: models.Model, stored: models.Model) -> None:
    for field in type(expected)._meta.concrete_fields:
        want, got = getattr(expected, field.attname), getattr(stored, field.attname)
        if isinstance(field, models.BinaryField):
            want, got = bytes(want), bytes(got)
        assert got == want, field.attname


@pytest.mark.django_db
def test_table_stores_text_json_and_datetimes_as_given():
    logs = [
        AuditLog(
            action=text[:64],
            target_type="probe",
            target_id=str(i),
            details={"text": text, "list": JSON_VALUES},
            created_at=moment,
        )
        for i, (text, moment) in enumerate(
            zip(
                TEXTS,
                [
                    datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
                    datetime(2026, 7, 1, 23, 59, 59, tzinfo=SHANGHAI),
                ]
                * len(TEXTS),
                strict=False,
            )
        )
    ]
    logs.append(AuditLog(action="empty", target_type="probe", details={}))
    for expected, stored in zip(logs, _insert_and_reload(logs), strict=True):
        _assert_same_fields(expected, stored)
    assert AuditLog.objects.get(target_id="0").prev_hash == GENESIS_HASH


@pytest.mark.django_db
def test_table_stores_bytes_floats_booleans_and_nulls_as_given():
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=SHANGHAI)
    regions = [
        Region(
            code=f"99000{i}",
            name=text or "空",
            level=Region.Level.DISTRICT,
            boundary_wkb=b"\x01\x03\x00\\\t\n" + bytes([i]),
            min_lng=116.25 + i,
            min_lat=39.5,
            max_lng=116.5,
            max_lat=-0.1,
            area_m2=1e9 / 3,
            responsible_party=text,
            synthetic_geometry=i % 2 == 0,
            updated_at=moment,
        )
        for i, text in enumerate(TEXTS)
    ]
    for expected, stored in zip(regions, _insert_and_reload(regions), strict=True):
        _assert_same_fields(expected, stored)
        assert stored.parent_id is None


@pytest.mark.django_db
def test_table_stores_decimals_times_and_dates_as_given(territory):
    limits = [
        TimeLimit(area_grade="A", stage="handle", amount=amount, unit="hours", condition=c)
        for amount, c in [
            (Decimal("12.50"), "探a"),
            (Decimal("0.01"), "探\tb"),
            (Decimal(3), "探\\c"),
        ]
    ]
    for expected, stored in zip(limits, _insert_and_reload(limits), strict=True):
        _assert_same_fields(expected, stored)
    periods = [
        OfficePeriod(start=time(19, 0, 0, 5), end=time(21, 0, 30), updated_at=datetime.now(UTC))
    ]
    _assert_same_fields(periods[0], _insert_and_reload(periods)[0])
    known = f.organization()
    organizations = [
        Organization(
            name=f"测试\t商店{i}",
            org_type=known.org_type,
            credit_code=f.credit_code(f"MA0{i}ABCD"),
            grid_id=known.grid_id,
            region_code=known.region_code,
            last_safety_check_on=checked,
            created_at=known.created_at,
            updated_at=known.updated_at,
        )
        for i, checked in enumerate([date(2024, 2, 29), None])
    ]
    for expected, stored in zip(organizations, _insert_and_reload(organizations), strict=True):
        _assert_same_fields(expected, stored)


@pytest.mark.django_db
def test_insert_rows_fills_defaults_and_timestamps():
    now = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    ids = bulk.insert_rows(
        AuditLog,
        [
            {"action": "given\tall", "target_type": "probe", "details": {"a": "\\"}},
            {"action": "defaults", "target_type": "probe"},
        ],
        now,
    )
    given, defaulted = (AuditLog.objects.get(pk=pk) for pk in ids)
    assert (given.action, given.details) == ("given\tall", {"a": "\\"})
    assert (defaulted.details, defaulted.prev_hash, defaulted.row_hash) == ({}, GENESIS_HASH, "")
    assert defaulted.created_at is not None
    assert ids == sorted(ids)


@pytest.mark.django_db
def test_reserved_ids_are_new_and_ascending():
    first = bulk.reserve_ids(AuditLog, 3)
    AuditLog.objects.create(action="between", target_type="probe", id=first[-1])
    second = bulk.reserve_ids(AuditLog, 2)
    assert first == sorted(first) and len(set(first)) == 3
    assert min(second) > max(first)
    assert bulk.reserve_ids(AuditLog, 0) == []


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL writes one COPY")
def test_sqlite_writes_multi_row_inserts_within_the_parameter_limit():
    table = bulk.Table(AuditLog)
    per_statement = connection.features.max_query_params // len(table.columns)
    count = per_statement * 2 + 1
    rows = [
        [pk, None, "bulk", "probe", str(pk), {"n": pk}, datetime.now(UTC), GENESIS_HASH, ""]
        for pk in table.reserve_ids(count)
    ]
    assert table.names[:3] == ["id", "actor_id", "action"]
    with CaptureQueriesContext(connection) as queries:
        table.insert(rows)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 3
    assert AuditLog.objects.filter(action="bulk").count() == count
    assert AuditLog.objects.get(target_id=str(rows[-1][0])).details == {"n": rows[-1][0]}


def test_insert_statement_has_one_group_of_markers_per_row():
    sql = bulk.insert_statement('"t"', ['"a"', '"b"'], 3)
    assert sql == 'INSERT INTO "t" ("a", "b") VALUES (%s, %s), (%s, %s), (%s, %s)'
