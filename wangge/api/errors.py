"""Domain errors → HTTP, in one place. Every error body has ``detail``; field errors add ``errors``."""

from __future__ import annotations

from typing import Any

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
