"""The resident lifecycle as forms on the registry pages: register someone at a house (a known ID
number adds a residency to that person: he moves in), complete a reported registration, record the
move-out, deregister, the person's tags and photo.

Each view fetches its object through the scope (404 like missing), needs the same permissions as the
matching API endpoint (403 without), and calls the lifecycle service, which checks the rules, seals
ID and phone numbers and writes the person's history and the audit row. The Django form only reads
the typed values; the service's field errors come back onto the same fields. A valid POST redirects
(POST + redirect + GET); an invalid one renders the form again with every message, status 400
(409 when the record changed meanwhile), and nothing is written.

The photo is personal data: it is never a public /media/ URL, only ``person_photo_file``, which
fetches the person through the scope and answers ``no-store``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wangge.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from wangge.lib.images import FORMATS
from wangge.registry import lifecycle, moves, permissions, selectors
from wangge.registry.models import House, Person, Residency, Tag
from wangge.registry.qrcodes import house_label
from wangge.web.views_registry import _found, _page_view, _trail

# Permissions of the matching API endpoints (registry/api.py).
REGISTER_PERMISSIONS = ("registry.add_person", "registry.add_residency")  # POST /people/
RESIDENCY_PERMISSIONS = ("registry.change_residency",)  # POST /residencies/{id}/…
PERSON_PERMISSIONS = ("registry.change_person",)  # PATCH /people/{id}/


class _NoEcho(forms.TextInput):
    """A text box that never sends the typed value back: an ID number is typed again after an
    error rather than kept in the page."""

    def format_value(self, value: Any) -> str | None:
        return None


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _tag_field() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        label=gettext_lazy("Tags"),
        queryset=selectors.tag_list(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class RegisterForm(forms.Form):
    """What ``lifecycle.person_register`` takes. Names, numbers and dates are checked by the service
    (so all its messages come at once); this form only reads them."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, required=False)
    id_type = forms.ChoiceField(
        label=gettext_lazy("Document type"),
        choices=Person.IdType.choices,
        initial=Person.IdType.RESIDENT_ID,
    )
    id_number = forms.CharField(
        label=gettext_lazy("ID number"),
        max_length=40,
        required=False,
        widget=_NoEcho(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=gettext_lazy(
            "An ID number already in the registry adds this house to that person (he moves in)."
        ),
    )
    phone = forms.CharField(
        label=gettext_lazy("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    residency_type = forms.ChoiceField(
        label=gettext_lazy("Residency type"), choices=Person.ResidencyType.choices
    )
    relation = forms.ChoiceField(
        label=gettext_lazy("Relation"),
        choices=Residency.Relation.choices,
        initial=Residency.Relation.FAMILY,
    )
    household = forms.ModelChoiceField(
        label=gettext_lazy("Household"), queryset=None, required=False
    )
    moved_in_on = forms.DateField(
        label=gettext_lazy("Moved in on"), required=False, widget=_date_input()
    )
    registered = forms.BooleanField(
        label=gettext_lazy("Registered now (untick for a reported move-in to register later)"),
        required=False,
        initial=True,
    )
    has_id_copy = forms.BooleanField(label=gettext_lazy("ID copy on file"), required=False)
    sex = forms.ChoiceField(
        label=gettext_lazy("Sex"),
        choices=[("", "—"), *Person.Sex.choices],
        required=False,
        help_text=gettext_lazy("Only without a resident ID: the ID number gives sex and birth."),
    )
    birth_date = forms.DateField(
        label=gettext_lazy("Birth date"), required=False, widget=_date_input()
    )
    ethnicity = forms.CharField(label=gettext_lazy("Ethnic group"), max_length=20, required=False)
    hukou_address = forms.CharField(
        label=gettext_lazy("Household registration"), max_length=200, required=False
    )
    occupation = forms.CharField(label=gettext_lazy("Occupation"), max_length=50, required=False)
    workplace = forms.CharField(
        label=gettext_lazy("Workplace / school"), max_length=100, required=False
    )

    def __init__(self, *args: Any, house: House, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["household"].queryset = house.households.order_by("number", "id")
        self.fields["household"].empty_label = "—"
        self.fields["tags"] = _tag_field()


class MoveOutForm(forms.Form):
    moved_out_on = forms.DateField(label=gettext_lazy("Moved out on"), widget=_date_input())


class DeregisterForm(forms.Form):
    reason = forms.ChoiceField(
        label=gettext_lazy("Reason"),
        choices=[
            choice
            for choice in Residency.DeregistrationReason.choices
            if choice[0] != Residency.DeregistrationReason.MERGED
        ],
    )
    moved_out_on = forms.DateField(
        label=gettext_lazy("Moved out on"),
        required=False,
        widget=_date_input(),
        help_text=gettext_lazy("Needed for moving away and death, unless already recorded."),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


MOVE_CHOICES_LIMIT = 500  # houses offered as the new address (those of the community in scope)


class MoveForm(forms.Form):
    to_house = forms.TypedChoiceField(label=gettext_lazy("New house"), coerce=int)
    moved_on = forms.DateField(label=gettext_lazy("Moved on"), widget=_date_input())
    relation = forms.ChoiceField(
        label=gettext_lazy("Relation"),
        choices=[("", gettext_lazy("As before")), *Residency.Relation.choices],
        required=False,
    )

    def __init__(self, *args: Any, houses: list[House], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_house"].choices = [("", "—")] + [
            (house.pk, house_label(house)) for house in houses
        ]


class PhotoForm(forms.Form):
    """The upload only; the service checks that it is an image and cleans it."""

    photo = forms.FileField(
        label=gettext_lazy("Photo"),
        widget=forms.FileInput(
            # The grid worker photographs the resident: the phone's back camera.
            attrs={"accept": "image/*", "capture": "environment"}
        ),
        help_text=gettext_lazy(
            "JPEG, PNG or WebP. The position and camera details in the file are removed."
        ),
        error_messages={"required": gettext_lazy("Choose a photo or take one.")},
    )


class TagsForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tags"] = _tag_field()


def _apply_errors(form: forms.Form, exc: InvalidInputError) -> None:
    """Put the service's messages on the form's fields (others above the form)."""
    errors = exc.errors or {"__all__": [exc.message]}
    for name, field_messages in errors.items():
        for message in field_messages:
            form.add_error(name if name in form.fields else None, message)


def _run(
    request: HttpRequest,
    form: forms.Form,
    action: Callable[[dict[str, Any]], str],
    context: dict[str, Any],
    success_url: str,
    template: str = "registry/form_page.html",
) -> HttpResponse:
    """Validate, call the service, redirect with its message; or the form again, with the errors."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                done = action(form.cleaned_data)
            except InvalidInputError as exc:
                _apply_errors(form, exc)
                status = 400
            except ConflictError as exc:
                form.add_error(None, exc.message)
                status = 409
            else:
                messages.success(request, done)
                return redirect(success_url)
        else:
            status = 400
    response = render(request, template, {"form": form, **context}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _house_name(house: House) -> str:
    return house_label(house)


# Register at a house -------------------------------------------------------------------------------


@_page_view(*REGISTER_PERMISSIONS, "registry.view_house")
@require_http_methods(["GET", "POST"])
def person_register_page(request: HttpRequest, pk: int) -> HttpResponse:
    house = _found(permissions.access_house_for_user, user=request.user, house_id=pk)
    form = RegisterForm(request.POST or None, house=house)
    house_url = reverse("web:registry-house", args=[house.pk])

    def register(data: dict[str, Any]) -> str:
        details = lifecycle.PersonDetails(
            name=data["name"],
            residency_type=data["residency_type"],
            id_type=data["id_type"],
            id_number=data["id_number"],
            phone=data["phone"],
            sex=data["sex"],
            birth_date=data["birth_date"],
            ethnicity=data["ethnicity"],
            hukou_address=data["hukou_address"],
            occupation=data["occupation"],
            workplace=data["workplace"],
            tags=list(data["tags"]),
        )
        registration = lifecycle.person_register(
            details=details,
            house=house,
            relation=data["relation"],
            household=data["household"],
            moved_in_on=data["moved_in_on"],
            registered=data["registered"],
            has_id_copy=data["has_id_copy"],
            actor=request.user,
        )
        name = registration.person.name
        if registration.created:
            return _("%(name)s is registered at this house.") % {"name": name}
        return _("%(name)s was already in the registry and now lives in this house too.") % {
            "name": name
        }

    context = {
        "title": _("Register a resident"),
        "subject": _house_name(house),
        "trail": _trail(house.region_code),
        "back_url": house_url,
        "submit_label": _("Register"),
        "intro": _(
            "Enter what the resident's ID card says. Numbers are stored sealed and shown masked."
        ),
    }
    return _run(request, form, register, context, house_url)


# Residencies --------------------------------------------------------------------------------------


def _residency(request: HttpRequest, pk: int) -> Residency:
    return _found(permissions.access_residency_for_user, user=request.user, residency_id=pk)


def _residency_context(residency: Residency, title: str, submit: str) -> dict[str, Any]:
    person_url = reverse("web:registry-person", args=[residency.person_id])
    return {
        "title": title,
        "subject": f"{residency.person.name} · {_house_name(residency.house)}",
        "trail": _trail(residency.region_code),
        "back_url": person_url,
        "submit_label": submit,
    }


@_page_view(*RESIDENCY_PERMISSIONS, "registry.view_person")
@require_http_methods(["GET", "POST"])
def residency_move_out_page(request: HttpRequest, pk: int) -> HttpResponse:
    residency = _residency(request, pk)
    form = MoveOutForm(request.POST or None)

    def move_out(data: dict[str, Any]) -> str:
        lifecycle.residency_move_out(
            residency=residency, moved_out_on=data["moved_out_on"], actor=request.user
        )
        return _("The move-out is recorded. Deregister the residency when it is confirmed.")

    context = _residency_context(residency, _("Record the move-out"), _("Record"))
    return _run(request, form, move_out, context, context["back_url"])


@_page_view(*RESIDENCY_PERMISSIONS, "registry.view_person")
@require_http_methods(["GET", "POST"])
def residency_deregister_page(request: HttpRequest, pk: int) -> HttpResponse:
    residency = _residency(request, pk)
    form = DeregisterForm(request.POST or None)

    def deregister(data: dict[str, Any]) -> str:
        lifecycle.residency_deregister(
            residency=residency,
            reason=data["reason"],
            moved_out_on=data["moved_out_on"],
            note=data["note"],
            actor=request.user,
        )
        return _("The residency is deregistered.")

    context = _residency_context(residency, _("Deregister (注销)"), _("Deregister"))
    return _run(request, form, deregister, context, context["back_url"])


@_page_view(*RESIDENCY_PERMISSIONS, "registry.view_person")
@require_POST
def residency_register_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Complete a reported move-in's registration (补登): one button on the person page."""
    residency = _residency(request, pk)
    try:
        lifecycle.residency_register(residency=residency, actor=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The registration is completed."))
    return redirect(reverse("web:registry-person", args=[residency.person_id]))


@_page_view(*permissions.MOVE_PERMISSIONS, "registry.view_person")
@require_http_methods(["GET", "POST"])
def residency_move_page(request: HttpRequest, pk: int) -> HttpResponse:
    """搬迁: the person leaves this house for another one in the user's scope, in one step
    (``moves.resident_move``: deregistered here as moved away, moved in there)."""
    residency = _residency(request, pk)
    houses = list(
        selectors.house_list(user=request.user, region=residency.region_code[:-3]).exclude(
            pk=residency.house_id
        )[:MOVE_CHOICES_LIMIT]
    )
    form = MoveForm(request.POST or None, houses=houses)

    def move(data: dict[str, Any]) -> str:
        try:
            done = moves.resident_move(
                residency_id=residency.pk,
                to_house_id=data["to_house"],
                moved_on=data["moved_on"],
                relation=data["relation"] or None,
                actor=request.user,
            )
        except (NotFoundError, PermissionDeniedError) as exc:
            raise InvalidInputError(exc.message, {"to_house": [exc.message]}) from None
        return _("%(name)s now lives at %(house)s.") % {
            "name": residency.person.name,
            "house": house_label(done.new.house),
        }

    context = _residency_context(residency, _("Move to another house"), _("Move"))
    return _run(request, form, move, context, context["back_url"])


# Tags ---------------------------------------------------------------------------------------------


@_page_view(*PERSON_PERMISSIONS, "registry.view_person")
@require_http_methods(["GET", "POST"])
def person_tags_page(request: HttpRequest, pk: int) -> HttpResponse:
    person: Person = _found(permissions.access_person_for_user, user=request.user, person_id=pk)
    current: list[Tag] = list(person.tags.all())
    form = TagsForm(request.POST or None, initial={"tags": current})
    person_url = reverse("web:registry-person", args=[person.pk])

    def set_tags(data: dict[str, Any]) -> str:
        lifecycle.person_update(
            person=person, changes={"tags": list(data["tags"])}, actor=request.user
        )
        return _("The tags are saved.")

    context = {
        "title": _("Tags"),
        "subject": person.name,
        "trail": _trail(person.region_code),
        "back_url": person_url,
        "submit_label": _("Save"),
        "intro": _("Tags decide the household's care class and how often it is visited."),
    }
    return _run(request, form, set_tags, context, person_url)


# Photo --------------------------------------------------------------------------------------------

PHOTO_CONTENT_TYPES = {extension: content_type for content_type, extension in FORMATS.values()}


def _person(request: HttpRequest, pk: int) -> Person:
    return _found(permissions.access_person_for_user, user=request.user, person_id=pk)


@_page_view(*PERSON_PERMISSIONS, "registry.view_person")
@require_http_methods(["GET", "POST"])
def person_photo_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Take or choose the person's photo; it replaces the current one."""
    person = _person(request, pk)
    # Bound on every POST: a post without a file (and so without other fields) is an error too.
    form = PhotoForm(request.POST, request.FILES) if request.method == "POST" else PhotoForm()
    person_url = reverse("web:registry-person", args=[person.pk])

    def set_photo(data: dict[str, Any]) -> str:
        try:
            lifecycle.person_photo_set(person=person, stream=data["photo"], actor=request.user)
        finally:
            data["photo"].close()
        return _("The photo is saved.")

    context = {
        "title": _("Photo"),
        "subject": person.name,
        "person": person,
        "photo_url": (
            reverse("web:registry-person-photo-file", args=[person.pk]) if person.photo else ""
        ),
        "trail": _trail(person.region_code),
        "back_url": person_url,
        "submit_label": _("Save the photo"),
        "intro": _("A recent photo of the face, taken from the front in good light."),
    }
    return _run(request, form, set_photo, context, person_url, "registry/person_photo.html")


@_page_view(*PERSON_PERMISSIONS, "registry.view_person")
@require_POST
def person_photo_clear_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove the photo (one button on the photo page)."""
    person = _person(request, pk)
    try:
        lifecycle.person_photo_clear(person=person, actor=request.user)
    except InvalidInputError as exc:
        messages.error(request, exc.errors.get("photo", [exc.message])[0])
    except ConflictError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The photo is removed."))
    return redirect(reverse("web:registry-person", args=[person.pk]))


@_page_view("registry.view_person")
@require_GET
def person_photo_file(request: HttpRequest, pk: int) -> FileResponse:
    """The person's photo, for whoever may see the person (never a public file, never cached)."""
    person = _person(request, pk)
    if not person.photo:
        raise Http404
    extension = person.photo.name.rsplit(".", 1)[-1].lower()
    try:
        stream = person.photo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        stream, content_type=PHOTO_CONTENT_TYPES.get(extension, "application/octet-stream")
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
