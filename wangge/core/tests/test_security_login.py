"""Login controls: lockout with cool-off, spray lockout, session time-outs, password words, audit."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from wangge.core.models import AuditLog

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LOGIN = "/accounts/login/"


def attempt(client: Client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def actions(**filters) -> list[str]:
    return list(AuditLog.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def test_a_locked_account_opens_again_after_the_cool_off(cast, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = 0.25  # hours
    client = Client()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(2):
            assert attempt(client, "commander", "wrong").status_code == 200
        assert attempt(client, "commander", "wrong").status_code == 429  # the locking failure
        assert attempt(client, "commander", "pw-commander").status_code == 429
        clock.move_to(START + dt.timedelta(minutes=14))
        assert attempt(client, "commander", "pw-commander").status_code == 429
        clock.move_to(START + dt.timedelta(minutes=31))
        response = attempt(client, "commander", "pw-commander")
        assert response.status_code == 302, response.content
        assert "_auth_user_id" in client.session


def test_every_login_failure_and_lockout_is_audited(cast, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    attempt(client, "commander", "wrong")
    attempt(client, "no-such-user", "guess")
    attempt(client, "commander", "wrong")
    failed = AuditLog.objects.filter(action="auth.login_failed").order_by("id")
    assert [row.details["username"] for row in failed] == [
        "commander",
        "no-such-user",
        "commander",
    ]
    assert failed[0].target_id == str(cast.commander.pk) and failed[1].target_id == ""
    assert all(row.details["ip"] == "203.0.113.7" for row in failed)
    assert "password" not in str([row.details for row in failed])
    locked = AuditLog.objects.get(action="auth.locked_out")
    assert locked.details == {"username": "commander", "ip": "203.0.113.7"}


def test_a_password_spray_from_one_address_locks_the_address(cast, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.WANGGE_LOGIN_IP_FAILURE_LIMIT = 5
    sprayer = Client()
    for username in ("operator", "dispatcher", "officer_a", "officer_b"):
        assert attempt(sprayer, username, "Spring2026!").status_code == 200
    assert attempt(sprayer, "worker_a", "Spring2026!").status_code == 429
    # Each user name failed once only, yet the address is locked, even for a right password.
    assert attempt(sprayer, "commander", "pw-commander").status_code == 429
    assert "auth.locked_out" in actions()
    # Another address is not affected.
    other = Client()
    assert attempt(other, "commander", "pw-commander", address="198.51.100.4").status_code == 302


def test_below_the_address_limit_other_users_still_sign_in(cast, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.WANGGE_LOGIN_IP_FAILURE_LIMIT = 5
    client = Client()
    for username in ("operator", "dispatcher", "officer_a", "officer_b"):
        attempt(client, username, "wrong")
    assert attempt(client, "commander", "pw-commander").status_code == 302


def signed_in(user, at: dt.datetime) -> Client:
    client = Client()
    with time_machine.travel(at, tick=False):
        client.force_login(user)
    return client


def opens_map(client: Client, at: dt.datetime) -> bool:
    with time_machine.travel(at, tick=False):
        response = client.get(reverse("web:map"))
    return response.status_code == 200


def test_an_idle_session_ends(cast, settings):
    settings.SESSION_COOKIE_AGE = 30 * 60
    client = signed_in(cast.commander, START)
    assert opens_map(client, START + dt.timedelta(minutes=29))
    assert not opens_map(client, START + dt.timedelta(minutes=29 + 31))


def test_an_active_session_lives_on_until_the_absolute_limit(cast, settings):
    settings.SESSION_COOKIE_AGE = 30 * 60
    settings.WANGGE_SESSION_MAX_HOURS = 1
    client = signed_in(cast.commander, START)
    for minutes in (20, 40, 59):
        assert opens_map(client, START + dt.timedelta(minutes=minutes)), minutes
    assert not opens_map(client, START + dt.timedelta(minutes=61))


@pytest.mark.parametrize(
    "password",
    ["Wangge-Spring-2026", "我的网格密码Qz81", "xK9#commander#2026", "Xicheng-110102-pw!"],
)
def test_passwords_with_context_words_are_refused(cast, settings, password):
    settings.WANGGE_PASSWORD_CONTEXT_WORDS = [*settings.WANGGE_PASSWORD_CONTEXT_WORDS, "110102"]
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user=cast.commander)
    assert "password_context_word" in [error.code for error in refused.value.error_list]


def test_a_password_without_context_words_is_accepted(cast):
    validate_password("Maple-Harbor-Quietly-71", user=cast.commander)
