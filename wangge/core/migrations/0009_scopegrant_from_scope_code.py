"""Data: each user's ``scope_code`` becomes his one ``ScopeGrant``. Backwards, the shortest grant
(the widest area) goes back into ``scope_code``; a set of several cannot be told by one code."""

from django.db import migrations

BATCH = 2000


def forwards(apps, schema_editor):
    User = apps.get_model("core", "User")
    ScopeGrant = apps.get_model("core", "ScopeGrant")
    db = schema_editor.connection.alias
    rows = User.objects.using(db).exclude(scope_code="").values_list("pk", "scope_code")
    grants = [ScopeGrant(user_id=pk, prefix=code) for pk, code in rows.iterator()]
    ScopeGrant.objects.using(db).bulk_create(grants, batch_size=BATCH, ignore_conflicts=True)


def backwards(apps, schema_editor):
    User = apps.get_model("core", "User")
    ScopeGrant = apps.get_model("core", "ScopeGrant")
    db = schema_editor.connection.alias
    widest: dict[int, str] = {}
    for user_id, prefix in ScopeGrant.objects.using(db).values_list("user_id", "prefix"):
        if user_id not in widest or len(prefix) < len(widest[user_id]):
            widest[user_id] = prefix
    for user_id, prefix in widest.items():
        User.objects.using(db).filter(pk=user_id).update(scope_code=prefix)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_scopegrant"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
