from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _perms(verbs: tuple[str, ...], models: tuple[str, ...]) -> set[str]:
    return {f"registry.{verb}_{model}" for verb in verbs for model in models}


_CONFIG_VIEW = _perms(("view",), ("tag", "careclass", "ratingcriterion", "ratinglevel"))
_PLACES = ("building", "house", "household")
_PEOPLE = ("person", "residency", "personevent")
_THINGS = ("organization", "component")
_RENTED = ("housescan", "houserating", "selfregistration")  # records of rented houses (篇9)
_VIEW_ALL = _perms(("view",), _PLACES + _PEOPLE + _THINGS + _RENTED) | _CONFIG_VIEW
_WRITE_ALL = _perms(("add", "change"), _PLACES + ("person", "residency") + _THINGS)
_QUALITY = {"registry.view_data_quality"}
# Roles that work on cases need to find buildings, shops and components, not residents.
_CASE_WORK = _perms(("view",), ("building", "organization", "component")) | _CONFIG_VIEW


class RegistryConfig(AppConfig):
    name = "wangge.registry"
    label = "registry"
    verbose_name = _("Registry")

    # Sealed personal numbers (registry.sealed): key rotation and rehashing walk these.
    pii_columns = (
        ("Person", "id_number_encrypted", "id_number_hash", "resident_id"),
        ("Person", "phone_encrypted", "phone_hash", "phone"),
        ("Residency", "permit_number_encrypted", "permit_number_hash", "residence_permit"),
        ("Organization", "contact_phone_encrypted", "contact_phone_hash", "phone"),
        ("SelfRegistration", "id_number_encrypted", "id_number_hash", "resident_id"),
        ("SelfRegistration", "phone_encrypted", "phone_hash", "phone"),
    )

    # Residents are seen by the roles that look after them, inside their data scope (selectors).
    # Full ID and phone numbers only by community officers, with a reason and an audit row:
    # grid workers register people with the card in hand and work with masked numbers.
    role_permissions = {
        "grid_worker": _VIEW_ALL | _WRITE_ALL | _QUALITY,
        "community_officer": _VIEW_ALL
        | _WRITE_ALL
        | _QUALITY
        | {"registry.unmask_person", "registry.export_personal_data"},
        "street_officer": _VIEW_ALL | _QUALITY,
        "district_commander": _VIEW_ALL | _QUALITY,
        "assessor": _CONFIG_VIEW | _QUALITY,
        "supervisor_operator": _CASE_WORK,
        "dispatcher": _CASE_WORK,
        "department_handler": _CASE_WORK,
        "system_admin": _CASE_WORK
        | _perms(
            ("add", "change", "delete"), ("tag", "careclass", "ratingcriterion", "ratinglevel")
        )
        | _perms(("add", "change"), ("component",)),
    }
