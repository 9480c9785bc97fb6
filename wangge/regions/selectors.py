"""Reads of the territory. Every selector takes the requesting user and applies the data scope."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from wangge.core.errors import NotFoundError
from wangge.core.models import ScopeGrant, User
from wangge.core.roles import Role
from wangge.core.scope import code_in_prefixes, filter_to_scope
from wangge.lib.coords import Crs
from wangge.lib.regioncodes import CODE_LENGTH, Level
from wangge.regions import locate
from wangge.regions.models import Grid, GridLayer, Region

BBox = tuple[float, float, float, float]


def region_list(
    *, user: User, level: str | None = None, parent: str | None = None
) -> QuerySet[Region]:
    regions = filter_to_scope(Region.objects.select_related("parent"), user)
    if level:
        regions = regions.filter(level=level)
    if parent:
        regions = regions.filter(code__startswith=parent).exclude(code=parent)
    return regions.order_by("code")


def grid_list(
    *,
    user: User,
    layer: str | None = None,
    bbox: BBox | None = None,
    parent: str | None = None,
) -> QuerySet[Grid]:
    grids = filter_to_scope(Grid.objects.select_related("community", "layer"), user)
    if layer:
        grids = grids.filter(layer_id=layer)
    if parent:
        grids = grids.filter(code__startswith=parent)
    if bbox:
        grids = grids.filter(_bbox_q(bbox))
    return grids.order_by("layer__sort_order", "code")


def grid_layer_list() -> QuerySet[GridLayer]:
    return GridLayer.objects.all()


def grid_workers(*, grid: Grid) -> list[User]:
    """Who is assigned to a grid (一员一格 / 一格多员): active grid workers whose data scope is it.

    A grid worker's grids are his scope grants (``core.ScopeGrant``, see ``regions.assignments``),
    grids of the default layer; a grid of another layer (a unit grid) has no workers of its own.
    A worker of several grids (一员多格) is a worker of each.
    """
    if grid.layer_id != locate.DEFAULT_LAYER:
        return []
    return list(
        User.objects.filter(
            is_active=True, scope_grants__prefix=grid.code, groups__name=Role.GRID_WORKER
        )
        .distinct()
        .order_by("last_name", "first_name", "pk")
    )


@dataclass(frozen=True)
class WorkerArea:
    """A grid worker and the prefixes of his scope that lie inside the asker's (one or several
    grids: 一员多格), shortest first."""

    worker: User
    prefixes: tuple[str, ...]

    @property
    def code(self) -> str:
        return ", ".join(self.prefixes)

    def covers(self, code: str) -> bool:
        return code_in_prefixes(frozenset(self.prefixes), code)


def grid_workers_within(*, user: User, region: str | None = None) -> list[WorkerArea]:
    """Active grid workers with a scope grant inside the user's scope (and under ``region``), with
    those grants; ordered by their first grant, then username. Two queries."""
    grants = filter_to_scope(
        ScopeGrant.objects.filter(user__is_active=True, user__groups__name=Role.GRID_WORKER),
        user,
        "prefix",
    )
    if region:
        grants = grants.filter(prefix__startswith=region)
    prefixes: dict[int, set[str]] = {}
    for user_id, prefix in grants.values_list("user_id", "prefix").distinct():
        prefixes.setdefault(user_id, set()).add(prefix)
    workers = User.objects.in_bulk(list(prefixes))
    areas = [
        WorkerArea(workers[pk], tuple(sorted(codes, key=lambda c: (len(c), c))))
        for pk, codes in prefixes.items()
    ]
    return sorted(areas, key=lambda area: (area.prefixes, area.worker.username))


def ancestors_of(code: str) -> list[Region]:
    """The regions above a region or grid code, district first (one query)."""
    prefixes = [
        code[: CODE_LENGTH[level]]
        for level in (Level.DISTRICT, Level.STREET, Level.COMMUNITY)
        if len(code) > CODE_LENGTH[level]
    ]
    return list(Region.objects.filter(code__in=prefixes).order_by("code"))


@dataclass(frozen=True)
class LocatedGrid:
    grid: Grid
    ancestors: list[Region]
    lng: float  # the WGS-84 point the grid was found at
    lat: float


def locate_for_user(
    *, user: User, lng: float, lat: float, layer: str, crs: str = Crs.WGS84
) -> LocatedGrid:
    """The grid at a point (given in ``crs``) with its ancestors, if the grid is inside the
    user's scope."""
    layer_name = GridLayer.objects.filter(code=layer).values_list("name", flat=True).first()
    if layer_name is None:
        raise NotFoundError(_("There is no grid layer %(layer)s.") % {"layer": layer})
    located = locate.locate_point(lng, lat, crs=crs, layers=(layer,), within=user)
    lng, lat = located.lng, located.lat
    if layer in located.refused:
        raise NotFoundError(
            _("The point (%(lng)s, %(lat)s) lies outside your data scope.")
            % {"lng": lng, "lat": lat}
        )
    ref = located.grid(layer)
    if ref is None:
        raise NotFoundError(
            _("The point (%(lng)s, %(lat)s) lies outside every grid of the layer %(layer)s.")
            % {"lng": lng, "lat": lat, "layer": layer_name}
        )
    grid = Grid.objects.select_related("community", "layer").get(pk=ref.id)
    return LocatedGrid(grid=grid, ancestors=ancestors_of(grid.code), lng=lng, lat=lat)


@dataclass(frozen=True)
class SearchHit:
    kind: str
    code: str
    name: str
    level: str
    layer: str | None
    bbox: list[float]


def territory_search(*, user: User, query: str, limit: int = 20) -> list[SearchHit]:
    """Regions and grids whose code starts with, or whose name contains, the query."""
    query = query.strip()
    if not query:
        return []
    match = Q(code__startswith=query) if query.isdigit() else Q(name__icontains=query)
    hits = [
        SearchHit("region", r.code, r.name, r.level, None, r.bbox)
        for r in filter_to_scope(Region.objects.filter(match), user).order_by("code")[:limit]
    ]
    if len(hits) < limit:
        grids = filter_to_scope(Grid.objects.filter(match), user).order_by("code", "layer_id")
        hits.extend(
            SearchHit("grid", g.code, g.name, "grid", g.layer_id, g.bbox)
            for g in grids[: limit - len(hits)]
        )
    return hits


def _bbox_q(bbox: BBox) -> Q:
    min_lng, min_lat, max_lng, max_lat = bbox
    return Q(min_lng__lte=max_lng, max_lng__gte=min_lng, min_lat__lte=max_lat, max_lat__gte=min_lat)
