"""Deterministic synthetic territory (streets, communities, grids) for the demo districts.

The district outline is real (files in ``data_dir``); the street (街道), community (社区/村) and grid
borders are not public, so they are synthesised inside the outline.  Codes and names of streets and
communities are the official statistical ones from the CSV files (the community ``name`` is the CSV
name verbatim, e.g. 府右街南社区居委会; grid names use the short form 府右街南社区第3网格 and
府右街南社区单元网格003); every generated geometry is marked ``synthetic: true``.  The result is
a GeoJSON FeatureCollection (RFC 7946, WGS-84 lng/lat, exterior rings counter-clockwise,
coordinates on a 1e-7 degree grid, i.e. rounded to 7 decimals ≈ 1 cm).

How the partition is built
--------------------------
* All layout work happens in a local equirectangular plane centred on the district (metres; over a
  district of ~10 km its scale error is ~0.1 %, so it is used for areas and lengths as well).
  Because that plane is an affine image of lng/lat, straight cut lines stay straight, so all
  overlays are done directly in lng/lat with GEOS snap-rounding on the 1e-7 degree output grid:
  the output needs no rounding afterwards and stays valid.
* Streets, communities and social grids are capacity-constrained power diagrams: sample points in
  the parent, run a balanced k-means whose additive (power) weights steer each cell towards its
  target share of the area, then cut the parent with the power cells.  Street targets are the sums
  of their communities' weights, so street size follows the number (and kind) of communities.
* Each level is cut district-wide in one overlay: the boundaries of all parents plus the cut lines
  (clipped to their own parent) are noded together and polygonised into faces.  Regions are unions
  of faces, so siblings -- and cousins in neighbouring parents -- share exactly the same vertices:
  no overlaps, no gaps.  Children agree with their parent to within the snapping grid (≈1 cm),
  because the child level inserts nodes on the parent's edges.
* Multi-part clips: a power cell clipped by a concave parent can fall apart.  The largest part
  stays with its region; every other part goes to the neighbouring region (same parent) with which
  it shares the longest border, so every street, community and grid is a single Polygon.
* Unit grids (城市管理单元网格) are a north-aligned lattice of 20,000 m² squares (141.4 m) cut by
  the community borders; pieces smaller than half a lattice cell are merged, smallest first, into
  the neighbour of the same community with the longest shared border.  With half a cell (rather
  than 40 %) the mean unit grid is ≈20,300 m² and Xicheng gets ≈2,480 unit grids (target 2,432).
* Social grid counts are exact (1,623 for Xicheng, 541 for Xiling): they are shared out over the
  communities by largest remainder, weighted 3:1 by population and area, at least 2 each.  About
  1.5 % of them, the largest grid of some urban communities, are special (专属) grids.
* Xiling (420502): the source MultiPolygon has one part, ``make_valid`` turns it into a Polygon
  (if it ever gave several parts, the largest would be used and be the district feature).  Its 11
  villages (村委会) are rural: they get ten times the area of an urban community and are placed
  away from the urban core, their grids are ``grid_type: "rural"``, and their unit grids use a
  coarse lattice of 3 x 3 fine cells (≈180,000 m²).  Unit grids thus cover the whole district
  (every point finds one grid per layer) while only the urban communities use the ~20,000 m² size;
  Xiling gets ≈1,750-2,100 unit grids depending on the seed (1,932 with the default seed).
* Grid sequence numbers (3 digits, 001..) run west→east, north→south within a community and layer
  (standard rule 顺序码在社区(村)内从西向东、由北至南编码): representative points
  (``point_on_surface``) are grouped into rows, bands of height *h* centred on the northernmost
  representative point (row = floor((y_top - y) / h + 0.5) in the local plane), rows are taken
  north first, and within a row grids go by increasing longitude.  *h* is the lattice spacing for
  unit grids and sqrt(community area / number of grids) for social grids.
* Population and households are synthetic but sum up: social grids carry them, communities,
  streets and the district carry the sums of their children (unit grids carry none).  The district
  totals are exactly ``DistrictSpec.population`` (Xicheng 1.1 million, Xiling 0.5 million).

Building takes about 3 s for Xicheng and 1 s for Xiling on a 2-core machine; the time is logged.

Everything is deterministic for a given seed: numpy generators are derived from (seed, district,
purpose), and no set or dict ordering decides anything.
"""

from __future__ import annotations

import csv
import heapq
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

logger = logging.getLogger(__name__)

GRID_SIZE = 1e-7
"""Output precision in degrees (7 decimals); all overlays snap-round to this grid."""

STREETS_CSV = "streets_110102_420502.csv"
COMMUNITIES_CSV = "communities_110102_420502.csv"
SPECIAL_KINDS = ("enterprise", "campus", "market", "development_zone")
SLIVER_FRACTION = 0.5
"""Unit-grid pieces below this fraction of a lattice cell are merged into a neighbour."""

