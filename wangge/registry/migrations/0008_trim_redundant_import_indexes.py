"""Indexes that cost every insert and serve no query another index does not serve already.

A ledger import writes a person, a residency and a history row per line; each index is one more
write per row (docs/registry.md, "Ledger import"). Dropped:

- ``reg_person_id_hash_idx``: every lookup by ID hash asks for active people, which the unique
  partial index ``registry_person_id_hash_unique`` serves;
- the foreign-key indexes Django adds on ``Residency.person``, ``PersonEvent.person`` and
  ``House.building``: the composite indexes (person, deregistered_at), (person, created_at) and
  the unique (building, unit, room) start with the same column;
- the full indexes on ``Person.merged_into`` and ``Residency.household``, mostly NULL, replaced by
  partial ones ``WHERE … IS NOT NULL``.

The fields lose ``db_index`` in the state only: Django's ``AlterField`` would drop and re-create
(and so re-validate over the whole table) each foreign-key constraint, for nothing.
"""

from django.db import migrations, models

# The names Django gave the foreign-key indexes (derived from table and column names).
FK_INDEX_COLUMNS = {
    "registry_house_building_id_f682dbba": ("registry_house", "building_id"),
    "registry_person_merged_into_id_729f6004": ("registry_person", "merged_into_id"),
    "registry_personevent_person_id_238dfb10": ("registry_personevent", "person_id"),
    "registry_residency_household_id_4fbc5e24": ("registry_residency", "household_id"),
    "registry_residency_person_id_2ea5066a": ("registry_residency", "person_id"),
}


def _fk(to: str, related_name: str, verbose_name: str, **extra: object) -> models.ForeignKey:
    return models.ForeignKey(
        db_index=False,
        on_delete=models.deletion.PROTECT,
        related_name=related_name,
        to=to,
        verbose_name=verbose_name,
        **extra,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0007_seed_ledger_templates"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="person", name="reg_person_id_hash_idx"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="house",
                    name="building",
                    field=_fk("registry.building", "houses", "building"),
                ),
                migrations.AlterField(
                    model_name="person",
                    name="merged_into",
                    field=_fk(
                        "registry.person", "merged_records", "merged into", blank=True, null=True
                    ),
                ),
                migrations.AlterField(
                    model_name="personevent",
                    name="person",
                    field=_fk("registry.person", "events", "person"),
                ),
                migrations.AlterField(
                    model_name="residency",
                    name="household",
                    field=_fk(
                        "registry.household", "residencies", "household", blank=True, null=True
                    ),
                ),
                migrations.AlterField(
                    model_name="residency",
                    name="person",
                    field=_fk("registry.person", "residencies", "person"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")',
                )
                for name, (table, column) in FK_INDEX_COLUMNS.items()
            ],
        ),
        migrations.AddIndex(
            model_name="person",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", False)),
                fields=["merged_into"],
                name="reg_person_merged_into_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="residency",
            index=models.Index(
                condition=models.Q(("household__isnull", False)),
                fields=["household"],
                name="reg_residency_household_idx",
            ),
        ),
    ]
