"""The audit table refuses UPDATE and DELETE.

PostgreSQL: a trigger raises for every row (TRUNCATE, which only the table owner may run, is left
to maintenance and the test suite's flush). SQLite: triggers abort unless the connection's
``wangge_audit_append_only()`` answers 0; Wangge registers it on each connection from the
WANGGE_AUDIT_APPEND_ONLY setting, and any other client (the sqlite3 shell) lacks the function, so
its UPDATE or DELETE fails too.
"""

from django.db import migrations

PG_INSTALL = """
CREATE OR REPLACE FUNCTION core_auditlog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'core_auditlog is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditlog_append_only
    BEFORE UPDATE OR DELETE ON core_auditlog
    FOR EACH ROW EXECUTE FUNCTION core_auditlog_append_only();
"""
PG_REMOVE = """
DROP TRIGGER IF EXISTS core_auditlog_append_only ON core_auditlog;
DROP FUNCTION IF EXISTS core_auditlog_append_only();
"""
SQLITE_INSTALL = [
    """
    CREATE TRIGGER core_auditlog_no_update BEFORE UPDATE ON core_auditlog
    WHEN wangge_audit_append_only() != 0
    BEGIN SELECT RAISE(ABORT, 'core_auditlog is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER core_auditlog_no_delete BEFORE DELETE ON core_auditlog
    WHEN wangge_audit_append_only() != 0
    BEGIN SELECT RAISE(ABORT, 'core_auditlog is append-only: DELETE refused'); END
    """,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS core_auditlog_no_update",
    "DROP TRIGGER IF EXISTS core_auditlog_no_delete",
]


def install(apps, schema_editor):
    run(schema_editor, PG_INSTALL, SQLITE_INSTALL)


def remove(apps, schema_editor):
    run(schema_editor, PG_REMOVE, SQLITE_REMOVE)


def run(schema_editor, postgresql: str, sqlite: list[str]) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(postgresql, params=None)
    elif vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0006_audit_chain_backfill")]

    operations = [migrations.RunPython(install, remove)]
