from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "wangge.core"
    label = "core"
    verbose_name = _("Core")

    role_permissions = {
        "system_admin": {
            f"core.{verb}_{model}"
            for verb in ("view", "add", "change", "delete")
            for model in ("calendarday", "calendaryear", "officeperiod", "department")
        },
        "district_commander": {"core.view_department", "core.view_calendarday"},
        "dispatcher": {"core.view_department"},
    }

    def ready(self) -> None:
        from wangge.core import pii  # noqa: F401 — registers the key system check
        from wangge.core.roles import sync_role_groups

        post_migrate.connect(sync_role_groups, dispatch_uid="wangge.core.sync_role_groups")

        from wangge.core import auth  # noqa: F401 — connects the login and lockout audit receivers

        connection_created.connect(
            register_sqlite_functions, dispatch_uid="wangge.core.register_sqlite_functions"
        )


def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """The SQLite audit triggers call ``wangge_audit_append_only()`` (migration core 0007)."""
    if connection.vendor != "sqlite":
        return
    from django.conf import settings

    connection.connection.create_function(
        "wangge_audit_append_only", 0, lambda: int(bool(settings.WANGGE_AUDIT_APPEND_ONLY))
    )
