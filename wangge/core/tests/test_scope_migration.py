"""Migrations 0008–0010: each user's old ``scope_code`` becomes his one scope grant, and back."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("core", "0008_scopegrant")]
AFTER = [("core", "0010_remove_user_scope_code")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_scope_codes_become_grants_and_the_widest_grant_goes_back():
    old = _migrate(BEFORE)
    User = old.get_model("core", "User")
    worker = User.objects.create(username="w", scope_code="110102001001001")
    User.objects.create(username="nobody", scope_code="")
    try:
        new = _migrate(AFTER)
        grants = new.get_model("core", "ScopeGrant").objects.values_list("user_id", "prefix")
        assert list(grants) == [(worker.pk, "110102001001001")]
        new.get_model("core", "ScopeGrant").objects.create(user_id=worker.pk, prefix="110102001")

        back = _migrate(BEFORE)
        codes = back.get_model("core", "User").objects.order_by("username")
        assert list(codes.values_list("username", "scope_code")) == [
            ("nobody", ""),
            ("w", "110102001"),
        ]
    finally:
        _migrate(AFTER)
