"""A user's data scope becomes a set of region-code prefixes: one ``ScopeGrant`` row per prefix."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0007_audit_append_only"),
    ]

    operations = [
        migrations.CreateModel(
            name="ScopeGrant",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "prefix",
                    models.CharField(
                        help_text="Region code of the area this user may see, e.g. 110102 or 110102001004.",
                        max_length=15,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[0-9]{6,15}$", "A region code has 6 to 15 digits."
                            )
                        ],
                        verbose_name="region code",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="scope_grants",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "data scope grant",
                "verbose_name_plural": "data scope",
                "ordering": ["prefix"],
                "indexes": [models.Index(fields=["prefix"], name="core_scopegrant_prefix_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "prefix"), name="core_scopegrant_user_prefix"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("prefix__regex", "^[0-9]{6,15}$")),
                        name="core_scopegrant_prefix_digits",
                    ),
                ],
            },
        ),
    ]
