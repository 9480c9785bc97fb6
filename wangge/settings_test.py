"""Settings for the test suite: the same as production but fast hashing and no secure cookies."""

import os

os.environ.setdefault("WANGGE_DEBUG", "0")
os.environ.setdefault("WANGGE_SECRET_KEY", "test-secret-key-that-is-long-enough-for-the-checks")
os.environ.setdefault("WANGGE_SECURE_COOKIES", "0")
# The test client speaks plain HTTP; tests of HTTPS and TOTP switch these on explicitly.
os.environ.setdefault("WANGGE_SSL_REDIRECT", "0")
os.environ.setdefault("WANGGE_REQUIRE_TOTP", "0")
# Transactional tests empty every table with DELETE on SQLite; the audit tests switch it back on.
os.environ.setdefault("WANGGE_AUDIT_APPEND_ONLY", "0")
# Test-only keys (base64 of 32 fixed bytes); never used outside the test suite.
os.environ.setdefault(
    "WANGGE_PII_KEYS",
    "t2:dGVzdC1rZXktdHdvLXRoaXJ0eS10d28tYnl0ZXMhISE=,t1:dGVzdC1rZXktb25lLXRoaXJ0eS10d28tYnl0ZXMhISE=",
)
os.environ.setdefault("WANGGE_PII_HASH_KEY", "dGVzdC1oYXNoLWtleS10aGlydHktdHdvLWJ5dGVzISE=")

from wangge.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
WANGGE_LOCATE_RECHECK_SECONDS = 0.0
WANGGE_CALENDAR_RECHECK_SECONDS = 0.0
WANGGE_ACCESS_RECHECK_SECONDS = 0.0
WANGGE_CONFIG_RECHECK_SECONDS = 0.0

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 — WhiteNoise warns when it is missing
# Live-server threads open their own connections; with persistent ones the test database could not
# be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Two suites running at once on one PostgreSQL server each need their own test database.
if os.environ.get("WANGGE_TEST_DB_NAME"):
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ["WANGGE_TEST_DB_NAME"]  # noqa: F405

# Background tasks run at once, in the caller's thread.
HUEY = {**HUEY, "immediate": True}  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
