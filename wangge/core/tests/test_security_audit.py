"""The audit table is append-only in the database and hash-chained; the verifier finds tampering."""

import importlib
import threading

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from wangge.core.audit import audit_chain_verify, audit_log_write
from wangge.core.models import GENESIS_HASH, AuditChainHead, AuditLog

pytestmark = pytest.mark.django_db


def write(count: int, actor=None) -> list[AuditLog]:
    return [
        audit_log_write(
            actor=actor,
            action="registry.person_view",
            target_type="person",
            target_id=n,
            details={"reason": f"核对第{n}户", "n": n, "nested": {"b": [1, 2.5], "a": None}},
        )
        for n in range(count)
    ]


def triggers_off() -> None:
    """As the table's owner would (SQLite's triggers are already off in the test settings)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # DDL is transactional on PostgreSQL: the test's rollback restores the trigger.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditlog DISABLE TRIGGER core_auditlog_append_only")


def tamper(sql: str, params: list) -> None:
    """Change rows behind the application's back, as an intruder with the database would."""
    triggers_off()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify_command() -> str:
    with pytest.raises(CommandError) as failed:
        call_command("audit_verify")
    assert failed.value.returncode == 1
    return str(failed.value)


def test_rows_are_chained_in_order_and_the_verifier_accepts_them(capsys):
    rows = write(3)
    assert rows[0].prev_hash == GENESIS_HASH
    assert [row.prev_hash for row in rows[1:]] == [row.row_hash for row in rows[:-1]]
    assert AuditChainHead.objects.get().last_hash == rows[-1].row_hash
    assert audit_chain_verify() == (3, None)
    call_command("audit_verify")
    assert "intact: 3 rows" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("statement", "verb"),
    [
        ("UPDATE core_auditlog SET action = 'x' WHERE id = %s", "UPDATE"),
        ("DELETE FROM core_auditlog WHERE id = %s", "DELETE"),
    ],
)
def test_the_database_refuses_update_and_delete(settings, statement, verb):
    settings.WANGGE_AUDIT_APPEND_ONLY = True  # SQLite's triggers ask it; PostgreSQL's always refuse
    (row,) = write(1)
    with pytest.raises(IntegrityError, match=f"append-only: {verb} refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [row.pk])
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            AuditLog.objects.filter(pk=row.pk).update(target_id="9")
    assert AuditLog.objects.get(pk=row.pk).action == "registry.person_view"


def test_a_flipped_byte_is_found_and_its_row_named():
    rows = write(5)
    tamper("UPDATE core_auditlog SET target_id = '7' WHERE id = %s", [rows[2].pk])
    message = verify_command()
    assert f"row {rows[2].pk}:" in message and "content does not match" in message


def test_a_flipped_byte_in_the_details_is_found():
    rows = write(3)
    tamper(
        "UPDATE core_auditlog SET details = %s WHERE id = %s",
        ['{"reason": "核对第1户", "n": 1, "nested": {"b": [1, 2.6], "a": null}}', rows[1].pk],
    )
    assert f"row {rows[1].pk}:" in verify_command()


def test_a_removed_row_breaks_the_chain_at_the_next_row():
    rows = write(4)
    tamper("DELETE FROM core_auditlog WHERE id = %s", [rows[1].pk])
    message = verify_command()
    assert f"row {rows[2].pk}:" in message and "prev_hash" in message


def test_a_cut_off_tail_is_found_through_the_chain_head():
    rows = write(3)
    tamper("DELETE FROM core_auditlog WHERE id = %s", [rows[2].pk])
    assert "chain head" in verify_command()


def test_the_data_migration_chains_rows_written_before_the_chain():
    AuditLog.objects.bulk_create(
        [AuditLog(action="old.thing", target_type="grid", target_id=str(n)) for n in range(3)]
    )
    AuditChainHead.objects.all().delete()
    triggers_off()
    migration = importlib.import_module("wangge.core.migrations.0006_audit_chain_backfill")
    migration.chain_existing_rows(apps, None)
    assert audit_chain_verify() == (3, None)
    write(1)  # new rows continue the chain
    assert audit_chain_verify() == (4, None)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the SQLite test database is in memory with a shared cache: no busy wait between threads",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_writers_keep_one_chain():
    def writer() -> None:
        try:
            for _ in range(10):
                write(1)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert audit_chain_verify() == (60, None)
