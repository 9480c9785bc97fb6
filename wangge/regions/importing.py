"""Reading and checking a territory file (GeoJSON FeatureCollection) before anything is written.

A territory file holds features whose properties are ``code``, ``name``, ``level`` (district, street,
community, grid), ``parent_code``, and for grids ``layer``, ``grid_type`` and ``special_kind``; optional
``households``, ``population``, ``responsible_party`` and ``synthetic``. Checking gathers *every*
problem with its feature index and code, so that a person can fix a file in one pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from wangge.lib.geometry import (
    GeometryError,
    invalidity_reason,
    parse_polygonal,
    thicker_than,
    to_local_metres,
)
from wangge.lib.regioncodes import (
    CODE_LENGTH,
    PARENT_LEVEL,
    Level,
    code_problems,
    parent_problems,
    parse_level,
)

Progress = Callable[[str, int, int], None]
GRID_TYPES = ("community", "rural", "special")
SPECIAL_KINDS = ("", "enterprise", "campus", "market", "development_zone", "other")


@dataclass(frozen=True)
class Problem:
    index: int | None  # position of the feature in the file, from 0; None for the file itself
    code: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "code": self.code, "reason": self.reason}

    def __str__(self) -> str:
        where = "file" if self.index is None else f"feature #{self.index}"
        code = f" ({self.code})" if self.code else ""
        return f"{where}{code}: {self.reason}"


@dataclass
class TerritoryFeature:
    """One region or grid, from the file or from the database, ready for the geometric checks."""

    index: int | None  # None when it comes from the database
    code: str
    name: str
    level: Level
    parent_code: str | None
    geometry: BaseGeometry
    layer: str = ""
    grid_type: str = "community"
    special_kind: str = ""
    households: int = 0
    population: int = 0
    responsible_party: str = ""
    synthetic: bool = False
    geometry_ok: bool = True
    metric: BaseGeometry | None = None  # in local metres, for tolerance tests only

    @property
    def key(self) -> tuple[str, str]:
        """Identity: a region by its code, a grid by its layer and code."""
        return (self.layer if self.level is Level.GRID else "", self.code)

    @property
    def overlap_class(self) -> tuple[str, str]:
        """Features that must not overlap each other: same-layer grids, same-level regions."""
        return (self.level.value, self.layer)

    def describe(self) -> str:
        label = f"{self.layer} grid" if self.level is Level.GRID else self.level.value
        where = "existing" if self.index is None else f"feature #{self.index}"
        return f"{label} {self.code} ({where})"


@dataclass
class CheckResult:
    features: list[TerritoryFeature]
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_territory(data: Any, *, known_layers: Iterable[str]) -> CheckResult:
    """Read the features of a FeatureCollection, reporting every problem of structure and code."""
    result = CheckResult(features=[])
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        result.problems.append(Problem(None, "", "the file must be a GeoJSON FeatureCollection"))
        return result
    raw_features = data.get("features")
    if not isinstance(raw_features, list):
        result.problems.append(Problem(None, "", "'features' must be a list"))
        return result
    layers = set(known_layers)
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(raw_features):
        feature, problems = _parse_feature(index, raw, layers)
        result.problems.extend(problems)
        if feature is None:
            continue
        first = seen.setdefault(feature.key, index)
        if first != index:
            result.problems.append(
                Problem(index, feature.code, f"the same code appears already at feature #{first}")
            )
            continue
        result.features.append(feature)
    return result


def _parse_feature(
    index: int, raw: Any, layers: set[str]
) -> tuple[TerritoryFeature | None, list[Problem]]:
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        return None, [Problem(index, "", "each item of 'features' must be a GeoJSON Feature")]
    props = raw.get("properties")
    if not isinstance(props, dict):
        return None, [Problem(index, "", "the feature has no 'properties' object")]
    code = props.get("code")
    code = str(code).strip() if isinstance(code, str | int) else ""
    problems: list[Problem] = []

    def problem(reason: str) -> None:
        problems.append(Problem(index, code, reason))

    if not code:
        problem("'code' is missing")
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        problem("'name' is missing")
        name = ""
    level: Level | None = None
    try:
        level = parse_level(str(props.get("level", "")))
    except ValueError as exc:
        problem(f"'level': {exc}")
    parent_code = props.get("parent_code")
    parent_code = str(parent_code).strip() if parent_code not in (None, "") else None

    layer = str(props.get("layer") or "")
    grid_type = str(props.get("grid_type") or "community")
    special_kind = str(props.get("special_kind") or "")
    if level is Level.GRID:
        if not layer:
            problem("'layer' is required for a grid")
        elif layer not in layers:
            problem(f"'layer' {layer!r} is not a known grid layer ({', '.join(sorted(layers))})")
        if grid_type not in GRID_TYPES:
            problem(f"'grid_type' must be one of {', '.join(GRID_TYPES)}, not {grid_type!r}")
        if special_kind not in SPECIAL_KINDS:
            problem(f"'special_kind' must be one of {', '.join(SPECIAL_KINDS[1:])}")
        elif special_kind and grid_type != "special":
            problem("'special_kind' is only for grids whose grid_type is 'special'")
    elif layer:
        problem(f"'layer' is only for grids, not for a {level}")

    counts = {}
    for name_of_count in ("households", "population"):
        value = props.get(name_of_count, 0)
        if value is None:
            value = 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problem(f"'{name_of_count}' must be a whole number ≥ 0, not {value!r}")
            value = 0
        counts[name_of_count] = value

    if code and level is not None:
        for reason in code_problems(code, level):
            problem(reason)
        if len(code) == CODE_LENGTH[level]:
            for reason in parent_problems(code, level, parent_code):
                problem(reason)

    geometry: BaseGeometry | None = None
    geometry_ok = False
    try:
        geometry = parse_polygonal(raw.get("geometry"))
    except GeometryError as exc:
        problem(str(exc))
    else:
        reason = invalidity_reason(geometry)
        if reason:
            problem(f"invalid polygon: {reason}")
        else:
            geometry_ok = True

    if problems and (geometry is None or level is None or not code):
        return None, problems
    assert level is not None and geometry is not None  # noqa: S101 — narrowed by the return above
    feature = TerritoryFeature(
        index=index,
        code=code,
        name=name.strip(),
        level=level,
        parent_code=parent_code,
        geometry=geometry,
        layer=layer if level is Level.GRID else "",
        grid_type=grid_type,
        special_kind=special_kind,
        households=counts["households"],
        population=counts["population"],
        responsible_party=str(props.get("responsible_party") or "")[:100],
        synthetic=bool(props.get("synthetic", False)),
        # A feature with a broken code still takes part in the geometric checks of its neighbours.
        geometry_ok=geometry_ok,
    )
    return feature, problems


def check_geometry(
    result: CheckResult,
    existing: Sequence[TerritoryFeature],
    *,
    tolerance_m: float,
    progress: Progress | None = None,
) -> None:
    """Add containment, overlap and hierarchy problems, and coverage-gap warnings, to ``result``.

    ``existing`` are the regions and grids already stored; a file feature with the same key replaces
    its stored twin for every check.
    """
    incoming = {feature.key: feature for feature in result.features}
    universe = [f for f in existing if f.key not in incoming] + result.features
    usable = [f for f in universe if f.geometry_ok]
    if not usable:
        return
    geometries = np.array([f.geometry for f in usable], dtype=object)
    origin_lat = float(np.mean(shapely.bounds(geometries)[:, [1, 3]]))
    metric = to_local_metres(geometries, origin_lat)
    for feature, geometry_m in zip(usable, metric, strict=True):
        feature.metric = geometry_m
    regions = {f.code: f for f in universe if f.level is not Level.GRID}

    _check_parents(result, regions, tolerance_m)
    if progress:
        progress("containment", len(result.features), len(result.features))
    _check_overlaps(result, usable, tolerance_m)
    if progress:
        progress("overlap", len(result.features), len(result.features))
    _warn_coverage_gaps(result, usable, regions, tolerance_m)
    if progress:
        progress("coverage", len(result.features), len(result.features))


def _check_parents(
    result: CheckResult, regions: dict[str, TerritoryFeature], tolerance_m: float
) -> None:
    children: list[TerritoryFeature] = []
    parents: list[TerritoryFeature] = []
    for feature in result.features:
        if feature.parent_code is None:
            continue
        if len(feature.parent_code) != CODE_LENGTH[PARENT_LEVEL[feature.level]]:
            continue  # already reported by parent_problems
        parent = regions.get(feature.parent_code)
        if parent is None:
            result.problems.append(
                Problem(
                    feature.index,
                    feature.code,
                    f"parent {feature.parent_code} is neither in the file nor stored",
                )
            )
            continue
        if parent.level is not PARENT_LEVEL[feature.level]:
            result.problems.append(
                Problem(feature.index, feature.code, f"parent {parent.code} is a {parent.level}")
            )
            continue
        if feature.metric is not None and parent.metric is not None:
            children.append(feature)
            parents.append(parent)
    if not children:
        return
    outside = shapely.difference(
        np.array([c.metric for c in children], dtype=object),
        np.array([p.metric for p in parents], dtype=object),
    )
    for child, parent, excess in zip(children, parents, outside, strict=True):
        if thicker_than(excess, tolerance_m):
            result.problems.append(
                Problem(
                    child.index,
                    child.code,
                    f"lies outside its parent {parent.describe()} by {excess.area:,.0f} m² "
                    f"(tolerance {tolerance_m:g} m)",
                )
            )


def _check_overlaps(
    result: CheckResult, usable: list[TerritoryFeature], tolerance_m: float
) -> None:
    by_class: dict[tuple[str, str], list[TerritoryFeature]] = defaultdict(list)
    for feature in usable:
        by_class[feature.overlap_class].append(feature)
    reported: set[tuple[int, int]] = set()
    for members in by_class.values():
        if len(members) < 2 or all(m.index is None for m in members):
            continue
        geoms = np.array([m.metric for m in members], dtype=object)
        tree = STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        # Only pairs whose interiors share an area; neighbours sharing an edge drop out here.
        interior = shapely.relate_pattern(geoms[left], geoms[right], "2********")
        left, right = left[interior], right[interior]
        overlaps = shapely.intersection(geoms[left], geoms[right])
        for i, j, overlap in zip(left, right, overlaps, strict=True):
            a, b = members[i], members[j]
            if a.index is None and b.index is None:
                continue
            if not thicker_than(overlap, tolerance_m):
                continue
            later, other = (a, b) if _position(a) > _position(b) else (b, a)
            if (id(later), id(other)) in reported:
                continue
            reported.add((id(later), id(other)))
            result.problems.append(
                Problem(
                    later.index,
                    later.code,
                    f"overlaps {other.describe()} by {overlap.area:,.0f} m²",
                )
            )


def _warn_coverage_gaps(
    result: CheckResult,
    usable: list[TerritoryFeature],
    regions: dict[str, TerritoryFeature],
    tolerance_m: float,
) -> None:
    """Warn where a community touched by the file is not fully covered by a layer's grids."""
    touched_layers: dict[str, set[str]] = defaultdict(set)
    for feature in result.features:
        if feature.level is Level.GRID and feature.parent_code:
            touched_layers[feature.parent_code].add(feature.layer)
    grids_of: dict[tuple[str, str], list[BaseGeometry]] = defaultdict(list)
    for feature in usable:
        if feature.level is Level.GRID and feature.parent_code in touched_layers:
            grids_of[(feature.parent_code, feature.layer)].append(feature.metric)
    for community_code in sorted(touched_layers):
        community = regions.get(community_code)
        if community is None or community.metric is None:
            continue
        for layer in sorted(touched_layers[community_code]):
            covered = shapely.union_all(grids_of.get((community_code, layer), []))
            gap = community.metric.difference(covered)
            if thicker_than(gap, tolerance_m):
                result.warnings.append(
                    Problem(
                        community.index,
                        community_code,
                        f"{gap.area:,.0f} m² of the community are covered by no {layer} grid",
                    )
                )


def _position(feature: TerritoryFeature) -> int:
    return -1 if feature.index is None else feature.index
