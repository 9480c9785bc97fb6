"""The demo's environment file: production settings (debug off, private keys) that work over plain
HTTP on the loopback address, written once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from wangge.demo.env import write_demo_env

ROOT = Path(__file__).resolve().parents[3]
SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "from wangge.core import pii; pii.check_keys(); "
    "print(json.dumps([s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
    "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.WANGGE_REQUIRE_TOTP, s.ALLOWED_HOSTS]))"
)


def read_env(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_demo_env_is_written_once_with_private_keys(tmp_path):
    path = tmp_path / "var" / "demo.env"
    assert write_demo_env(path, database=tmp_path / "var" / "wangge.sqlite3")
    first = read_env(path)
    assert first["WANGGE_DEBUG"] == "0"
    assert first["WANGGE_PII_KEYS"].startswith("demo:")
    assert len(first["WANGGE_SECRET_KEY"]) >= 50
    assert path.stat().st_mode & 0o777 == 0o600
    assert not write_demo_env(path)
    assert read_env(path) == first
    other = tmp_path / "other.env"
    write_demo_env(other)
    assert read_env(other)["WANGGE_PII_HASH_KEY"] != first["WANGGE_PII_HASH_KEY"]


def test_a_database_of_an_older_demo_keeps_the_development_keys(tmp_path):
    database = tmp_path / "wangge.sqlite3"
    database.write_bytes(b"")
    path = tmp_path / "demo.env"
    write_demo_env(path, database=database)
    assert read_env(path)["WANGGE_PII_KEYS"].startswith("dev:")
    assert "NOT protected" in path.read_text()


def test_the_demo_settings_are_production_over_plain_http_without_the_key_warning(tmp_path):
    path = tmp_path / "demo.env"
    write_demo_env(path)
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WANGGE_") and k != "DJANGO_SETTINGS_MODULE"
    }
    environ |= read_env(path) | {
        "WANGGE_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "wangge.settings",
    }
    result = subprocess.run(  # noqa: S603 — our own interpreter
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    debug, secure, csrf_secure, redirect, hsts, totp, hosts = json.loads(result.stdout)
    assert not debug
    assert not (secure or csrf_secure or redirect or hsts or totp)
    assert {"127.0.0.1", "localhost"} <= set(hosts)
    assert "development keys" not in result.stderr
