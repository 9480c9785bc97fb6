"""API token authentication with the token's user kept per process.

Its own module: DRF imports the authentication classes while it loads its views, so this must not
import them back (``core.auth`` does).
"""

from __future__ import annotations

import copy

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from wangge.core.configcache import ConfigCache
from wangge.core.models import User


def _load_token_user(key: str) -> User | None:
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token is not None else None


# Every API request looked its token and user up (a fifth of a case report's time). Kept per
# process like roles: deleting a token or saving a user is seen at once in the process that made
# the change, and within WANGGE_ACCESS_RECHECK_SECONDS in the others.
_token_users = ConfigCache(
    _load_token_user,
    models=["authtoken.Token", "core.User"],
    recheck_setting="WANGGE_ACCESS_RECHECK_SECONDS",
)


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's token authentication with the token's user read through a per-process cache.

    Each request gets its own copy of the user, so nothing one request sets on it reaches another.
    """

    def authenticate_credentials(self, key: str) -> tuple[User, str]:
        user = _token_users.get(key)
        if user is None:
            _token_users.forget(key)  # unknown keys are not kept: a flood of them evicts nothing
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return copy.copy(user), key
