"""Back office of the registry. Care classes and tags are configuration and edited here.

Registry rows change only through the services (``registry.services``, ``registry.lifecycle``),
which check the rules and write history and audit rows, so the admin shows them read-only, filtered
by the user's data scope like every other read, and never shows an ``_encrypted`` or ``_hash``
column: personal numbers appear masked only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from wangge.core.scope import filter_to_scope
from wangge.registry.models import (
    Building,
    CareClass,
    Component,
    House,
    Household,
    Organization,
    Person,
    PersonEvent,
    Residency,
    Tag,
)
from wangge.registry.selectors import person_scope_q


def _sealed(model: type[Model]) -> tuple[str, ...]:
    return tuple(
        f.name for f in model._meta.fields if f.name.endswith(("_encrypted", "_hash", "_suffix"))
    )


@admin.register(CareClass)
class CareClassAdmin(admin.ModelAdmin):
    list_display = ("level", "code", "name", "visit_interval_days", "description")
    list_display_links = ("code", "name")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "care_class", "sort_order", "active")
    list_editable = ("care_class", "sort_order", "active")
    list_filter = ("care_class", "active")
    search_fields = ("code", "name")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here; scoped by ``region_code``."""

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return _sealed(self.model)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return filter_to_scope(super().get_queryset(request), request.user, "region_code")


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Building)
class BuildingAdmin(ReadOnlyAdmin):
    list_display = ("address", "name", "building_type", "floors", "region_code")
    list_filter = ("building_type",)
    search_fields = ("address", "name", "region_code")


@admin.register(House)
class HouseAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "use", "ownership", "rented", "region_code")
    list_filter = ("rented", "use", "ownership")
    search_fields = ("building__address", "room")
    list_select_related = ("building",)


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "household_type", "care_class", "region_code")
    list_filter = ("household_type", "care_class")
    list_select_related = ("house__building", "care_class")


class ResidencyInline(ReadOnlyInline):
    model = Residency
    fk_name = "person"
    fields = (
        "house",
        "relation",
        "moved_in_on",
        "moved_out_on",
        "registered_at",
        "deregistered_at",
        "deregistration_reason",
        "permit_status",
        "permit_number_masked",
        "permit_expires_on",
    )


class PersonEventInline(ReadOnlyInline):
    model = PersonEvent
    fields = ("created_at", "action", "actor", "reason", "details")
    show_change_link = False


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "id_number_masked",
        "phone_masked",
        "residency_type",
        "region_code",
        "status",
    )
    list_filter = ("residency_type", "status", "tags")
    search_fields = ("name", "=id_number_suffix")
    inlines = (ResidencyInline, PersonEventInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return Person.objects.filter(person_scope_q(request.user))


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ("name", "org_type", "credit_code", "operating_status", "region_code")
    list_filter = ("org_type", "operating_status", "safety_key_unit", "fire_key_unit")
    search_fields = ("name", "=credit_code", "address")


@admin.register(Component)
class ComponentAdmin(ReadOnlyAdmin):
    list_display = ("component_id", "name", "status", "competent_unit_name", "region_code")
    list_filter = ("status", "data_source")
    search_fields = ("=component_id", "name", "class_code")


# Rented houses: star-rating configuration (editable), scans, self-registrations, ratings ----------

from wangge.registry.models import (  # noqa: E402 — this block is appended with its models
    HouseRating,
    HouseScan,
    RatingCriterion,
    RatingLevel,
    SelfRegistration,
)


@admin.register(RatingCriterion)
class RatingCriterionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "rule", "points", "sort_order", "active")
    list_editable = ("points", "sort_order", "active")
    list_filter = ("rule", "active")
    search_fields = ("code", "name")


@admin.register(RatingLevel)
class RatingLevelAdmin(admin.ModelAdmin):
    list_display = ("stars", "name", "min_points")
    list_editable = ("min_points",)


@admin.register(HouseScan)
class HouseScanAdmin(ReadOnlyAdmin):
    list_display = ("scanned_at", "house", "user", "lng", "lat", "accuracy_m", "region_code")
    date_hierarchy = "scanned_at"


@admin.register(HouseRating)
class HouseRatingAdmin(ReadOnlyAdmin):
    list_display = ("house", "year", "quarter", "points", "suggested_stars", "stars", "rated_by")
    list_filter = ("year", "quarter", "stars")


@admin.register(SelfRegistration)
class SelfRegistrationAdmin(ReadOnlyAdmin):
    list_display = ("name", "id_number_masked", "phone_masked", "house", "status", "submitted_at")
    list_filter = ("status",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # Scoped through the house: the registration has no grid code of its own.
        return filter_to_scope(
            SelfRegistration.objects.select_related("house__building"),
            request.user,
            "house__region_code",
        )


# Ledgers (台账): templates are configuration, edited here; import jobs are shown, never edited.

from wangge.registry.models import LedgerColumn, LedgerImport, LedgerTemplate  # noqa: E402


class LedgerColumnInline(admin.TabularInline):
    model = LedgerColumn
    extra = 0
    fields = ("position", "field", "header", "aliases", "required", "note")
    ordering = ("position", "id")


@admin.register(LedgerTemplate)
class LedgerTemplateAdmin(admin.ModelAdmin):
    list_display = ("kind", "name")
    inlines = (LedgerColumnInline,)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerImport)
class LedgerImportAdmin(admin.ModelAdmin):
    """Who imported what and how it went; the files stay with the importer (API, ledger page)."""

    list_display = (
        "created_at", "created_by", "kind", "file_name", "status",
        "created_count", "unchanged_count", "rejected_count",
    )  # fmt: skip
    list_filter = ("kind", "status")
    search_fields = ("file_name", "created_by__username")
    exclude = ("source", "rejects")
    list_select_related = ("created_by",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in LedgerImport._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
