"""While the database is unreachable, answer a short 503 instead of a 500.

Django turns an uncaught ``OperationalError`` into a 500 (and DRF re-raises it), which tells a
client "bug" when the truth is "try again in a moment". A lost connection, a server restarting or
a lock wait that timed out are such moments. Only ``OperationalError`` and ``InterfaceError``
count: an ``IntegrityError`` or a ``ProgrammingError`` is a bug and stays a 500. The body never
carries the exception's text.

Two doors, one answer: the middleware catches what a view raises (and logs one line, not a
traceback per request during an outage); ``server_error``, the project's ``handler500``, catches
what a middleware raises (a session's user loaded before the view).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
API_PREFIX = "/api/"


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_outage(exception):
            return None
        logger.warning(
            "database unavailable during %s %s: %s: %s",
            request.method,
            request.path,
            type(exception).__name__,
            str(exception).splitlines()[0] if str(exception) else "",
        )
        return unavailable_response(request)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    message = _("The service is briefly unavailable. Please try again in a moment.")
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(
            f"<!doctype html><title>503</title><p>{escape(message)}</p>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def is_outage(exception: BaseException | None) -> bool:
    return isinstance(exception, OperationalError | InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: Django calls it while handling the exception, so ``sys.exc_info`` has it."""
    if is_outage(sys.exc_info()[1]):
        return unavailable_response(request)
    return defaults.server_error(request)
