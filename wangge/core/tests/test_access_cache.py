"""Roles and permissions are kept per process; any change to them is seen at once in the process
that made it, and within the recheck time in the others."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from wangge.core.models import User
from wangge.core.roles import user_access, user_roles
from wangge.core.tokens import CachedTokenAuthentication

pytestmark = pytest.mark.django_db
CACHED = override_settings(WANGGE_ACCESS_RECHECK_SECONDS=3600)


def _fresh(user: User) -> User:
    """A new object for the same row, as token authentication gives every request."""
    return User.objects.get(pk=user.pk)


@CACHED
def test_a_second_request_asks_the_database_nothing(cast):
    worker = cast.grid_worker_a
    assert _fresh(worker).has_perm("cases.add_case")
    with CaptureQueriesContext(connection) as queries:
        user = User(pk=worker.pk, is_active=True, is_superuser=False)
        assert user.has_perm("cases.add_case")
        assert user_roles(user) == {"grid_worker"}
    assert len(queries) == 0


@CACHED
def test_losing_a_role_takes_effect_at_once(cast):
    worker = cast.grid_worker_a
    assert _fresh(worker).has_perm("cases.add_case")
    worker.groups.remove(Group.objects.get(name="grid_worker"))
    assert not _fresh(worker).has_perm("cases.add_case")
    assert user_roles(_fresh(worker)) == set()


@CACHED
def test_a_role_losing_a_permission_takes_effect_at_once(cast):
    worker = cast.grid_worker_a
    assert _fresh(worker).has_perm("cases.add_case")
    group = Group.objects.get(name="grid_worker")
    group.permissions.remove(Permission.objects.get(codename="add_case"))
    assert not _fresh(worker).has_perm("cases.add_case")


@CACHED
def test_a_direct_grant_counts_and_inactive_users_hold_nothing(cast):
    nobody = cast.nobody
    assert not _fresh(nobody).has_perm("cases.view_case")
    nobody.user_permissions.add(Permission.objects.get(codename="view_case"))
    assert _fresh(nobody).has_perm("cases.view_case")
    nobody.is_active = False
    nobody.save()
    assert not _fresh(nobody).has_perm("cases.view_case")
    assert user_access(_fresh(nobody)).permissions == frozenset()


@CACHED
def test_superusers_hold_every_permission(cast):
    admin = cast.nobody
    admin.is_superuser = True
    admin.save()
    assert _fresh(admin).has_perm("registry.view_person")
    assert _fresh(admin).has_perms(["cases.add_case", "core.change_department"])


# API tokens ---------------------------------------------------------------------------------------


def _token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@CACHED
def test_a_known_token_is_not_looked_up_again(cast):
    key = Token.objects.create(user=cast.grid_worker_a).key
    assert _token_client(key).get("/api/v1/regions/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert _token_client(key).get("/api/v1/regions/").status_code == 200
    assert not any("authtoken_token" in q["sql"] for q in queries.captured_queries)


@CACHED
def test_a_deleted_token_or_a_deactivated_user_is_refused_at_once(cast):
    token = Token.objects.create(user=cast.grid_worker_a)
    assert _token_client(token.key).get("/api/v1/regions/").status_code == 200
    token.delete()
    assert _token_client(token.key).get("/api/v1/regions/").status_code == 401
    other = Token.objects.create(user=cast.grid_worker_b)
    assert _token_client(other.key).get("/api/v1/regions/").status_code == 200
    cast.grid_worker_b.is_active = False
    cast.grid_worker_b.save()
    answer = _token_client(other.key).get("/api/v1/regions/")
    assert answer.status_code == 401, answer.content


@CACHED
def test_requests_get_their_own_user_object(cast):
    key = Token.objects.create(user=cast.grid_worker_a).key
    auth = CachedTokenAuthentication()
    first, _ = auth.authenticate_credentials(key)
    first.first_name = "changed by one request"
    second, _ = auth.authenticate_credentials(key)
    assert second.pk == first.pk and second.first_name != "changed by one request"


@CACHED
def test_an_unknown_token_is_refused_and_not_kept(cast):
    assert _token_client("0" * 40).get("/api/v1/regions/").status_code == 401
    Token.objects.create(user=cast.grid_worker_a, key="0" * 40)
    assert _token_client("0" * 40).get("/api/v1/regions/").status_code == 200
