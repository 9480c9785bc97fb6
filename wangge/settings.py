"""Django settings, read from the environment through strict helpers (see docs/operations.md).

Every variable is named WANGGE_*; a wrong value stops the process at start with a message that names it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.utils.translation import gettext_lazy as _

from wangge.lib.env import (
    EnvError,
    env_bool,
    env_float,
    env_int,
    env_ip_networks,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("WANGGE_VAR_DIR", str(BASE_DIR / "var")))


def _ensure_dir(path: Path, variable: str) -> None:
    """Create a directory the settings name (a fresh checkout has no var/), or say which one fails."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvError(f"{variable}: cannot create the directory {path}: {exc.strerror}.") from None


DEBUG = env_bool("WANGGE_DEBUG", False)

_DEV_SECRET = "wangge-development-only-secret-key-not-for-production-use-0123456789"  # noqa: S105
SECRET_KEY = env_str("WANGGE_SECRET_KEY", _DEV_SECRET if DEBUG else None)
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    raise EnvError("WANGGE_SECRET_KEY must be set to a private value when WANGGE_DEBUG is off.")
if len(SECRET_KEY) < 32:
    raise EnvError("WANGGE_SECRET_KEY must be at least 32 characters long.")

ALLOWED_HOSTS = env_list("WANGGE_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("WANGGE_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_filters",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "huey.contrib.djhuey",
    "wangge.core",
    "wangge.regions",
    "wangge.registry",
    "wangge.cases",
    "wangge.api",
    "wangge.web",
    "wangge.demo",
    "wangge.proof",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "wangge.core.middleware.SecurityHeadersMiddleware",
    "wangge.api.errors.ApiErrorMiddleware",  # JSON errors under /api/, whoever answers
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "wangge.core.middleware.SessionTimeoutMiddleware",
    "wangge.core.middleware.TotpRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "wangge.core.middleware_dbdown.DatabaseUnavailableMiddleware",  # 503 while the DB is away
]

ROOT_URLCONF = "wangge.urls"
WSGI_APPLICATION = "wangge.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "wangge" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "wangge.core.context_processors.admin_banners",
                "wangge.web.context_processors.unread_notifications",
                "wangge.web.context_processors.site_navigation",
            ],
        },
    },
]

# Database: SQLite (WAL) by default, PostgreSQL 15+ for a city. ------------------------------------
DATABASE_URL = env_str("WANGGE_DATABASE_URL", f"sqlite:///{VAR_DIR / 'wangge.sqlite3'}")
_scheme = urlparse(DATABASE_URL).scheme
if _scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
    raise EnvError(
        f"WANGGE_DATABASE_URL has scheme {_scheme!r}; use sqlite:///PATH or postgres://USER@HOST/DB."
    )
