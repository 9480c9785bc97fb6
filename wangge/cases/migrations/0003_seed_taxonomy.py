"""Seed the case taxonomy from the tables in ``wangge/cases/data/`` (see docs/standards.md).

- GB/T 47678.5-2026: 管理部件 (kind "component", ``components.csv``) and 管理事项 (kind "matter",
  ``events.csv``), each 2-digit big class as a parent row, all in the city-management domain.
- The 4-digit GB/T 30428.2-era codes seen in real systems (``legacy_observed_codes.csv``) as aliases.
- The local items of the other four full-response domains (``local_taxonomy.csv``), ``is_local``.

Every row keeps its provenance (standard, source, confidence). Re-running updates rows by
(kind, code); reversing deletes only the rows seeded here that no case refers to.
"""

import csv
from pathlib import Path

from django.db import migrations
from django.db.models import Q

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
CITY_MANAGEMENT = "city_management"
GBT_TABLES = (("component", "components.csv"), ("matter", "events.csv"))
LEGACY_STANDARD = "GB/T 30428.2-2013"
LEGACY_KINDS = {"部件": "component", "事件": "matter"}
LOCAL_KINDS = {"service", "affair"}
LOCAL_PREFIXES = {
    "SS": "social_service",
    "AS": "administrative_service",
    "SM": "social_management",
    "EM": "emergency",
}
LOCAL_CONFIDENCE = (
    "local seed: drafted for Wangge from the seed text (篇 named in source), not from a standard; "
    "check procedures and materials against local rules"
)
# GB/T matters a grid worker may put right on the spot (自行处置); listed in docs/standards.md.
SELF_HANDLING_MATTERS = frozenset(
    {
        "06007",  # 沿街晾挂
        "06010",  # 暴露垃圾
        "06019",  # 非装饰性吊挂
        "06036",  # 乱堆杂物
        "07001",  # 非法小广告 (乱贴乱画)
        "09010",  # 非机动车乱停放
        "09011",  # 共享单车乱象
    }
)


def read_table(name):
    # utf-8-sig: a table corrected in a spreadsheet program may come back with a byte-order mark.
    with open(DATA_DIR / name, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def seed_gbt(Category):
    for kind, filename in GBT_TABLES:
        rows = read_table(filename)
        big_rows = {}
        for row in rows:
            code, big_code = row["code"], row["big_category_code"]
            if len(code) != 5 or not code.isdigit() or not code.startswith(big_code):
                raise ValueError(f"{filename}: bad code {code!r} in big class {big_code!r}")
            first = big_rows.setdefault(big_code, row)
            if first["big_category"] != row["big_category"]:
                raise ValueError(f"{filename}: big class {big_code} has two names")
        parents = {}
        for order, (big_code, row) in enumerate(sorted(big_rows.items()), start=1):
            parents[big_code], _ = Category.objects.update_or_create(
                kind=kind,
                code=big_code,
                defaults={
                    "name": row["big_category"],
                    "domain": CITY_MANAGEMENT,
                    "parent": None,
                    "standard": row["standard"],
                    "source": row["source"],
                    "confidence": row["confidence"],
                    "is_local": False,
                    "sort_order": order,
                },
            )
        for order, row in enumerate(rows, start=1):
            Category.objects.update_or_create(
                kind=kind,
                code=row["code"],
                defaults={
                    "name": row["name"],
                    "domain": CITY_MANAGEMENT,
                    "parent": parents[row["big_category_code"]],
                    "standard": row["standard"],
                    "source": row["source"],
                    "confidence": row["confidence"],
                    "is_local": False,
                    "allows_self_handling": kind == "matter"
                    and row["code"] in SELF_HANDLING_MATTERS,
                    "sort_order": order,
                },
            )


def seed_legacy_aliases(Category, CategoryAlias):
    for row in read_table("legacy_observed_codes.csv"):
        target = row["apparent_new_gbt47678_5_code"].split(" ", 1)[0]
        if not target.isdigit():
            continue  # "(no direct match)": nothing to point the old code at
        category = Category.objects.get(kind=LEGACY_KINDS[row["kind"]], code=target)
        CategoryAlias.objects.update_or_create(
            category=category,
            code=row["old_code"],
            defaults={
                "standard": LEGACY_STANDARD,
                "source": f"旧名称 {row['name']}（{row['big_category']}）; {row['source']}",
                "confidence": row["confidence"],
            },
        )


def seed_local(Category):
    rows = read_table("local_taxonomy.csv")
    parents = {}
    # Big classes (no parent_code) first, so that every small class finds its parent.
    for order, row in enumerate(sorted(rows, key=lambda r: bool(r["parent_code"])), start=1):
        code, kind, domain = row["code"], row["kind"], row["domain"]
        if kind not in LOCAL_KINDS or LOCAL_PREFIXES.get(code[:2]) != domain:
            raise ValueError(f"local_taxonomy.csv: {code!r} has kind {kind!r}, domain {domain!r}")
        parent = None
        if row["parent_code"]:
            parent = parents[row["parent_code"]]
            if parent.kind != kind or not code.startswith(parent.code):
                raise ValueError(f"local_taxonomy.csv: {code!r} does not fit under {parent.code!r}")
        category, _ = Category.objects.update_or_create(
            kind=kind,
            code=code,
            defaults={
                "name": row["name"],
                "domain": domain,
                "parent": parent,
                "standard": "",
                "source": row["source"],
                "confidence": LOCAL_CONFIDENCE,
                "is_local": True,
                "accept_conditions": row["accept_conditions"],
                "close_conditions": row["close_conditions"],
                "procedure": row["procedure"],
                "materials": row["materials"],
                "allows_self_handling": row["allows_self_handling"] == "1",
                "sort_order": order,
            },
        )
        if parent is None:
            parents[code] = category


def seed(apps, schema_editor):
    Category = apps.get_model("cases", "Category")
    CategoryAlias = apps.get_model("cases", "CategoryAlias")
    seed_gbt(Category)
    seed_legacy_aliases(Category, CategoryAlias)
    seed_local(Category)


def unseed(apps, schema_editor):
    Category = apps.get_model("cases", "Category")
    seeded = Q(pk__in=[])
    for kind, filename in GBT_TABLES:
        rows = read_table(filename)
        codes = {r["code"] for r in rows} | {r["big_category_code"] for r in rows}
        seeded |= Q(kind=kind, code__in=codes, is_local=False)
    local_codes = {}
    for row in read_table("local_taxonomy.csv"):
        local_codes.setdefault(row["kind"], set()).add(row["code"])
    for kind, codes in local_codes.items():
        seeded |= Q(kind=kind, code__in=codes, is_local=True)
    candidates = Category.objects.filter(seeded)
    # Small classes first, then the big classes left empty; a category a case refers to stays, and
    # so does its big class. Aliases and time limits of deleted rows go with them (CASCADE).
    candidates.filter(parent__isnull=False, cases__isnull=True).delete()
    candidates.filter(parent__isnull=True, cases__isnull=True, children__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_default_time_limits")]

    operations = [migrations.RunPython(seed, unseed)]
