"""REST endpoints of the registry: thin — validate, fetch through the scope, call one service or
selector, serialize. Personal numbers leave only masked, except from the audited unmask endpoint.

Objects named in a request body (a house, a grid, a household head) are fetched through the same
access functions as in the URL; one outside the scope is reported as a field error exactly like one
that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from wangge.core import pii
from wangge.core.errors import InvalidInputError, NotFoundError
from wangge.core.models import User
from wangge.core.rest import (
    ERROR_RESPONSES,
    WRITE_ERROR_RESPONSES,
    ApiView,
    filters_of,
    page_rows,
    paginate,
    validated,
)
from wangge.regions.models import Grid, Region
from wangge.regions.permissions import access_grid_for_user
from wangge.registry import lifecycle, permissions, quality, selectors, serializers, services
from wangge.registry.components import standard_attributes
from wangge.registry.models import Person, Residency


def _field(name: str, fetch: Callable[..., Any], **kwargs: Any) -> Any:
    """Fetch an object named in the body; not found (or out of scope) is an error on that field."""
    try:
        return fetch(**kwargs)
    except NotFoundError as exc:
        raise InvalidInputError(f"{name}: {exc.message}", {name: [exc.message]}) from None


def _grid(user: User, data: dict[str, Any], default_layer: str) -> Grid | None:
    code = data.pop("grid", None)
    layer = data.pop("layer", None) or default_layer
    if not code:
        return None
    return _field("grid", access_grid_for_user, user=user, layer=layer, code=code)


def _unit_grid(data: dict[str, Any]) -> Grid | None:
    """A component's unit grid, looked up without the scope: unit grids are numbered apart from
    the social grids users are scoped to, so the service checks the scope of the component's
    place instead (the social grid at its point)."""
    code = data.pop("grid", None)
    layer = data.pop("layer", None) or services.UNIT_LAYER
    if not code:
        return None
    grid = Grid.objects.filter(layer_id=layer, code=code).first()
    if grid is None:
        message = _("No %(layer)s grid with code %(code)s.") % {"layer": layer, "code": code}
        raise InvalidInputError(f"grid: {message}", {"grid": [message]})
    return grid


def _context() -> dict[str, Any]:
    return {"today": timezone.localdate()}


# Buildings --------------------------------------------------------------------------------------


class BuildingListApi(ApiView):
    read = ("registry.view_building",)
    write = ("registry.add_building",)

    @extend_schema(
        operation_id="buildings_list",
        parameters=[serializers.BuildingQuery],
        responses=serializers.BuildingPageOut,
        summary="Buildings in the user's data scope",
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.BuildingQuery, request.query_params)
        rows = selectors.building_list(
            user=request.user, region=query.get("region"), q=query.get("q")
        )
        return paginate(rows.select_related("grid"), query, serializers.BuildingOut)

    @extend_schema(
        operation_id="buildings_create",
        request=serializers.BuildingIn,
        responses={201: serializers.BuildingOut, **WRITE_ERROR_RESPONSES},
        summary="Register a building in a grid (given, or found from lng/lat)",
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.BuildingIn, request.data)
        grid = _grid(request.user, data, services.SOCIAL_LAYER)
        building = services.building_create(grid=grid, data=data, actor=request.user)
        return Response(serializers.BuildingOut(building).data, status=201)


class BuildingDetailApi(ApiView):
    read = ("registry.view_building",)
    write = ("registry.change_building",)

    @extend_schema(
        operation_id="buildings_retrieve",
        responses={200: serializers.BuildingOut, **ERROR_RESPONSES},
    )
    def get(self, request: Request, pk: int) -> Response:
        building = permissions.access_building_for_user(user=request.user, building_id=pk)
        return Response(serializers.BuildingOut(building).data)

    @extend_schema(
        operation_id="buildings_update",
        request=serializers.BuildingIn,
        responses={200: serializers.BuildingOut, **WRITE_ERROR_RESPONSES},
        summary="Change a building; a new grid moves its houses and residents with it",
    )
    def patch(self, request: Request, pk: int) -> Response:
        building = permissions.access_building_for_user(user=request.user, building_id=pk)
        data = validated(serializers.BuildingIn, request.data, partial=True)
        grid = _grid(request.user, data, services.SOCIAL_LAYER)
        building = services.building_update(
            building=building, changes=data, grid=grid, actor=request.user
        )
        return Response(serializers.BuildingOut(building).data)


# Houses -----------------------------------------------------------------------------------------


def _house_detail(house: Any) -> dict[str, Any]:
    house.residencies_open = list(
        house.residencies.filter(deregistered_at__isnull=True).select_related(
            "person", "house__building"
        )
    )
    house.households_all = list(
        house.households.select_related("head", "care_class", "house__building")
    )
    serializer = serializers.HouseDetailOut(house, context=_context())
    return serializer.data


class HouseListApi(ApiView):
    read = ("registry.view_house",)
    write = ("registry.add_house",)

    @extend_schema(
        operation_id="houses_list",
        parameters=[serializers.HouseQuery],
        responses=serializers.HousePageOut,
        summary="Houses in the user's data scope",
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.HouseQuery, request.query_params)
        rows = selectors.house_list(
            user=request.user,
            building=query.get("building"),
            rented=query.get("rented"),
            region=query.get("region"),
        )
        return paginate(rows, query, serializers.HouseOut)

    @extend_schema(
        operation_id="houses_create",
        request=serializers.HouseIn,
        responses={201: serializers.HouseDetailOut, **WRITE_ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.HouseIn, request.data)
        building = _field(
            "building",
            permissions.access_building_for_user,
            user=request.user,
            building_id=data.pop("building"),
        )
        house = services.house_create(building=building, data=data, actor=request.user)
        return Response(_house_detail(house), status=201)


class HouseDetailApi(ApiView):
    read = ("registry.view_house",)
    write = ("registry.change_house",)

    @extend_schema(
        operation_id="houses_retrieve",
        responses={200: serializers.HouseDetailOut, **ERROR_RESPONSES},
        summary="A house with its households and the residencies not deregistered",
    )
    def get(self, request: Request, pk: int) -> Response:
        house = permissions.access_house_for_user(user=request.user, house_id=pk)
        return Response(_house_detail(house))

    @extend_schema(
        operation_id="houses_update",
        request=serializers.HouseIn,
        responses={200: serializers.HouseDetailOut, **WRITE_ERROR_RESPONSES},
    )
    def patch(self, request: Request, pk: int) -> Response:
        house = permissions.access_house_for_user(user=request.user, house_id=pk)
        data = validated(serializers.HouseIn, request.data, partial=True)
        if "building" in data and data.pop("building") != house.building_id:
            message = _("A house does not change building.")
            raise InvalidInputError(f"building: {message}", {"building": [message]})
        house = services.house_update(house=house, changes=data, actor=request.user)
        return Response(_house_detail(house))


# Households -------------------------------------------------------------------------------------


def _household_detail(household: Any) -> dict[str, Any]:
    household.members_open = list(
        household.residencies.filter(deregistered_at__isnull=True).select_related(
            "person", "house__building"
        )
    )
    return serializers.HouseholdDetailOut(household, context=_context()).data


def _head(user: User, data: dict[str, Any]) -> dict[str, Any]:
    if "head" in data and data["head"] is not None:
        data["head"] = _field(
            "head", permissions.access_person_for_user, user=user, person_id=data["head"]
        )
    return data


class HouseholdListApi(ApiView):
    read = ("registry.view_household",)
    write = ("registry.add_household",)

    @extend_schema(
        operation_id="households_list",
        parameters=[serializers.HouseholdQuery],
        responses=serializers.HouseholdPageOut,
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.HouseholdQuery, request.query_params)
        rows = selectors.household_list(
            user=request.user, house=query.get("house"), region=query.get("region")
        )
        return paginate(rows, query, serializers.HouseholdOut)

    @extend_schema(
        operation_id="households_create",
        request=serializers.HouseholdIn,
        responses={201: serializers.HouseholdDetailOut, **WRITE_ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        data = _head(request.user, validated(serializers.HouseholdIn, request.data))
        house = _field(
            "house",
            permissions.access_house_for_user,
            user=request.user,
            house_id=data.pop("house"),
        )
        household = services.household_create(
            house=house, head=data.pop("head", None), data=data, actor=request.user
        )
        return Response(_household_detail(household), status=201)


class HouseholdDetailApi(ApiView):
    read = ("registry.view_household",)
    write = ("registry.change_household",)

    @extend_schema(
        operation_id="households_retrieve",
        responses={200: serializers.HouseholdDetailOut, **ERROR_RESPONSES},
    )
    def get(self, request: Request, pk: int) -> Response:
        household = permissions.access_household_for_user(user=request.user, household_id=pk)
        return Response(_household_detail(household))

    @extend_schema(
        operation_id="households_update",
        request=serializers.HouseholdIn,
        responses={200: serializers.HouseholdDetailOut, **WRITE_ERROR_RESPONSES},
    )
    def patch(self, request: Request, pk: int) -> Response:
        household = permissions.access_household_for_user(user=request.user, household_id=pk)
        data = _head(request.user, validated(serializers.HouseholdIn, request.data, partial=True))
        data.pop("house", None)
        household = services.household_update(household=household, changes=data, actor=request.user)
        return Response(_household_detail(household))


# People -----------------------------------------------------------------------------------------


def _person_detail(person: Person) -> dict[str, Any]:
    person.residency_rows = list(selectors.person_residencies(person=person))
    person.history_rows = selectors.person_history(person=person)
    return serializers.PersonDetailOut(person, context=_context()).data


def _move_in_refs(user: User, data: dict[str, Any]) -> dict[str, Any]:
    data["house"] = _field(
        "house", permissions.access_house_for_user, user=user, house_id=data["house"]
    )
    if data.get("household") is not None:
        data["household"] = _field(
            "household",
            permissions.access_household_for_user,
            user=user,
            household_id=data["household"],
        )
    return data


_MOVE_IN_KEYS = ("house", "relation", "household", "moved_in_on", "registered", "has_id_copy")


class PersonListApi(ApiView):
    read = ("registry.view_person",)
    write = ("registry.add_person", "registry.add_residency")

    @extend_schema(
        operation_id="people_list",
        parameters=[serializers.PersonQuery],
        responses=serializers.PersonPageOut,
        summary="People in the user's data scope, by name, last four of ID or phone, type, tag",
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.PersonQuery, request.query_params)
        filters = filters_of(query)
        rows = selectors.person_list(user=request.user, **filters).prefetch_related("tags")
        return paginate(rows, query, serializers.PersonOut, _context())

    @extend_schema(
        operation_id="people_register",
        request=serializers.PersonRegisterIn,
        responses={
            201: serializers.RegistrationOut,
            200: serializers.RegistrationOut,
            **WRITE_ERROR_RESPONSES,
        },
        summary="Register a person at a house; a known ID number adds a residency to that person",
    )
    def post(self, request: Request) -> Response:
        data = _move_in_refs(request.user, validated(serializers.PersonRegisterIn, request.data))
        move_in = {key: data.pop(key) for key in _MOVE_IN_KEYS if key in data}
        details = lifecycle.PersonDetails(**data)
        registration = lifecycle.person_register(details=details, actor=request.user, **move_in)
        body = serializers.RegistrationOut(
            {
                "created": registration.created,
                "person": registration.person,
                "residency": registration.residency,
            },
            context=_context(),
        ).data
        return Response(body, status=201 if registration.created else 200)


class PersonSearchApi(ApiView):
    read = ("registry.view_person",)
    write = ("registry.view_person",)

    @extend_schema(
        operation_id="people_search",
        request=serializers.PersonSearchIn,
        responses={200: serializers.PersonPageOut, 400: ERROR_RESPONSES[400]},
        summary="People with exactly this ID or phone number (POST: numbers stay out of URLs)",
    )
    def post(self, request: Request) -> Response:
        query = validated(serializers.PersonSearchIn, request.data)
        rows = selectors.person_find(
            user=request.user,
            id_number=query.get("id_number", ""),
            phone=query.get("phone", ""),
        ).prefetch_related("tags")
        return paginate(rows, query, serializers.PersonOut, _context())


class PersonDetailApi(ApiView):
    read = ("registry.view_person",)
    write = ("registry.change_person",)

    @extend_schema(
        operation_id="people_retrieve",
        responses={200: serializers.PersonDetailOut, **ERROR_RESPONSES},
        summary="A person with residencies and history (numbers masked)",
    )
    def get(self, request: Request, pk: int) -> Response:
        person = permissions.access_person_for_user(user=request.user, person_id=pk)
        return Response(_person_detail(person))

    @extend_schema(
        operation_id="people_update",
        request=serializers.PersonUpdateIn,
        responses={200: serializers.PersonDetailOut, **WRITE_ERROR_RESPONSES},
        summary="Correct a person's details (an ID number another record has: merge instead)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        user = request.user
        person = permissions.access_person_for_user(user=user, person_id=pk)
        changes = validated(serializers.PersonUpdateIn, request.data, partial=True)

        def visible(other: int) -> bool:
            return selectors.person_list(user=user).filter(pk=other).exists()

        person = lifecycle.person_update(
            person=person, changes=changes, actor=user, other_visible=visible
        )
        return Response(_person_detail(person))


class PersonUnmaskApi(ApiView):
    read = ("registry.view_person",)
    write = ("registry.view_person",)

    @extend_schema(
        operation_id="people_unmask",
        request=serializers.UnmaskIn,
        responses={200: serializers.UnmaskOut, **ERROR_RESPONSES},
        summary="The full ID or phone number, for a stated reason (permission unmask_person; "
        "audited)",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = validated(serializers.UnmaskIn, request.data)
        person = permissions.access_person_for_user(user=request.user, person_id=pk)
        if data["field"] == "phone":
            token, purpose = person.phone_encrypted, pii.PURPOSE_PHONE
        else:
            token, purpose = person.id_number_encrypted, pii.PURPOSE_RESIDENT_ID
        value = pii.unseal_for_user(
            token,
            purpose=purpose,
            actor=request.user,
            reason=data["reason"],
            subject_type="registry.person",
            subject_id=person.pk,
            permission="registry.unmask_person",
        )
        response = Response({"field": data["field"], "value": value})
        response["Cache-Control"] = "no-store"
        return response


class PersonMoveInApi(ApiView):
    write = ("registry.add_residency",)

    @extend_schema(
        operation_id="people_move_in",
        request=serializers.MoveInIn,
        responses={201: serializers.ResidencyOut, **WRITE_ERROR_RESPONSES},
        summary="The person moves into (or starts to own) another house",
    )
    def post(self, request: Request, pk: int) -> Response:
        person = permissions.access_person_for_user(user=request.user, person_id=pk)
        data = _move_in_refs(request.user, validated(serializers.MoveInIn, request.data))
        residency = lifecycle.residency_move_in(person=person, actor=request.user, **data)
        return Response(serializers.ResidencyOut(residency, context=_context()).data, status=201)


class PersonResidencyTypeApi(ApiView):
    write = ("registry.change_person",)

    @extend_schema(
        operation_id="people_change_residency_type",
        request=serializers.ResidencyTypeIn,
        responses={200: serializers.PersonOut, **WRITE_ERROR_RESPONSES},
        summary="Change 户籍 / 常住 / 流动",
    )
    def post(self, request: Request, pk: int) -> Response:
        person = permissions.access_person_for_user(user=request.user, person_id=pk)
        data = validated(serializers.ResidencyTypeIn, request.data)
        person = lifecycle.person_change_residency_type(person=person, actor=request.user, **data)
        return Response(serializers.PersonOut(person, context=_context()).data)


class PersonMergeApi(ApiView):
    write = ("registry.change_person", "registry.change_residency")

    @extend_schema(
        operation_id="people_merge",
        request=serializers.MergeIn,
        responses={200: serializers.PersonDetailOut, **WRITE_ERROR_RESPONSES},
        summary="Merge a duplicate record into this one, keeping both histories",
    )
    def post(self, request: Request, pk: int) -> Response:
        survivor = permissions.access_person_for_user(user=request.user, person_id=pk)
        data = validated(serializers.MergeIn, request.data)
        duplicate = _field(
            "duplicate",
            permissions.access_person_for_user,
            user=request.user,
            person_id=data["duplicate"],
        )
        person = lifecycle.person_merge(
            survivor=survivor, duplicate=duplicate, reason=data["reason"], actor=request.user
        )
        return Response(_person_detail(person))


# Residencies ------------------------------------------------------------------------------------


def _residency(residency: Residency) -> dict[str, Any]:
    return serializers.ResidencyOut(residency, context=_context()).data


class ResidencyDetailApi(ApiView):
    read = ("registry.view_residency",)
    write = ("registry.change_residency",)

    @extend_schema(
        operation_id="residencies_retrieve",
        responses={200: serializers.ResidencyOut, **ERROR_RESPONSES},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            _residency(permissions.access_residency_for_user(user=request.user, residency_id=pk))
        )

    @extend_schema(
        operation_id="residencies_update",
        request=serializers.ResidencyUpdateIn,
        responses={200: serializers.ResidencyOut, **WRITE_ERROR_RESPONSES},
        summary="Correct the relation, household or ID-copy flag",
    )
    def patch(self, request: Request, pk: int) -> Response:
        residency = permissions.access_residency_for_user(user=request.user, residency_id=pk)
        data = validated(serializers.ResidencyUpdateIn, request.data, partial=True)
        if data.get("household") is not None:
            data["household"] = _field(
                "household",
                permissions.access_household_for_user,
                user=request.user,
                household_id=data["household"],
            )
        residency = lifecycle.residency_update(
            residency=residency, changes=data, actor=request.user
        )
        return Response(_residency(residency))


class ResidencyRegisterApi(ApiView):
    write = ("registry.change_residency",)

    @extend_schema(
        operation_id="residencies_register",
        request=None,
        responses={200: serializers.ResidencyOut, **WRITE_ERROR_RESPONSES},
        summary="Complete the registration of a reported move-in",
    )
    def post(self, request: Request, pk: int) -> Response:
        residency = permissions.access_residency_for_user(user=request.user, residency_id=pk)
        return Response(
            _residency(lifecycle.residency_register(residency=residency, actor=request.user))
        )


class ResidencyMoveOutApi(ApiView):
    write = ("registry.change_residency",)

    @extend_schema(
        operation_id="residencies_move_out",
        request=serializers.MoveOutIn,
        responses={200: serializers.ResidencyOut, **WRITE_ERROR_RESPONSES},
        summary="Record the day the person left the house",
    )
    def post(self, request: Request, pk: int) -> Response:
        residency = permissions.access_residency_for_user(user=request.user, residency_id=pk)
        data = validated(serializers.MoveOutIn, request.data)
        residency = lifecycle.residency_move_out(residency=residency, actor=request.user, **data)
        return Response(_residency(residency))


class ResidencyDeregisterApi(ApiView):
    write = ("registry.change_residency",)

    @extend_schema(
        operation_id="residencies_deregister",
        request=serializers.DeregisterIn,
        responses={200: serializers.ResidencyOut, **WRITE_ERROR_RESPONSES},
        summary="Deregister (注销) a residency",
    )
    def post(self, request: Request, pk: int) -> Response:
        residency = permissions.access_residency_for_user(user=request.user, residency_id=pk)
        data = validated(serializers.DeregisterIn, request.data)
        residency = lifecycle.residency_deregister(
            residency=residency,
            reason=data["deregistration_reason"],
            moved_out_on=data.get("moved_out_on"),
            note=data["note"],
            actor=request.user,
        )
        return Response(_residency(residency))


class ResidencyPermitApi(ApiView):
    write = ("registry.change_residency",)

    @extend_schema(
        operation_id="residencies_issue_permit",
        request=serializers.PermitIn,
        responses={200: serializers.ResidencyOut, **WRITE_ERROR_RESPONSES},
        summary="Record a residence permit (居住证) issued",
    )
    def post(self, request: Request, pk: int) -> Response:
        residency = permissions.access_residency_for_user(user=request.user, residency_id=pk)
        data = validated(serializers.PermitIn, request.data)
        residency = lifecycle.residency_issue_permit(
            residency=residency, actor=request.user, **data
        )
        return Response(_residency(residency))


class ResidencyPermitRenewApi(ApiView):
    write = ("registry.change_residency",)

    @extend_schema(
        operation_id="residencies_renew_permit",
        request=serializers.PermitRenewIn,
        responses={200: serializers.ResidencyOut, **WRITE_ERROR_RESPONSES},
        summary="Extend a residence permit (签注)",
    )
    def post(self, request: Request, pk: int) -> Response:
        residency = permissions.access_residency_for_user(user=request.user, residency_id=pk)
        data = validated(serializers.PermitRenewIn, request.data)
        residency = lifecycle.residency_renew_permit(
            residency=residency, actor=request.user, **data
        )
        return Response(_residency(residency))


# Organizations and components --------------------------------------------------------------------


class OrganizationListApi(ApiView):
    read = ("registry.view_organization",)
    write = ("registry.add_organization",)

    @extend_schema(
        operation_id="organizations_list",
        parameters=[serializers.OrganizationQuery],
        responses=serializers.OrganizationPageOut,
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.OrganizationQuery, request.query_params)
        filters = filters_of(query)
        return paginate(
            selectors.organization_list(user=request.user, **filters),
            query,
            serializers.OrganizationOut,
        )

    @extend_schema(
        operation_id="organizations_create",
        request=serializers.OrganizationIn,
        responses={201: serializers.OrganizationOut, **WRITE_ERROR_RESPONSES},
        summary="Register an organization (grid from its building, the grid given, or lng/lat)",
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.OrganizationIn, request.data)
        grid = _grid(request.user, data, services.SOCIAL_LAYER)
        building = None
        if data.get("building") is not None:
            building = _field(
                "building",
                permissions.access_building_for_user,
                user=request.user,
                building_id=data["building"],
            )
        data.pop("building", None)
        organization = services.organization_create(
            grid=grid, building=building, data=data, actor=request.user
        )
        return Response(serializers.OrganizationOut(organization).data, status=201)


class OrganizationDetailApi(ApiView):
    read = ("registry.view_organization",)
    write = ("registry.change_organization",)

    @extend_schema(
        operation_id="organizations_retrieve",
        responses={200: serializers.OrganizationOut, **ERROR_RESPONSES},
    )
    def get(self, request: Request, pk: int) -> Response:
        organization = permissions.access_organization_for_user(
            user=request.user, organization_id=pk
        )
        return Response(serializers.OrganizationOut(organization).data)

    @extend_schema(
        operation_id="organizations_update",
        request=serializers.OrganizationIn,
        responses={200: serializers.OrganizationOut, **WRITE_ERROR_RESPONSES},
    )
    def patch(self, request: Request, pk: int) -> Response:
        organization = permissions.access_organization_for_user(
            user=request.user, organization_id=pk
        )
        data = validated(serializers.OrganizationIn, request.data, partial=True)
        grid = _grid(request.user, data, services.SOCIAL_LAYER)
        data.pop("building", None)
        organization = services.organization_update(
            organization=organization, changes=data, grid=grid, actor=request.user
        )
        return Response(serializers.OrganizationOut(organization).data)


def _component_detail(component: Any) -> dict[str, Any]:
    code = component.region_code
    names = dict(Region.objects.filter(code__in=[code[:9], code[:12]]).values_list("code", "name"))
    component.standard_attributes = standard_attributes(component, names)
    return serializers.ComponentDetailOut(component).data


class ComponentListApi(ApiView):
    read = ("registry.view_component",)
    write = ("registry.add_component",)

    @extend_schema(
        operation_id="components_list",
        parameters=[serializers.ComponentQuery],
        responses=serializers.ComponentPageOut,
        summary="City components in the user's data scope",
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.ComponentQuery, request.query_params)
        filters = filters_of(query)
        return paginate(
            selectors.component_list(user=request.user, **filters),
            query,
            serializers.ComponentOut,
        )

    @extend_schema(
        operation_id="components_create",
        request=serializers.ComponentIn,
        responses={201: serializers.ComponentDetailOut, **WRITE_ERROR_RESPONSES},
        summary="Register a component (unit grid given, or found from lng/lat)",
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.ComponentIn, request.data)
        grid = _unit_grid(data)
        component = services.component_create(grid=grid, data=data, actor=request.user)
        return Response(_component_detail(component), status=201)


class ComponentDetailApi(ApiView):
    read = ("registry.view_component",)
    write = ("registry.change_component",)

    @extend_schema(
        operation_id="components_retrieve",
        responses={200: serializers.ComponentDetailOut, **ERROR_RESPONSES},
        summary="A component with its 18 GB/T 47678.5 attributes",
    )
    def get(self, request: Request, pk: int) -> Response:
        component = permissions.access_component_for_user(user=request.user, component_id=pk)
        return Response(_component_detail(component))

    @extend_schema(
        operation_id="components_update",
        request=serializers.ComponentIn,
        responses={200: serializers.ComponentDetailOut, **WRITE_ERROR_RESPONSES},
    )
    def patch(self, request: Request, pk: int) -> Response:
        component = permissions.access_component_for_user(user=request.user, component_id=pk)
        data = validated(serializers.ComponentIn, request.data, partial=True)
        grid = _unit_grid(data)
        component = services.component_update(
            component=component, changes=data, grid=grid, actor=request.user
        )
        return Response(_component_detail(component))


# Configuration and data quality -----------------------------------------------------------------


class TagListApi(ApiView):
    read = ("registry.view_tag",)

    @extend_schema(operation_id="person_tags_list", responses=serializers.TagOut(many=True))
    def get(self, request: Request) -> Response:
        return Response(serializers.TagOut(selectors.tag_list(), many=True).data)


class CareClassListApi(ApiView):
    read = ("registry.view_careclass",)

    @extend_schema(operation_id="care_classes_list", responses=serializers.CareClassOut(many=True))
    def get(self, request: Request) -> Response:
        return Response(serializers.CareClassOut(selectors.care_class_list(), many=True).data)


class DataQualityApi(ApiView):
    read = ("registry.view_data_quality",)

    @extend_schema(
        operation_id="registry_data_quality",
        parameters=[serializers.QualityQuery],
        responses=serializers.QualityOut,
        summary="Data-quality figures (篇9) per grid or per grid worker",
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.QualityQuery, request.query_params)
        report = quality.quality_report(
            user=request.user,
            by=query["by"],
            today=query.get("on"),
            since=query.get("since"),
            until=query.get("until"),
            region=query.get("region"),
        )
        return Response(serializers.QualityOut(report.as_dict()).data)


def _flagged_row(row: Model) -> dict[str, Any]:
    if isinstance(row, Residency):
        return {
            "person": row.person_id,
            "person_name": row.person.name,
            "id_number_masked": row.person.id_number_masked,
            "residency": row.pk,
            "house": row.house_id,
            "house_label": str(row.house),
            "moved_in_on": row.moved_in_on,
            "moved_out_on": row.moved_out_on,
            "registered_at": row.registered_at,
            "grid_code": row.region_code,
        }
    assert isinstance(row, Person)  # noqa: S101
    return {
        "person": row.pk,
        "person_name": row.name,
        "id_number_masked": row.id_number_masked,
        "residency": None,
        "house": None,
        "house_label": None,
        "moved_in_on": None,
        "moved_out_on": None,
        "registered_at": None,
        "grid_code": row.region_code,
    }


class DataQualityFlagApi(ApiView):
    read = ("registry.view_data_quality", "registry.view_person")

    @extend_schema(
        operation_id="registry_data_quality_flagged",
        parameters=[
            OpenApiParameter("flag", str, OpenApiParameter.PATH, enum=serializers.FLAG_CHOICES),
            serializers.QualityFlagQuery,
        ],
        responses={200: serializers.FlaggedPageOut, 404: ERROR_RESPONSES[404]},
        summary="The records one data-quality rule flags",
    )
    def get(self, request: Request, flag: str) -> Response:
        if flag not in serializers.FLAG_CHOICES:
            raise NotFoundError(_("No data-quality rule %(flag)s.") % {"flag": flag})
        query = validated(serializers.QualityFlagQuery, request.query_params)
        rows = quality.flagged(
            user=request.user,
            flag=flag,
            today=query.get("on"),
            since=query.get("since"),
            until=query.get("until"),
            region=query.get("region"),
        )
        if flag not in quality.PERSON_FLAGS:
            rows = rows.select_related("person", "house__building")
        page = [_flagged_row(row) for row in page_rows(rows, query)]
        body = {"count": rows.count(), "results": page}
        return Response(serializers.FlaggedPageOut(body).data)
