from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from wangge.regions.locate import DEFAULT_LAYER
from wangge.regions.selectors import grid_layer_list


def home(request: HttpRequest) -> HttpResponse:
    return redirect("web:map")


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
            "scope_code": request.user.scope_code,
        },
    )
