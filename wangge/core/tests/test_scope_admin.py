"""Administrators edit a user's data scope in the user admin; every change is audited."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from wangge.core.models import AuditLog, ScopeGrant
from wangge.core.scope import scope_prefixes
from wangge.testing.factories import make_user

pytestmark = pytest.mark.django_db
GRID_A = "110102001001001"
GRID_P2 = "110102001002001"


def _form(user, grants: list[tuple[int | None, str, bool]]) -> dict[str, str]:
    """The change form as the browser posts it, with the grant rows (id, prefix, delete)."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": "",
        "email": "",
        "is_active": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "scope_grants-TOTAL_FORMS": str(len(grants)),
        "scope_grants-INITIAL_FORMS": str(sum(1 for pk, _p, _d in grants if pk)),
        "scope_grants-MIN_NUM_FORMS": "0",
        "scope_grants-MAX_NUM_FORMS": "1000",
    }
    for index, (pk, prefix, delete) in enumerate(grants):
        data[f"scope_grants-{index}-id"] = str(pk or "")
        data[f"scope_grants-{index}-user"] = str(user.pk)
        data[f"scope_grants-{index}-prefix"] = prefix
        if delete:
            data[f"scope_grants-{index}-DELETE"] = "on"
    return data


def test_an_administrator_gives_a_worker_a_second_grid_and_takes_the_first(territory):
    root = make_user("root", role=None, is_superuser=True, is_staff=True)
    worker = make_user("worker", role="grid_worker", scope=GRID_A)
    first = ScopeGrant.objects.get(user=worker)
    client = Client()
    client.force_login(root)
    url = reverse("admin:core_user_change", args=[worker.pk])

    assert client.get(url).status_code == 200
    added = client.post(url, _form(worker, [(first.pk, GRID_A, False), (None, GRID_P2, False)]))
    assert added.status_code == 302, added.content.decode()[:2000]
    assert scope_prefixes(worker) == {GRID_A, GRID_P2}
    second = ScopeGrant.objects.get(user=worker, prefix=GRID_P2)
    removed = client.post(
        url, _form(worker, [(first.pk, GRID_A, True), (second.pk, GRID_P2, False)])
    )
    assert removed.status_code == 302
    assert scope_prefixes(worker) == {GRID_P2}

    audits = AuditLog.objects.filter(action="core.scope_change").order_by("id")
    assert [(a.actor, a.target_id, a.details["added"], a.details["removed"]) for a in audits] == [
        (root, str(worker.pk), [GRID_P2], []),
        (root, str(worker.pk), [], [GRID_A]),
    ]
    listing = client.get(reverse("admin:core_user_changelist"), {"q": GRID_P2})
    assert "worker" in listing.content.decode()


def test_a_grant_that_is_not_a_region_code_is_refused_by_field(territory):
    root = make_user("root", role=None, is_superuser=True, is_staff=True)
    worker = make_user("worker", role="grid_worker", scope=GRID_A)
    first = ScopeGrant.objects.get(user=worker)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(root)
    url = reverse("admin:core_user_change", args=[worker.pk])

    answer = client.post(url, _form(worker, [(first.pk, GRID_A, False), (None, "11-0102", False)]))

    assert answer.status_code == 200
    assert "A region code has 6 to 15 digits." in answer.content.decode()
    assert scope_prefixes(worker) == {GRID_A}
    assert not AuditLog.objects.filter(action="core.scope_change").exists()
