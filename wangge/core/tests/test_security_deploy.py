"""Production settings pass Django's deployment checks; HTTPS is enforced (docs/security.md)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[3]
KEY = "dGVzdC1rZXktb25lLXRoaXJ0eS10d28tYnl0ZXMhISE="
HASH_KEY = "dGVzdC1oYXNoLWtleS10aGlydHktdHdvLWJ5dGVzISE="


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WANGGE_")
        and k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    environ.update(
        {
            "WANGGE_SECRET_KEY": "a-production-secret-key-" + "x7Q#p9!vR2" * 5,
            "WANGGE_PII_KEYS": f"k1:{KEY}",
            "WANGGE_PII_HASH_KEY": HASH_KEY,
            "WANGGE_ALLOWED_HOSTS": "wangge.example.gov.cn",
            "WANGGE_VAR_DIR": str(tmp_path),
            **env,
        }
    )
    return subprocess.run(  # noqa: S603 — our own interpreter and manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


DEPLOY_CHECK = ("check", "--deploy", "--fail-level", "WARNING")


@pytest.mark.slow
def test_check_deploy_passes_with_production_settings(tmp_path):
    result = manage(tmp_path, *DEPLOY_CHECK)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_check_deploy_fails_when_https_is_switched_off_without_a_proxy(tmp_path):
    result = manage(tmp_path, *DEPLOY_CHECK, WANGGE_SSL_REDIRECT="0", WANGGE_HSTS_SECONDS="0")
    assert result.returncode == 1
    assert "security.W008" in result.stderr and "security.W004" in result.stderr


@pytest.mark.slow
def test_behind_a_tls_proxy_the_redirect_may_be_left_to_the_proxy(tmp_path):
    result = manage(tmp_path, *DEPLOY_CHECK, WANGGE_SSL_REDIRECT="0", WANGGE_BEHIND_TLS_PROXY="1")
    assert result.returncode == 0, result.stderr


def test_plain_http_is_redirected_to_https(db, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_https_responses_carry_hsts_with_subdomains_and_preload(db, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    response = Client().get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")


def test_the_proxy_header_is_trusted_only_when_configured(db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = None
    spoofed = Client().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert spoofed.status_code == 301
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = Client().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200


@pytest.mark.slow
def test_production_defaults_are_secure_cookies_https_hsts_and_totp(tmp_path):
    result = manage(tmp_path, "diffsettings", "--all")
    assert result.returncode == 0, result.stderr
    # --all marks settings left at Django's default with a leading "### ".
    shown = {row.removeprefix("### ").removesuffix("  ###") for row in result.stdout.splitlines()}
    for line in (
        "SESSION_COOKIE_SECURE = True",
        "CSRF_COOKIE_SECURE = True",
        "SECURE_SSL_REDIRECT = True",
        "SECURE_HSTS_SECONDS = 31536000",
        "WANGGE_REQUIRE_TOTP = True",
        "DEBUG = False",
    ):
        assert line in shown, line
