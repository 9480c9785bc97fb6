"""Point → grid lookup (落格): the one door through which a coordinate becomes a grid.

:func:`locate_point` is the only function the rest of the code calls: it converts a point given
in GCJ-02 or BD-09 to WGS-84 (``wangge.lib.coords``), looks it up in each requested layer and, with
``within``, answers only grids inside a scope (a set of region-code prefixes). The H3 cell of a
point (:data:`H3_RESOLUTION`, :func:`h3_cell`, :func:`h3_disk`) is defined here too, once.

The engine behind it (``grid_at``, ``grids_at``, ``grid_positions_at``) is private to this module
and to the benchmarks; ``regions/tests/test_point_door_static.py`` keeps it so.

Each process keeps one STRtree per layer, built on first use and rebuilt when the territory's
version token in the database changes (checked at most every WANGGE_LOCATE_RECHECK_SECONDS, so a
lookup normally costs no query). A point on an edge or corner shared by several grids resolves to
the grid with the smallest code, so the answer never depends on storage order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import h3
import numpy as np
import shapely
from django.conf import settings
from shapely.strtree import STRtree

from wangge.core.models import User
from wangge.core.scope import EVERYTHING, scope_prefixes
from wangge.lib.coords import Crs, to_wgs84
from wangge.regions.models import Grid, TerritoryVersion

DEFAULT_LAYER = "social"
H3_RESOLUTION = 10  # cells of ≈ 66 m edge: a 50 m duplicate search looks at a cell and its ring


@dataclass(frozen=True, slots=True)
class GridRef:
    id: int
    code: str
    layer: str
    community_id: int


@dataclass(frozen=True)
class _LayerIndex:
    refs: tuple[GridRef, ...]  # sorted by code: a smaller position is a smaller code
    tree: STRtree


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: object = None
        self.checked_at = float("-inf")
        self.layers: dict[str, _LayerIndex] = {}


_cache = _Cache()


_NONE_REFUSED: frozenset[str] = frozenset()


@dataclass(slots=True)  # not frozen: a frozen dataclass costs ~1 µs more per lookup
class PointLocation:
    """What :func:`locate_point` found: the WGS-84 point it used and the grid of each layer.

    ``grids`` holds every requested layer, in the order asked: the grid at the point inside
    ``within``, or None. ``refused`` names the layers whose grid at the point lies outside
    ``within`` (their entry in ``grids`` is None), so a caller can tell "no grid here" from
    "not yours".
    """

    lng: float
    lat: float
    grids: dict[str, GridRef | None]
    refused: frozenset[str] = frozenset()

    def grid(self, layer: str = DEFAULT_LAYER) -> GridRef | None:
        """The grid of ``layer`` (one of the layers asked for) at the point, or None."""
        return self.grids[layer]

    @property
    def h3_cell(self) -> str:
        return h3_cell(self.lng, self.lat)


def locate_point(
    lng: float,
    lat: float,
    *,
    crs: Crs | str = Crs.WGS84,
    layers: Sequence[str] = (DEFAULT_LAYER,),
    within: Iterable[str] | User | None = None,
) -> PointLocation:
    """The grids of ``layers`` at the point (``lng``, ``lat``) given in ``crs``.

    ``within`` is a scope: a set of region-code prefixes (``""`` is everything, an empty set
    nothing) or a user (his data scope, ``core.scope``); a grid whose code starts with none of
    the prefixes is refused. None means no scope check.
    ``layers=()`` only converts the point to WGS-84. The lookup costs no query once the layer's
    index is built (see the module docstring).
    """
    if crs == Crs.WGS84:  # the common case, without parsing the name (a StrEnum equals its value)
        wgs_lng, wgs_lat = float(lng), float(lat)
    else:
        wgs_lng, wgs_lat = to_wgs84(lng, lat, crs)
    prefixes = _prefixes(within)
    grids: dict[str, GridRef | None] = {}
    refused: frozenset[str] = _NONE_REFUSED
    for layer in layers:
        ref = grid_at(wgs_lng, wgs_lat, layer)
        if ref is not None and prefixes is not None and not ref.code.startswith(prefixes):
            refused |= {layer}
            ref = None
        grids[layer] = ref
    return PointLocation(wgs_lng, wgs_lat, grids, refused)


def _prefixes(within: Iterable[str] | User | None) -> tuple[str, ...] | None:
    if within is None:
        return None
    if isinstance(within, str):
        return (within,)
    if isinstance(within, User):
        scope = scope_prefixes(within)
        return None if scope is EVERYTHING else tuple(scope)
    return tuple(within)


def h3_cell(lng: float, lat: float) -> str:
    """The H3 cell (at :data:`H3_RESOLUTION`) of a WGS-84 point."""
    return h3.latlng_to_cell(lat, lng, H3_RESOLUTION)


def h3_disk(lng: float, lat: float, k: int = 1) -> list[str]:
    """The H3 cell of a WGS-84 point and its ``k`` rings of neighbours."""
    return list(h3.grid_disk(h3_cell(lng, lat), k))


def invalidate() -> None:
    """Forget every index of this process; the next lookup rebuilds from the database."""
    with _cache.lock:
        _cache.layers = {}
        _cache.token = None
        _cache.checked_at = float("-inf")


# --- the engine: private to this module (and the benchmarks) -------------------------------


def grid_at(lng: float, lat: float, layer: str = DEFAULT_LAYER) -> GridRef | None:
    """The grid of ``layer`` that contains (or has on its border) the point, or None."""
    index = _layer_index(layer)
    hits = index.tree.query(shapely.Point(lng, lat), predicate="intersects")
    if hits.size == 0:
        return None
    return index.refs[int(hits.min())]


def grid_positions_at(
    lngs: np.ndarray | Sequence[float], lats: np.ndarray | Sequence[float], layer: str
) -> tuple[np.ndarray, tuple[GridRef, ...]]:
    """Bulk lookup: for each point the position of its grid in the returned refs, or -1."""
    index = _layer_index(layer)
    points = shapely.points(np.asarray(lngs, dtype=float), np.asarray(lats, dtype=float))
    point_idx, grid_idx = index.tree.query(points, predicate="intersects")
    positions = np.full(len(points), -1, dtype=np.int64)
    if point_idx.size:
        # query() returns pairs sorted by point; among a point's hits keep the smallest position.
        order = np.lexsort((grid_idx, point_idx))
        first_points, first = np.unique(point_idx[order], return_index=True)
        positions[first_points] = grid_idx[order][first]
    return positions, index.refs


def grids_at(
    points: Sequence[tuple[float, float]] | np.ndarray, layer: str = DEFAULT_LAYER
) -> list[GridRef | None]:
    """Bulk :func:`grid_at` for (lng, lat) pairs, in the same order."""
    array = np.asarray(points, dtype=float).reshape(-1, 2)
    positions, refs = grid_positions_at(array[:, 0], array[:, 1], layer)
    return [refs[p] if p >= 0 else None for p in positions.tolist()]


def _layer_index(layer: str) -> _LayerIndex:
    _check_version()
    index = _cache.layers.get(layer)
    if index is not None:
        return index
    with _cache.lock:
        index = _cache.layers.get(layer)
        if index is None:
            index = _build(layer)
            _cache.layers[layer] = index
    return index


def _check_version() -> None:
    now = time.monotonic()
    if now - _cache.checked_at < settings.WANGGE_LOCATE_RECHECK_SECONDS:
        return
    token = TerritoryVersion.objects.filter(id=1).values_list("token", flat=True).first()
    with _cache.lock:
        if token != _cache.token:
            _cache.layers = {}
            _cache.token = token
        _cache.checked_at = now


def _build(layer: str) -> _LayerIndex:
    rows = list(
        Grid.objects.filter(layer_id=layer)
        .order_by("code")
        .values_list("id", "code", "community_id", "boundary_wkb")
    )
    refs = tuple(GridRef(id=i, code=c, layer=layer, community_id=p) for i, c, p, _ in rows)
    geometries = shapely.from_wkb([bytes(row[3]) for row in rows])
    shapely.prepare(geometries)
    return _LayerIndex(refs=refs, tree=STRtree(geometries))
