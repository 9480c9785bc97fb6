"""The territory: the region tree 区 → 街道 → 社区 and the grids (网格) cut from communities.

Geometry is Shapely's, stored as WKB with a bounding box in plain columns (no GeoDjango), so the same
schema works on SQLite and PostgreSQL. Codes nest: see ``wangge.lib.regioncodes``.
"""

from __future__ import annotations

import uuid
from functools import cached_property

import shapely
from django.db import models
from django.utils.translation import gettext_lazy as _
from shapely.geometry.base import BaseGeometry

from wangge.lib.regioncodes import Level


class Territory(models.Model):
    """What regions and grids share: a code, a name, an outline and the figures of the people in it."""

    code = models.CharField(_("code"), max_length=15)
    name = models.CharField(_("name"), max_length=100)
    boundary_wkb = models.BinaryField(_("boundary (WKB)"))
    min_lng = models.FloatField()
    min_lat = models.FloatField()
    max_lng = models.FloatField()
    max_lat = models.FloatField()
    area_m2 = models.FloatField(_("area (m²)"))
    households = models.PositiveIntegerField(_("households"), default=0)
    population = models.PositiveIntegerField(_("population"), default=0)
    responsible_party = models.CharField(_("responsible party"), max_length=100, blank=True)
    synthetic_geometry = models.BooleanField(
        _("synthetic geometry"),
        default=False,
        help_text=_("The outline was generated for a demo, not surveyed."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @cached_property
    def boundary(self) -> BaseGeometry:
        return shapely.from_wkb(bytes(self.boundary_wkb))

    @property
    def bbox(self) -> list[float]:
        return [self.min_lng, self.min_lat, self.max_lng, self.max_lat]

    def set_boundary(self, geometry: BaseGeometry, area_m2: float) -> None:
        self.boundary_wkb = shapely.to_wkb(geometry)
        self.min_lng, self.min_lat, self.max_lng, self.max_lat = geometry.bounds
        self.area_m2 = area_m2
        self.__dict__["boundary"] = geometry


class Region(Territory):
    """An administrative unit: district (区/县), street (街道/乡镇) or community (社区/村)."""

    class Level(models.TextChoices):
        DISTRICT = Level.DISTRICT.value, _("District (区/县)")
        STREET = Level.STREET.value, _("Street (街道/乡镇)")
        COMMUNITY = Level.COMMUNITY.value, _("Community (社区/村)")

    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        permissions = [("import_territory", _("Can import and export territory files"))]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="regions_region_code_unique"),
            models.CheckConstraint(
                name="regions_region_code_length_matches_level",
                condition=(
                    models.Q(level="district", code__regex=r"^[0-9]{6}$")
                    | models.Q(level="street", code__regex=r"^[0-9]{9}$")
                    | models.Q(level="community", code__regex=r"^[0-9]{12}$")
                ),
            ),
        ]
        indexes = [
            # Map requests: "regions of this level inside the viewport".
            models.Index(fields=["level", "min_lng", "max_lng"], name="region_level_bbox_idx"),
        ]


class GridLayer(models.Model):
    """A family of grids that together cover the territory once: social-service grids, unit grids …

    Layers are data: a district adds its 警格 or power-supply grids without a deploy.
    """

    code = models.SlugField(_("code"), max_length=32, primary_key=True)
    name = models.CharField(_("name"), max_length=64)
    description = models.TextField(_("description"), blank=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("grid layer")
        verbose_name_plural = _("grid layers")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Grid(Territory):
    """One grid (网格) of one layer, inside one community; its code is the community's + 3 digits."""

    class GridType(models.TextChoices):
        COMMUNITY = "community", _("Community grid (社区网格)")
        RURAL = "rural", _("Rural grid (农村网格)")
        SPECIAL = "special", _("Special grid (专属网格)")

    class SpecialKind(models.TextChoices):
        NONE = "", _("—")
        ENTERPRISE = "enterprise", _("Enterprise (企业)")
        CAMPUS = "campus", _("Campus (校园)")
        MARKET = "market", _("Market (市场)")
        DEVELOPMENT_ZONE = "development_zone", _("Development zone (园区)")
        OTHER = "other", _("Other (其他)")

    layer = models.ForeignKey(
        GridLayer, verbose_name=_("layer"), on_delete=models.PROTECT, related_name="grids"
    )
    community = models.ForeignKey(
        Region, verbose_name=_("community"), on_delete=models.PROTECT, related_name="grids"
    )
    grid_type = models.CharField(
        _("grid type"), max_length=16, choices=GridType.choices, default=GridType.COMMUNITY
    )
    special_kind = models.CharField(
        _("special kind"), max_length=32, choices=SpecialKind.choices, default="", blank=True
    )

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["layer", "code"]
        constraints = [
            # Two layers may both number a community's grids 001…, so the code is unique per layer.
            models.UniqueConstraint(
                fields=["layer", "code"], name="regions_grid_layer_code_unique"
            ),
            models.CheckConstraint(
                name="regions_grid_code_15_digits", condition=models.Q(code__regex=r"^[0-9]{15}$")
            ),
            models.CheckConstraint(
                name="regions_grid_special_kind_only_for_special",
                condition=models.Q(grid_type="special") | models.Q(special_kind=""),
            ),
        ]
        indexes = [
            # Scope filters and code search: "grids whose code starts with 110102001".
            models.Index(fields=["code"], name="grid_code_idx"),
            # Map requests: "grids of this layer inside the viewport".
            models.Index(fields=["layer", "min_lng", "max_lng"], name="grid_layer_bbox_idx"),
        ]


class TerritoryVersion(models.Model):
    """One row whose token changes whenever grids or regions change.

    Every process caches its point-lookup index with the token it was built from and rebuilds when
    the stored token differs. A random token, not a counter: a rolled-back change must never make an
    older index look current.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    token = models.UUIDField(default=uuid.uuid4)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("territory version")
        constraints = [
            models.CheckConstraint(name="territory_version_single_row", condition=models.Q(id=1))
        ]

    def __str__(self) -> str:
        return f"{self.token} ({self.changed_at:%Y-%m-%d %H:%M:%S})"
