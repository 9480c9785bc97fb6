"""The reporter's side of duplicates (cases.duplicates) over the API.

``GET /api/v1/cases/report-check/``: before a report is sent, the grid at the point and the open
cases of the same category nearby that the caller may see. ``POST /api/v1/cases/{number}/support/``:
add support (附议) to an existing case instead of reporting it again, or withdraw one's own
duplicate report into it.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from wangge.cases.api import REPORT, VIEW_CASES
from wangge.cases.duplicates import report_check
from wangge.cases.services import case_support
from wangge.core.rest import ApiView, PointIn, validated


class ReportCheckQuery(PointIn):
    category = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text=_("Id of the category to be reported; without it no duplicates are looked for."),
    )
    exclude = serializers.CharField(
        required=False,
        max_length=32,
        help_text=_("Number of a case to leave out (the report just sent)."),
    )


class PointGridOut(serializers.Serializer):
    code = serializers.CharField(
        allow_null=True, help_text=_("The grid's code; null outside the caller's data scope.")
    )
    name = serializers.CharField()
    community = serializers.CharField(help_text=_("Name of the grid's community."))
    yours = serializers.BooleanField(
        help_text=_("Whether the grid lies inside the caller's own area (a grid worker's grid).")
    )


class NearbyCaseOut(serializers.Serializer):
    number = serializers.CharField(source="case.number")
    description = serializers.CharField(source="case.description")
    address = serializers.CharField(source="case.address")
    state = serializers.CharField(source="case.state", help_text=_("The case's state code."))
    state_label = serializers.CharField(
        source="case.get_state_display", help_text=_("The state in the caller's language.")
    )
    created_at = serializers.DateTimeField(source="case.created_at")
    supporters = serializers.IntegerField(source="case.supporters")
    distance_m = serializers.IntegerField(help_text=_("Metres from the given point."))


class ReportCheckOut(serializers.Serializer):
    grid = PointGridOut(
        allow_null=True, help_text=_("The grid at the point; null when it lies in no grid.")
    )
    duplicates = NearbyCaseOut(
        many=True,
        help_text=_(
            "Open cases of the same category within 50 m reported in the last 72 hours that the "
            "caller may see, nearest first."
        ),
    )
    others = serializers.IntegerField(
        help_text=_("How many more such cases lie outside the caller's data scope (not named).")
    )


class SupportIn(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    withdraw = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        default="",
        help_text=_(
            "Number of the caller's own report of the same problem, not yet dispatched: it is "
            "closed as a duplicate of this case."
        ),
    )


class SupportOut(serializers.Serializer):
    number = serializers.CharField()
    supporters = serializers.IntegerField()
    withdrawn = serializers.CharField(allow_null=True)


class ReportCheckApi(ApiView):
    read = VIEW_CASES

    @extend_schema(
        operation_id="cases_report_check",
        parameters=[ReportCheckQuery],
        responses=ReportCheckOut,
        summary="Before reporting: the grid at a point and probable duplicates nearby",
    )
    def get(self, request: Request) -> Response:
        data = validated(ReportCheckQuery, request.query_params)
        check = report_check(
            user=request.user,
            lng=data["lng"],
            lat=data["lat"],
            crs=data["crs"],
            category_id=data.get("category"),
            exclude_number=data.get("exclude", ""),
        )
        return Response(ReportCheckOut(check).data)


class CaseSupportApi(ApiView):
    write = REPORT

    @extend_schema(
        operation_id="cases_support",
        request=SupportIn,
        responses={200: SupportOut, 409: OpenApiTypes.OBJECT},
        summary="Support (附议) a case reported by someone else instead of reporting it again",
    )
    def post(self, request: Request, number: str) -> Response:
        data = validated(SupportIn, request.data)
        withdraw = data["withdraw"].strip()
        case = case_support(
            number=number, actor=request.user, note=data["note"], withdraw_number=withdraw
        )
        body = {"number": case.number, "supporters": case.supporters, "withdrawn": withdraw or None}
        return Response(SupportOut(body).data)
