"""Roles and permissions are kept per process; any change to them is seen at once in the process
that made it, and within the recheck time in the others."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from wangge.core.models import User
from wangge.core.roles import user_access, user_roles

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
