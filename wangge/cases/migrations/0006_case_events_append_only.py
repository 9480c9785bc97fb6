"""Case events refuse UPDATE and DELETE, as the audit log does (core 0007).

A case's history is written once, by ``cases.events.case_event_append`` (and intake's ``report``
event): nobody rewrites or removes a step. PostgreSQL: a trigger raises for every row (TRUNCATE,
which only the table owner may run, is left to maintenance and the test suite's flush). SQLite:
triggers abort unless the connection's ``wangge_audit_append_only()`` answers 0 (the
WANGGE_AUDIT_APPEND_ONLY setting, off in the test settings for transactional flushes); any other
client lacks the function, so its UPDATE or DELETE fails too.

Deleting a case therefore fails once it has events (on PostgreSQL always; on SQLite while the
setting is on): cases are voided, merged or archived, never deleted.
"""

from django.db import migrations

PG_INSTALL = """
CREATE OR REPLACE FUNCTION cases_caseevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'cases_caseevent is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER cases_caseevent_append_only
    BEFORE UPDATE OR DELETE ON cases_caseevent
    FOR EACH ROW EXECUTE FUNCTION cases_caseevent_append_only();
"""
PG_REMOVE = """
DROP TRIGGER IF EXISTS cases_caseevent_append_only ON cases_caseevent;
DROP FUNCTION IF EXISTS cases_caseevent_append_only();
"""
SQLITE_INSTALL = [
    """
    CREATE TRIGGER cases_caseevent_no_update BEFORE UPDATE ON cases_caseevent
    WHEN wangge_audit_append_only() != 0
    BEGIN SELECT RAISE(ABORT, 'cases_caseevent is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER cases_caseevent_no_delete BEFORE DELETE ON cases_caseevent
    WHEN wangge_audit_append_only() != 0
    BEGIN SELECT RAISE(ABORT, 'cases_caseevent is append-only: DELETE refused'); END
    """,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS cases_caseevent_no_update",
    "DROP TRIGGER IF EXISTS cases_caseevent_no_delete",
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
    dependencies = [
        ("cases", "0005_notification_inbox_indexes"),
        ("core", "0007_audit_append_only"),
    ]

    operations = [migrations.RunPython(install, remove)]
