from __future__ import annotations

from typing import Any

from rest_framework import serializers

from wangge.core.rest import BBoxField, FiniteFloatField, PointIn
from wangge.regions.models import GridLayer, Region


class LayerField(serializers.SlugRelatedField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="code", queryset=GridLayer.objects.all(), **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(data).code


class RegionQuery(serializers.Serializer):
    level = serializers.ChoiceField(choices=Region.Level.choices, required=False)
    parent = serializers.RegexField(r"^[0-9]{6,12}$", required=False)


class GridQuery(serializers.Serializer):
    layer = LayerField(required=False)
    bbox = BBoxField(required=False)
    parent = serializers.RegexField(r"^[0-9]{6,15}$", required=False)


class LocateQuery(PointIn):
    layer = LayerField(required=False, default="social")

    def validate_layer(self, value: Any) -> str:
        return value.code if isinstance(value, GridLayer) else value


class SearchQuery(serializers.Serializer):
    q = serializers.CharField(max_length=50, trim_whitespace=True)


class RegionRefOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()


class RegionOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()
    parent_code = serializers.CharField(source="parent.code", allow_null=True, default=None)
    area_m2 = serializers.FloatField()
    households = serializers.IntegerField()
    population = serializers.IntegerField()
    bbox = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4)


class RegionDetailOut(RegionOut):
    responsible_party = serializers.CharField()
    synthetic_geometry = serializers.BooleanField()
    ancestors = RegionRefOut(many=True)


class GridOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    layer = serializers.CharField(source="layer_id")
    grid_type = serializers.CharField()
    special_kind = serializers.CharField()
    parent_code = serializers.CharField(source="community.code")
    area_m2 = serializers.FloatField()
    households = serializers.IntegerField()
    population = serializers.IntegerField()
    bbox = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4)


class LocateOut(serializers.Serializer):
    grid = GridOut()
    ancestors = RegionRefOut(many=True)
    lng_wgs84 = serializers.FloatField()
    lat_wgs84 = serializers.FloatField()


class GridLayerOut(serializers.ModelSerializer):
    class Meta:
        model = GridLayer
        fields = ["code", "name", "description"]


class SearchHitOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["region", "grid"])
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()
    layer = serializers.CharField(allow_null=True)
    bbox = serializers.ListField(child=serializers.FloatField())


class SearchOut(serializers.Serializer):
    results = SearchHitOut(many=True)


class ProblemOut(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True)
    code = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()


class ImportReportOut(serializers.Serializer):
    ok = serializers.BooleanField()
    dry_run = serializers.BooleanField()
    created = serializers.DictField(child=serializers.IntegerField())
    updated = serializers.DictField(child=serializers.IntegerField())
    problems = ProblemOut(many=True)
    warnings = ProblemOut(many=True)


class ImportQuery(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False)
    tolerance_m = FiniteFloatField(min_value=0, max_value=100, required=False)