_SAMPLES_PER_REGION = 60
_KMEANS_ITERATIONS = 40
_COMMITTEE_SUFFIXES = ("社区居民委员会", "社区居委会", "居民委员会", "居委会")
_VILLAGE_SUFFIXES = ("村村民委员会", "村民委员会", "村委会")


@dataclass(frozen=True)
class DistrictSpec:
    """What to generate for one district."""

    code: str
    name: str
    outline_file: str
    population: int
    household_size: float
    social_grids: int
    unit_grids_expected: int
    unit_cell_m2: float = 20_000.0
    rural_cell_factor: int = 3
    village_area_weight: float = 10.0
    special_share: float = 0.015
    urban_core: tuple[float, float] | None = None
    street_hints: tuple[tuple[str, float, float], ...] = ()

    @property
    def unit_spacing_m(self) -> float:
        return math.sqrt(self.unit_cell_m2)


# Street hints and Xiling's urban core are hand-placed from general knowledge of the city maps
# (good to perhaps 1 km, not survey data); they only seed the layout, so that e.g. 德胜 ends up in
# the north, 天桥 in the south-east, and Xiling's villages away from its downtown.
DISTRICTS: dict[str, DistrictSpec] = {
    "110102": DistrictSpec(
        code="110102",
        name="西城区",
        outline_file="xicheng_110102_wgs84.geojson",
        population=1_100_000,
        household_size=2.45,
        social_grids=1_623,
        unit_grids_expected=2_432,
        street_hints=(
            ("110102001", 116.380, 39.910),
            ("110102003", 116.362, 39.945),
            ("110102007", 116.345, 39.915),
            ("110102009", 116.335, 39.935),
            ("110102010", 116.375, 39.960),
            ("110102011", 116.360, 39.918),
            ("110102012", 116.385, 39.938),
            ("110102013", 116.390, 39.895),
            ("110102014", 116.392, 39.880),
            ("110102015", 116.375, 39.893),
            ("110102016", 116.380, 39.877),
            ("110102017", 116.357, 39.893),
            ("110102018", 116.362, 39.884),
            ("110102019", 116.350, 39.874),
            ("110102020", 116.328, 39.890),
        ),
    ),
    "420502": DistrictSpec(
        code="420502",
        name="西陵区",
        outline_file="xiling_420502_wgs84.geojson",
        population=500_000,
        household_size=2.6,
        social_grids=541,
        unit_grids_expected=1_900,
        urban_core=(111.300, 30.702),
    ),
}


@dataclass(frozen=True)
class Street:
    code: str
    name: str


@dataclass(frozen=True)
class Community:
    code: str
    name: str
    street_code: str

    @property
    def rural(self) -> bool:
        return self.name.endswith(_VILLAGE_SUFFIXES)

    @property
    def short_name(self) -> str:
        """Name without the committee suffix: 府右街南社区居委会 → 府右街南社区, 万年村委会 → 万年村."""
        for suffix in _VILLAGE_SUFFIXES:
            if self.name.endswith(suffix):
                return self.name[: -len(suffix)].removesuffix("村") + "村"
        for suffix in _COMMITTEE_SUFFIXES:
            if self.name.endswith(suffix):
                return self.name[: -len(suffix)].removesuffix("社区") + "社区"
        return self.name


@dataclass(frozen=True)
class LocalPlane:
    """Equirectangular plane in metres around (lng0, lat0) on the WGS-84 ellipsoid."""

    lng0: float
    lat0: float
    mx: float
    my: float

    @classmethod
    def around(cls, geom: BaseGeometry) -> LocalPlane:
        # Rounded origin: the same plane comes back from the output's district geometry.
        c = geom.centroid
        lng0, lat0 = round(c.x, 4), round(c.y, 4)
        a, e2 = 6_378_137.0, 0.00669437999014
        s = math.sin(math.radians(lat0))
        w = 1.0 - e2 * s * s
        n = a / math.sqrt(w)
        m = a * (1.0 - e2) / w**1.5
        rad = math.pi / 180.0
        return cls(lng0, lat0, rad * n * math.cos(math.radians(lat0)), rad * m)

    def xy(self, lnglat: np.ndarray) -> np.ndarray:
        return (np.asarray(lnglat, dtype=float) - (self.lng0, self.lat0)) * (self.mx, self.my)

    def lnglat(self, xy: np.ndarray) -> np.ndarray:
        return np.asarray(xy, dtype=float) / (self.mx, self.my) + (self.lng0, self.lat0)

    def to_plane(self, geoms: Any) -> Any:
        return shapely.transform(geoms, self.xy)

    def to_lnglat(self, geoms: Any) -> Any:
        return shapely.transform(geoms, self.lnglat)

    def area_m2(self, geoms: Any) -> Any:
        return shapely.area(geoms) * self.mx * self.my


# ---------------------------------------------------------------------------------------------
# Input data


