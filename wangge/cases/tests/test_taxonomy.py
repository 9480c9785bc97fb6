"""The seeded taxonomy (migration 0003 over wangge/cases/data/) and the back office that edits it.

The migrations run when the test database is created, so these tests read what a fresh deployment
has. They import models and the admin only, not the case services.
"""

from __future__ import annotations

import csv
import importlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.utils import timezone

from wangge.cases.models import (
    Case,
    CaseEvent,
    Category,
    CategoryAlias,
    Domain,
    Notification,
)
from wangge.core.models import AuditLog, User

pytestmark = pytest.mark.django_db

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "standards.md"
SEED_MIGRATION = importlib.import_module("wangge.cases.migrations.0003_seed_taxonomy")
GBT_KINDS = (Category.Kind.COMPONENT, Category.Kind.MATTER)
_NEW = "apparent_new_gbt47678_5_code"  # column of legacy_observed_codes.csv


def _small(kind: str):
    return Category.objects.filter(kind=kind, parent__isnull=False)


def _big_codes(kind: str) -> set[str]:
    return set(Category.objects.filter(kind=kind, parent=None).values_list("code", flat=True))


def _read(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


# GB/T 47678.5-2026 -----------------------------------------------------------------------------


def test_all_153_component_classes_are_seeded_under_5_big_classes():
    assert _small(Category.Kind.COMPONENT).count() == 153
    assert _big_codes(Category.Kind.COMPONENT) == {"01", "02", "03", "04", "05"}
    assert Category.objects.get(kind="component", code="04001").parent.name == "园林绿化设施"


def test_all_250_matter_classes_are_seeded_under_10_big_classes():
    assert _small(Category.Kind.MATTER).count() == 250
    assert _big_codes(Category.Kind.MATTER) == {f"{n:02d}" for n in range(1, 11)}
    assert Category.objects.get(kind="matter", code="06010").parent.name == "市容环境类"


def test_small_class_codes_start_with_their_big_class_code():
    for category in Category.objects.filter(
        kind__in=GBT_KINDS, parent__isnull=False
    ).select_related("parent"):
        assert category.code.startswith(category.parent.code), category.code
        assert len(category.code) == 5


def test_gbt_rows_are_national_city_management_rows():
    gbt = Category.objects.filter(kind__in=GBT_KINDS)
    assert gbt.count() == 153 + 5 + 250 + 10
    assert not gbt.filter(is_local=True).exists()
    assert set(gbt.values_list("domain", flat=True)) == {Domain.CITY_MANAGEMENT}


def test_the_same_code_is_a_component_and_a_matter():
    by_kind = dict(Category.objects.filter(code="01001").values_list("kind", "name"))
    assert by_kind == {"component": "供水井盖", "matter": "供水井盖异常"}


def test_a_code_is_unique_within_its_kind():
    big = Category.objects.get(kind="component", code="01")
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.create(
            kind="component", code="01001", name="重复", domain="city_management", parent=big
        )


def test_gbt_provenance_is_kept_on_every_row():
    for category in Category.objects.filter(kind__in=GBT_KINDS):
        assert category.standard.startswith("GB/T 47678.5-2026"), category.code
        assert "city-inspection-ai" in category.source, category.code
        assert category.confidence.startswith("from-secondary-summary"), category.code
    assert "附录A" in Category.objects.get(kind="component", code="01001").standard
    assert "附录C" in Category.objects.get(kind="matter", code="01001").standard


def test_gbt_conditions_are_left_blank():
    gbt = Category.objects.filter(kind__in=GBT_KINDS)
    assert not gbt.exclude(accept_conditions="", close_conditions="").exists()


def test_self_handling_matters_are_the_documented_handful():
    codes = set(
        Category.objects.filter(kind__in=GBT_KINDS, allows_self_handling=True).values_list(
            "code", flat=True
        )
    )
    assert codes == {"06007", "06010", "06019", "06036", "07001", "09010", "09011"}
    assert Category.objects.get(kind="matter", code="06010").name == "暴露垃圾"
    docs = DOCS.read_text(encoding="utf-8")
    for code in codes:
        assert code in docs, f"{code} missing from docs/standards.md"


# Legacy GB/T 30428.2 codes ---------------------------------------------------------------------


def test_old_component_code_resolves_to_the_new_class():
    alias = CategoryAlias.objects.select_related("category").get(
        code="0101", category__kind="component"
    )
    assert (alias.category.code, alias.category.name) == ("01001", "供水井盖")
    assert alias.standard == "GB/T 30428.2-2013"
    assert "上水井盖" in alias.source  # the old name is kept with the alias
    assert alias.confidence.startswith("uncertain")


def test_an_old_code_resolves_by_kind():
    alias = CategoryAlias.objects.select_related("category").get(
        code="0101", category__kind="matter"
    )
    assert (alias.category.code, alias.category.name) == ("06001", "私搭乱建")


def test_every_matched_legacy_code_is_an_alias():
    matched = [r for r in _read("legacy_observed_codes.csv") if r[_NEW][:1].isdigit()]
    assert len(matched) == 16  # 0606 公共设施损坏 has no direct match
    for row in matched:
        kind = {"部件": "component", "事件": "matter"}[row["kind"]]
        alias = CategoryAlias.objects.get(code=row["old_code"], category__kind=kind)
        assert alias.category.code == row[_NEW].split()[0]
    assert CategoryAlias.objects.count() == 16


# Local items -----------------------------------------------------------------------------------


def test_every_domain_has_items():
    for domain in Domain.values:
        assert Category.objects.filter(domain=domain, parent__isnull=False).exists(), domain


def test_local_items_use_the_documented_code_scheme():
    prefixes = {
        "SS": Domain.SOCIAL_SERVICE,
        "AS": Domain.ADMINISTRATIVE_SERVICE,
        "SM": Domain.SOCIAL_MANAGEMENT,
        "EM": Domain.EMERGENCY,
    }
    local = Category.objects.filter(is_local=True)
    assert 60 <= local.filter(parent__isnull=False).count() <= 100
    assert set(local.values_list("kind", flat=True)) == {"service", "affair"}
    for category in local.select_related("parent"):
        assert prefixes[category.code[:2]] == category.domain, category.code
        if category.parent is None:
            assert len(category.code) == 4, category.code
        else:
            assert category.code[:4] == category.parent.code, category.code
            assert len(category.code) == 7, category.code
            assert category.parent.kind == category.kind, category.code


def test_every_local_service_item_has_procedure_and_materials():
    services = Category.objects.filter(kind="service", is_local=True, parent__isnull=False)
    assert services.count() >= 20
    for item in services:
        assert item.procedure.strip(), item.code
        assert item.materials.strip(), item.code


def test_low_income_benefit_tells_the_resident_steps_and_papers():
    item = Category.objects.get(kind="service", name__contains="低保")
    for paper in ("户口簿", "身份证", "收入证明"):
        assert paper in item.materials
    steps = ("申请", "社区初审", "街道审核", "区民政局审批", "公示")
    lines = item.procedure.splitlines()
    assert len(lines) == len(steps)
    for number, (line, step) in enumerate(zip(lines, steps, strict=True), start=1):
        assert line.startswith(f"{number}. {step}"), line


def test_every_local_item_has_conditions_and_names_its_source():
    for item in Category.objects.filter(is_local=True):
        assert "篇" in item.source, item.code
        assert item.confidence, item.code
        if item.parent_id:
            assert item.accept_conditions and item.close_conditions, item.code


# The migration itself --------------------------------------------------------------------------


def test_seeding_again_changes_nothing():
    before = {
        (c.kind, c.code): (c.pk, c.name, c.parent_id)
        for c in Category.objects.all().only("kind", "code", "name", "parent")
    }
    aliases = CategoryAlias.objects.count()
    SEED_MIGRATION.seed(apps, None)
    after = {
        (c.kind, c.code): (c.pk, c.name, c.parent_id)
        for c in Category.objects.all().only("kind", "code", "name", "parent")
    }
    assert after == before
    assert CategoryAlias.objects.count() == aliases


def test_reverse_keeps_what_cases_use_and_what_administrators_added():
    used = Category.objects.get(kind="matter", code="06010")
    Case.objects.create(
        number="110102-2026-000001",
        source=Case.Source.PATROL,
        category=used,
        description="路边暴露垃圾",
        region_code="110102001001001",
        state=Case.State.REPORTED,
        level=Case.Level.GRID,
        created_at=timezone.now(),
    )
    added = Category.objects.create(
        kind="matter",
        code="06901",
        name="本地新增：楼道小广告",
        domain="city_management",
        parent=used.parent,
        is_local=True,
    )

    SEED_MIGRATION.unseed(apps, None)

    left = set(Category.objects.values_list("kind", "code"))
    assert left == {("matter", "06010"), ("matter", "06"), ("matter", "06901")}
    assert added.pk in Category.objects.values_list("pk", flat=True)


# The back office -------------------------------------------------------------------------------


@pytest.fixture
def admin_request():
    request = RequestFactory().get("/admin/")
    request.user = User.objects.create_superuser("root", password="x")
    return request


def test_gbt_code_and_provenance_are_read_only_in_the_admin(admin_request):
    model_admin = admin.site._registry[Category]
    gbt = Category.objects.get(kind="matter", code="06010")
    local = Category.objects.get(kind="service", code="SS01001")
    assert {"code", "standard", "source", "confidence", "is_local"} <= set(
        model_admin.get_readonly_fields(admin_request, gbt)
    )
    assert not model_admin.has_delete_permission(admin_request, gbt)
    assert model_admin.get_readonly_fields(admin_request, local) == ()
    assert model_admin.has_delete_permission(admin_request, local)
    assert model_admin.get_changeform_initial_data(admin_request)["is_local"] is True


def test_cases_and_their_history_are_read_only_in_the_admin(admin_request):
    for model in (Case, CaseEvent):
        model_admin = admin.site._registry[model]
        assert model_admin.has_view_permission(admin_request)
        assert not model_admin.has_add_permission(admin_request)
        assert not model_admin.has_change_permission(admin_request)
        assert not model_admin.has_delete_permission(admin_request)


def test_retry_now_makes_failed_sends_due_and_leaves_sent_ones(admin_request, monkeypatch):
    model_admin = admin.site._registry[Notification]
    monkeypatch.setattr(model_admin, "message_user", lambda *args, **kwargs: None)
    recipient = User.objects.create_user("officer", password="x")

    def make(status: str) -> Notification:
        return Notification.objects.create(
            recipient=recipient, channel="email", subject=status, status=status, attempts=6
        )

    failed, gave_up, sent = make("failed"), make("gave_up"), make("sent")
    now = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        model_admin.retry_now(admin_request, Notification.objects.all())

    for row in (failed, gave_up):
        row.refresh_from_db()
        assert (row.status, row.next_attempt_at, row.attempts) == ("pending", now, 6)
    sent.refresh_from_db()
    assert sent.status == "sent"
    audited = AuditLog.objects.filter(action="notification.retry")
    assert set(audited.values_list("target_id", flat=True)) == {str(failed.pk), str(gave_up.pk)}
    assert set(audited.values_list("actor", flat=True)) == {admin_request.user.pk}
