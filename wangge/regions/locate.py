"""Point → grid lookup (落格): which grid of a layer a WGS-84 point falls in.

Each process keeps one STRtree per layer, built on first use and rebuilt when the territory's
version token in the database changes (checked at most every WANGGE_LOCATE_RECHECK_SECONDS, so a
lookup normally costs no query). A point on an edge or corner shared by several grids resolves to
the grid with the smallest code, so the answer never depends on storage order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from django.conf import settings
from shapely.strtree import STRtree

from wangge.regions.models import Grid, TerritoryVersion

DEFAULT_LAYER = "social"


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


def invalidate() -> None:
    """Forget every index of this process; the next lookup rebuilds from the database."""
    with _cache.lock:
        _cache.layers = {}
        _cache.token = None
        _cache.checked_at = float("-inf")


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
