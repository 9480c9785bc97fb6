"""REST endpoints of the ledgers (台账): template download, upload (an import job), the job's
progress, its rejects file, and export of a filtered list. Thin: the rules are in
``registry.ledgers``.
"""

from __future__ import annotations

from urllib.parse import quote

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from wangge.core.errors import InvalidInputError, NotFoundError
from wangge.core.rest import ERROR_RESPONSES, ApiView, filters_of, validated
from wangge.registry import serializers as registry_serializers
from wangge.registry.ledgers import exporting, importing, mapping, reading
from wangge.registry.models import LedgerImport
from wangge.registry.permissions import access_import_for_user

_KIND = OpenApiParameter(
    "kind", str, OpenApiParameter.PATH, enum=list(mapping.KINDS), description="Kind of ledger."
)
_ERRORS = {**ERROR_RESPONSES, 404: OpenApiResponse(description="Missing, or not yours.")}
_XLSX = OpenApiResponse(OpenApiTypes.BINARY, description="An xlsx workbook.")


# Any signed-in user may call these (``()``): which kinds of ledger a user may import or export, and
# whose import jobs he may see, the ledger services decide.


def _kind(kind: str) -> str:
    if kind not in mapping.KINDS:
        raise NotFoundError(_("No ledger of kind %(kind)s.") % {"kind": kind})
    return kind


def _download(name: str, content: bytes, content_type: str = exporting.XLSX_TYPE) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response["Cache-Control"] = "no-store"
    return response


class LedgerImportOut(serializers.ModelSerializer):
    # Plain strings: a choice field would add one more "status" enum to the schema.
    kind = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="queued, running, done or failed")
    percent = serializers.IntegerField(read_only=True)
    finished = serializers.BooleanField(read_only=True)
    imported_by = serializers.CharField(source="created_by.username", read_only=True)
    rejects_url = serializers.SerializerMethodField()

    class Meta:
        model = LedgerImport
        fields = [
            "id", "kind", "status", "file_name", "file_format", "rows_total", "rows_done",
            "percent", "finished", "created_count", "unchanged_count", "rejected_count",
            "error", "rejects_url", "imported_by", "created_at", "started_at", "finished_at",
        ]  # fmt: skip

    def get_rejects_url(self, job: LedgerImport) -> str | None:
        if not job.rejects:
            return None
        return reverse("api:ledger-import-rejects", args=[job.pk])


class LedgerUploadIn(serializers.Serializer):
    file = serializers.FileField(help_text=_("An xlsx workbook or a CSV file."))


class LedgerExportIn(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text=_("People only: asks for full numbers (needs the unmask permission)."),
    )


_FILTERS = {
    mapping.PEOPLE: registry_serializers.PersonQuery,
    mapping.HOUSES: registry_serializers.HouseQuery,
    mapping.ORGANIZATIONS: registry_serializers.OrganizationQuery,
    mapping.COMPONENTS: registry_serializers.ComponentQuery,
}


class LedgerTemplateApi(ApiView):
    read = ()

    @extend_schema(
        operation_id="ledgers_template",
        parameters=[_KIND],
        responses={200: _XLSX, 404: _ERRORS[404]},
        summary="The empty template of a ledger (header row and a notes sheet)",
    )
    def get(self, request: Request, kind: str) -> HttpResponse:
        workbook = exporting.ledger_template(kind=_kind(kind))
        return _download(workbook.name, workbook.content)


class LedgerImportListApi(ApiView):
    write = ()
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="ledgers_import",
        parameters=[_KIND],
        request={"multipart/form-data": LedgerUploadIn},
        responses={202: LedgerImportOut, **_ERRORS},
        summary="Upload a ledger (xlsx or csv) to import; returns the job to poll",
    )
    def post(self, request: Request, kind: str) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise reading.file_error(_("Choose a file to upload."))
        job = importing.ledger_import_start(kind=_kind(kind), upload=upload, actor=request.user)
        return Response(LedgerImportOut(job).data, status=202)


class LedgerImportDetailApi(ApiView):
    read = ()

    @extend_schema(
        operation_id="ledger_imports_retrieve",
        responses={200: LedgerImportOut, 404: _ERRORS[404]},
        summary="An import job's status and progress",
    )
    def get(self, request: Request, pk: int) -> Response:
        job = access_import_for_user(user=request.user, job_id=pk)
        return Response(LedgerImportOut(job).data)


class LedgerImportRejectsApi(ApiView):
    read = ()

    @extend_schema(
        operation_id="ledger_imports_rejects",
        responses={200: OpenApiResponse(OpenApiTypes.BINARY), 404: _ERRORS[404]},
        summary="The rejected rows as they were, with a reason column (错误原因)",
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        job = access_import_for_user(user=request.user, job_id=pk)
        if not job.rejects:
            raise NotFoundError(_("This import rejected no rows."))
        content_type = exporting.XLSX_TYPE if job.file_format == "xlsx" else "text/csv"
        response = FileResponse(
            job.rejects.open("rb"),
            as_attachment=True,
            filename=job.rejects.name.rsplit("/", 1)[-1],
            content_type=content_type,
        )
        response["Cache-Control"] = "no-store"
        return response


class LedgerExportApi(ApiView):
    write = ()
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        operation_id="ledgers_export",
        parameters=[_KIND],
        request=LedgerExportIn,
        responses={200: _XLSX, **_ERRORS},
        summary="Export a filtered list in the ledger's columns (scoped, watermarked, audited)",
        description=(
            "The body takes the filters of the kind's list endpoint (people: name, id_suffix, "
            "residency_type, tag, house, region, living …) and, for people, a reason for full "
            "numbers. People need registry.export_personal_data."
        ),
    )
    def post(self, request: Request, kind: str) -> HttpResponse:
        kind = _kind(kind)
        body = validated(LedgerExportIn, request.data)
        given = {k: v for k, v in request.data.items() if k != "reason" and v not in ("", None)}
        query = _FILTERS[kind](data=given)
        if not query.is_valid():
            raise InvalidInputError(_("Check the filters."), query.errors)
        filters = filters_of(query.validated_data)
        workbook = exporting.ledger_export(
            kind=kind,
            user=request.user,
            filters=filters,
            reason=body.get("reason", ""),
        )
        return _download(workbook.name, workbook.content)
