"""Roles are Django groups; their permissions are declared by each app, not by this module.

An app lists what each role may do in its AppConfig's ``role_permissions`` (role → permission
names "app_label.codename"). After every migration the groups are brought in line with those lists,
so a role gains a new app's permissions when the app is installed, and core never imports the apps
above it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wangge.core.configcache import ConfigCache

logger = logging.getLogger(__name__)


class Role(models.TextChoices):
    DISTRICT_COMMANDER = "district_commander", _("District commander (区指挥中心)")
    SUPERVISOR_OPERATOR = "supervisor_operator", _("Intake operator / shift leader (受理员/值班长)")
    DISPATCHER = "dispatcher", _("Dispatcher (派遣员)")
    STREET_OFFICER = "street_officer", _("Street officer (街道)")
    COMMUNITY_OFFICER = "community_officer", _("Community officer (社区)")
    GRID_WORKER = "grid_worker", _("Grid worker (网格员)")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler (专业部门)")
    ASSESSOR = "assessor", _("Assessor (考核员)")
    SYSTEM_ADMIN = "system_admin", _("System administrator (系统管理员)")


def declared_role_permissions() -> dict[str, set[str]]:
    """Role → permission names, gathered from every installed app's ``role_permissions``."""
    declared: dict[str, set[str]] = {role.value: set() for role in Role}
    for config in apps.get_app_configs():
        for role, names in getattr(config, "role_permissions", {}).items():
            if role not in declared:
                raise ValueError(f"{config.label}.role_permissions names unknown role {role!r}")
            declared[role].update(names)
    return declared


def sync_role_groups(sender: Any = None, **kwargs: Any) -> None:
    """Create one group per role and give it exactly the declared permissions."""
    using = kwargs.get("using", "default")
    for role, names in declared_role_permissions().items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        permissions = []
        for name in sorted(names):
            app_label, codename = name.split(".", 1)
            permission = (
                Permission.objects.using(using)
                .filter(content_type__app_label=app_label, codename=codename)
                .first()
            )
            if permission is None:
                # The app's migrations have not run yet on this pass; the next post_migrate adds it.
                logger.debug("permission %s not there yet for role %s", name, role)
                continue
            permissions.append(permission)
        group.permissions.set(permissions)


@dataclass(frozen=True)
class Access:
    """What a user is: role names, and every permission ("app_label.codename") he holds."""

    roles: frozenset[str]
    permissions: frozenset[str]


def _load_access(key: tuple[int, bool]) -> Access:
    user_id, is_superuser = key
    roles = frozenset(Group.objects.filter(user=user_id).values_list("name", flat=True))
    permissions = Permission.objects.all()
    if not is_superuser:
        permissions = permissions.filter(Q(group__user=user_id) | Q(user=user_id))
    names = permissions.values_list("content_type__app_label", "codename").distinct()
    return Access(roles, frozenset(f"{app}.{codename}" for app, codename in names))


# Token authentication gives every request a fresh user object, so Django's per-object permission
# cache never helps; this one lives for the process and forgets on any role or grant change.
_access = ConfigCache(
    _load_access,
    models=["auth.Group", "auth.Permission"],
    m2m=["core.User_groups", "core.User_user_permissions", "auth.Group_permissions"],
    recheck_setting="WANGGE_ACCESS_RECHECK_SECONDS",
)


def user_access(user: Any) -> Access:
    if not user.is_authenticated or not user.is_active:
        return Access(frozenset(), frozenset())
    return _access.get((user.pk, user.is_superuser))


def user_roles(user: Any) -> set[str]:
    return set(user_access(user).roles)


class CachedPermissionBackend(ModelBackend):
    """Django's model backend with the user's permissions read through ``user_access``."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if obj is not None or user_obj.is_anonymous:
            return set()
        return user_access(user_obj).permissions  # type: ignore[return-value]  # read-only use
