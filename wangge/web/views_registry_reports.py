"""Registry reports as pages: data quality (篇9) and the QR scan rate of rented houses.

Both read the same functions as the API (``registry.quality``, ``registry.qrcodes``), inside the
user's data scope, and need ``registry.view_data_quality`` like the API. The records behind a
data-quality figure are listed only for users who may see people (``registry.view_person``), as
``GET /api/v1/registry/data-quality/{flag}/`` does: the assessor sees figures, not the people behind
them (docs/registry.md, Roles).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.core.errors import InvalidInputError
from wangge.core.models import User
from wangge.regions.models import Region
from wangge.regions.selectors import grid_list
from wangge.registry import permissions as registry_permissions
from wangge.registry import qrcodes, quality
from wangge.registry.models import Person, Residency
from wangge.web.views_registry import SOCIAL, _page_view

PAGE_SIZE = 50
SCAN_TARGET = 0.95  # 篇9: every rented house scanned at least once a month, 95 % at least

# Column headings (short) and the rule each flag stands for (long), with the thresholds of 篇9.
FLAG_SHORT = {
    quality.Flag.UNREGISTERED: gettext_lazy("Not registered > 2 days"),
    quality.Flag.UNREGISTERED_LONG: gettext_lazy("Not registered > 30 days"),
    quality.Flag.LATE_REGISTRATION: gettext_lazy("Registered late"),
    quality.Flag.NOT_DEREGISTERED: gettext_lazy("Not deregistered > 3 days"),
    quality.Flag.NOT_DEREGISTERED_LONG: gettext_lazy("Not deregistered > 30 days"),
    quality.Flag.LATE_DEREGISTRATION: gettext_lazy("Deregistered late"),
    quality.Flag.DUPLICATE: gettext_lazy("Possible duplicates"),
    quality.Flag.MISSING_PHOTO: gettext_lazy("No photo"),
    quality.Flag.NO_PERMIT: gettext_lazy("No residence permit"),
    quality.Flag.RENTAL_INCOMPLETE: gettext_lazy("Rental papers incomplete"),
}
FLAG_RULES = {
    quality.Flag.UNREGISTERED: gettext_lazy(
        "Floating residents whose move-in was reported more than 2 days ago and who are not "
        "registered yet."
    ),
    quality.Flag.UNREGISTERED_LONG: gettext_lazy(
        "Floating residents not registered more than 30 days after moving in."
    ),
    quality.Flag.LATE_REGISTRATION: gettext_lazy(
        "Floating residents registered in the period more than 2 days after moving in."
    ),
    quality.Flag.NOT_DEREGISTERED: gettext_lazy(
        "Residents who moved out more than 3 days ago and are not deregistered."
    ),
    quality.Flag.NOT_DEREGISTERED_LONG: gettext_lazy(
        "Residents who moved out more than 30 days ago and are not deregistered."
    ),
    quality.Flag.LATE_DEREGISTRATION: gettext_lazy(
        "Residencies deregistered in the period more than 3 days after moving out."
    ),
    quality.Flag.DUPLICATE: gettext_lazy(
        "People with the same name and birth date as another record, at most one of the two "
        "with an ID number."
    ),
    quality.Flag.MISSING_PHOTO: gettext_lazy(
        "Current residents aged 2 or more (or of unknown age) without a photo."
    ),
    quality.Flag.NO_PERMIT: gettext_lazy("Floating residents without a valid residence permit."),
    quality.Flag.RENTAL_INCOMPLETE: gettext_lazy(
        "Tenants of rented houses missing the lease, the responsibility letter, the filing form, "
        "the ID copy or the photo."
    ),
}


def _paged(request: HttpRequest, rows: Any, param: str) -> Any:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get(param))


def _query_without(request: HttpRequest, *names: str) -> str:
    """The current query string without the given parameters, to build page links on."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _grid_choices(user: User) -> list[tuple[str, str]]:
    grids = grid_list(user=user, layer=SOCIAL).defer("boundary_wkb").values_list("code", "name")
    return [(code, f"{name} · {code}") for code, name in grids]


