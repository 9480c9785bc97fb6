"""Geometry helpers on Shapely 2: parsing GeoJSON, metric projection, area, tolerance tests.

Coordinates are WGS-84 longitude/latitude, and an edge is a straight line between its vertices in
those coordinates (as RFC 7946 reads it). Two projections serve two purposes:

- areas use an Albers equal-area conic fitted to China, so they are exact;
- tolerance tests (is this grid inside its community, do two grids overlap) use a local
  equirectangular scaling. It is affine, so it keeps straight edges straight: a child sharing its
  parent's edge stays exactly on it, whereas any curved projection would bow the parent's long edge
  away from the child's extra vertex and report phantom excursions of a metre or more.
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

CHINA_ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=WGS84 +units=m +no_defs"
POLYGONAL = ("Polygon", "MultiPolygon")


class GeometryError(ValueError):
    """A geometry that cannot be used, with the reason in words."""


@cache
def _to_albers() -> Transformer:
    return Transformer.from_crs("EPSG:4326", CHINA_ALBERS, always_xy=True)


def to_metric(geometry: Any) -> Any:
    """Project a geometry (or an array of them) from lng/lat to metres (equal-area)."""
    transformer = _to_albers()

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, project)


METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LNG_AT_EQUATOR = 111_320.0


def to_local_metres(geometry: Any, origin_lat: float) -> Any:
    """Scale lng/lat degrees to metres around ``origin_lat`` (affine; for tolerance tests)."""
    x_scale = METRES_PER_DEGREE_LNG_AT_EQUATOR * math.cos(math.radians(origin_lat))

    def scale(coords: np.ndarray) -> np.ndarray:
        return coords * np.array([x_scale, METRES_PER_DEGREE_LAT])

    return shapely.transform(geometry, scale)


def area_m2(geometry: BaseGeometry) -> float:
    return float(shapely.area(to_metric(geometry)))


def parse_polygonal(geojson: Any) -> BaseGeometry:
    """A Polygon or MultiPolygon from a GeoJSON geometry object, checked for structure and range.

    Validity (self-intersection and so on) is left to :func:`invalidity_reason` so that the caller can
    report it beside the other problems of the same feature.
    """
    if not isinstance(geojson, dict):
        raise GeometryError("geometry must be a GeoJSON object")
    kind = geojson.get("type")
    if kind not in POLYGONAL:
        raise GeometryError(f"geometry type must be Polygon or MultiPolygon, not {kind!r}")
    try:
        geometry = shapely.from_geojson(json.dumps(geojson))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise GeometryError(f"geometry cannot be read: {exc}") from None
    if geometry.is_empty:
        raise GeometryError("geometry is empty")
    min_x, min_y, max_x, max_y = geometry.bounds
    if not (-180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
        raise GeometryError("coordinates must be longitude, latitude in WGS-84 degrees")
    return geometry


def invalidity_reason(geometry: BaseGeometry) -> str | None:
    """Why a geometry is not valid OGC (e.g. 'Self-intersection[116.3 39.9]'), or None."""
    if shapely.is_valid(geometry):
        return None
    return shapely.is_valid_reason(geometry)


def thicker_than(geometry_m: BaseGeometry, tolerance_m: float) -> bool:
    """Whether a metric geometry has any part wider than ``tolerance_m``.

    Used on the difference between two shapes: a sliver thinner than the tolerance is drawing noise,
    anything thicker is a real overlap or excursion.
    """
    if geometry_m.is_empty or geometry_m.area == 0:
        return False
    if tolerance_m <= 0:
        return True
    return not geometry_m.buffer(-tolerance_m / 2).is_empty
