"""Seed the four care classes (四类管理法) and the person tags they follow from.

A starting point that a district edits in the admin: names, levels, visit intervals and which tag
implies which class are all data. Rows already changed by hand are left alone on re-run.
"""

from django.db import migrations

CARE_CLASSES = [
    # code, name, level, visit every (days), description
    ("key", "重点关爱户", 1, 7, "每周走访: 独居、特困、重度残疾、留守儿童及需重点帮扶管理的对象"),
    ("attention", "关注户", 2, 15, "每半月走访: 低保、残疾、空巢及高龄老人等"),
    ("contact", "联系户", 3, 30, "每月走访: 优抚对象、失业人员等"),
    ("routine", "放心户", 4, 90, "每季度走访: 其他住户"),
]

TAGS = [
    # code, name, care class code
    ("lonely_elderly", "独居老人", "key"),
    ("empty_nest_elderly", "空巢老人", "attention"),
    ("very_old", "高龄老人(80岁以上)", "attention"),
    ("severe_disability", "重度残疾人", "key"),
    ("disabled", "残疾人", "attention"),
    ("subsistence_allowance", "低保户", "attention"),
    ("extreme_poverty", "特困供养人员", "key"),
    ("entitled_group", "优抚对象", "contact"),
    ("veteran", "退役军人", "contact"),
    ("left_behind_child", "留守儿童", "key"),
    ("child_in_distress", "困境儿童", "key"),
    ("severe_mental_illness", "严重精神障碍患者", "key"),
    ("community_correction", "社区矫正对象", "key"),
    ("released_prisoner", "刑满释放人员", "attention"),
    ("drug_rehabilitation", "社区戒毒康复人员", "key"),
    ("unemployed", "失业人员", "contact"),
]


def seed(apps, schema_editor):
    CareClass = apps.get_model("registry", "CareClass")
    Tag = apps.get_model("registry", "Tag")
    classes = {}
    for code, name, level, days, description in CARE_CLASSES:
        classes[code], _created = CareClass.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "level": level,
                "visit_interval_days": days,
                "description": description,
            },
        )
    for order, (code, name, class_code) in enumerate(TAGS, start=1):
        Tag.objects.get_or_create(
            code=code,
            defaults={"name": name, "care_class": classes[class_code], "sort_order": order * 10},
        )


def unseed(apps, schema_editor):
    Tag = apps.get_model("registry", "Tag")
    CareClass = apps.get_model("registry", "CareClass")
    Tag.objects.filter(code__in=[code for code, *_ in TAGS], people__isnull=True).delete()
    CareClass.objects.filter(
        code__in=[code for code, *_ in CARE_CLASSES], households__isnull=True, tags__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
