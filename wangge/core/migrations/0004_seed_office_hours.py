"""Seed the default office hours (办公时间) 09:00–12:00 and 13:30–18:00; editable in the admin."""

import datetime

from django.db import migrations

PERIODS = [
    (datetime.time(9, 0), datetime.time(12, 0)),
    (datetime.time(13, 30), datetime.time(18, 0)),
]


def seed(apps, schema_editor):
    OfficePeriod = apps.get_model("core", "OfficePeriod")
    if OfficePeriod.objects.exists():
        return
    for start, end in PERIODS:
        OfficePeriod.objects.create(start=start, end=end)


def unseed(apps, schema_editor):
    OfficePeriod = apps.get_model("core", "OfficePeriod")
    for start, end in PERIODS:
        OfficePeriod.objects.filter(start=start, end=end).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0003_working_calendar")]

    operations = [migrations.RunPython(seed, unseed)]
