"""One settings module, driven by environment variables (see README "Configuration").

With no variables set this is the embedded default: SQLite in the project folder, eager
background tasks, the in-process ANAF simulator. Production sets DATABASE_URL, REDIS_URL,
SECRET_KEY and ALLOWED_HOSTS.
"""

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("REQUIRE_SECRET_KEY"):
        raise ImproperlyConfigured("SECRET_KEY must be set.")
    # The embedded default must start with no configuration; a per-checkout key keeps
    # sessions stable across restarts without ever committing a secret.
    key_file = BASE_DIR / ".secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        key_file.write_text(get_random_secret_key())
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "numbering",
    "invoices",
    "creditnotes",
    "einvoice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take the write lock when a transaction starts, so that the read-check-write services
    # (which use select_for_update, a no-op on SQLite) are serialized here as well.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# Web processes bound every statement (config/wsgi.py defaults this); workers, migrations and commands do not.
# A PostgreSQL duration: "10s", "500ms", "0" for none. See config/db.py for the lock waits exempt from it.
DATABASE_STATEMENT_TIMEOUT = os.environ.get("DATABASE_STATEMENT_TIMEOUT", "").strip()
if DATABASE_STATEMENT_TIMEOUT in ("0", "0s", "0ms"):
    DATABASE_STATEMENT_TIMEOUT = ""
if DATABASE_STATEMENT_TIMEOUT and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    if not re.fullmatch(r"\d+(ms|s|min)?", DATABASE_STATEMENT_TIMEOUT):
        raise ImproperlyConfigured(f"DATABASE_STATEMENT_TIMEOUT={DATABASE_STATEMENT_TIMEOUT!r}: expected 10s, 500ms…")
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT}"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Dates default to the Romanian calendar day: documents issued at 00:30 in Bucharest carry that day.
TIME_ZONE = "Europe/Bucharest"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
try:  # whitenoise serves from here once collectstatic ran, and warns at every start while it does not exist
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
except OSError:
    pass  # a read-only deployment has collected its files at build time
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # No manifest: `gunicorn config.wsgi` must serve the admin without a collectstatic step first.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps' static folders when nothing was collected.
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
if env_bool("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = SECURE_SSL_REDIRECT
CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Failed token checks allowed per client address before it is refused (429) for the rest of the window.
AUTH_FAILURE_RATE = os.environ.get("AUTH_FAILURE_RATE", "30/min")

# Request bodies above this are answered 413 payload_too_large (500 lines of 200-character text fit well within).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("API_MAX_BODY_BYTES", str(2 * 1024 * 1024)))

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("API_THROTTLE_RATE", "1200/min")},
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONObjectParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
    "DATE_FORMAT": "%Y-%m-%d",
    "DATE_INPUT_FORMATS": ["%Y-%m-%d"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "stornare API",
    "DESCRIPTION": "Invoices and credit notes for Romanian companies. The binding contract is API.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.openapi.add_conventions"],
}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task not acknowledged within this time is delivered again; every countdown the sync uses stays below it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = {
    "purge-idempotency-records": {"task": "accounts.purge_idempotency_records", "schedule": 3600.0},
    "einvoice-sweep": {"task": "einvoice.sweep", "schedule": float(os.environ.get("EINVOICE_SWEEP_SECONDS", "15"))},
}

EINVOICE_PROVIDER = os.environ.get("EINVOICE_PROVIDER", "simulator")
if EINVOICE_PROVIDER not in ("simulator", "anaf-test", "anaf-prod"):
    raise ImproperlyConfigured(f"EINVOICE_PROVIDER={EINVOICE_PROVIDER!r}: simulator, anaf-test or anaf-prod.")
# The simulator: in this process (empty) or a standalone one (`manage.py anaf_simulator`) at this URL; its state
# lives in a folder every process shares.
EINVOICE_SIMULATOR_URL = os.environ.get("EINVOICE_SIMULATOR_URL", "")
# Fernet key for the ANAF OAuth tokens at rest; empty: derived from SECRET_KEY.
EINVOICE_TOKEN_KEY = os.environ.get("EINVOICE_TOKEN_KEY", "")
EINVOICE_SIMULATOR_DIR = os.environ.get("EINVOICE_SIMULATOR_DIR", "")
EINVOICE_SIMULATOR_PROCESSING_SECONDS = float(os.environ.get("EINVOICE_SIMULATOR_PROCESSING_SECONDS", "2"))
EINVOICE_CONNECT_TIMEOUT_SECONDS = float(os.environ.get("EINVOICE_CONNECT_TIMEOUT_SECONDS", "5"))
EINVOICE_READ_TIMEOUT_SECONDS = float(os.environ.get("EINVOICE_READ_TIMEOUT_SECONDS", "30"))
# Calls to ANAF per minute, all workers together (ANAF allows 1,000).
EINVOICE_RATE_LIMIT_PER_MINUTE = int(os.environ.get("EINVOICE_RATE_LIMIT_PER_MINUTE", "600"))
# After an upload that went unanswered, how long ANAF gets to list it before the upload is made again.
EINVOICE_RECONCILE_AFTER_SECONDS = float(
    os.environ.get("EINVOICE_RECONCILE_AFTER_SECONDS", "10" if EINVOICE_PROVIDER == "simulator" else "900")
)
# A worker's lease on a submission while it works on it: longer than any one step (an upload's timeouts plus
# rate-limit waits). A worker that dies holds it this long before the sweeper re-drives the submission.
EINVOICE_LEASE_SECONDS = float(os.environ.get("EINVOICE_LEASE_SECONDS", "180"))
# The longest wait between two attempts; it stays below the broker's visibility timeout.
EINVOICE_RETRY_CAP_SECONDS = float(os.environ.get("EINVOICE_RETRY_CAP_SECONDS", "600"))
# Failed calls in a row before a submission ends in `error` (with the backoff, about a day).
EINVOICE_MAX_ATTEMPTS = int(os.environ.get("EINVOICE_MAX_ATTEMPTS", "150"))
# Folder of the official UBL 2.1 XSD and CIUS-RO schematron (reference data, not in the repository); empty: not run.
EINVOICE_VALIDATION_DIR = os.environ.get("EINVOICE_VALIDATION_DIR", "")

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "facturi@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
