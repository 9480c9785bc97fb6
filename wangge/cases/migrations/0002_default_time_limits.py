"""Default time limits for every category (a category's own rows override them in the admin).

Figures follow common 数字城管 practice: acceptance and dispatch within working hours, handling by
area grade (A core streets fastest), verification within a working day.
"""

from django.db import migrations

DEFAULTS = [
    # stage, grade, amount, unit
    ("accept", "A", 1, "working_hour"),
    ("accept", "B", 2, "working_hour"),
    ("accept", "C", 4, "working_hour"),
    ("dispatch", "A", 1, "working_hour"),
    ("dispatch", "B", 2, "working_hour"),
    ("dispatch", "C", 4, "working_hour"),
    ("handle", "A", 1, "working_day"),
    ("handle", "B", 2, "working_day"),
    ("handle", "C", 3, "working_day"),
    ("verify", "A", 4, "working_hour"),
    ("verify", "B", 1, "working_day"),
    ("verify", "C", 1, "working_day"),
]


def seed(apps, schema_editor):
    TimeLimit = apps.get_model("cases", "TimeLimit")
    for stage, grade, amount, unit in DEFAULTS:
        TimeLimit.objects.update_or_create(
            category=None,
            condition="",
            area_grade=grade,
            stage=stage,
            defaults={"amount": amount, "unit": unit},
        )


def unseed(apps, schema_editor):
    apps.get_model("cases", "TimeLimit").objects.filter(category=None, condition="").delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
