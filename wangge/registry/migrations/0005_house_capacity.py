from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_seed_rating_criteria"),
    ]

    operations = [
        migrations.AddField(
            model_name="house",
            name="capacity",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Most people who may live here at once; empty for no limit (群租 control).",
                null=True,
                verbose_name="capacity (max residents)",
            ),
        ),
    ]
