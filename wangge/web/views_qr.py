"""The QR page of a rented house (/q/<token>/) and the grid worker's pages around it.

- A signed-in user whose scope covers the house sees it and its tenants (masked); the visit is
  logged as a scan (the phone then sends its location, ``static/web/qr.js``). Anyone else signed
  in gets the same 404 as for an unknown code.
- A visitor without login gets the tenant self-registration form (CSRF-protected, rate-limited per
  client address in the shared cache). What he sends waits for approval; nothing enters the
  registry before.
- ``/m/self-registrations/``: the pending ones in the grid worker's scope, approve or reject.
- ``/registry/qr-labels/``: printable A4 label sheets; ``/registry/houses/<id>/ratings/``: the
  quarterly star rating fragment of a house page.

Thin views: rules and writes are in ``registry.qrcodes``, ``registry.selfregistration`` and
``registry.ratings``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from wangge.core.clientaddress import client_address
from wangge.core.errors import ConflictError, InvalidInputError, NotFoundError
from wangge.registry import permissions, qrcodes, ratings, selfregistration
from wangge.registry.models import House, Person

LABEL_LIMIT = 600  # labels on one printable page (about 29 sheets of 21)


def _personal(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Responses carry personal data: never stored by a browser or proxy."""
    view.personal_data = True  # type: ignore[attr-defined]
    return never_cache(view)


def _not_found() -> Http404:
    return Http404(_("No house with this code."))


# The tenant's form ------------------------------------------------------------------------------


class _NoEcho(forms.TextInput):
    """A text box that never sends the typed value back (an ID number on a shared phone)."""

    def format_value(self, value: Any) -> str | None:
        return None


class TenantForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=50)
    id_number = forms.CharField(
        label=gettext_lazy("ID number"),
        max_length=40,
        widget=_NoEcho(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Mobile phone"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    moved_in_on = forms.DateField(
        label=gettext_lazy("Moved in on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    wants_permit = forms.BooleanField(
        label=gettext_lazy("I would like to apply for a residence permit (居住证)"), required=False
    )


def _tenant_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        house = qrcodes.house_for_token(token)
    except NotFoundError:
        raise _not_found() from None
    if not house.rented:
        raise _not_found()
    context: dict[str, Any] = {"house": house, "label": qrcodes.house_label(house)}
    if request.method == "GET":
        context["sent"] = request.GET.get("sent") == "1"
        context["form"] = TenantForm()
        return render(request, "registry/qr_register.html", context)
    form = TenantForm(request.POST)
    context["form"] = form
    if not selfregistration.self_registration_attempt_allowed(client=client_address(request)):
        context["error"] = _("Too many registrations from this network; try again in an hour.")
        return render(request, "registry/qr_register.html", context, status=429)
    if not form.is_valid():
        return render(request, "registry/qr_register.html", context, status=400)
    data = form.cleaned_data
    try:
        selfregistration.self_registration_submit(
            house=house,
            details=selfregistration.TenantDetails(
                name=data["name"],
                id_number=data["id_number"],
                phone=data["phone"],
                moved_in_on=data["moved_in_on"],
                wants_permit=data["wants_permit"],
            ),
        )
    except InvalidInputError as exc:
        for field_name, field_messages in exc.errors.items():
            for message in field_messages:
                form.add_error(field_name if field_name in form.fields else None, message)
        return render(request, "registry/qr_register.html", context, status=400)
    except ConflictError as exc:
        context["error"] = exc.message
        return render(request, "registry/qr_register.html", context, status=409)
    except NotFoundError:
        raise _not_found() from None
    return redirect(reverse("web:qr-house", args=[house.qr_token]) + "?sent=1")


# The grid worker's view of the house -----------------------------------------------------------


def _worker_page(request: HttpRequest, token: str) -> HttpResponse:
    user = request.user
    if not permissions.can_view_house(user):
        raise _not_found()
    try:
        house = permissions.access_house_by_token_for_user(user=user, token=token)
    except NotFoundError:
        raise _not_found() from None
    if request.method != "GET":
        raise _not_found()
    scan = qrcodes.house_scan_log(house=house, user=user)
    sees_people = permissions.can_view_person(user)
    residents = list(
        house.residencies.filter(deregistered_at__isnull=True)
        .select_related("person")
        .order_by("relation", "moved_in_on", "id")
        if sees_people
        else []
    )
    today = timezone.localdate()
    context = {
        "house": house,
        "label": qrcodes.house_label(house),
        "scan": scan,
        "residents": [
            {
                "residency": r,
                "person": r.person,
                "current": r.is_current,
                "permit_valid": r.permit_valid_on(today),
                "floating": r.person.residency_type == Person.ResidencyType.FLOATING,
            }
            for r in residents
        ],
        "pending": list(selfregistration.self_registration_list(user=user, house=house.pk))
        if sees_people
        else [],
        "sees_people": sees_people,
        "recent_scans": qrcodes.house_scans(house=house, limit=5),
        "can_approve": permissions.can_register_person(user),
        **rating_context(request, house),
        "rating_next": request.path,
    }
    return render(request, "registry/qr_house.html", context)


@_personal
def house_qr_page(request: HttpRequest, token: str) -> HttpResponse:
    """/q/<token>/: the house for a signed-in user in scope, the tenant's form for a visitor."""
    if request.user.is_authenticated:
        return _worker_page(request, token)
    return _tenant_page(request, token)


@require_POST
@login_required
def house_qr_locate(request: HttpRequest, token: str) -> HttpResponse:
    """The phone's location for the scan just logged (sent by qr.js); 204 or 400/404."""
    try:
        permissions.access_house_by_token_for_user(user=request.user, token=token)
        qrcodes.house_scan_locate(
            scan_id=request.POST.get("scan"),
            user=request.user,
            lng=_number(request.POST.get("lng")),
            lat=_number(request.POST.get("lat")),
            accuracy_m=_number(request.POST.get("accuracy"), optional=True),
        )
    except NotFoundError:
        raise _not_found() from None
    except InvalidInputError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    return HttpResponse(status=204)


def _number(text: str | None, *, optional: bool = False) -> Any:
    if text in (None, "") and optional:
        return None
    try:
        return float(text or "nan")
    except ValueError:
        return float("nan")


# Pending self-registrations --------------------------------------------------------------------


@_personal
@login_required
@permission_required(("registry.add_person", "registry.add_residency"), raise_exception=True)
def self_registrations_page(request: HttpRequest) -> HttpResponse:
    """The pending self-registrations in my scope; approve or reject each."""
    user = request.user
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            row = permissions.access_self_registration_for_user(
                user=user, registration_id=request.POST.get("id")
            )
            if action == "approve":
                result = selfregistration.self_registration_approve(
                    registration=row,
                    residency_type=request.POST.get(
                        "residency_type", Person.ResidencyType.FLOATING
                    ),
                    has_id_copy=request.POST.get("has_id_copy") == "on",
                    actor=user,
                )
                messages.success(
                    request,
                    _("%(name)s is registered at %(house)s.")
                    % {"name": result.person.name, "house": qrcodes.house_label(row.house)},
                )
            elif action == "reject":
                selfregistration.self_registration_reject(
                    registration=row, reason=request.POST.get("reason", ""), actor=user
                )
                messages.info(request, _("The self-registration was rejected."))
            else:
                messages.error(request, _("Unknown action."))
        except NotFoundError as exc:
            raise Http404(exc.message) from None
        except (InvalidInputError, ConflictError) as exc:
            messages.error(request, exc.message)
        return redirect(reverse("web:mobile-self-registrations"))
    rows = list(selfregistration.self_registration_list(user=user)[:200])
    return render(
        request,
        "registry/qr_pending.html",
        {
            "rows": [{"row": row, "label": qrcodes.house_label(row.house)} for row in rows],
            "residency_types": Person.ResidencyType.choices,
        },
    )


# Label sheets ----------------------------------------------------------------------------------


class LabelForm(forms.Form):
    building = forms.IntegerField(required=False, min_value=1)
    region = forms.RegexField(r"^[0-9]{6,15}$", required=False)
    ids = forms.RegexField(r"^[0-9]+(,[0-9]+){0,599}$", required=False)
    columns = forms.IntegerField(required=False, min_value=1, max_value=4)
    rows = forms.IntegerField(required=False, min_value=1, max_value=10)


@_personal
@login_required
@permission_required("registry.view_house", raise_exception=True)
def qr_labels_page(request: HttpRequest) -> HttpResponse:
    """Every sheet of labels for a building, a grid or a selection, ready to print on A4."""
    form = LabelForm(request.GET)
    sheets: list[str] = []
    count = 0
    if form.is_valid() and any(form.cleaned_data.get(n) for n in ("building", "region", "ids")):
        data = form.cleaned_data
        ids = [int(i) for i in data["ids"].split(",")] if data.get("ids") else None
        houses = list(
            qrcodes.label_houses(
                user=request.user,
                building=data.get("building"),
                region=data.get("region") or None,
                ids=ids,
            )[:LABEL_LIMIT]
        )
        count = len(houses)
        layout = qrcodes.SheetLayout(columns=data.get("columns") or 3, rows=data.get("rows") or 7)
        base = request.build_absolute_uri("/")
        # The SVG is built from escaped text and numbers only (qrcodes._label_svg).
        sheets = [
            mark_safe(sheet.split("?>", 1)[1])  # noqa: S308
            for sheet in qrcodes.label_sheets(houses, base_url=base, layout=layout)
        ]
    return render(
        request,
        "registry/qr_labels.html",
        {"form": form, "sheets": sheets, "count": count, "limit": LABEL_LIMIT},
    )


# Star rating fragment --------------------------------------------------------------------------


def rating_context(request: HttpRequest, house: House) -> dict[str, Any]:
    """What ``registry/qr_ratings.html`` shows: history, this quarter's suggestion, the form."""
    today = timezone.localdate()
    year, quarter = ratings.quarter_of(today)
    history = list(ratings.house_ratings(house=house))
    rated_now = any(r.year == year and r.quarter == quarter for r in history)
    suggestion = None
    if house.rented and not rated_now:
        suggestion = ratings.rating_suggestion(house=house, year=year, quarter=quarter)
    return {
        "rating_house": house,
        "ratings": history,
        "suggestion": suggestion,
        "quarter_label": f"{year}Q{quarter}",
        "can_rate": house.rented and permissions.can_change_house(request.user),
    }


@_personal
@login_required
@permission_required("registry.view_house", raise_exception=True)
def house_ratings_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """The star-rating part of a house page: history, this quarter's suggestion, the form."""
    try:
        house = permissions.access_house_for_user(user=request.user, house_id=pk)
    except NotFoundError as exc:
        raise Http404(exc.message) from None
    error = ""
    status = 200
    if request.method == "POST":
        if not permissions.can_change_house(request.user):
            return HttpResponse(status=403)
        year, quarter = ratings.quarter_of(timezone.localdate())
        manual = {
            c.code: request.POST.get(f"manual_{c.code}") == "on"
            for c in ratings.rating_criteria()
            if c.rule == "manual"
        }
        stars_text = request.POST.get("stars", "")
        try:
            ratings.house_rate(
                house=house,
                year=year,
                quarter=quarter,
                manual=manual,
                stars=int(stars_text) if stars_text.isdigit() else None,
                reason=request.POST.get("reason", ""),
                actor=request.user,
            )
        except (InvalidInputError, ConflictError) as exc:
            error, status = exc.message, 400 if isinstance(exc, InvalidInputError) else 409
        else:
            back = request.POST.get("next", "")
            if back and url_has_allowed_host_and_scheme(
                back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return redirect(back)
    context = {
        **rating_context(request, house),
        "rating_error": error,
        "rating_next": request.POST.get("next", ""),
    }
    return render(request, "registry/qr_ratings.html", context, status=status)


__all__ = [
    "house_qr_locate",
    "house_qr_page",
    "house_ratings_fragment",
    "qr_labels_page",
    "rating_context",
    "self_registrations_page",
]