class PeriodForm(forms.Form):
    since = forms.DateField(
        label=gettext_lazy("Period from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=gettext_lazy("Period to"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("since", _("The period starts after it ends."))
        if until and until > timezone.localdate():
            self.add_error("until", _("The period cannot end in the future."))
        return data


class QualityFilterForm(PeriodForm):
    grid = forms.ChoiceField(label=gettext_lazy("Grid"), required=False)
    flag = forms.ChoiceField(label=gettext_lazy("Rule"), required=False)

    field_order = ["grid", "flag", "since", "until"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].choices = [("", _("All my grids")), *_grid_choices(user)]
        self.fields["flag"].choices = [
            ("", _("All rules")),
            *((flag.value, str(label)) for flag, label in FLAG_SHORT.items()),
        ]


def _with_period(data: dict[str, Any]) -> dict[str, Any]:
    """An end without a start: the period is that month up to the end (as the API's default)."""
    if data.get("until") and not data.get("since"):
        data = {**data, "since": data["until"].replace(day=1)}
    return data


def _flagged_row(row: Model) -> dict[str, Any]:
    """One flagged record as the page shows it: masked number, links to the person and house."""
    if isinstance(row, Residency):
        return {
            "person": row.person,
            "house": row.house,
            "residency": row,
            "grid_code": row.region_code,
        }
    assert isinstance(row, Person)  # noqa: S101
    return {"person": row, "house": None, "residency": None, "grid_code": row.region_code}


@_page_view("registry.view_data_quality")
def quality_page(request: HttpRequest) -> HttpResponse:
    """Totals per rule, per grid (with its workers) and per grid worker; the flagged records of
    one rule for the roles that may see people."""
    user = request.user
    form = QualityFilterForm(request.GET or None, user=user)
    context: dict[str, Any] = {"form": form, "flag_short": list(FLAG_SHORT.items())}
    if form.is_bound and not form.is_valid():
        return render(request, "registry/quality.html", context, status=400)
    data = _with_period(form.cleaned_data if form.is_bound else {})
    region = data.get("grid") or None
    flag = data.get("flag") or ""
    report = quality.quality_report(
        user=user, by="grid", since=data.get("since"), until=data.get("until"), region=region
    )
    workers = quality.grid_workers(user, region)
    worker_rows = quality.worker_rows(report.rows, workers)
    workers_of = {
        row.code: [area.worker for area in workers if area.covers(row.code)] for row in report.rows
    }
    flags = [f.value for f in FLAG_SHORT]
    totals = {name: sum(row.counts.get(name, 0) for row in report.rows) for name in flags}
    grid_page = _paged(request, report.rows, "page")
    context.update(
        {
            "report": report,
            "flag": flag,
            "flag_rule": FLAG_RULES.get(quality.Flag(flag)) if flag else "",
            "flag_label": FLAG_SHORT.get(quality.Flag(flag)) if flag else "",
            "totals": [(f, FLAG_SHORT[quality.Flag(f)], totals[f]) for f in flags],
            "grid_rows": [
                {
                    "row": row,
                    "workers": workers_of.get(row.code, []),
                    "cells": [row.counts.get(f, 0) for f in flags],
                }
                for row in grid_page.object_list
            ],
            "grid_page": grid_page,
            "worker_rows": [
                {"row": row, "cells": [row.counts.get(f, 0) for f in flags]} for row in worker_rows
            ],
            "sees_people": registry_permissions.can_view_person(user),
            "query_grids": _query_without(request, "page"),
            "query_records": _query_without(request, "rpage"),
            "filter_query": _query_without(request, "page", "rpage", "flag"),
        }
    )
    if flag and context["sees_people"]:
        rows = quality.flagged(
            user=user, flag=flag, since=data.get("since"), until=data.get("until"), region=region
        )
        if flag in quality.PERSON_FLAGS:
            rows = rows.select_related(None)
        else:
            rows = rows.select_related("person", "house__building")
        records = _paged(request, rows, "rpage")
        context["records_page"] = records
        context["records"] = [_flagged_row(row) for row in records.object_list]
    response = render(request, "registry/quality.html", context)
    response["Cache-Control"] = "no-store"
    return response


# QR scan rate ------------------------------------------------------------------------------------


class ScanFilterForm(PeriodForm):
    community = forms.ChoiceField(label=gettext_lazy("Community"), required=False)

    field_order = ["community", "since", "until"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        communities = (
            grid_list(user=user, layer=SOCIAL)
            .order_by("community__code")
            .values_list("community__code", "community__name")
            .distinct()
        )
        self.fields["community"].choices = [
            ("", _("All my communities")),
            *((code, f"{name} · {code}") for code, name in communities),
        ]


def _rate_row(code: str, name: str, rented: int, scanned: int) -> dict[str, Any]:
    rate = scanned / rented if rented else None
    return {
        "code": code,
        "name": name,
        "rented": rented,
        "scanned": scanned,
        "rate": rate,
        "below_target": rate is not None and rate < SCAN_TARGET,
    }


@_page_view("registry.view_data_quality")
def qr_stats_page(request: HttpRequest) -> HttpResponse:
    """Share of rented houses whose QR code was scanned in the period, per community, per grid
    and per grid worker (the houses of his scope that he scanned)."""
    user = request.user
    form = ScanFilterForm(request.GET or None, user=user)
    context: dict[str, Any] = {"form": form, "target": SCAN_TARGET}
    if form.is_bound and not form.is_valid():
        return render(request, "registry/qr_stats.html", context, status=400)
    data = _with_period(form.cleaned_data if form.is_bound else {})
    region = data.get("community") or None
    try:
        by_grid = qrcodes.scan_rate_report(
            user=user, by="grid", since=data.get("since"), until=data.get("until"), region=region
        )
        by_worker = qrcodes.scan_rate_report(
            user=user,
            by="worker",
            since=data.get("since"),
            until=data.get("until"),
            region=region,
        )
    except InvalidInputError as exc:
        for name, messages in exc.errors.items():
            for message in messages:
                form.add_error(name if name in form.fields else None, message)
        return render(request, "registry/qr_stats.html", context, status=400)
    communities: dict[str, list[int]] = {}
    for row in by_grid.rows:
        totals = communities.setdefault(row.code[:-3], [0, 0])
        totals[0] += row.rented_houses
        totals[1] += row.scanned_houses
    names = dict(Region.objects.filter(code__in=communities).values_list("code", "name"))
    grid_rows = [_rate_row(r.code, r.name, r.rented_houses, r.scanned_houses) for r in by_grid.rows]
    rented = sum(r.rented_houses for r in by_grid.rows)
    scanned = sum(r.scanned_houses for r in by_grid.rows)
    context.update(
        {
            "since": by_grid.since,
            "until": by_grid.until,
            "total": _rate_row("", "", rented, scanned),
            "community_rows": [
                _rate_row(code, names.get(code, code), *communities[code])
                for code in sorted(communities)
            ],
            "grid_page": _paged(request, grid_rows, "page"),
            "worker_rows": [
                _rate_row(r.code, r.name, r.rented_houses, r.scanned_houses)
                | {"username": r.username}
                for r in by_worker.rows
            ],
            "query_grids": _query_without(request, "page"),
        }
    )
    return render(request, "registry/qr_stats.html", context)
