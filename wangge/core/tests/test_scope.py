"""The data scope is a set of region-code prefixes, kept per process like roles."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from wangge.core.models import ScopeGrant, User
from wangge.core.scope import (
    EVERYTHING,
    code_in_scope,
    collapse,
    filter_to_scope,
    scope_prefixes,
    scope_q,
    user_prefixes,
)
from wangge.regions.models import Grid
from wangge.testing.factories import make_user

pytestmark = pytest.mark.django_db
CACHED = override_settings(WANGGE_ACCESS_RECHECK_SECONDS=3600)
GRID_A = "110102001001001"
GRID_P2 = "110102001002001"


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_a_prefix_covered_by_a_shorter_one_is_dropped():
    assert collapse(["110102001001001", "110102001", "110102003", "110102001"]) == {
        "110102001",
        "110102003",
    }
    assert collapse([]) == frozenset()


def test_a_worker_of_two_grids_sees_both_and_nothing_else(territory):
    worker = make_user("two", role="grid_worker", scope=[GRID_A, GRID_P2])

    assert scope_prefixes(worker) == {GRID_A, GRID_P2}
    assert code_in_scope(worker, GRID_A) and code_in_scope(worker, GRID_P2)
    assert not code_in_scope(worker, "110102001001002")
    seen = filter_to_scope(Grid.objects.filter(layer_id="social"), worker)
    assert sorted(seen.values_list("code", flat=True)) == [GRID_A, GRID_P2]


def test_scope_q_is_one_startswith_per_collapsed_prefix(territory):
    user = make_user("both", role=None, scope=["110102001", GRID_A, "110102003002"])
    sql = str(Grid.objects.filter(scope_q(user)).query)
    assert sql.count("LIKE") == 2  # the grid lies inside 110102001: one condition fewer


def test_superusers_see_everything_inactive_users_and_users_without_grants_nothing(territory):
    root = make_user("root", role=None, is_superuser=True)
    gone = make_user("gone", role="grid_worker", scope=GRID_A, is_active=False)
    bare = make_user("bare", role="grid_worker")

    assert scope_prefixes(root) is EVERYTHING and code_in_scope(root, "999999")
    assert scope_prefixes(gone) == frozenset() and not code_in_scope(gone, GRID_A)
    assert filter_to_scope(Grid.objects.all(), bare).count() == 0
    assert user_prefixes(root) == []


@CACHED
def test_a_second_read_of_the_scope_asks_the_database_nothing(territory):
    worker = make_user("cached", role="grid_worker", scope=[GRID_A, GRID_P2])
    assert scope_prefixes(_fresh(worker)) == {GRID_A, GRID_P2}
    with CaptureQueriesContext(connection) as queries:
        assert scope_prefixes(User(pk=worker.pk, is_active=True)) == {GRID_A, GRID_P2}
        assert code_in_scope(User(pk=worker.pk, is_active=True), GRID_P2)
    assert len(queries) == 0


@CACHED
def test_a_grant_given_or_taken_takes_effect_at_once(territory):
    worker = make_user("moved", role="grid_worker", scope=GRID_A)
    assert scope_prefixes(_fresh(worker)) == {GRID_A}
    grant = ScopeGrant.objects.create(user=worker, prefix=GRID_P2)
    assert scope_prefixes(_fresh(worker)) == {GRID_A, GRID_P2}
    ScopeGrant.objects.filter(user=worker, prefix=GRID_A).delete()
    assert scope_prefixes(_fresh(worker)) == {GRID_P2}
    grant.delete()
    assert scope_prefixes(_fresh(worker)) == frozenset()


def test_a_user_holds_a_prefix_once(territory):
    from django.db import IntegrityError, transaction

    worker = make_user("once", role="grid_worker", scope=GRID_A)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScopeGrant.objects.create(user=worker, prefix=GRID_A)


@CACHED
@pytest.mark.parametrize("path", ["/api/v1/cases/", "/api/v1/buildings/", "/api/v1/grids/"])
def test_a_second_list_request_reads_no_scope_grant(cast, path):
    from wangge.testing.factories import client_for

    client = client_for(cast.grid_worker_a)
    assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    assert not [q for q in queries.captured_queries if "core_scopegrant" in q["sql"]]


@CACHED
def test_a_second_intake_reads_no_scope_grant(cast):
    from wangge.cases.tests.factories import IN_GRID_A, category
    from wangge.testing.factories import client_for

    client = client_for(cast.grid_worker_a)
    body = {"source": "patrol", "category": category().id, "description": "井盖破损"}
    body |= {"lng": IN_GRID_A[0], "lat": IN_GRID_A[1], "address": "测试路1号"}
    assert client.post("/api/v1/cases/", body, format="json").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        answer = client.post("/api/v1/cases/", body, format="json")
    assert answer.status_code == 201, answer.content
    assert not [q for q in queries.captured_queries if "core_scopegrant" in q["sql"]]
