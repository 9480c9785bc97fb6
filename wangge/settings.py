"""Django settings, read from the environment through strict helpers (see docs/operations.md).

Every variable is named WANGGE_*; a wrong value stops the process at start with a message that names it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.utils.translation import gettext_lazy as _

from wangge.lib.env import EnvError, env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("WANGGE_VAR_DIR", str(BASE_DIR / "var")))

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
    "huey.contrib.djhuey",
    "wangge.core",
    "wangge.regions",
    "wangge.registry",
    "wangge.cases",
    "wangge.api",
    "wangge.web",
    "wangge.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
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
        Path(_default_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
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
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:map"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = env_int("WANGGE_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_float("WANGGE_LOGIN_COOLOFF_HOURS", 0.25, minimum=0.01)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("WANGGE_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

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
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# API -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
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
    },
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
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "wangge",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

# How often (seconds) a process re-reads the holiday and office-hour tables.
WANGGE_CALENDAR_RECHECK_SECONDS = env_float(
    "WANGGE_CALENDAR_RECHECK_SECONDS", 5.0, minimum=0.0, maximum=3600.0
)

# Personal data (PIPL) -------------------------------------------------------------------------
# Keys for encrypting resident ID and phone numbers and for their lookup hashes: comma-separated
# "key-id:base64-32-bytes" entries, newest first (see docs/security.md for rotation). Debug mode
# derives fixed development keys so the demo runs without set-up; production must set both.
WANGGE_PII_KEYS = env_list("WANGGE_PII_KEYS", [])
WANGGE_PII_HASH_KEY = env_str("WANGGE_PII_HASH_KEY", "")
if not DEBUG and (not WANGGE_PII_KEYS or not WANGGE_PII_HASH_KEY):
    raise EnvError("WANGGE_PII_KEYS and WANGGE_PII_HASH_KEY must be set when WANGGE_DEBUG is off.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("WANGGE_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
