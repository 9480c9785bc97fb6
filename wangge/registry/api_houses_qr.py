"""REST endpoints for rented houses: QR codes and label sheets, scans and the scan rate, tenant
self-registrations awaiting approval, quarterly star ratings. Scoped and masked like ``api.py``:
a house or registration outside the user's scope is the same 404 as a missing one, and personal
numbers leave only masked.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from wangge.core.errors import InvalidInputError
from wangge.core.rest import (
    ERROR_RESPONSES,
    WRITE_ERROR_RESPONSES,
    ApiView,
    PageQuery,
    page_of,
    paginate,
    validated,
)
from wangge.registry import permissions, qrcodes, ratings, selfregistration
from wangge.registry.models import HouseRating, HouseScan, Person, SelfRegistration
from wangge.registry.serializers import REGION_PREFIX

# Shapes --------------------------------------------------------------------------------------------


class QrOut(serializers.Serializer):
    house = serializers.IntegerField()
    qr_token = serializers.CharField()
    url = serializers.CharField(help_text=gettext_lazy("What the printed code holds."))


class QrFileQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["svg", "pdf", "png"], default="svg")


class LabelQuery(serializers.Serializer):
    building = serializers.IntegerField(required=False, min_value=1)
    region = serializers.RegexField(REGION_PREFIX, required=False)
    ids = serializers.RegexField(
        r"^[0-9]+(,[0-9]+){0,199}$",
        required=False,
        help_text=gettext_lazy("House ids, comma-separated."),
    )
    columns = serializers.IntegerField(min_value=1, max_value=4, default=3)
    rows = serializers.IntegerField(min_value=1, max_value=10, default=7)
    page = serializers.IntegerField(min_value=1, default=1)


class ScanOut(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    accuracy = serializers.FloatField(source="accuracy_m", allow_null=True)

    class Meta:
        model = HouseScan
        fields = ["id", "house", "username", "scanned_at", "lng", "lat", "accuracy"]


class ScanRateQuery(serializers.Serializer):
    by = serializers.ChoiceField(
        choices=[("grid", gettext_lazy("Grid")), ("worker", gettext_lazy("Grid worker"))],
        default="grid",
    )
    since = serializers.DateField(
        required=False, help_text=gettext_lazy("Default: the 1st of the month.")
    )
    until = serializers.DateField(required=False, help_text=gettext_lazy("Default: today."))
    region = serializers.RegexField(REGION_PREFIX, required=False)


class ScanRateRowOut(serializers.Serializer):
    code = serializers.CharField(help_text=gettext_lazy("Grid code, or the worker's scope code."))
    name = serializers.CharField()
    username = serializers.CharField()
    rented_houses = serializers.IntegerField()
    scanned_houses = serializers.IntegerField()
    scan_rate = serializers.FloatField(allow_null=True)


class ScanRateOut(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    by = serializers.CharField()
    rows = ScanRateRowOut(many=True)


class SelfRegistrationQuery(PageQuery):
    status = serializers.ChoiceField(
        choices=SelfRegistration.Status.choices, default=SelfRegistration.Status.PENDING
    )
    house = serializers.IntegerField(required=False, min_value=1)
    region = serializers.RegexField(REGION_PREFIX, required=False)


class SelfRegistrationOut(serializers.ModelSerializer):
    house_label = serializers.SerializerMethodField()
    grid_code = serializers.CharField(source="house.region_code")
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)

    class Meta:
        model = SelfRegistration
        fields = [
            "id",
            "house",
            "house_label",
            "grid_code",
            "name",
            "sex",
            "birth_date",
            "id_number_masked",
            "phone_masked",
            "moved_in_on",
            "wants_permit",
            "status",
            "submitted_at",
            "decided_at",
            "decided_by",
            "reject_reason",
            "person",
            "residency",
        ]

    def get_house_label(self, row: SelfRegistration) -> str:
        return qrcodes.house_label(row.house)


class ApproveIn(serializers.Serializer):
    residency_type = serializers.ChoiceField(
        choices=Person.ResidencyType.choices, default=Person.ResidencyType.FLOATING
    )
    has_id_copy = serializers.BooleanField(
        default=False, help_text=gettext_lazy("A copy of the ID card was taken on the visit.")
    )


class ApproveOut(serializers.Serializer):
    registration = SelfRegistrationOut()
    created = serializers.BooleanField(
        help_text=gettext_lazy("False: the ID number was already known.")
    )
    person = serializers.IntegerField()
    residency = serializers.IntegerField()


class RejectIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class CriterionOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    rule = serializers.CharField()
    points = serializers.IntegerField()
    description = serializers.CharField()


class LevelOut(serializers.Serializer):
    stars = serializers.IntegerField()
    name = serializers.CharField()
    min_points = serializers.IntegerField()


class CriteriaOut(serializers.Serializer):
    criteria = CriterionOut(many=True)
    levels = LevelOut(many=True)


class ResultOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    rule = serializers.CharField()
    points = serializers.IntegerField()
    met = serializers.BooleanField(allow_null=True)
    earned = serializers.IntegerField()


class SuggestionQuery(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)
    quarter = serializers.IntegerField(min_value=1, max_value=4, required=False)


class SuggestionOut(serializers.Serializer):
    year = serializers.IntegerField()
    quarter = serializers.IntegerField()
    points = serializers.IntegerField()
    max_points = serializers.IntegerField()
    suggested_stars = serializers.IntegerField()
    results = ResultOut(many=True)


class RatingIn(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    quarter = serializers.IntegerField(min_value=1, max_value=4)
    manual = serializers.DictField(
        child=serializers.BooleanField(),
        default=dict,
        help_text=gettext_lazy('Criteria judged by hand, by code: {"fire_safety": true, …}.'),
    )
    stars = serializers.IntegerField(
        min_value=0,
        max_value=5,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Default: suggested."),
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RatingOut(serializers.ModelSerializer):
    rated_by = serializers.CharField(source="rated_by.username", default=None, allow_null=True)
    results = ResultOut(many=True)

    class Meta:
        model = HouseRating
        fields = [
            "id",
            "house",
            "year",
            "quarter",
            "points",
            "max_points",
            "suggested_stars",
            "stars",
            "override_reason",
            "results",
            "rated_by",
            "rated_at",
        ]


SelfRegistrationPageOut = page_of(SelfRegistrationOut, "SelfRegistrationPageOut")


def base_url(request: Request) -> str:
    return request.build_absolute_uri("/")


# QR codes ------------------------------------------------------------------------------------------


class HouseQrApi(ApiView):
    read = ("registry.view_house",)

    @extend_schema(
        operation_id="houses_qr_file",
        parameters=[QrFileQuery],
        responses={
            (200, "image/svg+xml"): OpenApiTypes.BINARY,
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            **ERROR_RESPONSES,
        },
        summary="The house's QR code as SVG, PDF or PNG",
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        house = permissions.access_house_for_user(user=request.user, house_id=pk)
        kind = validated(QrFileQuery, request.query_params)["kind"]
        body, content_type = qrcodes.code_file(house, base_url(request), kind)
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'inline; filename="house-{house.pk}-qr.{kind}"'
        response["Cache-Control"] = "private, no-store"
        return response


class HouseQrRotateApi(ApiView):
    write = ("registry.change_house",)

    @extend_schema(
        operation_id="houses_qr_rotate",
        request=None,
        responses={200: QrOut, **WRITE_ERROR_RESPONSES},
        summary="Give the house a new QR token; the old code stops working",
    )
    def post(self, request: Request, pk: int) -> Response:
        house = permissions.access_house_for_user(user=request.user, house_id=pk)
        house = qrcodes.house_qr_rotate(house=house, actor=request.user)
        return Response(
            {
                "house": house.pk,
                "qr_token": house.qr_token,
                "url": qrcodes.qr_url(house, base_url(request)),
            }
        )


class LabelSheetApi(ApiView):
    read = ("registry.view_house",)

    @extend_schema(
        operation_id="houses_qr_labels",
        parameters=[LabelQuery],
        responses={(200, "image/svg+xml"): OpenApiTypes.BINARY, **ERROR_RESPONSES},
        summary="An A4 sheet of QR labels (SVG) for the rented houses of a building, a grid, a "
        "selection or (no filter) the whole scope; X-Total-Pages tells how many sheets",
    )
    def get(self, request: Request) -> HttpResponse:
        query = validated(LabelQuery, request.query_params)
        ids = [int(i) for i in query["ids"].split(",")] if query.get("ids") else None
        houses = list(
            qrcodes.label_houses(
                user=request.user,
                building=query.get("building"),
                region=query.get("region"),
                ids=ids,
            )
        )
        layout = qrcodes.SheetLayout(columns=query["columns"], rows=query["rows"])
        pages = max(1, -(-len(houses) // layout.per_sheet))
        if query["page"] > pages:
            message = _("There are %(pages)d sheets.") % {"pages": pages}
            raise InvalidInputError(f"page: {message}", {"page": [message]})
        start = (query["page"] - 1) * layout.per_sheet
        svg = qrcodes.label_sheet_svg(
            houses[start : start + layout.per_sheet], base_url=base_url(request), layout=layout
        )
        response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
        response["X-Total-Pages"] = str(pages)
        response["X-Labels"] = str(len(houses))
        response["Cache-Control"] = "private, no-store"
        return response


# Scans ---------------------------------------------------------------------------------------------


class HouseScanListApi(ApiView):
    read = ("registry.view_house",)

    @extend_schema(
        operation_id="houses_scans_list",
        responses={200: ScanOut(many=True), **ERROR_RESPONSES},
        summary="The latest 50 scans of the house's QR code",
    )
    def get(self, request: Request, pk: int) -> Response:
        house = permissions.access_house_for_user(user=request.user, house_id=pk)
        return Response(ScanOut(qrcodes.house_scans(house=house), many=True).data)


class ScanRateApi(ApiView):
    read = ("registry.view_data_quality",)

    @extend_schema(
        operation_id="registry_scan_rate",
        parameters=[ScanRateQuery],
        responses={200: ScanRateOut, 400: ERROR_RESPONSES[400]},
        summary="Share of rented houses whose QR code was scanned in a period (篇9), per grid or "
        "per grid worker",
    )
    def get(self, request: Request) -> Response:
        query = validated(ScanRateQuery, request.query_params)
        report = qrcodes.scan_rate_report(user=request.user, **query)
        return Response(ScanRateOut(report.as_dict()).data)


# Self-registrations --------------------------------------------------------------------------------


class SelfRegistrationListApi(ApiView):
    read = ("registry.view_person",)

    @extend_schema(
        operation_id="self_registrations_list",
        parameters=[SelfRegistrationQuery],
        responses=SelfRegistrationPageOut,
        summary="Tenants' self-registrations at houses in the user's scope (default: pending)",
    )
    def get(self, request: Request) -> Response:
        query = validated(SelfRegistrationQuery, request.query_params)
        rows = selfregistration.self_registration_list(
            user=request.user,
            status=query["status"],
            house=query.get("house"),
            region=query.get("region"),
        )
        return paginate(rows, query, SelfRegistrationOut)


class SelfRegistrationDetailApi(ApiView):
    read = ("registry.view_person",)

    @extend_schema(
        operation_id="self_registrations_retrieve",
        responses={200: SelfRegistrationOut, **ERROR_RESPONSES},
    )
    def get(self, request: Request, pk: int) -> Response:
        row = permissions.access_self_registration_for_user(user=request.user, registration_id=pk)
        return Response(SelfRegistrationOut(row).data)


class SelfRegistrationApproveApi(ApiView):
    write = ("registry.add_person", "registry.add_residency")

    @extend_schema(
        operation_id="self_registrations_approve",
        request=ApproveIn,
        responses={200: ApproveOut, **WRITE_ERROR_RESPONSES},
        summary="Approve: the tenant is registered at the house (409 when already decided)",
    )
    def post(self, request: Request, pk: int) -> Response:
        row = permissions.access_self_registration_for_user(user=request.user, registration_id=pk)
        data = validated(ApproveIn, request.data)
        result = selfregistration.self_registration_approve(
            registration=row, actor=request.user, **data
        )
        row.refresh_from_db()
        return Response(
            {
                "registration": SelfRegistrationOut(row).data,
                "created": result.created,
                "person": result.person.pk,
                "residency": result.residency.pk,
            }
        )


class SelfRegistrationRejectApi(ApiView):
    write = ("registry.add_person", "registry.add_residency")

    @extend_schema(
        operation_id="self_registrations_reject",
        request=RejectIn,
        responses={200: SelfRegistrationOut, **WRITE_ERROR_RESPONSES},
        summary="Reject with a reason; nothing enters the registry",
    )
    def post(self, request: Request, pk: int) -> Response:
        row = permissions.access_self_registration_for_user(user=request.user, registration_id=pk)
        data = validated(RejectIn, request.data)
        row = selfregistration.self_registration_reject(
            registration=row, reason=data["reason"], actor=request.user
        )
        return Response(SelfRegistrationOut(row).data)


# Star ratings --------------------------------------------------------------------------------------


class RatingCriteriaApi(ApiView):
    read = ("registry.view_house",)

    @extend_schema(
        operation_id="rating_criteria_list",
        responses=CriteriaOut,
        summary="Criteria and star levels of the quarterly rating of rented houses",
    )
    def get(self, request: Request) -> Response:
        return Response(
            CriteriaOut(
                {"criteria": ratings.rating_criteria(), "levels": ratings.rating_levels()}
            ).data
        )


class HouseRatingListApi(ApiView):
    read = ("registry.view_house",)
    write = ("registry.change_house",)

    @extend_schema(
        operation_id="houses_ratings_list",
        responses={200: RatingOut(many=True), **ERROR_RESPONSES},
        summary="The house's ratings, newest quarter first (一户一档)",
    )
    def get(self, request: Request, pk: int) -> Response:
        house = permissions.access_house_for_user(user=request.user, house_id=pk)
        return Response(RatingOut(ratings.house_ratings(house=house), many=True).data)

    @extend_schema(
        operation_id="houses_ratings_create",
        request=RatingIn,
        responses={201: RatingOut, **WRITE_ERROR_RESPONSES},
        summary="Rate the house for a quarter (409 when already rated)",
    )
    def post(self, request: Request, pk: int) -> Response:
        house = permissions.access_house_for_user(user=request.user, house_id=pk)
        data = validated(RatingIn, request.data)
        rating = ratings.house_rate(house=house, actor=request.user, **data)
        return Response(RatingOut(rating).data, status=201)


class HouseRatingSuggestionApi(ApiView):
    read = ("registry.view_house",)

    @extend_schema(
        operation_id="houses_ratings_suggestion",
        parameters=[SuggestionQuery],
        responses={200: SuggestionOut, **ERROR_RESPONSES},
        summary="The criteria judged from the records and the suggested stars (default: this "
        "quarter)",
    )
    def get(self, request: Request, pk: int) -> Response:
        house = permissions.access_house_for_user(user=request.user, house_id=pk)
        query = validated(SuggestionQuery, request.query_params)
        year, quarter = ratings.quarter_of(timezone.localdate())
        suggestion = ratings.rating_suggestion(
            house=house, year=query.get("year", year), quarter=query.get("quarter", quarter)
        )
        return Response(SuggestionOut(suggestion.as_dict()).data)
