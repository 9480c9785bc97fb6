from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from wangge.core.workcalendar import calendar_warnings


def admin_banners(request: HttpRequest) -> dict[str, Any]:
    """Warnings that administrators must act on (e.g. a year without official holidays)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not (user.is_staff or user.is_superuser):
        return {}
    return {"admin_banners": [str(warning) for warning in calendar_warnings()]}
