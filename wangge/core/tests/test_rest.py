"""The REST kit (wangge.core.rest): the endpoint permission helper, the input parsers, pagination,
the domain errors' HTTP mapping, and serializers sharing their declared fields' configuration."""

from __future__ import annotations

import itertools
import threading

import pytest
from django import forms
from django.contrib.auth.models import Permission
from django.utils import translation
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from wangge.core import errors
from wangge.core.models import Department, User
from wangge.core.rest import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ApiView,
    BBoxError,
    BBoxField,
    BBoxFormField,
    FiniteFloatField,
    OptionalPointIn,
    PageQuery,
    PointIn,
    SharedConfigSerializer,
    error_body,
    error_status,
    filters_of,
    page_of,
    paginate,
    parse_bbox,
    validated,
    validation_body,
)
from wangge.lib.coords import Crs, from_wgs84


class Report(SharedConfigSerializer):
    kind = serializers.ChoiceField(choices=["a", "b"])
    text = serializers.CharField(max_length=5)
    count = serializers.IntegerField(min_value=0, default=1)


def test_each_instance_binds_its_own_fields():
    first, second = Report(data={}), Report(data={})
    assert first.fields["kind"] is not second.fields["kind"]
    assert first.fields["kind"].parent is first
    assert second.fields["kind"].parent is second
    assert getattr(Report._declared_fields["kind"], "parent", None) is None


def test_errors_and_values_do_not_leak_between_instances():
    bad = Report(data={"kind": "c", "text": "toolong"})
    good = Report(data={"kind": "a", "text": "ok"})
    assert not bad.is_valid()
    assert good.is_valid(), good.errors
    assert set(bad.errors) == {"kind", "text"}
    assert good.validated_data == {"kind": "a", "text": "ok", "count": 1}
    again = Report(data={"kind": "b", "text": "fine", "count": 3})
    assert again.is_valid() and again.validated_data["count"] == 3


def test_threads_validating_at_once_each_get_their_own_answer():
    wrong: list[int] = []

    def validate(i: int) -> None:
        for _ in range(200):
            data = {"kind": "a", "text": "ok"} if i % 2 else {"kind": "x", "text": "far too long"}
            if Report(data=data).is_valid() != bool(i % 2):
                wrong.append(i)

    threads = [threading.Thread(target=validate, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


# Input parsers ---------------------------------------------------------------------------------


class Spot(PointIn):
    pass


class MaybeSpot(OptionalPointIn):
    pass


class Area(serializers.Serializer):
    bbox = BBoxField()


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_a_coordinate_that_is_not_a_finite_number_is_a_field_error(text):
    serializer = Spot(data={"lng": text, "lat": "39.9"})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"lng"}
    assert FiniteFloatField().to_internal_value("1.5") == 1.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("116.3,39.9,116.4", "Give four numbers: minLng,minLat,maxLng,maxLat."),
        ("116.3,39.9,x,40", "Give four numbers: minLng,minLat,maxLng,maxLat."),
        ("116.3,nan,116.4,40", "minLat must be a finite number."),
        ("-181,39.9,116.4,40", "minLng must lie between -180 and 180."),
        ("116.3,39.9,116.4,91", "maxLat must lie between -90 and 90."),
        ("116.5,39.9,116.4,40", "minLng must not exceed maxLng."),
        ("116.3,40.1,116.4,40", "minLat must not exceed maxLat."),
    ],
)
def test_a_bad_bounding_box_is_refused_naming_the_part_at_fault(text, message):
    serializer = Area(data={"bbox": text})
    assert not serializer.is_valid()
    assert serializer.errors["bbox"] == [message]
    with pytest.raises(BBoxError, match=message):
        parse_bbox(text)


def test_a_good_bounding_box_reads_as_four_numbers_on_the_api_and_on_pages():
    assert parse_bbox("116.3,39.9,116.4,40") == (116.3, 39.9, 116.4, 40.0)
    assert parse_bbox("-180,-90,180,90") == (-180.0, -90.0, 180.0, 90.0)
    field = BBoxFormField(required=False)
    assert field.clean(" 116.3,39.9,116.4,40 ") == (116.3, 39.9, 116.4, 40.0)
    assert field.clean("") is None
    with pytest.raises(forms.ValidationError, match="minLng must not exceed maxLng"):
        field.clean("116.5,39.9,116.4,40")


@pytest.mark.parametrize("crs", [Crs.GCJ02, Crs.BD09])
def test_a_point_keeps_its_coordinate_system_for_the_point_door(crs):
    """Converting is regions.locate.locate_point's alone (the one point door): the parser checks
    the point and hands it on as given, with its crs."""
    shown = from_wgs84(116.3912, 39.9066, crs)
    serializer = Spot(data={"lng": shown[0], "lat": shown[1], "crs": crs.value})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {"lng": shown[0], "lat": shown[1], "crs": crs.value}


def test_a_point_without_crs_is_wgs84_and_an_unknown_crs_is_a_field_error():
    plain = Spot(data={"lng": 116.39, "lat": 39.9})
    assert plain.is_valid() and (plain.validated_data["lng"], plain.validated_data["lat"]) == (
        116.39,
        39.9,
    )
    unknown = Spot(data={"lng": 116.39, "lat": 39.9, "crs": "mercator"})
    assert not unknown.is_valid() and set(unknown.errors) == {"crs"}


