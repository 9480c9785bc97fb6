"""The REST kit: what every app's ``api.py`` needs, so that no domain app imports the API face.

* **Who may call an endpoint**: views subclass :class:`ApiView` and declare the Django permissions a
  caller needs, ``read`` for GET/HEAD/OPTIONS and ``write`` for the other methods. ``()`` means any
  signed-in user (the service or selector decides); a method whose tuple is left ``None`` is
  refused to everyone. This is the one way endpoints declare it.
* **Input parsers**: :class:`FiniteFloatField` (no NaN, no ±inf), :func:`parse_bbox` with
  :class:`BBoxField` (API) and :class:`BBoxFormField` (pages), :class:`CrsField`, and
  :class:`PointIn` / :class:`OptionalPointIn` whose ``lng``/``lat`` come out in WGS-84 whatever the
  ``crs`` they were given in (converted by :mod:`wangge.lib.coords`).
* **Pagination**: :class:`PageQuery` (``limit``/``offset``), :func:`paginate`, :func:`page_of`.
* **Validation and errors**: :func:`validated`; :func:`error_status` and :func:`error_body` map
  :mod:`wangge.core.errors` to HTTP (the face's exception handler only wires them);
  ``ERROR_RESPONSES`` / ``WRITE_ERROR_RESPONSES`` document them on an operation.
* :class:`SharedConfigSerializer`, the cheaper field copies of the hot input serializers.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from wangge.core import errors
from wangge.lib.coords import Crs

# Who may call an endpoint ----------------------------------------------------------------------

Perms = tuple[str, ...]


class DeclaredPermissions(BasePermission):
    """Allows a signed-in user holding every permission the view declares for the method."""

    message = _("You do not have the permission to do this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not hasattr(view, request.method.lower()):
            return True  # the view answers 405 for a method it does not have
        names = view.required_permissions(request.method)
        return names is not None and user.has_perms(names)


class ApiView(APIView):
    # Permissions by method: ``read`` for the safe methods, ``write`` for the others (see the module
    # docstring). A comment, not a docstring: the schema shows a view's docstring as every
    # operation's description.

    read: Perms | None = None
    write: Perms | None = None
    permission_classes = [DeclaredPermissions]

    def required_permissions(self, method: str) -> Perms | None:
        return self.read if method in SAFE_METHODS else self.write


# Input parsers ---------------------------------------------------------------------------------


class FiniteFloatField(serializers.FloatField):
    """A float that is a number: ``NaN``, ``inf`` and ``-inf`` are refused as a field error."""

    default_error_messages = {"finite": _("A finite number is required.")}

    def to_internal_value(self, data: Any) -> float:
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("finite")
        return value


BBox = tuple[float, float, float, float]
BBOX_PARTS = ("minLng", "minLat", "maxLng", "maxLat")
_BBOX_LIMITS = (180.0, 90.0, 180.0, 90.0)


class BBoxError(ValueError):
    """A bounding box that cannot be used; the message names the part at fault."""


def parse_bbox(text: Any) -> BBox:
    """``minLng,minLat,maxLng,maxLat`` in WGS-84 degrees: four finite numbers, each in range, the
    minimum not above the maximum. Raises :class:`BBoxError` whose message names the bad part."""
    try:
        numbers = [float(part) for part in str(text).split(",")]
    except ValueError:
        numbers = []
    if len(numbers) != len(BBOX_PARTS):
        raise BBoxError(gettext("Give four numbers: minLng,minLat,maxLng,maxLat."))
    for name, value, limit in zip(BBOX_PARTS, numbers, _BBOX_LIMITS, strict=True):
        if not math.isfinite(value):
            raise BBoxError(gettext("%(part)s must be a finite number.") % {"part": name})
        if not -limit <= value <= limit:
            raise BBoxError(
                gettext("%(part)s must lie between %(low)s and %(high)s.")
                % {"part": name, "low": -int(limit), "high": int(limit)}
            )
    min_lng, min_lat, max_lng, max_lat = numbers
    for low, high, names in ((min_lng, max_lng, (0, 2)), (min_lat, max_lat, (1, 3))):
        if low > high:
            raise BBoxError(
                gettext("%(low)s must not exceed %(high)s.")
                % {"low": BBOX_PARTS[names[0]], "high": BBOX_PARTS[names[1]]}
            )
    return min_lng, min_lat, max_lng, max_lat


@extend_schema_field(OpenApiTypes.STR)
class BBoxField(serializers.Field):
    """``minLng,minLat,maxLng,maxLat`` in WGS-84 degrees (see :func:`parse_bbox`)."""

    def to_internal_value(self, data: Any) -> BBox:
        try:
            return parse_bbox(data)
        except BBoxError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None

    def to_representation(self, value: Any) -> str:
        return ",".join(str(v) for v in value)


class BBoxFormField(forms.CharField):
    """The same bounding box in a page's query form; empty is ``None``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> BBox | None:
        text = (super().clean(value) or "").strip()
        if not text:
            return None
        try:
            return parse_bbox(text)
        except BBoxError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


CRS_HELP = _("Coordinate system of lng/lat: wgs84 (GPS), gcj02 (AMap, WeChat), bd09 (Baidu).")


