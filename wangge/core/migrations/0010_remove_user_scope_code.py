"""``User.scope_code`` is gone: the data scope is the user's ``ScopeGrant`` rows (0008, 0009)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0009_scopegrant_from_scope_code"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="user", name="core_user_scope_code_digits"),
        migrations.RemoveField(model_name="user", name="scope_code"),
    ]