def load_outline(path: Path) -> Polygon:
    """The district outline, made valid and on the output grid (largest part if several)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    geom = shapely.geometry.shape(data["features"][0]["geometry"])
    geom = shapely.set_precision(shapely.make_valid(geom), GRID_SIZE)
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    if not parts:
        raise ValueError(f"{path}: no polygon in outline")
    return max(parts, key=lambda p: p.area)


def load_divisions(district_code: str, data_dir: Path) -> tuple[list[Street], list[Community]]:
    """Streets and communities of a district from the statistical CSVs, sorted by code."""
    with (data_dir / STREETS_CSV).open(encoding="utf-8", newline="") as fh:
        streets = [
            Street(row["street_code"], row["street_name"])
            for row in csv.DictReader(fh)
            if row["county_code"] == district_code
        ]
    with (data_dir / COMMUNITIES_CSV).open(encoding="utf-8", newline="") as fh:
        communities = [
            Community(row["community_code"], row["community_name"], row["street_code"])
            for row in csv.DictReader(fh)
            if row["county_code"] == district_code
        ]
    streets.sort(key=lambda s: s.code)
    communities.sort(key=lambda c: c.code)
    known = {s.code for s in streets}
    for c in communities:
        if c.street_code not in known or not c.code.startswith(c.street_code):
            raise ValueError(f"community {c.code} does not belong to a known street")
    return streets, communities


# ---------------------------------------------------------------------------------------------
# Small numeric helpers


def allocate(total: int, weights: Sequence[float] | np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder, >= minimum)."""
    w = np.asarray(weights, dtype=float)
    k = len(w)
    rest = total - minimum * k
    if k == 0 or rest < 0 or (w < 0).any() or w.sum() <= 0:
        raise ValueError("cannot allocate")
    exact = rest * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    short = rest - int(base.sum())
    # Stable sort on -remainder: ties go to the lower index, so the result is deterministic.
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:short]] += 1
    return base + minimum


def _rng(seed: int, district_code: str, *purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, int(district_code), *purpose])


