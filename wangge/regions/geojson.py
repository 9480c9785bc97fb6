"""GeoJSON output of regions and grids, written as text (thousands of polygons per map request)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import shapely

from wangge.regions.models import Grid, Region, Territory


def region_properties(region: Region) -> dict[str, Any]:
    return {
        "code": region.code,
        "name": region.name,
        "level": region.level,
        "parent_code": region.code[: _parent_length(region.code)] if region.parent_id else None,
        "area_m2": round(region.area_m2, 1),
        "households": region.households,
        "population": region.population,
        "responsible_party": region.responsible_party,
        "synthetic": region.synthetic_geometry,
    }


def grid_properties(grid: Grid) -> dict[str, Any]:
    return {
        "code": grid.code,
        "name": grid.name,
        "level": "grid",
        "layer": grid.layer_id,
        "grid_type": grid.grid_type,
        "special_kind": grid.special_kind,
        "parent_code": grid.code[:12],
        "area_m2": round(grid.area_m2, 1),
        "households": grid.households,
        "population": grid.population,
        "responsible_party": grid.responsible_party,
        "synthetic": grid.synthetic_geometry,
    }


def properties_of(item: Territory) -> dict[str, Any]:
    return grid_properties(item) if isinstance(item, Grid) else region_properties(item)


def feature_json(item: Territory, extra: dict[str, Any] | None = None) -> str:
    properties = properties_of(item) | (extra or {})
    return _feature(shapely.to_geojson(item.boundary), properties)


def feature_collection_json(items: Iterable[Territory]) -> str:
    items = list(items)
    geometries: Sequence[str] = (
        shapely.to_geojson(shapely.from_wkb([bytes(i.boundary_wkb) for i in items])).tolist()
        if items
        else []
    )
    features = ",".join(
        _feature(geometry, properties_of(item))
        for item, geometry in zip(items, geometries, strict=True)
    )
    return f'{{"type":"FeatureCollection","features":[{features}]}}'


def _feature(geometry_json: str, properties: dict[str, Any]) -> str:
    props = json.dumps(properties, ensure_ascii=False, separators=(",", ":"))
    return f'{{"type":"Feature","geometry":{geometry_json},"properties":{props}}}'


def _parent_length(code: str) -> int:
    return {9: 6, 12: 9}.get(len(code), 0)
