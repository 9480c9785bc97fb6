"""Seed the criteria and star levels of the quarterly rating of rented houses (篇9: 一户一评、一户一档).

Taken from 篇9's wording: the tenant's details complete (照片、身份证复印件、出租房屋合同、管控责任书、
备案登记表), registration within 2 days, residence permits (居住证), the house's QR code scanned on
regular visits, deregistration of tenants who left, and the fire and gas safety the grid worker
checks on the visit. Points add up to 100. A starting point that a district edits in the admin;
rows already changed by hand are left alone on re-run.
"""

from django.db import migrations

CRITERIA = [
    # code, name, rule, points, description
    (
        "registration",
        "租户信息登记齐全",
        "registration_complete",
        20,
        "每名在住租户均已登记(2日内登记, 无漏登)",
    ),
    ("lease_contract", "出租房屋合同", "lease_contract", 10, "租赁合同已存档"),
    ("responsibility_letter", "管控责任书", "responsibility_letter", 10, "治安管控责任书已签订"),
    ("rental_filing", "备案登记表", "rental_filing", 10, "出租房屋备案登记表已存档"),
    ("id_copies", "身份证复印件", "id_copies", 10, "每名在住租户的身份证复印件已存档"),
    ("photos", "租户照片", "tenant_photos", 5, "每名在住租户均有照片"),
    ("permits", "居住证办理", "tenant_permits", 10, "流动人口租户均持有有效居住证"),
    ("qr_scan", "二维码定期扫描", "scanned_in_quarter", 10, "本季度内网格员扫描过该户二维码"),
    ("deregistration", "搬离及时注销", "deregistered_on_time", 5, "已搬离的租户3日内注销"),
    ("fire_safety", "消防安全", "manual", 5, "走访时查看: 消防器材、疏散通道、无违规用电"),
    ("gas_safety", "燃气安全", "manual", 5, "走访时查看: 燃气器具及管线安全, 无私拉乱接"),
]

LEVELS = [
    # stars, name, minimum points
    (5, "五星级", 90),
    (4, "四星级", 75),
    (3, "三星级", 60),
    (2, "二星级", 40),
    (1, "一星级", 0),
]


def seed(apps, schema_editor):
    RatingCriterion = apps.get_model("registry", "RatingCriterion")
    RatingLevel = apps.get_model("registry", "RatingLevel")
    for order, (code, name, rule, points, description) in enumerate(CRITERIA, start=1):
        RatingCriterion.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "rule": rule,
                "points": points,
                "description": description,
                "sort_order": order * 10,
            },
        )
    for stars, name, min_points in LEVELS:
        RatingLevel.objects.get_or_create(
            stars=stars, defaults={"name": name, "min_points": min_points}
        )


def unseed(apps, schema_editor):
    apps.get_model("registry", "RatingCriterion").objects.filter(
        code__in=[row[0] for row in CRITERIA]
    ).delete()
    apps.get_model("registry", "RatingLevel").objects.filter(
        stars__in=[row[0] for row in LEVELS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_rented_houses_scans_self_registration_ratings")]

    operations = [migrations.RunPython(seed, unseed)]