def _sample_points(poly: Polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """About n jittered lattice points inside poly (plane coordinates)."""
    minx, miny, maxx, maxy = poly.bounds
    step = math.sqrt(poly.area / max(n, 1))
    pts = np.empty((0, 2))
    for _ in range(8):
        xs = np.arange(minx + step / 2, maxx, step)
        ys = np.arange(miny + step / 2, maxy, step)
        gx, gy = np.meshgrid(xs, ys)
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        grid += rng.uniform(-0.4, 0.4, size=grid.shape) * step
        pts = grid[shapely.contains_xy(poly, grid[:, 0], grid[:, 1])]
        if len(pts) >= 0.6 * n:
            return pts
        step /= 1.6
    return pts


def _kmeans_pp(samples: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = [samples[rng.integers(len(samples))]]
    d2 = ((samples - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        p = d2 / d2.sum() if d2.sum() > 0 else np.full(len(samples), 1 / len(samples))
        c = samples[rng.choice(len(samples), p=p)]
        centres.append(c)
        d2 = np.minimum(d2, ((samples - c) ** 2).sum(1))
    return np.array(centres)


def _power_labels(points: np.ndarray, sites: np.ndarray, weights: np.ndarray) -> np.ndarray:
    d = ((points[:, None, :] - sites[None, :, :]) ** 2).sum(-1) - weights[None, :]
    return d.argmin(1)


def _balanced_sites(
    samples: np.ndarray, shares: np.ndarray, init: np.ndarray, area: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sites and power weights whose cells hold roughly ``shares`` of the samples."""
    k = len(shares)
    sites = init.astype(float).copy()
    weights = np.zeros(k)
    if k == 1:
        return sites, weights
    cap = shares * len(samples)
    target_area = shares * area
    for it in range(3 * _KMEANS_ITERATIONS):
        labels = _power_labels(samples, sites, weights)
        counts = np.bincount(labels, minlength=k)
        if it >= _KMEANS_ITERATIONS and counts.min() > 0:
            # Settle for what we have after twice the usual iterations.
            if np.abs(counts / cap - 1).max() < 0.15 or it >= 2 * _KMEANS_ITERATIONS:
                break
        # A cell grows by about 2*dw in area when its weight rises by dw.
        weights += 0.35 * target_area * (cap - counts) / cap
        weights -= weights.mean()
        for j in np.flatnonzero(counts == 0).tolist():
            # Revive a starved cell on the outermost sample of the most overfull cell.
            donor = int(np.argmax(counts - cap))
            own = np.flatnonzero(labels == donor)
            far = own[((samples[own] - sites[donor]) ** 2).sum(1).argmax()]
            sites[j] = samples[far]
            weights[j] = weights[donor]
            labels[far] = j
            counts[donor] -= 1
            counts[j] = 1
        filled = counts > 0
        sx = np.bincount(labels, weights=samples[:, 0], minlength=k)
        sy = np.bincount(labels, weights=samples[:, 1], minlength=k)
        sites[filled, 0] = sx[filled] / counts[filled]
        sites[filled, 1] = sy[filled] / counts[filled]
    else:
        raise RuntimeError("balanced partition left an empty cell")
    return sites, weights


def _clip_halfplane(poly: np.ndarray, normal: np.ndarray, bound: float) -> np.ndarray:
    """Convex polygon (vertex array) clipped to normal·x <= bound (Sutherland-Hodgman)."""
    s = poly @ normal - bound
    inside = s <= 0
    if inside.all() or len(poly) == 0:
        return poly
    if not inside.any():
        return poly[:0]
    out: list[np.ndarray] = []
    m = len(poly)
    for i in range(m):
        j = (i + 1) % m
        if inside[i]:
            out.append(poly[i])
        if inside[i] != inside[j]:
            t = s[i] / (s[i] - s[j])
            out.append(poly[i] + t * (poly[j] - poly[i]))
    return np.array(out)


def _power_cells(
    sites: np.ndarray, weights: np.ndarray, bounds: tuple[float, ...]
) -> list[np.ndarray]:
    """Power-diagram cells (vertex arrays) of the sites, clipped to a box around bounds."""
    minx, miny, maxx, maxy = bounds
    pad = max(maxx - minx, maxy - miny)
    frame = np.array(
        [
            [minx - pad, miny - pad],
            [maxx + pad, miny - pad],
            [maxx + pad, maxy + pad],
            [minx - pad, maxy + pad],
        ]
    )
    norms = (sites**2).sum(1)
    cells = []
    for k in range(len(sites)):
        cell = frame
        order = np.argsort(((sites - sites[k]) ** 2).sum(1), kind="stable")
        for j in order:
            if j == k:
                continue
            normal = 2.0 * (sites[j] - sites[k])
            if not normal.any():
                continue
            cell = _clip_halfplane(cell, normal, norms[j] - norms[k] - weights[j] + weights[k])
            if len(cell) == 0:
                break
        cells.append(cell)
    return cells


# ---------------------------------------------------------------------------------------------
# Overlay machinery: faces, adjacency, merging


@dataclass
class _Faces:
    """Faces of one district-wide overlay, each inside exactly one parent."""

    geoms: np.ndarray  # lng/lat polygons on the output grid
    plane: np.ndarray  # the same faces in the local plane
    parent: np.ndarray
    area: np.ndarray  # m²
    reps: np.ndarray  # representative points, plane coordinates
    neighbours: list[dict[int, float]]  # same-parent neighbours -> shared border length (m)


def _overlay(parents: Sequence[Polygon], cuts: Sequence[BaseGeometry], plane: LocalPlane) -> _Faces:
    """Node the parents' boundaries with the cut lines and polygonise into faces."""
    lines = [shapely.boundary(p) for p in parents] + [c for c in cuts if not c.is_empty]
    noded = shapely.get_parts(shapely.union_all(lines, grid_size=GRID_SIZE))
    noded = noded[shapely.get_type_id(noded) == 1]  # LineStrings only
    faces = shapely.get_parts(shapely.polygonize(noded))
    faces = faces[shapely.area(faces) > 0]
    faces_plane = plane.to_plane(faces)
    reps_geom = shapely.point_on_surface(faces)

    tree = STRtree(list(parents))
    parent = np.full(len(faces), -1, dtype=np.int64)
    face_idx, parent_idx = tree.query(reps_geom, predicate="within")
    for f, p in sorted(zip(face_idx.tolist(), parent_idx.tolist(), strict=True), reverse=True):
        parent[f] = p  # reverse order: the lowest parent index wins
    lost = np.flatnonzero(parent < 0)
    if len(lost):
        # Snap-rounding slivers whose interior point fell on a parent's edge.
        _, nearest = tree.query_nearest(reps_geom[lost], all_matches=False)
        parent[lost] = nearest

    area = plane.area_m2(faces)
    reps = shapely.get_coordinates(shapely.point_on_surface(faces_plane))

    neighbours: list[dict[int, float]] = [{} for _ in range(len(faces))]
    ftree = STRtree(faces_plane)
    a, b = ftree.query(faces_plane, predicate="intersects")
    keep = (a < b) & (parent[a] == parent[b])
    a, b = a[keep], b[keep]
    shared = shapely.length(
        shapely.intersection(shapely.boundary(faces_plane[a]), shapely.boundary(faces_plane[b]))
    )
    for i, j, length in zip(a.tolist(), b.tolist(), shared.tolist(), strict=True):
        if length > 1e-6:
            neighbours[i][j] = length
            neighbours[j][i] = length
    return _Faces(faces, faces_plane, parent, area, reps, neighbours)


def _components(members: list[int], neighbours: list[dict[int, float]]) -> list[list[int]]:
    """Edge-connected components of a face set, each sorted, in order of their first face."""
    inside = set(members)
    seen: set[int] = set()
    comps = []
    for start in sorted(members):
        if start in seen:
            continue
        stack, comp = [start], []
        seen.add(start)
        while stack:
            f = stack.pop()
            comp.append(f)
            for g in sorted(neighbours[f]):
                if g in inside and g not in seen:
                    seen.add(g)
                    stack.append(g)
        comps.append(sorted(comp))
    return comps


def _settle_orphans(faces: _Faces, owner: np.ndarray) -> np.ndarray:
    """Give every detached part of a region to the neighbour sharing the longest border."""
    owner = owner.copy()
    by_owner: dict[int, list[int]] = {}
    for f, o in enumerate(owner.tolist()):
        by_owner.setdefault(o, []).append(f)
    settled = np.ones(len(owner), dtype=bool)
    pending: list[list[int]] = []
    for o in sorted(by_owner):
        comps = _components(by_owner[o], faces.neighbours)
        if len(comps) > 1:
            comps.sort(key=lambda c: (-float(faces.area[c].sum()), c[0]))
            for comp in comps[1:]:
                settled[comp] = False
                pending.append(comp)
    pending.sort(key=lambda c: (float(faces.area[c].sum()), c[0]))
    while pending:
        waiting = []
        for comp in pending:
            members = set(comp)
            tally: dict[int, float] = {}
            for f in comp:
                for g, length in faces.neighbours[f].items():
                    if g not in members and settled[g]:
                        tally[int(owner[g])] = tally.get(int(owner[g]), 0.0) + length
            if not tally:
                waiting.append(comp)
                continue
            best = max(sorted(tally), key=lambda o: tally[o])
            owner[comp] = best
            settled[comp] = True
        if len(waiting) == len(pending):
            raise RuntimeError("detached parts without a settled neighbour")
        pending = waiting
    return owner


def _merge_small(faces: _Faces, min_area: np.ndarray) -> np.ndarray:
    """Each face starts as its own region; regions below min_area (per parent) are merged."""
    n = len(faces.geoms)
    owner = np.arange(n)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    area = faces.area.astype(float).copy()
    heap = [(area[i], i) for i in range(n) if area[i] < min_area[faces.parent[i]]]
    heapq.heapify(heap)
    while heap:
        a, r = heapq.heappop(heap)
        if r not in members or a != area[r] or a >= min_area[faces.parent[r]]:
            continue
        tally: dict[int, float] = {}
        for f in members[r]:
            for g, length in faces.neighbours[f].items():
                o = int(owner[g])
                if o != r:
                    tally[o] = tally.get(o, 0.0) + length
        if not tally:
            continue  # the whole parent is one small region
        best = max(sorted(tally), key=lambda o: tally[o])
        for f in members.pop(r):
            owner[f] = best
            members[best].append(f)
        area[best] += area[r]
        if area[best] < min_area[faces.parent[best]]:
            heapq.heappush(heap, (area[best], best))
    return owner


def _regions(faces: _Faces, owner: np.ndarray) -> list[tuple[int, Polygon, list[int]]]:
    """(owner, polygon, faces) for each owner, in owner order."""
    groups: dict[int, list[int]] = {}
    for f, o in enumerate(owner.tolist()):
        groups.setdefault(o, []).append(f)
    out = []
    for o in sorted(groups):
        fs = groups[o]
        geom = (
            faces.geoms[fs[0]]
            if len(fs) == 1
            else shapely.union_all(faces.geoms[fs], grid_size=GRID_SIZE)
        )
        if not isinstance(geom, Polygon):
            raise RuntimeError(f"region {o} is a {geom.geom_type}, expected a Polygon")
        out.append((o, geom, fs))
    return out


# ---------------------------------------------------------------------------------------------
# Levels


@dataclass
class _PowerSplit:
    """How one parent is cut: balanced power cells in the local plane."""

    sites: np.ndarray
    weights: np.ndarray


def _plan_split(
    parent_plane: Polygon,
    shares: np.ndarray,
    rng: np.random.Generator,
    *,
    init: np.ndarray | None = None,
    remoteness: np.ndarray | None = None,
    core: np.ndarray | None = None,
) -> _PowerSplit:
    """Sites/weights giving cells of about ``shares`` of the parent.

    ``remoteness`` (higher = more rural) puts those regions' initial sites farthest from ``core``.
    """
    k = len(shares)
    shares = np.asarray(shares, dtype=float) / float(np.sum(shares))
    # Enough samples that even the smallest share holds a few dozen of them.
    wanted = max(_SAMPLES_PER_REGION * k + 200, math.ceil(40 / float(shares.min())))
    samples = _sample_points(parent_plane, min(wanted, 20_000), rng)
    if len(samples) < k:
        raise RuntimeError("parent too small to split")
    if init is None:
        init = _kmeans_pp(samples, k, rng)
        if remoteness is not None and core is not None and np.ptp(remoteness) > 0:
            by_distance = np.argsort(((init - core) ** 2).sum(1), kind="stable")
            by_remoteness = np.lexsort((rng.random(k), remoteness))
            placed = np.empty_like(init)
            placed[by_remoteness] = init[by_distance]
            init = placed
    else:
        # Pull hints onto the nearest sample so they lie inside the parent.
        nearest = ((init[:, None, :] - samples[None, :, :]) ** 2).sum(-1).argmin(1)
        init = samples[nearest]
    sites, weights = _balanced_sites(samples, shares, init, parent_plane.area)
    return _PowerSplit(sites, weights)


def _cut_power(
    parents: Sequence[Polygon], splits: Sequence[_PowerSplit], plane: LocalPlane
) -> list[list[Polygon]]:
    """Cut every parent by its power cells; returns the children of each parent in label order."""
    cuts: list[BaseGeometry] = []
    for parent, split in zip(parents, splits, strict=True):
        if len(split.sites) == 1:
            continue
        bounds = plane.to_plane(parent).bounds
        cells = [
            Polygon(c) for c in _power_cells(split.sites, split.weights, bounds) if len(c) >= 3
        ]
        boundaries = plane.to_lnglat(shapely.boundary(np.array(cells, dtype=object)))
        cuts.extend(shapely.intersection(boundaries, parent).tolist())
    faces = _overlay(parents, cuts, plane)

    offsets = np.cumsum([0] + [len(s.sites) for s in splits])
    owner = np.empty(len(faces.geoms), dtype=np.int64)
    for p, split in enumerate(splits):
        idx = np.flatnonzero(faces.parent == p)
        owner[idx] = offsets[p] + _power_labels(faces.reps[idx], split.sites, split.weights)
    owner = _settle_orphans(faces, owner)

    children: list[list[Polygon | None]] = [[None] * len(s.sites) for s in splits]
    for o, geom, fs in _regions(faces, owner):
        p = int(faces.parent[fs[0]])
        children[p][o - int(offsets[p])] = geom
    result: list[list[Polygon]] = []
    for p, kids in enumerate(children):
        if any(k is None for k in kids):
            raise RuntimeError(f"parent {p}: a region received no face")
        result.append([k for k in kids if k is not None])
    return result


def _lattice_positions(low: float, high: float, origin: float, step: float) -> list[float]:
    """Lattice line positions origin + i*step within [low, high]."""
    first, last = math.ceil((low - origin) / step), math.floor((high - origin) / step)
    return [origin + i * step for i in range(first, last + 1)]


def _cut_lattice(
    parents: Sequence[Polygon], spacings_m: Sequence[float], plane: LocalPlane
) -> list[list[Polygon]]:
    """Cut every parent by a north-aligned square lattice anchored at the plane origin."""
    cuts: list[BaseGeometry] = []
    for parent, spacing in zip(parents, spacings_m, strict=True):
        dlng, dlat = spacing / plane.mx, spacing / plane.my
        minx, miny, maxx, maxy = parent.bounds
        xs = _lattice_positions(minx, maxx, plane.lng0, dlng)
        ys = _lattice_positions(miny, maxy, plane.lat0, dlat)
        lines = [LineString([(x, miny - dlat), (x, maxy + dlat)]) for x in xs]
        lines += [LineString([(minx - dlng, y), (maxx + dlng, y)]) for y in ys]
        if lines:
            cuts.extend(shapely.intersection(np.array(lines, dtype=object), parent).tolist())
    faces = _overlay(parents, cuts, plane)
    min_area = np.array([SLIVER_FRACTION * s * s for s in spacings_m])
    owner = _merge_small(faces, min_area)
    children: list[list[Polygon]] = [[] for _ in parents]
    for _, geom, fs in _regions(faces, owner):
        children[int(faces.parent[fs[0]])].append(geom)
    return children


# ---------------------------------------------------------------------------------------------
# Numbering, attributes, output


def sequence_order(
    polygons: Sequence[Polygon], plane: LocalPlane, row_height_m: float
) -> list[int]:
    """Indices of ``polygons`` in sequence-code order (west→east within rows, rows north→south)."""
    if not polygons:
        return []
    pts = plane.xy(shapely.get_coordinates(shapely.point_on_surface(np.array(polygons))))
    rows = np.floor((pts[:, 1].max() - pts[:, 1]) / row_height_m + 0.5)
    return sorted(range(len(polygons)), key=lambda i: (rows[i], pts[i, 0], -pts[i, 1], i))


def _oriented(geom: Polygon) -> Polygon:
    return shapely.orient_polygons(geom, exterior_cw=False)


def _geojson_geometry(geom: Polygon | MultiPolygon) -> dict[str, Any]:
    def rings(p: Polygon) -> list[list[list[float]]]:
        return [np.asarray(r.coords).tolist() for r in (p.exterior, *p.interiors)]

    if isinstance(geom, Polygon):
        return {"type": "Polygon", "coordinates": rings(geom)}
    return {"type": "MultiPolygon", "coordinates": [rings(p) for p in geom.geoms]}


def _feature(geom: Polygon | MultiPolygon, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": _geojson_geometry(geom)}


@dataclass
class _Grid:
    geom: Polygon
    community: int
    layer: str
    seq: int = 0
    special_kind: str | None = None
    population: int = 0
    households: int = 0


def build_territory(district_code: str, data_dir: Path, *, seed: int = 2026) -> dict[str, Any]:
    """Build the synthetic territory of a demo district as a GeoJSON FeatureCollection dict."""
    started = time.perf_counter()
    spec = DISTRICTS[district_code]
    data_dir = Path(data_dir)
    outline = load_outline(data_dir / spec.outline_file)
    plane = LocalPlane.around(outline)
    streets, communities = load_divisions(district_code, data_dir)
    core = None if spec.urban_core is None else plane.xy(np.array([spec.urban_core]))[0]

    # Area weights: villages are much larger than urban communities; some size variety.
    noise = _rng(seed, district_code, 1).lognormal(0.0, 0.25, len(communities))
    c_weight = np.array(
        [
            (spec.village_area_weight if c.rural else 1.0) * z
            for c, z in zip(communities, noise, strict=True)
        ]
    )
    c_rural = np.array([c.rural for c in communities], dtype=float)
    street_members = [
        [i for i, c in enumerate(communities) if c.street_code == s.code] for s in streets
    ]

    # Streets.
    hints = {code: (lng, lat) for code, lng, lat in spec.street_hints}
    init = None
    if all(s.code in hints for s in streets):
        init = plane.xy(np.array([hints[s.code] for s in streets]))
    s_weight = np.array([c_weight[m].sum() for m in street_members])
    s_remote = np.array(
        [(c_weight[m] * c_rural[m]).sum() / c_weight[m].sum() for m in street_members]
    )
    split = _plan_split(
        plane.to_plane(outline),
        s_weight,
        _rng(seed, district_code, 2),
        init=init,
        remoteness=s_remote,
        core=core,
    )
    street_geoms = _cut_power([outline], [split], plane)[0]

    # Communities.
    splits = [
        _plan_split(
            plane.to_plane(street_geoms[si]),
            c_weight[m],
            _rng(seed, district_code, 3, si),
            remoteness=c_rural[m],
            core=core,
        )
        for si, m in enumerate(street_members)
    ]
    per_street = _cut_power(street_geoms, splits, plane)
    placed = {
        ci: geom
        for si, m in enumerate(street_members)
        for ci, geom in zip(m, per_street[si], strict=True)
    }
    community_geoms = [placed[ci] for ci in range(len(communities))]
    c_area = np.array([plane.area_m2(g) for g in community_geoms])

    # Community population, then social grid counts from population and area.
    rng = _rng(seed, district_code, 4)
    urban = c_rural == 0
    ref_area = float(np.median(c_area[urban])) if urban.any() else float(np.median(c_area))
    pop_weight = rng.lognormal(0.0, 0.3, len(communities)) * np.where(
        urban, (c_area / ref_area) ** 0.4, 0.3
    )
    c_population = allocate(spec.population, pop_weight)
    grid_weight = 0.75 * c_population / c_population.sum() + 0.25 * c_area / c_area.sum()
    n_social = allocate(spec.social_grids, grid_weight, minimum=2)

    # Social grids.
    splits = [
        _plan_split(
            plane.to_plane(community_geoms[ci]),
            _rng(seed, district_code, 5, ci).lognormal(0.0, 0.2, int(n_social[ci])),
            _rng(seed, district_code, 6, ci),
        )
        for ci in range(len(communities))
    ]
    social = [
        _Grid(g, ci, "social")
        for ci, kids in enumerate(_cut_power(community_geoms, splits, plane))
        for g in kids
    ]

    # Unit grids.
    spacing = [
        spec.unit_spacing_m * (spec.rural_cell_factor if c.rural else 1) for c in communities
    ]
    unit = [
        _Grid(g, ci, "unit")
        for ci, kids in enumerate(_cut_lattice(community_geoms, spacing, plane))
        for g in kids
    ]

    # Sequence numbers per community and layer.
    for layer, grids in (("social", social), ("unit", unit)):
        for ci in range(len(communities)):
            mine = [g for g in grids if g.community == ci]
            for g in mine:
                g.geom = _oriented(g.geom)
            if layer == "unit":
                height = spacing[ci]
            else:
                height = math.sqrt(sum(plane.area_m2(g.geom) for g in mine) / len(mine))
            for seq, i in enumerate(sequence_order([g.geom for g in mine], plane, height), 1):
                mine[i].seq = seq

    _assign_special(social, communities, spec, _rng(seed, district_code, 7))
    _assign_population(social, c_population, plane, spec, _rng(seed, district_code, 8))

    _check_valid([*street_geoms, *community_geoms, *(g.geom for g in social + unit)])
    features = _features(
        spec, outline, streets, street_geoms, communities, community_geoms, social, unit
    )
    elapsed = time.perf_counter() - started
    logger.info(
        "territory %s: %d streets, %d communities, %d social grids, %d unit grids in %.1f s",
        district_code,
        len(streets),
        len(communities),
        len(social),
        len(unit),
        elapsed,
    )
    return {"type": "FeatureCollection", "features": features}


def _check_valid(polygons: list[Polygon]) -> None:
    """Snap-rounded overlays should never produce bad polygons; fail loudly if one does."""
    geoms = np.array(polygons, dtype=object)
    bad = ~shapely.is_valid(geoms) | (shapely.area(geoms) <= 0)
    if bad.any():
        raise RuntimeError(f"{int(bad.sum())} generated polygon(s) are invalid or empty")


def _assign_special(
    social: list[_Grid], communities: list[Community], spec: DistrictSpec, rng: np.random.Generator
) -> None:
    """Mark a few large social grids of urban communities as special (专属) grids."""
    by_community: dict[int, list[_Grid]] = {}
    for g in social:
        by_community.setdefault(g.community, []).append(g)
    eligible = [
        ci
        for ci in sorted(by_community)
        if not communities[ci].rural and len(by_community[ci]) >= 4
    ]
    count = min(len(eligible), round(spec.special_share * len(social)))
    chosen = sorted(rng.choice(len(eligible), size=count, replace=False).tolist())
    kinds = rng.choice(len(SPECIAL_KINDS), size=count, p=[0.4, 0.25, 0.25, 0.1])
    for pick, kind in zip(chosen, kinds.tolist(), strict=True):
        grids = by_community[eligible[pick]]
        largest = max(grids, key=lambda g: (g.geom.area, -g.seq))
        largest.special_kind = SPECIAL_KINDS[kind]


def _assign_population(
    social: list[_Grid],
    c_population: np.ndarray,
    plane: LocalPlane,
    spec: DistrictSpec,
    rng: np.random.Generator,
) -> None:
    """Split each community's residents over its social grids; households from household size."""
    by_community: dict[int, list[_Grid]] = {}
    for g in sorted(social, key=lambda g: (g.community, g.seq)):
        by_community.setdefault(g.community, []).append(g)
    special_factor = {"campus": 0.3, "enterprise": 0.05, "market": 0.08, "development_zone": 0.1}
    for ci in sorted(by_community):
        grids = by_community[ci]
        area = np.array([plane.area_m2(g.geom) for g in grids])
        weight = (area / area.mean()) ** 0.6 * rng.lognormal(0.0, 0.2, len(grids))
        for i, g in enumerate(grids):
            if g.special_kind is not None:
                weight[i] *= special_factor[g.special_kind]
        pops = allocate(int(c_population[ci]), weight)
        size = spec.household_size * rng.uniform(0.88, 1.12, len(grids))
        for g, pop, hs in zip(grids, pops.tolist(), size.tolist(), strict=True):
            g.population = pop
            g.households = min(pop, max(1, round(pop / hs))) if pop > 0 else 0


def _features(
    spec: DistrictSpec,
    outline: Polygon,
    streets: list[Street],
    street_geoms: list[Polygon],
    communities: list[Community],
    community_geoms: list[Polygon],
    social: list[_Grid],
    unit: list[_Grid],
) -> list[dict[str, Any]]:
    c_pop = [0] * len(communities)
    c_hh = [0] * len(communities)
    for g in social:
        c_pop[g.community] += g.population
        c_hh[g.community] += g.households
    s_index = {s.code: i for i, s in enumerate(streets)}
    s_pop = [0] * len(streets)
    s_hh = [0] * len(streets)
    for ci, c in enumerate(communities):
        s_pop[s_index[c.street_code]] += c_pop[ci]
        s_hh[s_index[c.street_code]] += c_hh[ci]

    features = [
        _feature(
            _oriented(outline),
            {
                "code": spec.code,
                "name": spec.name,
                "level": "district",
                "parent_code": None,
                "households": sum(s_hh),
                "population": sum(s_pop),
                "synthetic": False,
            },
        )
    ]
    for si, s in enumerate(streets):
        features.append(
            _feature(
                _oriented(street_geoms[si]),
                {
                    "code": s.code,
                    "name": s.name,
                    "level": "street",
                    "parent_code": spec.code,
                    "households": s_hh[si],
                    "population": s_pop[si],
                    "synthetic": True,
                },
            )
        )
    for ci, c in enumerate(communities):
        features.append(
            _feature(
                _oriented(community_geoms[ci]),
                {
                    "code": c.code,
                    "name": c.name,
                    "level": "community",
                    "parent_code": c.street_code,
                    "households": c_hh[ci],
                    "population": c_pop[ci],
                    "synthetic": True,
                },
            )
        )
    for layer, grids in (("social", social), ("unit", unit)):
        for g in sorted(grids, key=lambda g: (g.community, g.seq)):
            c = communities[g.community]
            props: dict[str, Any] = {
                "code": f"{c.code}{g.seq:03d}",
                "name": (
                    f"{c.short_name}第{g.seq}网格"
                    if layer == "social"
                    else f"{c.short_name}单元网格{g.seq:03d}"
                ),
                "level": "grid",
                "parent_code": c.code,
                "layer": layer,
                "grid_type": ("special" if g.special_kind else "rural" if c.rural else "community"),
            }
            if g.special_kind:
                props["special_kind"] = g.special_kind
            if layer == "social":
                props["households"] = g.households
                props["population"] = g.population
            props["synthetic"] = True
            features.append(_feature(g.geom, props))
    return features
