"""Domain errors → HTTP for the API: wires the mapping of ``wangge.core.rest``. Every error body
has ``detail``; field errors add ``errors``.

Under ``/api/`` every error is JSON, also those Django answers before or around a view (an unknown
path, an over-large body, a server error): ``ApiErrorMiddleware``. Pages keep their HTML pages.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from wangge.core import errors, rest


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler: the domain errors and field errors as ``wangge.core.rest`` maps
    them, Django's "too large" and "too many fields" as 413 / 400, the rest as DRF answers them."""
    if isinstance(exc, errors.DomainError):
        return Response(rest.error_body(exc), status=rest.error_status(exc))
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": _too_large()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response({"detail": _("The request has too many fields or files.")}, status=400)
    if isinstance(exc, exceptions.ValidationError):
        return Response(rest.validation_body(exc.detail), status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


API_PREFIX = "/api/"


def _too_large() -> str:
    return _("The request body is too large.")


def _message(code: int, request: HttpRequest) -> str:
    if code == HTTPStatus.NOT_FOUND:
        return _("No API endpoint at %(path)s.") % {"path": request.path}
    if code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        return _too_large()
    if code == HTTPStatus.BAD_REQUEST:
        return _("The request could not be read.")
    if code == HTTPStatus.FORBIDDEN:
        return _("You do not have the permission to do this.")
    if code >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return _("Something went wrong on the server; try again later.")
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return str(code)


class ApiErrorMiddleware:
    """An error answer under ``/api/`` that is not JSON yet (Django's 404 for an unknown path, its
    400 for an unreadable body, a 500 page) becomes ``{"detail": …}`` with the same status. It
    stands early in ``MIDDLEWARE`` (after the security headers, which its answers get too), so it
    sees what every later middleware answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path_info.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        return self._json(request, response.status_code)

    @staticmethod
    def _json(request: HttpRequest, code: int) -> JsonResponse:
        return JsonResponse({"detail": _message(code, request)}, status=code)
