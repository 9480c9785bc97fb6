"""A site database for the fault tests, prepared in a fresh process with production settings.

``python -m wangge.proof.faults.site`` migrates the database named by ``WANGGE_DATABASE_URL``,
loads the test territory, a small-class category and a grid worker with an API token, and prints
them as one JSON line. The pytest process cannot do this itself: its Django is bound to the test
database.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
PYTHON = sys.executable
# The test territory's district box (wangge/testing/factories.py), shrunk so that every
# point drawn inside lies inside a social grid.
DISTRICT_BOX = (116.301, 39.861, 116.399, 39.939)


def production_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a production process: DEBUG off, private keys, the given database."""

    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    (var_dir / "static").mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANGGE_", "DJANGO_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "wangge.settings",
            "WANGGE_DEBUG": "0",
            "WANGGE_SECRET_KEY": secrets.token_urlsafe(48),
            "WANGGE_PII_KEYS": f"fault:{key()}",
            "WANGGE_PII_HASH_KEY": key(),
            "WANGGE_DATABASE_URL": database_url,
            "WANGGE_ALLOWED_HOSTS": "127.0.0.1",
            "WANGGE_VAR_DIR": str(var_dir),
            "WANGGE_LOG_LEVEL": "WARNING",
            # Plain HTTP on loopback, as behind a TLS proxy.
            "WANGGE_SSL_REDIRECT": "0",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


def prepare(env: dict[str, str], timeout: float = 120) -> dict[str, Any]:
    """Run this module in a child process with ``env``; return what it created."""
    done = subprocess.run(  # noqa: S603 — our own interpreter and module
        [PYTHON, "-m", "wangge.proof.faults.site"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"site preparation failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from wangge.cases.tests.factories import category
    from wangge.testing.factories import load_test_territory, make_user

    call_command("migrate", verbosity=0, interactive=False)
    load_test_territory()
    user = make_user("fault_worker", role="grid_worker", scope="110102")
    token = Token.objects.create(user=user)
    created = {"token": token.key, "category": category().pk, "user": user.pk}
    print(json.dumps(created))  # noqa: T201 — the parent reads this line


if __name__ == "__main__":
    _main()
