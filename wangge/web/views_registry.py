"""The registry pages (/registry/): grid → buildings → houses → households → people, search,
person, house and organization pages with their history, and the components on a map.

Thin views over ``registry.selectors``: every object is fetched through an ``access_<thing>_for_user``
function or a scoped list, so something outside the user's grids answers 404 exactly like something
missing. Numbers are shown masked; the full number comes only from the audited unmask service
(``pii.unseal_for_user``: permission, reason, audit row), on a page sent with ``no-store``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from wangge.core import pii
from wangge.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from wangge.core.models import User
from wangge.core.rest import BBoxFormField
from wangge.regions.models import Grid
from wangge.regions.permissions import access_grid_for_user
from wangge.regions.selectors import ancestors_of, grid_list
from wangge.registry import permissions, selectors
from wangge.registry.models import Component, Household, Person, PersonEvent, Residency
from wangge.web.views_qr import rating_context

PAGE_SIZE = 50
SEARCH_LIMIT = 50
MAP_LIMIT = 20_000  # components in one answer of the map's GeoJSON
SOCIAL = "social"

ACTION_LABELS = dict(PersonEvent.Action.choices)
RELATION_LABELS = dict(Residency.Relation.choices)
REASON_LABELS = dict(Residency.DeregistrationReason.choices)
PERMIT_LABELS = dict(Residency.PermitStatus.choices)
STATUS_LABELS = dict(Component.Status.choices)
PHOTO_CHANGES = {  # lifecycle.person_photo_set / person_photo_clear
    "added": pgettext_lazy("photo change", "added"),
    "replaced": pgettext_lazy("photo change", "replaced"),
    "removed": pgettext_lazy("photo change", "removed"),
}


def _page_view(*permissions: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., Any]]:
    """Signed in (else the login page) and holding the permissions (else 403)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., Any]:
        return login_required(permission_required(permissions, raise_exception=True)(view))

    return decorate


