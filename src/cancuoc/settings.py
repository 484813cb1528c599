"""Django settings, read from the environment.

Every value comes from an environment variable with a safe default for a
developer's machine. With DEBUG off there is no default SECRET_KEY.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from cancuoc.env import env_bool, env_int, env_list, env_path, env_str

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent.parent
DATA_DIR = env_path("CANCUOC_DATA_DIR", PROJECT_DIR / "var")

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off (set DEBUG=1 for a developer machine)"
        )
    SECRET_KEY = "insecure-development-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "cancuoc.core",
    "cancuoc.units",
    "cancuoc.accounts",
    "cancuoc.registry",
    "cancuoc.dossiers",
    "cancuoc.enrolment",
    "cancuoc.campaigns",
    "cancuoc.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "cancuoc.core.middleware.PreferredLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cancuoc.core.middleware.ClientAddressMiddleware",
]

ROOT_URLCONF = "cancuoc.urls"
WSGI_APPLICATION = "cancuoc.wsgi.application"
ASGI_APPLICATION = "cancuoc.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cancuoc.core.context_processors.navigation",
            ],
        },
    },
]


def _database_config() -> dict:
    url = env_str("DATABASE_URL")
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DATA_DIR / 'cancuoc.sqlite3'}"
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from exc
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        # WAL lets readers work while a writer commits; IMMEDIATE takes the write
        # lock at BEGIN so two writers queue instead of failing mid-transaction.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        config["CONN_MAX_AGE"] = 0
    elif engine not in ("django.db.backends.postgresql",):
        raise ImproperlyConfigured(
            f"DATABASE_URL: only SQLite and PostgreSQL are supported, not {engine}"
        )
    return config


DATABASES = {"default": _database_config()}

# Background work (imports, quality recomputation, PDF batches) goes through Django's
# tasks API. The database backend needs no broker: `cancuoc db_worker` runs the queue
# (`make run` starts one beside the web server).
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND") or "django_tasks_db.DatabaseBackend",
    }
}
# Uploaded import files and generated reports live here, outside the code.
MEDIA_ROOT = DATA_DIR / "media"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Biometric images (fingerprints, face, iris, signatures) are stored encrypted
# (AES-256-GCM) and content-addressed under this folder, never in the database or a log.
# The key is 32 bytes, urlsafe base64, from the environment; with DEBUG off there is no
# default (see enrolment/biostore.py), and losing it makes the images unreadable.
BIOMETRIC_ROOT = env_path("CANCUOC_BIOMETRIC_ROOT", DATA_DIR / "biometrics")
BIOMETRIC_KEY = env_str("CANCUOC_BIOMETRIC_KEY") or ""
BIOMETRIC_MAX_BYTES = env_int("CANCUOC_BIOMETRIC_MAX_BYTES", 2 * 1024 * 1024, minimum=1024)
# How long images are kept after the card is delivered (retention policy, in years).
BIOMETRIC_RETENTION_YEARS = env_int("CANCUOC_BIOMETRIC_RETENTION_YEARS", 5, minimum=1)
# fsync each image before its row is written (a power cut loses nothing); off only for tests.
BIOMETRIC_FSYNC = env_bool("CANCUOC_BIOMETRIC_FSYNC", True)
# Device drivers a station's device_profile may name, e.g. {"acme": "acme_cancuoc.devices"}
# (see docs/devices.md); the simulator and the upload bridge are always available.
ENROLMENT_DEVICE_ADAPTERS: dict[str, str] = {}

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions expire after this many idle seconds; every request extends them.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Login throttling: this many failures for one username or one client address
# within the window lock further attempts until the window has passed.
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60, minimum=1)

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]

# Database triggers refuse UPDATE/DELETE on the audit log and the event stream.
APPEND_ONLY_TRIGGERS = True

# Trusted reverse proxies: only then is X-Forwarded-For believed for the audit log.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
