import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError
from django.urls import reverse

from wangge.core.audit import audit_log_write
from wangge.core.models import AuditLog, ScopeGrant, User
from wangge.core.roles import Role, declared_role_permissions
from wangge.core.scope import EVERYTHING, code_in_scope, filter_to_scope, scope_prefixes
from wangge.regions.models import Grid, Region

pytestmark = pytest.mark.django_db


def test_every_role_is_a_group_with_its_declared_permissions():
    declared = declared_role_permissions()
    for role in Role:
        group = Group.objects.get(name=role.value)
        names = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert names == declared[role.value]
    assert "regions.import_territory" in declared["system_admin"]
    assert "regions.import_territory" not in declared["district_commander"]


def test_scope_is_a_set_of_code_prefixes(cast):
    assert scope_prefixes(cast.commander) == {"110102"}
    assert scope_prefixes(cast.nobody) == frozenset()
    assert code_in_scope(cast.community_officer, "110102001001003")
    assert not code_in_scope(cast.community_officer, "110102001002001")
    assert not code_in_scope(cast.nobody, "110102")


def test_a_community_officer_cannot_see_another_community(cast):
    mine = filter_to_scope(Region.objects.all(), cast.community_officer)
    assert list(mine.values_list("code", flat=True)) == ["110102001001"]
    theirs = filter_to_scope(Grid.objects.all(), cast.other_community_officer)
    assert theirs.count() == 5 and all(g.code.startswith("110102003002") for g in theirs)


def test_superusers_see_everything_and_scopeless_users_nothing(cast):
    root = User.objects.create_superuser("root", password="x")
    assert scope_prefixes(root) is EVERYTHING
    assert filter_to_scope(Grid.objects.all(), root).count() == 20
    assert filter_to_scope(Grid.objects.all(), cast.nobody).count() == 0


def test_scope_codes_must_be_digits():
    user = User.objects.create_user("bad")
    with pytest.raises(IntegrityError):
        ScopeGrant.objects.create(user=user, prefix="11-0102")


def test_audit_rows_record_actor_target_and_details(cast):
    row = audit_log_write(
        actor=cast.admin, action="test.thing", target_type="grid", target_id=7, details={"a": 1}
    )
    stored = AuditLog.objects.get(pk=row.pk)
    assert (stored.actor, stored.target_id, stored.details) == (cast.admin, "7", {"a": 1})


def test_repeated_failed_logins_lock_the_account(cast, client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    url = reverse("login")
    for _ in range(3):
        client.post(url, {"username": "commander", "password": "wrong"})
    locked = client.post(url, {"username": "commander", "password": "pw-commander"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_correct_login_reaches_the_home_page_of_the_users_work(cast, client):
    response = client.post(reverse("login"), {"username": "commander", "password": "pw-commander"})
    assert response.status_code == 302 and response["Location"] == reverse("web:home")