_default_db = dj_database_url.parse(
    DATABASE_URL, conn_max_age=env_int("WANGGE_DB_CONN_MAX_AGE", 60, minimum=0)
)
if _default_db["ENGINE"] == "django.db.backends.sqlite3":
    if _default_db["NAME"] != ":memory:":
        _ensure_dir(Path(_default_db["NAME"]).parent, "WANGGE_DATABASE_URL")
    _default_db["CONN_MAX_AGE"] = 0
    _default_db["OPTIONS"] = {
        # WAL lets readers work while one writer commits; IMMEDIATE takes the write lock at BEGIN so
        # two writers queue on busy_timeout instead of failing with "database is locked" mid-transaction.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    _default_db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _default_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Accounts --------------------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "wangge.core.roles.CachedPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("WANGGE_PASSWORD_MIN_LENGTH", 10, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "wangge.core.auth.ContextWordsValidator"},
]
# Words a password may not contain (any case), besides the user's own name: the product and, per
# deployment, the district's names and code (WANGGE_PASSWORD_CONTEXT_WORDS="西城,xicheng,110102").
WANGGE_PASSWORD_CONTEXT_WORDS = [
    "wangge",
    "网格",
    *env_list("WANGGE_PASSWORD_CONTEXT_WORDS", []),
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"  # each role lands on its own work (web.views.landing_page)
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = env_int("WANGGE_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_float("WANGGE_LOGIN_COOLOFF_HOURS", 0.25, minimum=0.01)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Password spraying: failures from one address over any user names; at this many the address is
# locked for the same cool-off (wangge.core.auth.LoginLockoutHandler, docs/security.md).
WANGGE_LOGIN_IP_FAILURE_LIMIT = env_int("WANGGE_LOGIN_IP_FAILURE_LIMIT", 20, minimum=1)
AXES_HANDLER = "wangge.core.auth.LoginLockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The client address of a request (lockouts, audit rows, rate limits): X-Forwarded-For is believed
# only from these proxies, read from the right (wangge.core.clientaddress). Behind the nginx of
# docs/operations.md, on the same host, that is the loopback address.
WANGGE_TRUSTED_PROXIES = env_ip_networks(
    "WANGGE_TRUSTED_PROXIES",
    ["127.0.0.1", "::1"] if env_bool("WANGGE_BEHIND_TLS_PROXY", False) else [],
)
AXES_CLIENT_IP_CALLABLE = "wangge.core.clientaddress.client_address"

# Security (docs/security.md lists each control and its test) -----------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("WANGGE_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Idle time-out: signed out after this long without a request (the session's cookie and row also
# expire then; wangge.core.middleware.SessionTimeoutMiddleware renews them once a minute).
SESSION_COOKIE_AGE = int(env_float("WANGGE_SESSION_IDLE_MINUTES", 30, minimum=1) * 60)
# Absolute time-out: a session ends this long after the login however active it is.
WANGGE_SESSION_MAX_HOURS = env_float("WANGGE_SESSION_MAX_HOURS", 10, minimum=0.1)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# HTTPS: on by default in production. Behind a TLS-terminating proxy that redirects by itself,
# set WANGGE_SSL_REDIRECT=0 and WANGGE_BEHIND_TLS_PROXY=1 (the proxy must set X-Forwarded-Proto).
SECURE_SSL_REDIRECT = env_bool("WANGGE_SSL_REDIRECT", not DEBUG)
if env_bool("WANGGE_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("WANGGE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("WANGGE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("WANGGE_HSTS_PRELOAD", True)
# Turning a directive off is a deliberate choice; do not let check --deploy warn about it.
SILENCED_SYSTEM_CHECKS = [
    *(["security.W005"] if not SECURE_HSTS_INCLUDE_SUBDOMAINS else []),
    *(["security.W021"] if not SECURE_HSTS_PRELOAD else []),
    *(["security.W008"] if env_bool("WANGGE_BEHIND_TLS_PROXY", False) else []),
]
# Content-Security-Policy (wangge.core.middleware): scripts, styles and fetches from this site
# only; map tiles also from the host of WANGGE_TILE_URL and WANGGE_CSP_IMG_HOSTS.
WANGGE_CSP_IMG_HOSTS = env_list("WANGGE_CSP_IMG_HOSTS", [])
# Responses that carry personal data are sent with Cache-Control: no-store: every view defined in
# a module under WANGGE_NO_STORE_VIEW_MODULES (the whole registry, API and pages), every URL name
# matching WANGGE_NO_STORE_URL_NAMES (fnmatch over "namespace:name"), and any view with
# ``personal_data = True``.
WANGGE_NO_STORE_VIEW_MODULES = ["wangge.registry."]
WANGGE_NO_STORE_URL_NAMES = [
    "api:cases",
    "api:case",
    "api:case-*",
    "web:console*",
    "web:case-photo",
    "web:mobile-*",
    "web:registry*",
    "web:qr-*",
    "api:self-registration*",
    "admin:*",
]
# Tenant self-registrations (the QR page of a rented house) one client address may send per window.
WANGGE_SELF_REGISTRATION_LIMIT = env_int("WANGGE_SELF_REGISTRATION_LIMIT", 5, minimum=1)
WANGGE_SELF_REGISTRATION_WINDOW_SECONDS = env_int(
    "WANGGE_SELF_REGISTRATION_WINDOW_SECONDS", 3600, minimum=1
)
# TOTP (django-otp) for administrators and the district commander; off in the demo (var/demo.env).
WANGGE_REQUIRE_TOTP = env_bool("WANGGE_REQUIRE_TOTP", not DEBUG)
WANGGE_TOTP_ROLES = ["district_commander", "system_admin"]
OTP_TOTP_ISSUER = "Wangge 网格"
# SQLite's audit triggers ask this (PostgreSQL's trigger is unconditional; see migration core 0007).
WANGGE_AUDIT_APPEND_ONLY = env_bool("WANGGE_AUDIT_APPEND_ONLY", True)

# Language and time ------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Static files ----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "wangge.web.staticstorage.StaticFilesStorage"
        )
    },
}

# API -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "wangge.core.tokens.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "wangge.api.errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": None,
    "DEFAULT_THROTTLE_CLASSES": [],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wangge API",
    "DESCRIPTION": "Grid-based urban and community governance: territory, grids and point lookup.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CategoryKindEnum": "wangge.cases.models.Category.Kind",
        "PhotoKindEnum": "wangge.cases.models.CasePhoto.Kind",
        "CaseOutcomeEnum": ["fixed", "not_fixed", "not_responsible", "duplicate"],
        "SatisfactionEnum": ["satisfied", "basically", "unsatisfied"],
        "AreaGradeEnum": ["A", "B", "C"],
        "SelfRegistrationStatusEnum": "wangge.registry.models.SelfRegistration.Status",
        "ComponentStatusEnum": "wangge.registry.models.Component.Status",
    },
    # Every operation documents the error answers it can give (wangge/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "wangge.api.schema.add_error_responses",
    ],
}

