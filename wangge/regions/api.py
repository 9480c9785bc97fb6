"""REST endpoints of the territory: thin — validate the query, call one selector or service, render."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from wangge.core.errors import InvalidInputError
from wangge.core.rest import ApiView, validated
from wangge.regions import permissions, selectors, serializers
from wangge.regions.geojson import feature_collection_json, feature_json
from wangge.regions.locate import DEFAULT_LAYER
from wangge.regions.services import territory_import

GEOJSON = "application/geo+json"
VIEW_TERRITORY = ("regions.view_region", "regions.view_grid")

_geojson_response = OpenApiResponse(
    response=OpenApiTypes.OBJECT, description="GeoJSON FeatureCollection (RFC 7946), WGS-84."
)


def _geojson(text: str) -> HttpResponse:
    return HttpResponse(text, content_type=GEOJSON)


class RegionListApi(ApiView):
    read = VIEW_TERRITORY

    @extend_schema(
        operation_id="regions_list",
        parameters=[serializers.RegionQuery],
        responses=serializers.RegionOut(many=True),
        summary="Districts, streets and communities inside the user's data scope",
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.RegionQuery, request.query_params)
        regions = selectors.region_list(user=request.user, **query)
        return Response(serializers.RegionOut(regions, many=True).data)


class RegionGeoJsonApi(ApiView):
    read = VIEW_TERRITORY

    @extend_schema(
        operation_id="regions_geojson",
        parameters=[serializers.RegionQuery],
        responses={(200, GEOJSON): _geojson_response},
        summary="Region outlines as GeoJSON",
    )
    def get(self, request: Request) -> HttpResponse:
        query = validated(serializers.RegionQuery, request.query_params)
        return _geojson(feature_collection_json(selectors.region_list(user=request.user, **query)))


class RegionDetailApi(ApiView):
    read = VIEW_TERRITORY

    @extend_schema(
        operation_id="regions_retrieve",
        responses=serializers.RegionDetailOut,
        summary="One region with its ancestors",
    )
    def get(self, request: Request, code: str) -> Response:
        region = permissions.access_region_for_user(user=request.user, code=code)
        region.ancestors = selectors.ancestors_of(region.code)
        return Response(serializers.RegionDetailOut(region).data)


class GridListApi(ApiView):
    read = VIEW_TERRITORY

    @extend_schema(
        operation_id="grids_geojson",
        parameters=[serializers.GridQuery],
        responses={(200, GEOJSON): _geojson_response},
        summary="Grids as GeoJSON, filtered by layer, bounding box and parent region",
    )
    def get(self, request: Request) -> HttpResponse:
        query = validated(serializers.GridQuery, request.query_params)
        return _geojson(feature_collection_json(selectors.grid_list(user=request.user, **query)))


class GridDetailApi(ApiView):
    read = VIEW_TERRITORY

    @extend_schema(
        operation_id="grids_retrieve",
        responses={(200, GEOJSON): _geojson_response},
        summary="One grid as a GeoJSON Feature whose properties include its ancestors",
        description=(
            "Properties add `ancestors` (district first) and `workers`: the grid workers assigned "
            "to the grid, each as `{name}` (null when no name is on file). Outside the default "
            "layer `households` and `population` are null when not counted."
        ),
    )
    def get(self, request: Request, layer: str, code: str) -> HttpResponse:
        grid = permissions.access_grid_for_user(user=request.user, layer=layer, code=code)
        ancestors = serializers.RegionRefOut(selectors.ancestors_of(grid.code), many=True).data
        extra: dict[str, Any] = {
            "ancestors": ancestors,
            "workers": [
                {"name": w.get_full_name() or None} for w in selectors.grid_workers(grid=grid)
            ],
        }
        if grid.layer_id != DEFAULT_LAYER:
            # Residents are registered in grids of the default layer only: a unit grid's 0 means
            # "not counted", which the map shows as "—" (null), not as an empty grid.
            extra |= {
                "households": grid.households or None,
                "population": grid.population or None,
            }
        return _geojson(feature_json(grid, extra))


class GridLayerListApi(ApiView):
    read = ()

    @extend_schema(operation_id="grid_layers_list", responses=serializers.GridLayerOut(many=True))
    def get(self, request: Request) -> Response:
        return Response(serializers.GridLayerOut(selectors.grid_layer_list(), many=True).data)


class LocateApi(ApiView):
    read = VIEW_TERRITORY

    @extend_schema(
        operation_id="locate",
        parameters=[serializers.LocateQuery],
        responses={200: serializers.LocateOut, 404: OpenApiTypes.OBJECT},
        summary="The grid (and its community, street, district) at a point",
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.LocateQuery, request.query_params)
        located = selectors.locate_for_user(
            user=request.user,
            lng=query["lng"],
            lat=query["lat"],
            crs=query["crs"],
            layer=query["layer"],
        )
        body = {
            "grid": located.grid,
            "ancestors": located.ancestors,
            "lng_wgs84": located.lng,
            "lat_wgs84": located.lat,
        }
        return Response(serializers.LocateOut(body).data)


class SearchApi(ApiView):
    read = VIEW_TERRITORY

    @extend_schema(
        operation_id="territory_search",
        parameters=[serializers.SearchQuery],
        responses=serializers.SearchOut,
        summary="Regions and grids by code prefix or name",
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.SearchQuery, request.query_params)
        hits = selectors.territory_search(user=request.user, query=query["q"])
        return Response(serializers.SearchOut({"results": hits}).data)


class TerritoryImportApi(ApiView):
    write = ("regions.import_territory",)
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        operation_id="territory_import",
        parameters=[
            serializers.ImportQuery,
            OpenApiParameter("file", OpenApiTypes.BINARY, required=False, description="multipart"),
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: serializers.ImportReportOut, 400: serializers.ImportReportOut},
        summary="Import a territory GeoJSON file: every feature or none",
    )
    def post(self, request: Request) -> Response:
        query = validated(serializers.ImportQuery, request.query_params)
        report = territory_import(
            data=_uploaded_geojson(request),
            actor=request.user,
            dry_run=query["dry_run"],
            tolerance_m=query.get("tolerance_m"),
        )
        body = serializers.ImportReportOut(report.as_dict()).data
        return Response(body, status=200 if report.ok else 400)


def _uploaded_geojson(request: Request) -> Any:
    upload = request.FILES.get("file")
    if upload is None:
        return request.data
    try:
        return json.loads(upload.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(
            _("The file is not UTF-8 JSON."), {"file": [_("Not a JSON file: %s") % exc]}
        ) from None
