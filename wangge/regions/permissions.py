"""Who may do what with regions and grids: ``can_*`` predicates and ``access_*_for_user`` look-ups."""

from __future__ import annotations

from django.utils.translation import gettext as _

from wangge.core.errors import NotFoundError
from wangge.core.models import User
from wangge.core.roles import Role, user_roles
from wangge.core.scope import code_in_scope
from wangge.regions.models import Grid, Region

# Who may reassign a grid worker to another grid (inside their own scope).
ASSIGNERS = frozenset(
    {
        Role.COMMUNITY_OFFICER,
        Role.STREET_OFFICER,
        Role.DISTRICT_COMMANDER,
        Role.SYSTEM_ADMIN,
    }
)


def can_reassign_grid_workers(user: User) -> bool:
    return user.is_superuser or bool(user_roles(user) & ASSIGNERS)


def is_grid_worker(user: User) -> bool:
    """Holds the grid worker role (the one whose grid an officer may reassign)."""
    return Role.GRID_WORKER in user_roles(user)


def access_region_for_user(*, user: User, code: str) -> Region:
    """The region with this code if the user may see it; the same NotFound whether absent or not."""
    if not code_in_scope(user, code):
        raise NotFoundError(_("No region with code %(code)s.") % {"code": code})
    try:
        return Region.objects.select_related("parent").get(code=code)
    except Region.DoesNotExist:
        raise NotFoundError(_("No region with code %(code)s.") % {"code": code}) from None


def access_grid_for_user(*, user: User, layer: str, code: str) -> Grid:
    if not code_in_scope(user, code):
        raise NotFoundError(
            _("No %(layer)s grid with code %(code)s.") % {"layer": layer, "code": code}
        )
    try:
        return Grid.objects.select_related("community", "layer").get(layer_id=layer, code=code)
    except Grid.DoesNotExist:
        raise NotFoundError(
            _("No %(layer)s grid with code %(code)s.") % {"layer": layer, "code": code}
        ) from None
