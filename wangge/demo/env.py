"""The demo's environment file (``var/demo.env``): production settings on the loopback address.

``make demo`` runs the demo as a district would see production — ``WANGGE_DEBUG`` off, so errors are
the branded pages and never Django's technical page, static files served by WhiteNoise from
``collectstatic`` — over plain HTTP on 127.0.0.1. Production needs private keys, so this module
writes them once, on this machine, into a file the ``make`` target sources before each command::

    python -m wangge.demo.env var/demo.env [--database var/wangge.sqlite3]

It needs no Django settings: it runs before any setting can be read.
An existing file is left alone, so the keys of the demo's personal data stay the same from one run to
the next. What differs from a real deployment, and why:

- secure cookies, the HTTPS redirect and HSTS are off: the demo is served over plain HTTP on the
  loopback address (a secure cookie would never come back, and sign-in would fail);
- TOTP for the administrator and the commander is off, so the printed logins work at once;
- e-mail goes to the console (the task consumer's log, ``var/huey.log``), not to an SMTP server.

A database made by an older demo (``WANGGE_DEBUG=1``, development keys derived from a public constant)
cannot be read with new keys; when ``--database`` names an existing file and no environment file is
there yet, the file keeps those development keys, spelled out, and says so.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import sys
from pathlib import Path

HEADER = """\
# The demo's production settings, written once by `make demo` (wangge.demo.env); sourced before
# every command of the demo target. Delete this file and the demo database together.
"""

FIXED = {
    "WANGGE_DEBUG": "0",
    "WANGGE_ALLOWED_HOSTS": "127.0.0.1,localhost,[::1]",
    # Plain HTTP on the loopback address (see the module's docstring).
    "WANGGE_SECURE_COOKIES": "0",
    "WANGGE_SSL_REDIRECT": "0",
    "WANGGE_HSTS_SECONDS": "0",
    "WANGGE_REQUIRE_TOTP": "0",
    "WANGGE_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
}


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def demo_environment(*, keep_development_keys: bool = False) -> dict[str, str]:
    """The variables of a new demo environment: fresh private keys and the fixed demo settings."""
    if keep_development_keys:
        from wangge.core.pii import DEVELOPMENT_KEY_ID, _development_key

        encryption = _development_key(b"wangge-pii-encryption")
        lookup = _development_key(b"wangge-pii-lookup-hash")
        pii_keys = f"{DEVELOPMENT_KEY_ID}:{base64.b64encode(encryption).decode()}"
        hash_key = base64.b64encode(lookup).decode()
    else:
        pii_keys = f"demo:{_key()}"
        hash_key = _key()
    return {
        "WANGGE_SECRET_KEY": secrets.token_urlsafe(48),
        "WANGGE_PII_KEYS": pii_keys,
        "WANGGE_PII_HASH_KEY": hash_key,
        **FIXED,
    }


def write_demo_env(path: Path, *, database: Path | None = None) -> bool:
    """Write the environment file unless it exists; returns whether it was written."""
    if path.exists():
        return False
    legacy = database is not None and database.exists()
    variables = demo_environment(keep_development_keys=legacy)
    lines = [HEADER]
    if legacy:
        lines.append(
            f"# {database} was made before this file, with the development keys: they are kept\n"
            "# (spelled out) so its personal data stays readable. It is NOT protected.\n"
        )
    lines += [f"{name}={value}\n" for name, value in variables.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    path.chmod(0o600)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--database", type=Path, help="the demo's SQLite file, if made already")
    args = parser.parse_args(argv)
    if write_demo_env(args.path, database=args.database):
        sys.stdout.write(f"Wrote the demo's keys and settings to {args.path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
