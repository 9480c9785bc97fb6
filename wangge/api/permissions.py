from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission


def model_permission(*names: str) -> type[BasePermission]:
    """A DRF permission class requiring the signed-in user to hold every named Django permission."""

    class HasModelPermission(BasePermission):
        message = "You do not have the permission to do this."

        def has_permission(self, request: Any, view: Any) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(names))

    HasModelPermission.__name__ = f"Has_{'_'.join(n.replace('.', '_') for n in names)}"
    return HasModelPermission
