"""Template context every page's header needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from wangge.cases.inbox import inbox_unread_count
from wangge.web.navigation import NavLink, nav_links

_CACHE_ATTRIBUTE = "_wangge_unread_notifications"


def unread_notifications(request: HttpRequest) -> dict[str, Callable[[], int]]:
    """The header's unread badge: a callable the template calls only where it shows the badge.

    Counted once per request (kept on the request), with one COUNT on the partial index
    ``notification_unread_idx``; pages that do not render the header never count.
    """

    def count() -> int:
        cached: Any = getattr(request, _CACHE_ATTRIBUTE, None)
        if cached is None:
            user = getattr(request, "user", None)
            cached = inbox_unread_count(user=user) if user is not None else 0
            setattr(request, _CACHE_ATTRIBUTE, cached)
        return cached

    return {"unread_notifications": count}


def site_navigation(request: HttpRequest) -> dict[str, Callable[[], list[NavLink]]]:
    """The header's page links for this user (see ``web.navigation``), built when first shown."""

    def links() -> list[NavLink]:
        match = getattr(request, "resolver_match", None)
        return nav_links(request.user, match.view_name if match else None)

    return {"nav_links": links}
