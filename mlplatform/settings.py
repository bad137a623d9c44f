"""Django settings, read from the environment (12-factor); `.env.example` lists every variable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from mlplatform.env import env_bool, env_float, env_int, env_list, env_str
from mlplatform.logs import logging_config
from mlplatform.safety import DEV_SECRET_KEY, check_production_settings

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("MLP_DATA_DIR", str(BASE_DIR / "var")))

# --- Core -----------------------------------------------------------------------------------------
DJANGO_ENV = env_str("DJANGO_ENV", "development")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
MLP_ADMIN_USER = env_str("MLP_ADMIN_USER", "")
MLP_ADMIN_PASSWORD = env_str("MLP_ADMIN_PASSWORD", "")
if PRODUCTION:
    check_production_settings(
        debug=DEBUG,
        secret_key=SECRET_KEY,
        admin_user=MLP_ADMIN_USER,
        admin_password=MLP_ADMIN_PASSWORD,
    )

INSTALLED_APPS = [
    "daphne",  # first, so that `runserver` serves ASGI (WebSockets included)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "graphene_django",
    "channels",
    "django_prometheus",
    "corsheaders",
    "models_app",
    "predictions",
]

MIDDLEWARE = [
    "mlplatform.http_metrics.HttpMetricsMiddleware",
    "mlplatform.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mlplatform.urls"
ASGI_APPLICATION = "mlplatform.asgi.application"

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

# --- Database -------------------------------------------------------------------------------------
_SQLITE_PATH = DATA_DIR / "db.sqlite3"
# No persistent connections: under ASGI Django runs each request's sync code in a fresh thread,
# and persistent per-thread connections piled up until PostgreSQL refused clients ("too many
# clients", found by `make bench` on GraphQL at concurrency 16). PostgreSQL gets a connection
# pool per process instead (psycopg_pool, Django 5.1+), which makes reconnecting nearly free.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{_SQLITE_PATH}"), conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("MLP_DB_POOL_SIZE", 20),
        # How long a request waits for a connection: with the database down, the client gets
        # its 503 after this, so it is short (the database outage test found 10 s too long).
        "timeout": env_float("MLP_DB_POOL_TIMEOUT", 3.0),
    }
    # A connection that died while idle in the pool (database restarted, network cut) is replaced
    # before a request gets it (Django passes psycopg_pool's check_connection): after an outage,
    # the first requests otherwise failed, one per dead pooled connection (database outage test).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web, gRPC and MQTT processes read while one of them writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_db.sqlite3")}
# django-prometheus's wrappers of the same backends count queries and errors for /metrics.
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends.", 1
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Static and artifacts -------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MLP_ARTIFACT_DIR", str(DATA_DIR / "artifacts")))
MEDIA_URL = "artifacts/"
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "mlplatform.storage.StaticStorage"},
}
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
# Shared artifact storage for several hosts: MLP_ARTIFACT_STORAGE=s3 (django-storages; the bucket
# and credentials come from AWS_* variables, any S3-compatible endpoint via AWS_S3_ENDPOINT_URL).
MLP_ARTIFACT_STORAGE = env_str("MLP_ARTIFACT_STORAGE", "filesystem")
MLP_ARTIFACT_CACHE_DIR = env_str("MLP_ARTIFACT_CACHE_DIR", str(DATA_DIR / "artifact-cache"))
if MLP_ARTIFACT_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", "mlplatform-artifacts"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            "location": env_str("AWS_LOCATION", "artifacts"),
            "file_overwrite": False,
            "default_acl": None,
        },
    }

# --- I18N -----------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Auth: one JWT for every protocol -------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
JWT_ACCESS_MINUTES = env_int("JWT_ACCESS_MINUTES", 15)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=JWT_ACCESS_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 1)),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY", SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer", "JWT"),
    "USER_ID_CLAIM": "user_id",
    "TOKEN_OBTAIN_SERIALIZER": "mlplatform.tokens.PlatformTokenObtainPairSerializer",
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "mlplatform.drf_errors.platform_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "mlplatform.pagination.PlatformPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("MLP_THROTTLE_ANON", "60/min"),
        "user": env_str("MLP_THROTTLE_USER", "6000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MLPlatform API",
    "DESCRIPTION": (
        "Model registry and predictions. Get a token at /api/v1/auth/token/ and send "
        "`Authorization: Bearer <token>`; the same token works on every protocol."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "tryItOutEnabled": True},
    "ENUM_NAME_OVERRIDES": {
        "TaskEnum": "models_app.models.Task",
        "TrainableTaskEnum": "models_app.models.UPLOAD_TASK_CHOICES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "predictions.rest.openapi.add_predict_operation",
    ],
}

GRAPHENE = {
    "SCHEMA": "mlplatform.schema.schema",
    "MIDDLEWARE": ["mlplatform.graphql_errors.PlatformErrorMiddleware"],
    "SCHEMA_OUTPUT": "schema.graphql",
}
GRAPHQL_MAX_DEPTH = env_int("GRAPHQL_MAX_DEPTH", 8)
GRAPHQL_MAX_FIELDS = env_int("GRAPHQL_MAX_FIELDS", 200)
GRAPHQL_JWT = {
    "JWT_SECRET_KEY": SIMPLE_JWT["SIGNING_KEY"],
    "JWT_ALGORITHM": "HS256",
    "JWT_VERIFY_EXPIRATION": True,
    "JWT_EXPIRATION_DELTA": SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"],
    "JWT_REFRESH_EXPIRATION_DELTA": SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"],
    "JWT_AUTH_HEADER_PREFIX": "JWT",
    "JWT_PAYLOAD_HANDLER": "mlplatform.tokens.graphql_jwt_payload",
}

# --- Services -------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
MQTT_URL = env_str("MQTT_URL", "mqtt://127.0.0.1:1883")
MQTT_DEFAULT_MODEL = env_str("MQTT_DEFAULT_MODEL", "demo")
MQTT_TOPIC_PREFIX = env_str("MQTT_TOPIC_PREFIX", "ml")
MQTT_SHARE_GROUP = env_str("MQTT_SHARE_GROUP", "mlplatform")
MQTT_REQUIRE_TOKEN = env_bool("MQTT_REQUIRE_TOKEN", False)
MQTT_BRIDGE_USER = env_str("MQTT_BRIDGE_USER", "mqtt-bridge")
MQTT_WORKERS = env_int("MQTT_WORKERS", 8)
MQTT_MAX_INFLIGHT = env_int("MQTT_MAX_INFLIGHT", 256)
MLP_HTTP_PORT = env_int("MLP_HTTP_PORT", 8000)
MLP_GRPC_PORT = env_int("MLP_GRPC_PORT", 50051)
MLP_GRPC_HOST = env_str("MLP_GRPC_HOST", "127.0.0.1")
# Handler threads. Measured (c=12, iris): 8 threads served ~13% more calls at ~14% less CPU per
# call than 16 (fewer threads fighting over the GIL); each open stream holds one thread.
MLP_GRPC_THREADS = env_int("MLP_GRPC_THREADS", 8)
# Calls beyond the threads wait in gRPC's queue; beyond this many, RESOURCE_EXHAUSTED.
MLP_GRPC_MAX_CONCURRENT_RPCS = env_int("MLP_GRPC_MAX_CONCURRENT_RPCS", 128)
MLP_GRPC_GRACE_SECONDS = env_float("MLP_GRPC_GRACE_SECONDS", 20.0)
MLP_OPS_HOST = env_str("MLP_OPS_HOST", "127.0.0.1")
MLP_GRPC_METRICS_PORT = env_int("MLP_GRPC_METRICS_PORT", 9101)  # /metrics, /healthz; 0 = off
MLP_MQTT_METRICS_PORT = env_int("MLP_MQTT_METRICS_PORT", 9102)

# --- Inference ------------------------------------------------------------------------------------
MLP_MAX_BATCH_SIZE = env_int("MLP_MAX_BATCH_SIZE", 1000)
# Predictions per user per protocol per process ("N/s", "N/min", "0" = none), with overrides.
MLP_RATE_LIMIT = env_str("MLP_RATE_LIMIT", "2000/s")
MLP_RATE_LIMITS = env_str("MLP_RATE_LIMITS", "")
MLP_MAX_BODY_BYTES = env_int("MLP_MAX_BODY_BYTES", 10 * 1024 * 1024)
MLP_MAX_IMAGE_BYTES = env_int("MLP_MAX_IMAGE_BYTES", 8 * 1024 * 1024)
MLP_MAX_IMAGE_PIXELS = env_int("MLP_MAX_IMAGE_PIXELS", 40_000_000)
MLP_MAX_UPLOAD_BYTES = env_int("MLP_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # bigger uploads go to a temporary file
MLP_IMAGENET_ONNX = env_str(
    "MLP_IMAGENET_ONNX", str(BASE_DIR / "var" / "build" / "efficientnet_lite0.onnx")
)
MLP_RUNTIME_CACHE_SIZE = env_int("MLP_RUNTIME_CACHE_SIZE", 16)
MLP_MODEL_CACHE_SECONDS = env_float("MLP_MODEL_CACHE_SECONDS", 5.0)  # 0 = resolve every time
# Dynamic batching: concurrent requests for one version share a model call of up to this many
# instances (1 = off); a leader may wait MLP_BATCH_MAX_WAIT_MS for more (0: batch what waits).
MLP_BATCH_MAX_SIZE = env_int("MLP_BATCH_MAX_SIZE", 64)
MLP_BATCH_MAX_WAIT_MS = env_float("MLP_BATCH_MAX_WAIT_MS", 0.0)
MLP_INFERENCE_THREADS = env_int("MLP_INFERENCE_THREADS", 8)
# Event-loop front-ends (REST, V2 REST, WebSockets) run a prediction on the loop itself, with no
# thread hop, when its model's measured cost per instance times the instances the request claims
# is less than this (0 = always use the pool).
MLP_INLINE_MAX_MS = env_float("MLP_INLINE_MAX_MS", 1.0)
# How uvicorn reaches Django's own routes (GraphQL, SOAP, DRF, admin, pages): "wsgi" runs Django's
# WSGI handler in a thread pool (mlplatform/wsgi_bridge.py: one thread hop a request), "asgi" its
# ASGI handler (a hop per sync middleware step). See README "Performance" for the measurement
# behind the default.
MLP_DJANGO_HANDLER = env_str("MLP_DJANGO_HANDLER", "wsgi")
MLP_DJANGO_THREADS = env_int("MLP_DJANGO_THREADS", 8)
PREDICTION_CACHE_TTL = env_int("PREDICTION_CACHE_TTL", 3600)
MLP_CACHE_PREFIX = env_str("MLP_CACHE_PREFIX", "mlp")
# "buffered": a prediction answers once its row is queued; a writer thread commits within
# MLP_RECORD_LINGER_MS, retries while the database is away (refusing new predictions meanwhile)
# and writes everything queued on a clean stop. "durable": it answers once its row has committed.
MLP_RECORD_MODE = env_str("MLP_RECORD_MODE", "buffered")
if MLP_RECORD_MODE not in {"buffered", "durable"}:
    raise ImproperlyConfigured("MLP_RECORD_MODE must be 'buffered' or 'durable'")
MLP_RECORD_LINGER_MS = env_float("MLP_RECORD_LINGER_MS", 5.0)
MLP_RECORD_MAX_PENDING = env_int("MLP_RECORD_MAX_PENDING", 20000)
MLP_RECORD_FLUSH_MAX = env_int("MLP_RECORD_FLUSH_MAX", 256)
# false: a recording commit on PostgreSQL returns before its WAL reaches disk (a database *server*
# crash may lose the last ~0.6 s of predictions; our processes' crashes and restarts lose none).
MLP_RECORD_SYNCHRONOUS_COMMIT = env_bool("MLP_RECORD_SYNCHRONOUS_COMMIT", False)

# --- WebSockets (Channels; the Redis channel layer carries the live feed and job progress) -------
MLP_WS_MAX_MESSAGE_BYTES = env_int("MLP_WS_MAX_MESSAGE_BYTES", MLP_MAX_BODY_BYTES)
MLP_WS_RATE_PER_SECOND = env_float("MLP_WS_RATE_PER_SECOND", 500.0)
MLP_WS_RATE_BURST = env_int("MLP_WS_RATE_BURST", 1000)
MLP_WS_MAX_IN_FLIGHT = env_int("MLP_WS_MAX_IN_FLIGHT", 64)
MLP_FEED_SNAPSHOT = env_int("MLP_FEED_SNAPSHOT", 50)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 reads with a 5 s socket timeout by default, the same as channels_redis's
            # 5 s BZPOPMIN: an idle consumer then died with TimeoutError. Give reads headroom.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 2}],
            "prefix": f"{MLP_CACHE_PREFIX}:asgi",
            "capacity": 1000,
            "expiry": 30,
        },
    }
}

# --- Training jobs (Celery on the Redis broker) ---------------------------------------------------
MLP_TRAINING_TIME_LIMIT = env_int("MLP_TRAINING_TIME_LIMIT", 1800)
MLP_JOB_HEARTBEAT_SECONDS = env_int("MLP_JOB_HEARTBEAT_SECONDS", 5)
MLP_JOB_STALL_SECONDS = env_int("MLP_JOB_STALL_SECONDS", 60)
MLP_JOB_MAX_ATTEMPTS = env_int("MLP_JOB_MAX_ATTEMPTS", 2)
MLP_JOB_REAP_SECONDS = env_int("MLP_JOB_REAP_SECONDS", 15)
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = env_str("MLP_CELERY_QUEUE", "mlplatform")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = MLP_TRAINING_TIME_LIMIT
CELERY_TASK_SOFT_TIME_LIMIT = max(MLP_TRAINING_TIME_LIMIT - 30, 1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": MLP_TRAINING_TIME_LIMIT + 600}

# --- Logging --------------------------------------------------------------------------------------
MLP_LOG_FORMAT = env_str("MLP_LOG_FORMAT", "json" if PRODUCTION else "text")
LOGGING = logging_config(json_format=MLP_LOG_FORMAT == "json", level=env_str("LOG_LEVEL", "INFO"))

# --- HTTP security (production: behind a TLS-terminating proxy such as deploy/nginx) -----------
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_CREDENTIALS = False  # browsers on other origins use tokens, never our cookies
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Probes and scrapes come over the internal network in plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$", r"^v2/health/"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
