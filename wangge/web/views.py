from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from wangge.cases.permissions import can_view_cases
from wangge.core.roles import user_roles
from wangge.core.scope import user_prefixes
from wangge.regions.locate import DEFAULT_LAYER
from wangge.regions.selectors import grid_layer_list
from wangge.registry import permissions as registry_permissions

# Where each role's own work is, in order: the first that fits a user is their home page.
PHONE_ROLES = frozenset({"grid_worker"})
CONSOLE_ROLES = frozenset(
    {
        "district_commander",
        "supervisor_operator",
        "dispatcher",
        "street_officer",
        "community_officer",
        "department_handler",
    }
)


def landing_page(user: Any) -> str:
    """The URL name of the page where the user's own work is.

    A grid worker's tasks are on the phone (我的任务); a department handler's console opens on the
    department's queues, every other case role's on the queues of its scope; an assessor's work
    is the data-quality report until the monthly assessment arrives; a system
    administrator maintains the configuration in the admin; a role that only reads the registry
    starts there; anyone else on the map.
    """
    roles = user_roles(user)
    can_cases = can_view_cases(user)
    if can_cases and roles & PHONE_ROLES:
        return "web:mobile-tasks"
    if can_cases and (roles & CONSOLE_ROLES or user.is_superuser):
        return "web:console"
    if "assessor" in roles and registry_permissions.can_view_data_quality(user):
        return "web:registry-quality"
    if "system_admin" in roles and user.is_staff:
        return "admin:index"
    if registry_permissions.can_view_building(user):
        return "web:registry"
    return "web:map"


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect(landing_page(request.user))


@login_required
def territory_map(request: HttpRequest) -> HttpResponse:
    """The district on a map: region tree, grid layers, search and grid cards (data via the API)."""
    layers = [{"code": layer.code, "name": layer.name} for layer in grid_layer_list()]
    return render(
        request,
        "web/map.html",
        {
            "tile_url": settings.WANGGE_TILE_URL,
            "tile_attribution": settings.WANGGE_TILE_ATTRIBUTION,
            "tile_subdomains": settings.WANGGE_TILE_SUBDOMAINS,
            "grid_layers": layers,
            "default_layer": DEFAULT_LAYER,
            "api_root": "/api/v1/",
            "scope_codes": " ".join(user_prefixes(request.user)),
        },
    )
