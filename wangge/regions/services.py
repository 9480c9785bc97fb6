"""Writes to the territory. Every write is one transaction with an audit row and a version bump."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import shapely
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from wangge.core.audit import audit_log_write
from wangge.core.models import User
from wangge.lib.geometry import area_m2
from wangge.lib.regioncodes import Level
from wangge.regions import locate
from wangge.regions.importing import (
    CheckResult,
    Problem,
    Progress,
    TerritoryFeature,
    check_geometry,
    parse_territory,
)
from wangge.regions.models import Grid, GridLayer, Region, Territory, TerritoryVersion

WRITE_BATCH = 500


@dataclass
class ImportReport:
    problems: list[Problem]
    warnings: list[Problem]
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "problems": [p.as_dict() for p in self.problems],
            "warnings": [w.as_dict() for w in self.warnings],
        }


def territory_changed() -> None:
    """Record that grids or regions changed, so every process rebuilds its lookup index."""
    TerritoryVersion.objects.update_or_create(id=1, defaults={"token": uuid.uuid4()})
    locate.invalidate()
    transaction.on_commit(locate.invalidate)


def territory_import(
    *,
    data: Any,
    actor: User | None,
    tolerance_m: float | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Create or update the regions and grids of a territory file, all of them or none.

    Features are matched to stored ones by code (grids by layer and code); stored features absent
    from the file are left alone. Any problem means nothing is written and every problem is reported.
    """
    tolerance = settings.WANGGE_GEOMETRY_TOLERANCE_M if tolerance_m is None else tolerance_m
    layers = list(GridLayer.objects.values_list("code", flat=True))
    result = parse_territory(data, known_layers=layers)
    if progress:
        progress("parse", len(result.features), len(result.features))
    check_geometry(result, stored_territory(), tolerance_m=tolerance, progress=progress)
    report = ImportReport(problems=_sorted(result.problems), warnings=result.warnings)
    report.dry_run = dry_run
    if not result.ok or dry_run:
        return report
    with transaction.atomic():
        report.created, report.updated = _write(result, progress)
        territory_changed()
        audit_log_write(
            actor=actor,
            action="regions.import",
            target_type="territory",
            details={
                "created": report.created,
                "updated": report.updated,
                "warnings": len(report.warnings),
            },
        )
    return report


def stored_territory() -> list[TerritoryFeature]:
    """Every stored region and grid as a feature for the checks (geometry decoded once)."""
    features = [
        TerritoryFeature(
            index=None,
            code=code,
            name=name,
            level=Level(level),
            parent_code=parent_code,
            geometry=_wkb(boundary),
        )
        for code, name, level, parent_code, boundary in Region.objects.values_list(
            "code", "name", "level", "parent__code", "boundary_wkb"
        )
    ]
    features.extend(
        TerritoryFeature(
            index=None,
            code=code,
            name=name,
            level=Level.GRID,
            parent_code=parent_code,
            layer=layer,
            geometry=_wkb(boundary),
        )
        for code, name, layer, parent_code, boundary in Grid.objects.values_list(
            "code", "name", "layer_id", "community__code", "boundary_wkb"
        )
    )
    return features


def _wkb(value: bytes | memoryview) -> Any:
    return shapely.from_wkb(bytes(value))


def _write(result: CheckResult, progress: Progress | None) -> tuple[dict[str, int], dict[str, int]]:
    created: dict[str, int] = {}
    updated: dict[str, int] = {}
    total = len(result.features)
    done = 0
    region_ids: dict[str, int] = dict(Region.objects.values_list("code", "id"))
    for level in (Level.DISTRICT, Level.STREET, Level.COMMUNITY):
        batch = [f for f in result.features if f.level is level]
        existing = Region.objects.in_bulk([f.code for f in batch], field_name="code")
        new, changed = [], []
        for feature in batch:
            region = existing.get(feature.code) or Region(code=feature.code)
            region.level = level.value
            region.parent_id = region_ids.get(feature.parent_code) if feature.parent_code else None
            _fill(region, feature)
            (changed if region.pk else new).append(region)
        Region.objects.bulk_create(new, batch_size=WRITE_BATCH)
        _bulk_update(Region, changed, ["level", "parent"])
        region_ids.update((r.code, r.pk) for r in new)
        created[level.value], updated[level.value] = len(new), len(changed)
        done += len(batch)
        if progress:
            progress("write", done, total)

    grids = [f for f in result.features if f.level is Level.GRID]
    stored = {
        (g.layer_id, g.code): g for g in Grid.objects.filter(code__in=[f.code for f in grids])
    }
    new_grids, changed_grids = [], []
    for feature in grids:
        grid = stored.get((feature.layer, feature.code)) or Grid(
            code=feature.code, layer_id=feature.layer
        )
        grid.community_id = region_ids[feature.parent_code or ""]
        grid.grid_type = feature.grid_type
        grid.special_kind = feature.special_kind
        _fill(grid, feature)
        (changed_grids if grid.pk else new_grids).append(grid)
    for start in range(0, len(new_grids), WRITE_BATCH):
        Grid.objects.bulk_create(new_grids[start : start + WRITE_BATCH])
        done += len(new_grids[start : start + WRITE_BATCH])
        if progress:
            progress("write", done, total)
    _bulk_update(Grid, changed_grids, ["community", "grid_type", "special_kind"])
    created["grid"], updated["grid"] = len(new_grids), len(changed_grids)
    if progress:
        progress("write", total, total)
    return created, updated


def _fill(target: Territory, feature: TerritoryFeature) -> None:
    target.name = feature.name
    target.set_boundary(feature.geometry, area_m2(feature.geometry))
    target.updated_at = timezone.now()
    target.households = feature.households
    target.population = feature.population
    target.responsible_party = feature.responsible_party
    target.synthetic_geometry = feature.synthetic


def _bulk_update(model: type[Territory], rows: Iterable[Territory], extra: list[str]) -> None:
    fields = [
        "name",
        "boundary_wkb",
        "min_lng",
        "min_lat",
        "max_lng",
        "max_lat",
        "area_m2",
        "households",
        "population",
        "responsible_party",
        "synthetic_geometry",
        "updated_at",
        *extra,
    ]
    model.objects.bulk_update(list(rows), fields, batch_size=WRITE_BATCH)


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (-1 if p.index is None else p.index, p.reason))
