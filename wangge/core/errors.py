"""Domain errors that services and selectors raise; the API turns them into HTTP in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    """Base class for errors a user can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(DomainError):
    """The object does not exist, or the user may not see it: the two are deliberately the same."""


class PermissionDeniedError(DomainError):
    """The user may see the object but not do this to it."""


class ConflictError(DomainError):
    """The object changed under the user's feet (another user acted first)."""

    def __init__(self, message: str, current: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.current = dict(current or {})


class InvalidInputError(DomainError):
    """Input that breaks a rule; ``errors`` maps each field to its messages."""

    def __init__(self, message: str, errors: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(message)
        self.errors = {field: list(msgs) for field, msgs in (errors or {}).items()}


class KeyReusedError(InvalidInputError):
    """An idempotency key sent again with a different request: a client bug, not a retry."""
