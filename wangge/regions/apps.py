from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_EVERY_ROLE = (
    "district_commander",
    "supervisor_operator",
    "dispatcher",
    "street_officer",
    "community_officer",
    "grid_worker",
    "department_handler",
    "assessor",
    "system_admin",
)
_VIEW = {"regions.view_region", "regions.view_grid", "regions.view_gridlayer"}


class RegionsConfig(AppConfig):
    name = "wangge.regions"
    label = "regions"
    verbose_name = _("Territory")

    role_permissions = {
        **{role: _VIEW for role in _EVERY_ROLE},
        "system_admin": _VIEW
        | {
            "regions.import_territory",
            "regions.change_region",
            "regions.change_grid",
            "regions.add_gridlayer",
            "regions.change_gridlayer",
        },
    }
