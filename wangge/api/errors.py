"""Domain errors → HTTP, in one place. Every error body has ``detail``; field errors add ``errors``.

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

from wangge.core import errors

_STATUS = {
    errors.KeyReusedError: status.HTTP_422_UNPROCESSABLE_ENTITY,
    errors.NotFoundError: status.HTTP_404_NOT_FOUND,
    errors.PermissionDeniedError: status.HTTP_403_FORBIDDEN,
    errors.ConflictError: status.HTTP_409_CONFLICT,
    errors.InvalidInputError: status.HTTP_400_BAD_REQUEST,
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, errors.DomainError):
        body: dict[str, Any] = {"detail": exc.message}
        if isinstance(exc, errors.InvalidInputError) and exc.errors:
            body["errors"] = exc.errors
        if isinstance(exc, errors.ConflictError) and exc.current:
            body["current"] = exc.current
        code = next((c for cls, c in _STATUS.items() if isinstance(exc, cls)), 400)
        return Response(body, status=code)
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": _too_large()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response({"detail": _("The request has too many fields or files.")}, status=400)
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            return Response(
                {"detail": _first_message(detail), "errors": detail},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"detail": _first_message(detail)}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


def _first_message(detail: Any) -> str:
    """A one-line summary naming the first bad field, e.g. "lng: A valid number is required."."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail) if detail else _("Invalid input.")


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
