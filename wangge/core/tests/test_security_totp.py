"""TOTP for administrators and the district commander (django-otp): enrol, verify, refuse, audit."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from wangge.core.models import AuditLog

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MAP = reverse("web:map")


@pytest.fixture(autouse=True)
def _totp_on(settings):
    settings.WANGGE_REQUIRE_TOTP = True


def code_for(device: TOTPDevice) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{value:0{device.digits}d}"


def password_login(user) -> Client:
    client = Client()
    response = client.post(
        reverse("login"), {"username": user.username, "password": f"pw-{user.username}"}
    )
    assert response.status_code == 302, response.content
    return client


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def test_a_commander_without_a_device_is_sent_to_enrol_and_enrols(cast):
    with time_machine.travel(T0, tick=False) as clock:
        client = password_login(cast.commander)
        response = client.get(MAP)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('account-totp-enrol')}?next=%2Fmap%2F"

        page = client.get(response["Location"])
        assert page.status_code == 200
        assert re.search(r'src="data:image/svg\+xml', page.content.decode())
        device = TOTPDevice.objects.get(user=cast.commander, confirmed=False)

        wrong = client.post(page.request["PATH_INFO"], {"otp_token": "000000", "next": MAP})
        assert wrong.status_code == 400
        clock.shift(dt.timedelta(seconds=5))  # past django-otp's throttle after one failure
        right = client.post(
            reverse("account-totp-enrol"), {"otp_token": code_for(device), "next": MAP}
        )
        assert right.status_code == 302 and right["Location"] == MAP
        assert client.get(MAP).status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    actions = list(AuditLog.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["auth.totp_failed", "auth.totp_enrolled"]


def test_a_wrong_code_is_refused_and_audited_and_the_right_one_lets_in(cast):
    device = enrolled(cast.admin)
    with time_machine.travel(T0, tick=False) as clock:
        client = password_login(cast.admin)
        response = client.get(MAP)
        assert response["Location"].startswith(reverse("account-totp-verify"))
        verify = reverse("account-totp-verify")
        wrong = client.post(verify, {"otp_token": "123456", "next": MAP})
        assert wrong.status_code == 400
        assert "not right" in wrong.content.decode() or "不正确" in wrong.content.decode()
        assert client.get(MAP).status_code == 302
        clock.shift(dt.timedelta(seconds=5))
        assert client.post(verify, {"otp_token": code_for(device), "next": MAP})["Location"] == MAP
        assert client.get(MAP).status_code == 200
    failed = AuditLog.objects.get(action="auth.totp_failed")
    assert (failed.actor, failed.details["via"]) == (cast.admin, "web")
    assert AuditLog.objects.filter(action="auth.totp_verified", actor=cast.admin).count() == 1


def test_a_code_cannot_be_used_twice(cast):
    device = enrolled(cast.commander)
    with time_machine.travel(T0, tick=False):
        code = code_for(device)
        first = password_login(cast.commander)
        verified = first.post(reverse("account-totp-verify"), {"otp_token": code})
        assert verified["Location"] == reverse("web:home")  # LOGIN_REDIRECT_URL
        second = password_login(cast.commander)
        assert second.post(reverse("account-totp-verify"), {"otp_token": code}).status_code == 400


def test_a_grid_worker_needs_no_second_factor(cast):
    client = password_login(cast.grid_worker_a)
    assert client.get(MAP).status_code == 200


def test_the_admin_site_requires_a_verified_session(cast):
    cast.admin.is_staff = True
    cast.admin.save(update_fields=["is_staff"])
    enrolled(cast.admin)
    client = password_login(cast.admin)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account-totp-verify"))


def test_an_unverified_session_gets_403_from_the_api(cast):
    enrolled(cast.commander)
    client = password_login(cast.commander)
    response = client.get(reverse("api:regions"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "authenticator" in response.json()["detail"]


def test_a_token_for_a_commander_needs_the_code(cast, api):
    device = enrolled(cast.commander)
    url = reverse("api:token")
    with time_machine.travel(T0, tick=False) as clock:
        refused = api.post(url, {"username": "commander", "password": "pw-commander"})
        assert refused.status_code == 400
        assert "otp_token" in refused.json()["errors"]
        clock.shift(dt.timedelta(seconds=5))
        body = {"username": "commander", "password": "pw-commander", "otp_token": code_for(device)}
        assert api.post(url, body).status_code == 200
    assert AuditLog.objects.get(action="auth.totp_failed").details["via"] == "api"


def test_a_token_for_a_grid_worker_needs_no_code(cast, api):
    response = api.post(reverse("api:token"), {"username": "worker_a", "password": "pw-worker_a"})
    assert response.status_code == 200 and response.json()["token"]


def test_with_totp_off_the_commander_signs_in_with_the_password_alone(cast, settings):
    settings.WANGGE_REQUIRE_TOTP = False
    client = password_login(cast.commander)
    assert client.get(MAP).status_code == 200
