"""REST endpoints of the closed loop: thin — validate, call one service or selector, serialize."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q
from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from wangge.cases import permissions, selectors, serializers
from wangge.cases.dispatch import eligible_people, suggest_department
from wangge.cases.models import Case, CaseEvent, CasePhoto, Category
from wangge.cases.photos import case_photo_add, prepare_photo
from wangge.cases.services import Intake, case_act, case_create
from wangge.cases.workflow import allowed_actions
from wangge.core.errors import InvalidInputError, NotFoundError
from wangge.core.models import Department
from wangge.core.rest import ApiView, filters_of, paginate, validated
from wangge.core.roles import user_roles

# A case still being accepted may be merged into an earlier report of the same problem.
DUPLICATE_STATES = frozenset({"checking", "reported", "accepted"})

# Who may call the loop's endpoints; which action a caller may take is the workflow's to say.
VIEW_CASES = ("cases.view_case",)
REPORT = ("cases.add_case",)

IDEMPOTENCY_KEY_MAX = 200  # IntakeKey.key's length
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "A retried create with the same key returns the first case (200) and creates nothing; "
        "the same key with a different report is refused (422)."
    ),
)


def _annotate(case: Case, user: Any) -> Case:
    """Attach what the user may do next and the likely duplicates (open cases only)."""
    case.allowed_actions = [a.value for a in allowed_actions(user, case, user_roles(user))]
    case.duplicate_numbers, case.duplicates_hidden_count = _duplicates(case, user)
    return case


def _duplicates(case: Case, user: Any) -> tuple[list[str], int]:
    """The likely duplicates the user may see, and how many more there are."""
    if case.state not in DUPLICATE_STATES:
        return [], 0
    return selectors.duplicates_for_user(user=user, case=case)


def case_detail(case: Case, user: Any, request: Request | None = None) -> dict[str, Any]:
    case = (
        Case.objects.select_related("category__parent", "grid", "owner_department", "owner_user")
        .prefetch_related(
            Prefetch("events", queryset=CaseEvent.objects.select_related("actor")), "photos"
        )
        .get(pk=case.pk)
    )
    return serializers.CaseDetailOut(_annotate(case, user), context={"request": request}).data


class CategoryListApi(ApiView):
    read = VIEW_CASES

    @extend_schema(
        operation_id="categories_list",
        parameters=[serializers.CategoryQuery],
        responses=serializers.CategoryOut(many=True),
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.CategoryQuery, request.query_params)
        categories = Category.objects.filter(active=True).select_related("parent")
        if query.get("domain"):
            categories = categories.filter(domain=query["domain"])
        if query.get("kind"):
            categories = categories.filter(kind=query["kind"])
        if query.get("q"):
            categories = categories.filter(
                Q(name__icontains=query["q"]) | Q(code__startswith=query["q"])
            )
        return Response(serializers.CategoryOut(categories[:500], many=True).data)


class CaseListCreateApi(ApiView):
    read = VIEW_CASES
    write = REPORT

    @extend_schema(
        operation_id="cases_list",
        parameters=[serializers.CaseQuery],
        responses=serializers.CasePageOut,
        summary="Cases in the user's scope, overdue first",
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.CaseQuery, request.query_params)
        filters = filters_of(query)
        if "state" in filters:
            filters["state"] = sorted(filters["state"])
        cases = selectors.case_list(user=request.user, filters=filters)
        return paginate(cases.select_related("owner_user"), query, serializers.CaseOut)

    @extend_schema(
        operation_id="cases_create",
        parameters=[IDEMPOTENCY_KEY],
        request=serializers.CaseIn,
        responses={
            201: serializers.CaseCreatedOut,
            200: serializers.CaseCreatedOut,
            422: OpenApiTypes.OBJECT,
        },
        summary="Report a case (located to its grid at intake)",
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.CaseIn, request.data)
        intake = Intake(
            source=data["source"],
            category=data["category"],
            description=data["description"],
            condition=data["condition"],
            lng=data.get("lng"),
            lat=data.get("lat"),
            crs=data["crs"],
            address=data["address"],
            urgency=data["urgency"],
            area_grade=data["area_grade"],
            reporter_name=data["reporter_name"],
            reporter_phone=data["reporter_phone"],
            self_handle=data["self_handle"],
            self_handle_result=data["result"],
            idempotency_key=_idempotency_key(request),
        )
        case, created = case_create(intake=intake, actor=request.user)
        duplicates, hidden = _duplicates(case, request.user)
        body = serializers.case_created_body(
            case,
            allowed_actions=[
                a.value for a in allowed_actions(request.user, case, user_roles(request.user))
            ],
            duplicates=duplicates,
            duplicates_hidden=hidden,
        )
        return Response(body, status=201 if created else 200)


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise InvalidInputError(
            _("The Idempotency-Key header is too long."),
            {"Idempotency-Key": [_("At most %(n)s characters.") % {"n": IDEMPOTENCY_KEY_MAX}]},
        )
    return key


class CaseDetailApi(ApiView):
    read = VIEW_CASES

    @extend_schema(operation_id="cases_retrieve", responses=serializers.CaseDetailOut)
    def get(self, request: Request, number: str) -> Response:
        case = permissions.access_case_for_user(user=request.user, number=number)
        return Response(case_detail(case, request.user, request))


class CaseActionApi(ApiView):
    write = VIEW_CASES
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        operation_id="cases_act",
        request={
            "application/json": serializers.ActionIn,
            "multipart/form-data": serializers.ActionIn,
        },
        responses={200: serializers.CaseDetailOut, 409: OpenApiTypes.OBJECT},
        summary="Take one workflow action: dispatch, acknowledge, handle, verify, …",
    )
    def post(self, request: Request, number: str) -> Response:
        data = dict(validated(serializers.ActionIn, request.data))
        action = data.pop("action")
        version = data.pop("version", None)
        photos = [
            prepare_photo(kind=CasePhoto.Kind.AFTER, stream=upload)
            for upload in data.pop("photos", [])
        ]
        case = case_act(
            number=number,
            action=action,
            actor=request.user,
            data=data,
            expected_version=version,
            photos=photos,
        )
        return Response(case_detail(case, request.user, request))


class DispatchOptionsApi(ApiView):
    """What the dispatch dialog offers: the matrix's department, every department, the people."""

    read = VIEW_CASES

    @extend_schema(operation_id="cases_dispatch_options", responses=serializers.DispatchOptionsOut)
    def get(self, request: Request, number: str) -> Response:
        case = permissions.access_case_for_user(user=request.user, number=number)
        suggested = suggest_department(case)
        return Response(
            serializers.DispatchOptionsOut(
                {
                    "suggested_department": suggested.code if suggested else None,
                    "departments": Department.objects.filter(active=True).order_by("code"),
                    "people": eligible_people(case)[:200],
                }
            ).data
        )


