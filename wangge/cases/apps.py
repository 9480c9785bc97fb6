from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_READ = {"cases.view_case", "cases.view_category", "cases.view_caseevent"}
_EVERY_ROLE = (
    "district_commander",
    "supervisor_operator",
    "dispatcher",
    "street_officer",
    "community_officer",
    "grid_worker",
    "department_handler",
    "assessor",
)


class CasesConfig(AppConfig):
    name = "wangge.cases"
    label = "cases"
    verbose_name = _("Cases")

    # Sealed personal numbers: key rotation and rehashing (pii_reencrypt, pii_rehash) walk these.
    pii_columns = (("Case", "reporter_phone_token", "reporter_phone_hash", "phone"),)

    # What each role may do is decided per action by cases.workflow; these permissions open the
    # case pages and API, and the configuration tables in the admin.
    role_permissions = {
        **{role: _READ | {"cases.add_case"} for role in _EVERY_ROLE},
        "assessor": _READ,
        "system_admin": _READ
        | {
            f"cases.{verb}_{model}"
            for verb in ("add", "change", "delete")
            for model in ("category", "categoryalias", "timelimit", "responsibilityrule")
        }
        | {"cases.view_notification", "cases.change_notification"},
    }
