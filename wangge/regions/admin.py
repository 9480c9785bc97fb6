"""Back-office views of the territory. Outlines change only through territory imports (which check
them), so the admin shows geometry figures read-only; layers and names are editable."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from wangge.regions.models import Grid, GridLayer, Region
from wangge.regions.services import territory_changed

_GEOMETRY_FIELDS = ("min_lng", "min_lat", "max_lng", "max_lat", "area_m2", "synthetic_geometry")


class TerritoryAdmin(admin.ModelAdmin):
    search_fields = ("code", "name")
    readonly_fields = ("code", *_GEOMETRY_FIELDS, "updated_at")
    exclude = ("boundary_wkb",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # new regions and grids come through import_regions, which checks geometry

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @transaction.atomic
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        territory_changed()


@admin.register(Region)
class RegionAdmin(TerritoryAdmin):
    list_display = ("code", "name", "level", "households", "population", "area_m2")
    list_filter = ("level", "synthetic_geometry")
    readonly_fields = (*TerritoryAdmin.readonly_fields, "level", "parent")


@admin.register(Grid)
class GridAdmin(TerritoryAdmin):
    list_display = ("code", "name", "layer", "grid_type", "households", "population", "area_m2")
    list_filter = ("layer", "grid_type", "special_kind", "synthetic_geometry")
    readonly_fields = (*TerritoryAdmin.readonly_fields, "layer", "community")
    list_select_related = ("layer",)


@admin.register(GridLayer)
class GridLayerAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "sort_order")
    list_editable = ("sort_order",)
