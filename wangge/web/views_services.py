"""The service catalogue (一次性告知): every service item's procedure, materials, time limit and
responsible department, by class, with a search. Open to every signed-in user."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from wangge.cases.catalogue import service_catalogue, service_classes
from wangge.web.views_cases import limit_texts


class CatalogueSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=50, label=gettext_lazy("Search"))
    big_class = forms.CharField(required=False, max_length=16, label=gettext_lazy("Class"))


@login_required
def services_page(request: HttpRequest) -> HttpResponse:
    form = CatalogueSearchForm(request.GET)
    form.is_valid()
    data: dict[str, Any] = getattr(form, "cleaned_data", {})
    query = (data.get("q") or "").strip()
    big_class = (data.get("big_class") or "").strip()
    classes = service_catalogue(query=query, big_class=big_class)
    for group in classes:
        for item in group.items:
            item.limit_texts = limit_texts(item)  # type: ignore[attr-defined]
    return render(
        request,
        "web/services.html",
        {
            "form": form,
            "query": query,
            "big_class": big_class,
            "classes": classes,
            "all_classes": service_classes(),
            "count": sum(len(group.items) for group in classes),
            "filtered": bool(query or big_class),
        },
    )
