"""Security middleware: response headers, the session clock and the second-factor gate.

- ``SecurityHeadersMiddleware``: Content-Security-Policy on every response, and
  ``Cache-Control: no-store`` on responses that carry personal data (the rule below).
- ``SessionTimeoutMiddleware``: signs out after WANGGE_SESSION_IDLE_MINUTES without a request and
  WANGGE_SESSION_MAX_HOURS after the login, however active.
- ``TotpRequiredMiddleware``: a user who must use TOTP (wangge.core.auth.totp_required) reaches
  nothing but the sign-in, sign-out and TOTP pages until the session is verified; the API answers
  403 to such a session. Token requests are not sessions: the token endpoint asks for the code.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django_otp import user_has_device

from wangge.core.auth import SESSION_LOGIN_AT, SESSION_SEEN_AT, totp_required

logger = logging.getLogger(__name__)

Handler = Callable[[HttpRequest], HttpResponse]


def tile_image_source(url: str) -> str | None:
    """The CSP host source for an XYZ tile URL: https://webrd0{s}.is.autonavi.com/… gives
    https://*.is.autonavi.com (CSP allows a wildcard only as the whole left-most label)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    labels = parts.netloc.split(".")
    if "{" in labels[0]:
        labels[0] = "*"
    if any("{" in label for label in labels):
        return None
    return f"{parts.scheme}://{'.'.join(labels)}"


def content_security_policy() -> str:
    images = ["'self'", "data:", "blob:"]
    tile_source = tile_image_source(settings.WANGGE_TILE_URL)
    if tile_source:
        images.append(tile_source)
    images.extend(settings.WANGGE_CSP_IMG_HOSTS)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": images,
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def carries_personal_data(request: HttpRequest) -> bool:
    """The no-store rule: the view (function or class) has ``personal_data = True``, or is defined
    under one of WANGGE_NO_STORE_VIEW_MODULES, or its URL name matches WANGGE_NO_STORE_URL_NAMES."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False
    view = getattr(match.func, "view_class", match.func)
    if getattr(view, "personal_data", False) or getattr(match.func, "personal_data", False):
        return True
    module = f"{getattr(view, '__module__', '')}."
    if any(module.startswith(prefix) for prefix in settings.WANGGE_NO_STORE_VIEW_MODULES):
        return True
    name = match.view_name
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in settings.WANGGE_NO_STORE_URL_NAMES)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = content_security_policy()
        if carries_personal_data(request):
            patch_cache_control(response, no_store=True)
        return response


class SessionTimeoutMiddleware:
    # The last-seen time is written at most this often, so a page's burst of requests costs one
    # session write; the idle limit is therefore exact to within this many seconds.
    TOUCH_EVERY_SECONDS = 60

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            session = request.session
            now = timezone.now().timestamp()
            login_at = session.setdefault(SESSION_LOGIN_AT, now)
            seen_at = session.get(SESSION_SEEN_AT, now)
            idle = now - seen_at > settings.SESSION_COOKIE_AGE
            too_old = now - login_at > settings.WANGGE_SESSION_MAX_HOURS * 3600
            if idle or too_old:
                logger.info(
                    "session of user %s ended: %s", request.user.pk, "idle" if idle else "age"
                )
                logout(request)
            elif now - seen_at >= self.TOUCH_EVERY_SECONDS or SESSION_SEEN_AT not in session:
                session[SESSION_SEEN_AT] = now
        return self.get_response(request)


TOTP_EXEMPT_URL_NAMES = frozenset(
    {"login", "logout", "account-totp-verify", "account-totp-enrol", "set_language"}
)


class TotpRequiredMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not totp_required(user) or user.is_verified():
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if match.url_name in TOTP_EXEMPT_URL_NAMES:
            return self.get_response(request)
        if match.namespace == "api":
            return JsonResponse(
                {"detail": _("Confirm your sign-in with your authenticator app first.")},
                status=403,
            )
        step = "account-totp-verify" if user_has_device(user) else "account-totp-enrol"
        return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")
