"""Seed the grid layers a district starts with; more can be added in the admin."""

from django.db import migrations

LAYERS = [
    ("social", "社会治理网格", "Social-service grids (全科网格) that grid workers look after.", 10),
    ("unit", "万米单元网格", "City-management unit grids of about 10,000 m² (GB/T 30428.1).", 20),
    ("police", "警格", "Police beat grids.", 30),
    ("safety", "安全生产网格", "Work-safety supervision grids.", 40),
    ("power", "供电网格", "Power-supply service grids.", 50),
]


def seed(apps, schema_editor):
    GridLayer = apps.get_model("regions", "GridLayer")
    for code, name, description, order in LAYERS:
        GridLayer.objects.update_or_create(
            code=code, defaults={"name": name, "description": description, "sort_order": order}
        )


def unseed(apps, schema_editor):
    GridLayer = apps.get_model("regions", "GridLayer")
    GridLayer.objects.filter(code__in=[code for code, *_ in LAYERS], grids__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("regions", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