class CasePhotoApi(ApiView):
    write = VIEW_CASES
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="cases_photo_upload",
        request={"multipart/form-data": serializers.PhotoIn},
        responses={201: serializers.PhotoOut},
        summary="Add a photo (JPEG, PNG or WebP; EXIF GPS read, then all metadata stripped)",
    )
    def post(self, request: Request, number: str) -> Response:
        data = validated(serializers.PhotoIn, request.data)
        case = permissions.access_case_for_user(user=request.user, number=number)
        photo = case_photo_add(
            case=case, kind=data["kind"], stream=data["photo"], actor=request.user
        )
        return Response(serializers.PhotoOut(photo, context={"request": request}).data, status=201)


class CasePhotoFileApi(ApiView):
    """The image of one photo, for users who may see the case (photos are not public files)."""

    read = VIEW_CASES

    @extend_schema(
        operation_id="cases_photo_file",
        responses={(200, "image/*"): OpenApiTypes.BINARY},
        summary="Download a photo of a case",
    )
    def get(self, request: Request, number: str, photo_id: int) -> FileResponse:
        case = permissions.access_case_for_user(user=request.user, number=number)
        photo = CasePhoto.objects.filter(case=case, pk=photo_id).first()
        if photo is None:
            raise NotFoundError(
                _("No photo %(id)s of case %(number)s.") % {"id": photo_id, "number": number}
            )
        response = FileResponse(photo.image.open("rb"), content_type=photo.content_type)
        response["Cache-Control"] = "private, max-age=86400"
        return response
