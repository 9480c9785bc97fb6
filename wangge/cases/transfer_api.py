"""``POST /api/v1/cases/{number}/transfer/``: move a case to another grid (cases.transfers)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from wangge.cases.api import VIEW_CASES, case_detail
from wangge.cases.serializers import CaseDetailOut
from wangge.cases.transfers import case_transfer
from wangge.core.rest import ApiView, validated


class TransferIn(serializers.Serializer):
    to_grid = serializers.RegexField(r"^[0-9]{15}$", help_text="Code of the social grid.")
    reason = serializers.CharField(max_length=500)
    version = serializers.IntegerField(
        required=False, min_value=0, help_text="The version you saw; 409 when it changed."
    )


class CaseTransferApi(ApiView):
    write = VIEW_CASES

    @extend_schema(
        operation_id="cases_transfer",
        request=TransferIn,
        responses={200: CaseDetailOut, 409: OpenApiTypes.OBJECT},
        summary="Transfer a case to another grid (within a community, or across streets)",
    )
    def post(self, request: Request, number: str) -> Response:
        data = validated(TransferIn, request.data)
        transfer = case_transfer(
            number=number,
            to_grid_code=data["to_grid"],
            reason=data["reason"],
            actor=request.user,
            expected_version=data.get("version"),
        )
        return Response(case_detail(transfer.case, request.user))
