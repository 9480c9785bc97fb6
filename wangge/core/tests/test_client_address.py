"""The client address behind the documented nginx: lockouts and audit rows per real client, and
X-Forwarded-For believed only from the configured proxies."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from wangge.core.clientaddress import client_address
from wangge.core.models import AuditLog
from wangge.lib.env import EnvError, env_ip_networks

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"
NGINX = "127.0.0.1"  # docs/operations.md: nginx on the same host proxies to gunicorn
CLIENT_A = "203.0.113.7"
CLIENT_B = "198.51.100.4"


def address_of(remote: str, forwarded: str | None = None) -> str:
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **meta))


@pytest.fixture
def behind_nginx(settings):
    settings.WANGGE_TRUSTED_PROXIES = [NGINX, "::1"]


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.WANGGE_TRUSTED_PROXIES = []
    assert address_of(NGINX, CLIENT_A) == NGINX
    assert address_of(CLIENT_B) == CLIENT_B


@pytest.mark.usefixtures("behind_nginx")
@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        (NGINX, CLIENT_A, CLIENT_A),
        # What the client wrote itself stands left of what nginx appended.
        (NGINX, f"10.9.9.9, {CLIENT_A}", CLIENT_A),
        (NGINX, f"not-an-address, {CLIENT_A}", CLIENT_A),
        # A peer that is not a proxy cannot choose its address.
        (CLIENT_B, CLIENT_A, CLIENT_B),
        (CLIENT_B, f"{CLIENT_A}, {NGINX}", CLIENT_B),
        # Proxies chained behind each other vouch for one another.
        (NGINX, f"{CLIENT_A}, 127.0.0.1", CLIENT_A),
        (NGINX, None, NGINX),
        (NGINX, "garbage", NGINX),
        (NGINX, f"{CLIENT_A}:51234", CLIENT_A),
        (NGINX, "[2001:db8::7]:443", "2001:db8::7"),
        ("::ffff:127.0.0.1", CLIENT_A, CLIENT_A),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(remote, forwarded, expected):
    assert address_of(remote, forwarded) == expected


def test_networks_are_read_strictly():
    assert env_ip_networks("X", [], environ={"X": "127.0.0.1, 10.0.0.0/8,::1"}) == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    ]
    with pytest.raises(EnvError, match="X: 'nginx' is not an IP"):
        env_ip_networks("X", [], environ={"X": "nginx"})


def via_nginx(client_ip: str) -> dict[str, str]:
    return {"REMOTE_ADDR": NGINX, "HTTP_X_FORWARDED_FOR": client_ip}


def login(username: str, password: str, **meta: str):
    return Client().post(LOGIN, {"username": username, "password": password}, **meta)


def token(username: str, password: str, **meta: str):
    return Client().post(TOKEN, {"username": username, "password": password}, **meta)


@pytest.mark.django_db
@pytest.mark.usefixtures("behind_nginx")
def test_twenty_failures_from_one_client_behind_nginx_lock_that_client_only(cast, settings):
    settings.WANGGE_LOGIN_IP_FAILURE_LIMIT = 20
    for attempt in range(20):
        login(f"guess{attempt}", "wrong", **via_nginx(CLIENT_A))

    assert login("commander", "pw-commander", **via_nginx(CLIENT_A)).status_code == 429
    assert token("commander", "pw-commander", **via_nginx(CLIENT_A)).status_code == 429
    assert login("commander", "pw-commander", **via_nginx(CLIENT_B)).status_code == 302
    answer = token("operator", "pw-operator", **via_nginx(CLIENT_B))
    assert answer.status_code == 200 and answer.json()["token"]
    failed = AuditLog.objects.filter(action="auth.login_failed")
    assert {row.details["ip"] for row in failed} == {CLIENT_A}
    locked = AuditLog.objects.filter(action="auth.locked_out")
    assert locked.exists() and {row.details["ip"] for row in locked} == {CLIENT_A}


@pytest.mark.django_db
@pytest.mark.usefixtures("behind_nginx")
def test_a_forged_forwarded_for_from_a_direct_peer_does_not_escape_the_lockout(cast, settings):
    settings.WANGGE_LOGIN_IP_FAILURE_LIMIT = 5
    attacker = "192.0.2.66"
    for attempt in range(5):
        login(
            f"guess{attempt}",
            "wrong",
            REMOTE_ADDR=attacker,
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt + 100}",
        )

    again = login("commander", "pw-commander", REMOTE_ADDR=attacker, HTTP_X_FORWARDED_FOR=CLIENT_B)
    assert again.status_code == 429
    ips = set(
        AuditLog.objects.filter(action="auth.login_failed").values_list("details__ip", flat=True)
    )
    assert ips == {attacker}
    assert login("commander", "pw-commander", **via_nginx(CLIENT_B)).status_code == 302


@pytest.mark.django_db
def test_a_locked_out_user_asking_for_a_token_gets_429(cast, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        token("commander", "wrong", REMOTE_ADDR=CLIENT_A)

    answer = token("commander", "pw-commander", REMOTE_ADDR=CLIENT_A)

    assert answer.status_code == 429
    assert answer["Content-Type"].startswith("application/json")
    assert "detail" in answer.json()
    assert token("commander", "pw-commander", REMOTE_ADDR=CLIENT_B).status_code == 200
