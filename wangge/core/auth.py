"""Login rules: the password-spray lockout, context words in passwords, who must use TOTP, the
session clock, and the audit rows for every login failure, lockout and second-factor failure.

See docs/security.md ("Controls") for the policy and the tests that prove each rule.
"""

from __future__ import annotations

import logging
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import match_token
from rest_framework import exceptions, serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken

from wangge.core.audit import audit_log_write
from wangge.core.clientaddress import client_address
from wangge.core.models import User
from wangge.core.roles import user_roles

logger = logging.getLogger(__name__)

# Session keys of the session clock (wangge.core.middleware.SessionTimeoutMiddleware).
SESSION_LOGIN_AT = "wangge_login_at"
SESSION_SEEN_AT = "wangge_seen_at"


class LoginLockoutHandler(AxesDatabaseHandler):
    """Axes counts failures per (user name, address) against AXES_FAILURE_LIMIT; on top of that an
    address with WANGGE_LOGIN_IP_FAILURE_LIMIT failures over any user names within the cool-off
    is locked as a whole (password spraying). A success resets only that user's count, so one
    known password does not clear an address's record."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        failures = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        address = getattr(request, "axes_ip_address", None)
        if failures >= limit or not address:
            return failures
        from_address = (
            AccessAttempt.objects.filter(
                ip_address=address, attempt_time__gte=get_cool_off_threshold(request)
            ).aggregate(total=Sum("failures_since_start"))["total"]
            or 0
        )
        if from_address >= settings.WANGGE_LOGIN_IP_FAILURE_LIMIT:
            return limit
        return failures


class ContextWordsValidator:
    """Refuses passwords containing the product's or the district's names or codes
    (WANGGE_PASSWORD_CONTEXT_WORDS) or the user's own user name, in any case."""

    def validate(self, password: str, user: Any = None) -> None:
        lowered = password.casefold()
        words = [word.casefold() for word in settings.WANGGE_PASSWORD_CONTEXT_WORDS if word]
        username = getattr(user, "username", "") or ""
        if len(username) >= 3:
            words.append(username.casefold())
        for word in words:
            if word in lowered:
                raise ValidationError(
                    _("The password may not contain “%(word)s”."),
                    code="password_context_word",
                    params={"word": word},
                )

    def get_help_text(self) -> str:
        return _("Your password may not contain the name of this system, the district or yourself.")


def totp_required(user: Any) -> bool:
    """Administrators and the roles of WANGGE_TOTP_ROLES need a second factor when
    WANGGE_REQUIRE_TOTP is on (the default when WANGGE_DEBUG is off)."""
    if not settings.WANGGE_REQUIRE_TOTP or not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return bool(user_roles(user) & set(settings.WANGGE_TOTP_ROLES))


def audit_totp_failure(*, user: User, request: Any, via: str) -> None:
    audit_log_write(
        actor=user,
        action="auth.totp_failed",
        target_type="user",
        target_id=user.pk,
        details={"via": via, "ip": client_address(request)},
    )


# Audit receivers ---------------------------------------------------------------------------------


@receiver(user_login_failed, dispatch_uid="wangge.core.audit_login_failed")
def audit_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    user_id = User.objects.filter(username=username).values_list("pk", flat=True).first()
    audit_log_write(
        actor=None,
        action="auth.login_failed",
        target_type="user",
        target_id=user_id or "",
        details={"username": username, "ip": client_address(request)},
    )


@receiver(user_locked_out, dispatch_uid="wangge.core.audit_locked_out")
def audit_locked_out(
    sender: Any, request: Any = None, username: str | None = None, ip_address: str = "", **kwargs
) -> None:
    username = (username or "")[:150]
    user_id = User.objects.filter(username=username).values_list("pk", flat=True).first()
    audit_log_write(
        actor=None,
        action="auth.locked_out",
        target_type="user",
        target_id=user_id or "",
        details={"username": username, "ip": client_address(request) or ip_address},
    )


@receiver(user_logged_in, dispatch_uid="wangge.core.start_session_clock")
def start_session_clock(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    now = timezone.now().timestamp()
    request.session[SESSION_LOGIN_AT] = now
    request.session[SESSION_SEEN_AT] = now


# API tokens ---------------------------------------------------------------------------------------


class TokenRequestSerializer(AuthTokenSerializer):
    otp_token = serializers.CharField(
        label="One-time code",
        required=False,
        allow_blank=True,
        max_length=16,
        write_only=True,
        help_text="The 6-digit TOTP code; required for users who must use a second factor.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        try:
            attrs = super().validate(attrs)
        except serializers.ValidationError:
            # Axes flags the request that reaches the limit and every one during the lock: like
            # the sign-in page, the answer is 429, not a plain wrong-password 400.
            if getattr(request, "axes_locked_out", False):
                raise exceptions.Throttled(
                    wait=settings.AXES_COOLOFF_TIME * 3600,
                    detail=_("Too many failed sign-ins; try again later."),
                ) from None
            raise
        user = attrs["user"]
        if totp_required(user):
            code = (attrs.get("otp_token") or "").strip()
            if not code or match_token(user, code) is None:
                audit_totp_failure(user=user, request=request, via="api")
                raise serializers.ValidationError(
                    {"otp_token": [_("Enter the current code of your authenticator app.")]}
                )
        return attrs


class ObtainTokenApi(ObtainAuthToken):
    """``POST /api/v1/auth/token/``: a token for user name and password, plus the TOTP code for
    users who must use a second factor (the token then stands for both factors)."""

    serializer_class = TokenRequestSerializer
