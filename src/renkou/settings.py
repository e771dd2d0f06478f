"""Django settings. Every setting that varies by install is read here from the environment; see docs/settings.md."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from renkou.env import envbool, envint, envstr

PACKAGE_DIR = Path(__file__).resolve().parent
# Where the SQLite database, the demo truth file and uploads live unless told otherwise.
DATA_DIR = Path(envstr("RENKOU_DATA_DIR", str(Path.cwd() / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

INSECURE_DEFAULT_SECRET = "renkou-insecure-development-secret-do-not-use-in-production"  # noqa: S105

DEBUG = envbool("RENKOU_DEBUG", False)
SECRET_KEY_FILE = DATA_DIR / "secret_key"
# RENKOU_SECRET_KEY, else the key `renkou serve --demo` generated for a demo install, else an insecure default
# that `renkou serve` and `renkou check --deploy` refuse outside debug mode (see renkou.core.checks).
SECRET_KEY = envstr("RENKOU_SECRET_KEY", "") or (
    SECRET_KEY_FILE.read_text().strip() if SECRET_KEY_FILE.is_file() else INSECURE_DEFAULT_SECRET
)

ALLOWED_HOSTS = [h.strip() for h in envstr("RENKOU_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in envstr("RENKOU_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

DATABASE_URL = envstr("RENKOU_DATABASE_URL", f"sqlite:///{DATA_DIR / 'renkou.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("RENKOU_DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Persistent connections keep SQLite's page cache warm between requests (measured: 2x search throughput).
    DATABASES["default"]["CONN_MAX_AGE"] = envint("RENKOU_DB_CONN_MAX_AGE", 600)
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside one writer; IMMEDIATE avoids upgrade deadlocks between writers.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
            " PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=268435456;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": envstr("RENKOU_TEST_SQLITE", "") or None}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    raise ImproperlyConfigured("RENKOU_DATABASE_URL must be sqlite:///path or postgresql://…")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "ninja",  # serves the API docs page's Swagger UI from static files (no CDN on these machines)
    "renkou.core",
    "renkou.orgunits",
    "renkou.accounts",
    "renkou.registry",
    "renkou.demo",
    "renkou.intake",
    "renkou.dedup",
    "renkou.quality",
    "renkou.stats",
    "renkou.aggregates",
    "renkou.migrants",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "renkou.core.middleware.RefuseNulMiddleware",
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

ROOT_URLCONF = "renkou.urls"
WSGI_APPLICATION = "renkou.wsgi.application"

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
                "renkou.core.context_processors.site",
            ],
        },
    },
]

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
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): lock a username+address after repeated failures.
AXES_FAILURE_LIMIT = envint("RENKOU_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envint("RENKOU_LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Sessions expire after a working day of inactivity and when the browser closes.
SESSION_COOKIE_AGE = envint("RENKOU_SESSION_SECONDS", 8 * 3600)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = envbool("RENKOU_HTTPS", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = envstr("RENKOU_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Static files are served by WhiteNoise from the package (finders); collectstatic is optional.
STATIC_ROOT = envstr("RENKOU_STATIC_ROOT", "") or None
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Where the demo generator writes truth.json: beside the SQLite database.
DEMO_TRUTH_PATH = Path(envstr("RENKOU_DEMO_TRUTH", str(DATA_DIR / "truth.json")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("RENKOU_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Floating-population exchange (docs/exchange.md): this node's county and its connection to NATS JetStream.
EXCHANGE = {
    "COUNTY_CODE": envstr("RENKOU_COUNTY_CODE", ""),  # empty: the county unit of the register
    "NATS_URL": envstr("RENKOU_NATS_URL", "nats://127.0.0.1:4222"),
    "NATS_USER": envstr("RENKOU_NATS_USER", ""),
    "NATS_PASSWORD": envstr("RENKOU_NATS_PASSWORD", ""),
    "NATS_NKEY_SEED": envstr("RENKOU_NATS_NKEY_SEED", ""),
    "NATS_CREDS": envstr("RENKOU_NATS_CREDS", ""),
    "NATS_STREAM": envstr("RENKOU_NATS_STREAM", "RENKOU_EXCHANGE"),
    "NATS_SUBJECT_PREFIX": envstr("RENKOU_NATS_SUBJECT_PREFIX", "renkou.exchange"),
    "NATS_PROVISION": envbool("RENKOU_NATS_PROVISION", True),
    "AUTO_FEEDBACK": envbool("RENKOU_EXCHANGE_AUTO_FEEDBACK", True),
    "BATCH": envint("RENKOU_EXCHANGE_BATCH", 500),
    "PACK": envint("RENKOU_EXCHANGE_PACK", 250),  # messages per broker message (batch envelope); 1: none
    "SINGLE_PEERS": envstr("RENKOU_EXCHANGE_SINGLE_PEERS", ""),  # counties still on single-message nodes
    "MAX_DELIVER": envint("RENKOU_EXCHANGE_MAX_DELIVER", 5),  # deliveries before a failing message is dead
}