class CrsField(serializers.ChoiceField):
    """The coordinate system a point is given in; WGS-84 when left out."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default", Crs.WGS84.value)
        kwargs.setdefault("help_text", CRS_HELP)
        super().__init__(choices=[c.value for c in Crs], **kwargs)


class PointIn(serializers.Serializer):
    """A point: ``lng``/``lat`` in the coordinate system ``crs``, checked (finite, in range, both or
    neither) but not converted: the point goes on with its ``crs`` to
    ``regions.locate.locate_point``, the one place a coordinate becomes WGS-84 and a grid. Subclass
    it (or :class:`OptionalPointIn`) to give an input its point; a ``validate`` of the subclass calls
    ``super().validate(attrs)``."""

    lng = FiniteFloatField(min_value=-180, max_value=180, help_text=_("Longitude in degrees."))
    lat = FiniteFloatField(min_value=-90, max_value=90, help_text=_("Latitude in degrees."))
    crs = CrsField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        attrs.setdefault("crs", Crs.WGS84.value)
        has_lng, has_lat = attrs.get("lng") is not None, attrs.get("lat") is not None
        if has_lng != has_lat:
            missing = "lat" if has_lng else "lng"
            raise serializers.ValidationError({missing: [_("Give both lng and lat, or neither.")]})
        return attrs


class OptionalPointIn(PointIn):
    """A point that may be left out: both ``lng`` and ``lat``, or neither."""

    lng = FiniteFloatField(
        min_value=-180,
        max_value=180,
        required=False,
        allow_null=True,
        help_text=_("Longitude in degrees."),
    )
    lat = FiniteFloatField(
        min_value=-90,
        max_value=90,
        required=False,
        allow_null=True,
        help_text=_("Latitude in degrees."),
    )


# Pagination ------------------------------------------------------------------------------------

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# Offsets beyond what a 64-bit column can count are refused as input errors, not sent to the database.
MAX_OFFSET = 10**9
PAGE_KEYS = ("limit", "offset")


class PageQuery(serializers.Serializer):
    """``limit`` and ``offset`` of a list endpoint; subclass it with the list's filters."""

    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


def filters_of(query: Mapping[str, Any]) -> dict[str, Any]:
    """A validated list query without its page keys: the filters for the selector."""
    return {key: value for key, value in query.items() if key not in PAGE_KEYS}


def page_rows(rows: QuerySet[Any], query: Mapping[str, Any]) -> list[Any]:
    """The rows of the page ``query`` asks for."""
    offset = query["offset"]
    return list(rows[offset : offset + query["limit"]])


def paginate(
    rows: QuerySet[Any],
    query: Mapping[str, Any],
    out: type[serializers.BaseSerializer],
    context: dict[str, Any] | None = None,
) -> Response:
    """``{count, results}`` of one page of ``rows``, each serialized by ``out``."""
    page = page_rows(rows, query)
    return Response(
        {"count": rows.count(), "results": out(page, many=True, context=context or {}).data}
    )


def page_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """The schema of a page of ``item``: ``{count, results}``, named ``name``."""
    return type(
        name,
        (serializers.Serializer,),
        {"count": serializers.IntegerField(), "results": item(many=True)},
    )


# Validation and errors -------------------------------------------------------------------------


def validated(
    serializer_class: type[serializers.BaseSerializer], data: Any, *, partial: bool = False
) -> dict[str, Any]:
    """The validated data of ``data``; invalid input raises DRF's ``ValidationError`` (→ 400 with
    field errors)."""
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# The error answers an operation documents with its own wording (``schema.add_error_responses`` of
# the face adds the standard ones to every operation that names none).
ERROR_RESPONSES = {
    400: OpenApiResponse(description="Field errors: {detail, errors: {field: [messages]}}"),
    403: OpenApiResponse(description="The role lacks the permission."),
    404: OpenApiResponse(description="Missing, or outside the user's data scope."),
}
WRITE_ERROR_RESPONSES = {
    **ERROR_RESPONSES,
    409: OpenApiResponse(description="Changed meanwhile; reload."),
}

# Most specific first: a KeyReusedError is an InvalidInputError too.
_STATUS: tuple[tuple[type[errors.DomainError], int], ...] = (
    (errors.KeyReusedError, 422),
    (errors.NotFoundError, 404),
    (errors.PermissionDeniedError, 403),
    (errors.ConflictError, 409),
    (errors.InvalidInputError, 400),
)


def error_status(exc: errors.DomainError) -> int:
    """The HTTP status of a domain error."""
    return next((code for cls, code in _STATUS if isinstance(exc, cls)), 400)


def error_body(exc: errors.DomainError) -> dict[str, Any]:
    """``{detail}``, plus ``errors`` (field → messages) or ``current`` (the state a conflict met)."""
    body: dict[str, Any] = {"detail": exc.message}
    if isinstance(exc, errors.InvalidInputError) and exc.errors:
        body["errors"] = exc.errors
    if isinstance(exc, errors.ConflictError) and exc.current:
        body["current"] = exc.current
    return body


def validation_body(detail: Any) -> dict[str, Any]:
    """The body of a serializer's field errors: ``detail`` names the first bad field."""
    if isinstance(detail, dict):
        return {"detail": first_message(detail), "errors": detail}
    return {"detail": first_message(detail)}


def first_message(detail: Any) -> str:
    """A one-line summary naming the first bad field, e.g. "lng: A valid number is required."."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return first_message(detail[0])
    return str(detail) if detail else gettext("Invalid input.")


# Hot input serializers -------------------------------------------------------------------------


class SharedConfigSerializer(serializers.Serializer):
    """A serializer whose per-instance fields are shallow copies of the declared ones.

    DRF deep-copies every declared field for every instance, re-running each field's ``__init__``:
    for the dozen fields of a case report that is ≈ 0.4 ms, a tenth of the request. Plain input
    fields keep nothing after ``__init__`` except what ``bind`` sets on the copy (name, parent,
    source), so a shallow copy is enough. Do not use it with nested serializers or fields that
    change their own configuration later.
    """

    def get_fields(self) -> dict[str, Any]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}