def _found(fetch: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return fetch(**kwargs)
    except NotFoundError:
        raise Http404 from None


def _page(request: HttpRequest, rows: Any) -> Any:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _trail(code: str) -> list[Any]:
    """District, street and community above a grid code, for the breadcrumb."""
    return ancestors_of(code)


# Grids and places ----------------------------------------------------------------------------------


@_page_view("registry.view_building")
def registry_home(request: HttpRequest) -> HttpResponse:
    """The social grids in the user's scope, with their buildings; the search form on top."""
    grids = (
        grid_list(user=request.user, layer=SOCIAL)
        .select_related("community")
        .defer("boundary_wkb")
        .order_by("code")
    )
    page = _page(request, grids)
    codes = [grid.code for grid in page.object_list]
    buildings = dict(
        selectors.building_list(user=request.user)
        .filter(region_code__in=codes)
        .order_by()
        .values_list("region_code")
        .annotate(n=Count("id"))
    )
    rows = [{"grid": grid, "buildings": buildings.get(grid.code, 0)} for grid in page.object_list]
    return render(
        request,
        "registry/home.html",
        {"page": page, "rows": rows, "form": SearchForm(), "can_see_people": _people_ok(request)},
    )


@_page_view("registry.view_building")
def grid_page(request: HttpRequest, code: str) -> HttpResponse:
    grid = _found(access_grid_for_user, user=request.user, layer=SOCIAL, code=code)
    buildings = (
        selectors.building_list(user=request.user)
        .filter(region_code=grid.code)
        .annotate(house_count=Count("houses"))
    )
    page = _page(request, buildings)
    return render(
        request,
        "registry/grid.html",
        {"grid": grid, "trail": _trail(grid.code), "page": page},
    )


@_page_view("registry.view_building")
def building_page(request: HttpRequest, pk: int) -> HttpResponse:
    building = _found(permissions.access_building_for_user, user=request.user, building_id=pk)
    living = Q(residencies__moved_out_on__isnull=True, residencies__deregistered_at__isnull=True)
    houses = selectors.house_list(user=request.user, building=building.pk).annotate(
        household_count=Count("households", distinct=True),
        resident_count=Count("residencies", filter=living, distinct=True),
    )
    page = _page(request, houses)
    organizations = selectors.organization_list(user=request.user).filter(building=building)
    return render(
        request,
        "registry/building.html",
        {
            "building": building,
            "grid": _grid_of(building.region_code),
            "trail": _trail(building.region_code),
            "page": page,
            "organizations": organizations[:100],
            "can_see_people": _people_ok(request),
        },
    )


def _grid_of(code: str) -> Grid | None:
    return Grid.objects.filter(layer_id=SOCIAL, code=code).defer("boundary_wkb").first()


def _people_ok(request: HttpRequest) -> bool:
    return permissions.can_view_person(request.user)


@_page_view("registry.view_house", "registry.view_person")
def house_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A house: its building, households with their members, residents now and before."""
    house = _found(permissions.access_house_for_user, user=request.user, house_id=pk)
    residencies = list(
        Residency.objects.filter(house=house)
        .select_related("person", "household")
        .order_by("deregistered_at", "moved_out_on", "-moved_in_on", "-id")
    )
    visible = set(
        selectors.person_list(user=request.user, include_merged=True)
        .filter(pk__in={r.person_id for r in residencies})
        .values_list("pk", flat=True)
    )
    current = [r for r in residencies if r.is_current]
    past = [r for r in residencies if not r.is_current]
    households = []
    for household in selectors.household_list(user=request.user, house=house.pk):
        members = [r for r in current if r.household_id == household.pk]
        households.append({"household": household, "members": members})
    rating: dict[str, Any] = {}
    if house.rented:
        rating = {**rating_context(request, house), "rating_next": request.path}
    response = render(
        request,
        "registry/house.html",
        {
            **rating,
            "house": house,
            "building": house.building,
            "trail": _trail(house.region_code),
            "households": households,
            "current": current,
            "past": past,
            "visible": visible,
            "relation_labels": RELATION_LABELS,
            "reason_labels": REASON_LABELS,
            "can_register": permissions.can_register_person(request.user),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@_page_view("registry.view_household", "registry.view_person")
def household_page(request: HttpRequest, pk: int) -> HttpResponse:
    household: Household = _found(
        permissions.access_household_for_user, user=request.user, household_id=pk
    )
    members = list(
        Residency.objects.filter(household=household)
        .select_related("person")
        .order_by("deregistered_at", "moved_out_on", "id")
    )
    visible = set(
        selectors.person_list(user=request.user, include_merged=True)
        .filter(pk__in={r.person_id for r in members})
        .values_list("pk", flat=True)
    )
    return render(
        request,
        "registry/household.html",
        {
            "household": household,
            "house": household.house,
            "trail": _trail(household.region_code),
            "members": members,
            "visible": visible,
            "today": timezone.localdate(),
        },
    )


# People ------------------------------------------------------------------------------------------


class UnmaskForm(forms.Form):
    field = forms.ChoiceField(
        choices=[
            ("id_number", gettext_lazy("ID number")),
            ("phone", gettext_lazy("Phone")),
        ]
    )
    reason = forms.CharField(max_length=pii.MAX_REASON_LENGTH, required=False)


@_page_view("registry.view_person")
def person_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A person: masked numbers, tags and care class, where he lives and lived, his history.

    A POST asks for one full number (permission, reason, audit row: ``pii.unseal_for_user``).
    """
    person: Person = _found(permissions.access_person_for_user, user=request.user, person_id=pk)
    status = 200
    unmasked: dict[str, str] = {}
    unmask_errors: dict[str, list[str]] = {}
    form = UnmaskForm()
    if request.method == "POST":
        form = UnmaskForm(request.POST)
        if form.is_valid():
            field = form.cleaned_data["field"]
            token, purpose = (
                (person.phone_encrypted, pii.PURPOSE_PHONE)
                if field == "phone"
                else (person.id_number_encrypted, pii.PURPOSE_RESIDENT_ID)
            )
            try:
                unmasked[field] = pii.unseal_for_user(
                    token,
                    purpose=purpose,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    subject_type="registry.person",
                    subject_id=person.pk,
                    permission="registry.unmask_person",
                )
            except PermissionDeniedError as exc:
                unmask_errors = {"__all__": [exc.message]}
                status = 403
            except InvalidInputError as exc:
                unmask_errors = exc.errors or {"__all__": [exc.message]}
                status = 400
        else:
            unmask_errors = {name: list(errors) for name, errors in form.errors.items()}
            status = 400
    residencies = list(selectors.person_residencies(person=person))
    households = {r.household_id for r in residencies if r.is_current and r.household_id}
    care_classes = sorted(
        {
            h.care_class
            for h in Household.objects.filter(pk__in=households).select_related("care_class")
            if h.care_class
        },
        key=lambda c: c.level,
    )
    response = render(
        request,
        "registry/person.html",
        {
            "person": person,
            "trail": _trail(person.region_code),
            "tags": list(person.tags.select_related("care_class")),
            "care_class": care_classes[0] if care_classes else None,
            "residencies": residencies,
            "events": [_event_row(event) for event in selectors.person_history(person=person)],
            "age": person.age_on(timezone.localdate()),
            "can_unmask": permissions.can_unmask_person(request.user),
            "unmask_form": form,
            "unmasked": unmasked,
            "unmask_errors": unmask_errors,
            "relation_labels": RELATION_LABELS,
            "reason_labels": REASON_LABELS,
            "permit_labels": PERMIT_LABELS,
            "today": timezone.localdate(),
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def _event_row(event: PersonEvent) -> dict[str, Any]:
    details = event.details or {}
    shown = []
    for key, value in details.items():
        if value in (None, "", False):
            continue
        if key == "relation":
            shown.append((_("Relation"), str(RELATION_LABELS.get(value, value))))
        elif key == "moved_in_on":
            shown.append((_("Moved in on"), str(value)))
        elif key == "moved_out_on":
            shown.append((_("Moved out on"), str(value)))
        elif key == "reason":
            shown.append((_("Reason"), str(REASON_LABELS.get(value, value))))
        elif key == "permit_number":
            shown.append((_("Residence permit"), str(value)))
        elif key == "expires_on":
            shown.append((_("Valid until"), str(value)))
        elif key in ("from", "to"):
            shown.append((_("From") if key == "from" else _("To"), str(value)))
        elif key == "photo":
            shown.append((_("Photo"), str(PHOTO_CHANGES.get(value, value))))
    actor = event.actor
    return {
        "event": event,
        "label": str(ACTION_LABELS.get(event.action, event.action)),
        "actor": (actor.get_full_name() or actor.username) if actor else _("System"),
        "details": shown,
    }


# Search --------------------------------------------------------------------------------------------


class SearchForm(forms.Form):
    name = forms.CharField(required=False, max_length=50, label=gettext_lazy("Name"))
    id_suffix = forms.RegexField(
        r"^[0-9]{3}[0-9Xx]$",
        required=False,
        label=gettext_lazy("Last four of the ID number"),
        error_messages={"invalid": gettext_lazy("Give the last four characters, e.g. 002X.")},
    )
    phone = forms.CharField(required=False, max_length=20, label=gettext_lazy("Phone number"))
    address = forms.CharField(required=False, max_length=100, label=gettext_lazy("Address"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not any((data.get(name) or "").strip() for name in self.fields):
            raise forms.ValidationError(_("Fill in at least one field."))
        return data


@_page_view("registry.view_building")
def search_page(request: HttpRequest) -> HttpResponse:
    """Search by name, the last four of the ID number, a full phone number or an address.

    The form is posted, so a phone number never appears in a URL (or a server log); a GET with
    ``name``, ``id_suffix`` or ``address`` works too, for links.
    """
    data = request.POST if request.method == "POST" else request.GET.copy()
    if request.method != "POST" and hasattr(data, "pop"):
        data.pop("phone", None)
    form = SearchForm(data) if data or request.method == "POST" else SearchForm()
    context: dict[str, Any] = {"form": form, "searched": False}
    status = 200
    if form.is_bound:
        if form.is_valid():
            context.update(_search(request.user, form.cleaned_data))
            context["searched"] = True
        else:
            status = 400
    response = render(request, "registry/search.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _search(user: User, data: dict[str, Any]) -> dict[str, Any]:
    name = data.get("name", "").strip()
    suffix = data.get("id_suffix", "").strip().upper()
    phone = data.get("phone", "").strip()
    address = data.get("address", "").strip()
    found: dict[str, Any] = {"people": [], "buildings": [], "organizations": []}
    if permissions.can_view_person(user) and (name or suffix or phone):
        if phone:
            people = selectors.person_find(user=user, phone=phone)
            if name:
                people = people.filter(name__contains=name)
            if suffix:
                people = people.filter(id_number_suffix=suffix)
        else:
            people = selectors.person_list(user=user, name=name or None, id_suffix=suffix or None)
        found["people"] = list(people[:SEARCH_LIMIT])
    if address or (name and not (suffix or phone)):
        text = address or name
        if permissions.can_view_building(user) and address:
            found["buildings"] = list(selectors.building_list(user=user, q=text)[:SEARCH_LIMIT])
        if permissions.can_view_organization(user):
            found["organizations"] = list(
                selectors.organization_list(user=user, q=text)[:SEARCH_LIMIT]
            )
    found["limit"] = SEARCH_LIMIT
    return found


# Organizations --------------------------------------------------------------------------------------


@_page_view("registry.view_organization")
def organization_page(request: HttpRequest, pk: int) -> HttpResponse:
    organization = _found(
        permissions.access_organization_for_user, user=request.user, organization_id=pk
    )
    return render(
        request,
        "registry/organization.html",
        {
            "organization": organization,
            "trail": _trail(organization.region_code),
            "grid": _grid_of(organization.region_code),
        },
    )


# Components on the map ------------------------------------------------------------------------------


class ComponentQueryForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", ""), *Component.Status.choices])
    class_code = forms.RegexField(r"^[0-9]{2,5}$", required=False)
    bbox = BBoxFormField(required=False)


@_page_view("registry.view_component")
def components_map(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "registry/components_map.html",
        {
            "tile_url": settings.WANGGE_TILE_URL,
            "tile_attribution": settings.WANGGE_TILE_ATTRIBUTION,
            "tile_subdomains": settings.WANGGE_TILE_SUBDOMAINS,
            "statuses": Component.Status.choices,
            "limit": MAP_LIMIT,
            "i18n": {
                "shown": _("%(count)s components shown."),
                "truncated": _("More are in this area: zoom in to see them all."),
                "failed": _("The components could not be loaded."),
            },
        },
    )


@_page_view("registry.view_component")
def components_geojson(request: HttpRequest) -> JsonResponse:
    """Components in the user's scope (and bbox, status, class) as a GeoJSON FeatureCollection."""
    form = ComponentQueryForm(request.GET)
    if not form.is_valid():
        return JsonResponse(
            {"detail": _("Invalid query."), "errors": form.errors.get_json_data()}, status=400
        )
    components = selectors.component_list(
        user=request.user,
        status=form.cleaned_data["status"] or None,
        class_code=form.cleaned_data["class_code"] or None,
    ).filter(lng__isnull=False, lat__isnull=False)
    if bbox := form.cleaned_data["bbox"]:
        west, south, east, north = bbox
        components = components.filter(lng__gte=west, lng__lte=east, lat__gte=south, lat__lte=north)
    rows = list(
        components.select_related(None)
        .order_by("component_id")
        .values_list("pk", "component_id", "name", "status", "lng", "lat")[: MAP_LIMIT + 1]
    )
    features = [
        {
            "type": "Feature",
            "id": pk,
            "geometry": {"type": "Point", "coordinates": [lng, lat]},
            "properties": {
                "component_id": component_id,
                "name": name,
                "status": status,
                "status_label": str(STATUS_LABELS.get(status, status)),
            },
        }
        for pk, component_id, name, status, lng, lat in rows[:MAP_LIMIT]
    ]
    return JsonResponse(
        {"type": "FeatureCollection", "features": features, "truncated": len(rows) > MAP_LIMIT},
        content_type="application/geo+json",
    )