# Territory -------------------------------------------------------------------------------------
# Map tiles: an XYZ URL such as https://webrd0{s}.is.autonavi.com/...; empty draws polygons only.
WANGGE_TILE_URL = env_str("WANGGE_TILE_URL", "")
WANGGE_TILE_ATTRIBUTION = env_str("WANGGE_TILE_ATTRIBUTION", "")
WANGGE_TILE_SUBDOMAINS = env_str("WANGGE_TILE_SUBDOMAINS", "")  # {s} values, e.g. 1234
# How far (metres) a child may stray outside its parent, or siblings overlap, before it is an error.
WANGGE_GEOMETRY_TOLERANCE_M = env_float(
    "WANGGE_GEOMETRY_TOLERANCE_M", 1.0, minimum=0.0, maximum=100.0
)
# How often (seconds) a process asks the database whether grids changed since it built its index.
WANGGE_LOCATE_RECHECK_SECONDS = env_float(
    "WANGGE_LOCATE_RECHECK_SECONDS", 2.0, minimum=0.0, maximum=3600.0
)

# Cases -----------------------------------------------------------------------------------------
# A case returned (回退) this many times goes to the district for arbitration.
WANGGE_RETURNS_BEFORE_ARBITRATION = env_int("WANGGE_RETURNS_BEFORE_ARBITRATION", 3, minimum=1)
WANGGE_PHOTO_MAX_BYTES = env_int("WANGGE_PHOTO_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
DEFAULT_FROM_EMAIL = env_str("WANGGE_FROM_EMAIL", "wangge@localhost")
EMAIL_BACKEND = env_str(
    "WANGGE_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)

# Extra notification channels (SMS, WeCom): "channel=dotted.path.to.send_function,…"
WANGGE_NOTIFICATION_SENDERS: dict[str, str] = {}
for _item in env_list("WANGGE_NOTIFICATION_SENDERS", []):
    _channel, _sep, _path = _item.partition("=")
    if not (_sep and _channel.strip() and _path.strip()):
        raise EnvError(f"WANGGE_NOTIFICATION_SENDERS: {_item!r} is not channel=dotted.path")
    WANGGE_NOTIFICATION_SENDERS[_channel.strip()] = _path.strip()

# Background work: Huey with SQLite storage by default, Redis when WANGGE_REDIS_URL is set.
WANGGE_REDIS_URL = env_str("WANGGE_REDIS_URL", "")
if WANGGE_REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "wangge",
        "url": WANGGE_REDIS_URL,
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
else:
    _ensure_dir(VAR_DIR, "WANGGE_VAR_DIR")  # the task queue's SQLite file is opened at start
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "wangge",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": False,
        # An idle consumer polls the SQLite queue at most a second apart (Huey's default backs off to
        # 10 s), so a ledger import queued on an idle demo starts at once; Redis pops are blocking.
        "consumer": {"workers": 2, "worker_type": "thread", "max_delay": 1.0},
    }

# Django's cache holds the rate-limit counters (self-registration): in Redis when WANGGE_REDIS_URL
# is set, so every process and app server counts alike; otherwise each process counts alone.
if WANGGE_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": WANGGE_REDIS_URL,
            "KEY_PREFIX": "wangge",
        }
    }

# How often (seconds) a process re-reads the holiday and office-hour tables.
WANGGE_CALENDAR_RECHECK_SECONDS = env_float(
    "WANGGE_CALENDAR_RECHECK_SECONDS", 5.0, minimum=0.0, maximum=3600.0
)
# How long (seconds) a process trusts what it read of a user's roles and permissions, and of the
# taxonomy and time limits, when the change was made in another process (this one forgets at once).
WANGGE_ACCESS_RECHECK_SECONDS = env_float(
    "WANGGE_ACCESS_RECHECK_SECONDS", 30.0, minimum=0.0, maximum=3600.0
)
WANGGE_CONFIG_RECHECK_SECONDS = env_float(
    "WANGGE_CONFIG_RECHECK_SECONDS", 30.0, minimum=0.0, maximum=3600.0
)

# Personal data (PIPL) -------------------------------------------------------------------------
# Keys for encrypting resident ID and phone numbers and for their lookup hashes: comma-separated
# "key-id:base64-32-bytes" entries, newest first (see docs/security.md for rotation). Debug mode
# derives fixed development keys so the demo runs without set-up; production must set both.
WANGGE_PII_KEYS = env_list("WANGGE_PII_KEYS", [])
WANGGE_PII_HASH_KEY = env_str("WANGGE_PII_HASH_KEY", "")
if not DEBUG and (not WANGGE_PII_KEYS or not WANGGE_PII_HASH_KEY):
    raise EnvError("WANGGE_PII_KEYS and WANGGE_PII_HASH_KEY must be set when WANGGE_DEBUG is off.")

# Ledger imports: processes checking and sealing rows beside the writer (1: in the writer), and the
# days a rejects file (rejected rows as uploaded, ID numbers in clear) is kept before it is deleted.
WANGGE_LEDGER_WORKERS = env_int("WANGGE_LEDGER_WORKERS", 1, minimum=1, maximum=32)
WANGGE_LEDGER_REJECTS_DAYS = env_int("WANGGE_LEDGER_REJECTS_DAYS", 7, minimum=1, maximum=365)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("WANGGE_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
