"""The second sign-in step: enrol an authenticator app (TOTP) and confirm a sign-in with a code."""

from __future__ import annotations

import base64

import segno
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from wangge.core.audit import audit_log_write
from wangge.core.auth import audit_totp_failure, client_address


class CodeForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return settings.LOGIN_REDIRECT_URL


WRONG_CODE = _("That code is not right or has expired. Enter the current one.")


@never_cache
@login_required
def totp_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    if not user_has_device(user):
        return redirect(f"{reverse('account-totp-enrol')}?{request.GET.urlencode()}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["otp_token"].strip())
        if device is not None:
            otp_login(request, device)
            audit_log_write(
                actor=user,
                action="auth.totp_verified",
                target_type="user",
                target_id=user.pk,
                details={"ip": client_address(request)},
            )
            return redirect(_next_url(request))
        audit_totp_failure(user=user, request=request, via="web")
        form.add_error("otp_token", WRONG_CODE)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "account/totp_verify.html",
        {"form": form, "next": _next_url(request)},
        status=status,
    )


@never_cache
@login_required
def totp_enrol(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user_has_device(user):
        return redirect(f"{reverse('account-totp-verify')}?{request.GET.urlencode()}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["otp_token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit_log_write(
                actor=user,
                action="auth.totp_enrolled",
                target_type="user",
                target_id=user.pk,
                details={"device": device.pk, "ip": client_address(request)},
            )
            return redirect(_next_url(request))
        audit_totp_failure(user=user, request=request, via="enrol")
        form.add_error("otp_token", WRONG_CODE)
    context = {
        "form": form,
        "next": _next_url(request),
        "qr_data_uri": segno.make(device.config_url, error="m").svg_data_uri(scale=5),
        "secret": base64.b32encode(device.bin_key).decode(),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "account/totp_enrol.html", context, status=status)
