"""The header's page links: which pages exist, and who may open each (the permission its view asks).

Read once per request from the user's cached permissions (``core.roles.user_access``), so the header
costs no query per link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from wangge.core.roles import user_access


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: Any
    any_of: tuple[frozenset[str], ...]  # the user needs every permission of one of these sets
    current_for: tuple[str, ...] = ()  # further view names under which this link is current

    def allowed(self, permissions: frozenset[str]) -> bool:
        return any(needed <= permissions for needed in self.any_of)


def _one(*names: str) -> tuple[frozenset[str], ...]:
    return (frozenset(names),)


def _each(*names: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset({name}) for name in names)


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("web:map", _("Map"), _one("regions.view_region")),
    NavItem("web:mobile-tasks", _("My tasks"), _one("cases.view_case"), ("web:mobile-case",)),
    NavItem("web:console", _("Console"), _one("cases.view_case"), ("web:console-case",)),
    NavItem("web:console-map", _("Case map"), _one("cases.view_case")),
    NavItem(
        "web:registry",
        _("Registry"),
        _one("registry.view_building"),
        ("web:registry-grid", "web:registry-search", "web:registry-building", "web:registry-house"),
    ),
    # Ledgers: each kind is exported with its view permission (registry.ledgers.exporting).
    NavItem(
        "web:ledgers",
        _("Ledgers"),
        _each(
            "registry.view_person",
            "registry.view_house",
            "registry.view_organization",
            "registry.view_component",
        ),
    ),
    NavItem("web:registry-qr-labels", _("QR labels"), _one("registry.view_house")),
    NavItem(
        "web:mobile-self-registrations",
        pgettext_lazy("navigation", "Self-registrations"),
        _one("registry.add_person", "registry.add_residency"),
    ),
    NavItem(
        "web:registry-quality",
        pgettext_lazy("navigation", "Data quality"),
        _one("registry.view_data_quality"),
    ),
    NavItem(
        "web:registry-qr-stats",
        pgettext_lazy("navigation", "QR scan rate"),
        _one("registry.view_data_quality"),
    ),
    NavItem(
        "web:services",
        pgettext_lazy("navigation", "Service catalogue"),
        _one(),  # every signed-in user: the catalogue is what the district tells the public
    ),
)


@dataclass(frozen=True)
class NavLink:
    url: str
    label: Any
    current: bool


def nav_links(user: Any, current_view: str | None) -> list[NavLink]:
    """The links this user may follow, in header order, the current page marked."""
    if not user.is_authenticated:
        return []
    permissions = user_access(user).permissions
    links = []
    for item in NAV_ITEMS:
        if not item.allowed(permissions):
            continue
        url = reverse(item.url_name)
        current = current_view == item.url_name or current_view in item.current_for
        links.append(NavLink(url=url, label=item.label, current=current))
    return links