def test_an_optional_point_takes_both_coordinates_or_neither():
    assert MaybeSpot(data={}).is_valid()
    assert MaybeSpot(data={"lng": None, "lat": None}).is_valid()
    half = MaybeSpot(data={"lng": 116.39})
    assert not half.is_valid() and set(half.errors) == {"lat"}
    # A partial update (PATCH) gets no default crs: the point is still read as WGS-84.
    patch = MaybeSpot(data={"lng": 116.39, "lat": 39.9}, partial=True)
    assert patch.is_valid(), patch.errors
    assert patch.validated_data == {"lng": 116.39, "lat": 39.9, "crs": "wgs84"}


# Pagination ------------------------------------------------------------------------------------


def test_a_page_query_bounds_limit_and_offset():
    assert validated(PageQuery, {}) == {"limit": DEFAULT_LIMIT, "offset": 0}
    for bad in ({"limit": 0}, {"limit": MAX_LIMIT + 1}, {"offset": -1}, {"offset": 10**19}):
        with pytest.raises(drf_exceptions.ValidationError):
            validated(PageQuery, bad)
    assert filters_of({"limit": 5, "offset": 0, "q": "x"}) == {"q": "x"}


@pytest.mark.django_db
def test_paginate_answers_the_count_and_one_page_of_results():
    for code in ("a", "b", "c"):
        Department.objects.create(code=f"rest-{code}", name=code)
    rows = Department.objects.filter(code__startswith="rest-").order_by("code")

    class DepartmentOut(serializers.Serializer):
        code = serializers.CharField()

    response = paginate(rows, {"limit": 2, "offset": 1}, DepartmentOut)
    assert response.data == {"count": 3, "results": [{"code": "rest-b"}, {"code": "rest-c"}]}
    assert set(page_of(DepartmentOut, "DepartmentPageOut")().fields) == {"count", "results"}


# Errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidInputError("bad", {"f": ["bad"]}), 400),
        (errors.PermissionDeniedError("no"), 403),
        (errors.NotFoundError("gone"), 404),
        (errors.ConflictError("late", {"version": 3}), 409),
        (errors.KeyReusedError("again"), 422),
    ],
)
def test_each_domain_error_has_its_status_and_body(error, status):
    assert error_status(error) == status
    body = error_body(error)
    assert body["detail"] == error.message
    assert ("errors" in body) == (status == 400)
    assert ("current" in body) == (status == 409)


def test_field_errors_name_the_first_bad_field():
    assert validation_body({"lng": ["A finite number is required."]}) == {
        "detail": "lng: A finite number is required.",
        "errors": {"lng": ["A finite number is required."]},
    }
    assert validation_body({"non_field_errors": ["Both."]})["detail"] == "Both."
    assert validation_body(["Plain."]) == {"detail": "Plain."}


# Who may call an endpoint ----------------------------------------------------------------------


class Guarded(ApiView):
    read = ("cases.view_case", "regions.view_region")
    write = ("cases.add_case",)

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True})


class Undeclared(ApiView):
    def get(self, request):
        return Response({"ok": True})


_serial = itertools.count()


def _user_with(db, *names: str) -> User:
    user = User.objects.create_user(username=f"caller-{next(_serial)}")
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)  # a fresh object: no permission cache


def _call(view: type[ApiView], user: User | None, method: str = "get") -> int:
    request = getattr(APIRequestFactory(), method)("/api/v1/test/")
    if user is not None:
        force_authenticate(request, user=user)
    return view.as_view()(request).status_code


@pytest.mark.parametrize("missing", Guarded.read)
def test_a_caller_lacking_any_one_declared_permission_gets_403(db, missing):
    held = [name for name in Guarded.read if name != missing]
    assert _call(Guarded, _user_with(db, *held)) == 403


def test_a_caller_holding_every_declared_permission_may_call(db):
    assert _call(Guarded, _user_with(db, *Guarded.read)) == 200
    assert _call(Guarded, _user_with(db, *Guarded.write), "post") == 200
    # Read permissions do not open the writes, nor the other way round.
    assert _call(Guarded, _user_with(db, *Guarded.read), "post") == 403
    assert _call(Guarded, _user_with(db, *Guarded.write)) == 403


def test_nobody_may_call_a_method_whose_permissions_are_not_declared(db):
    assert _call(Undeclared, _user_with(db, "cases.view_case")) == 403
    user = _user_with(db, "cases.view_case")
    user.is_superuser = True
    assert _call(Undeclared, user) == 403


def test_an_anonymous_caller_is_refused_and_a_missing_method_is_405(db):
    assert _call(Guarded, None) in (401, 403)
    assert _call(Guarded, _user_with(db), "delete") == 405


def test_the_403_says_why_in_the_callers_language(db):
    request = APIRequestFactory().get("/api/v1/test/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    force_authenticate(request, user=_user_with(db))
    with translation.override("zh-hans"):
        response = Guarded.as_view()(request)
        assert response.status_code == 403
        assert str(response.data["detail"]) == "您无权执行此操作。"
