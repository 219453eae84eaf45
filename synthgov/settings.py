"""SynthGov settings: one module, configured by environment variables.

Production differences are environment values, not a second settings tree.
README.md lists every variable read here.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from synthgov.env import (
    env_bool,
    env_bytes,
    env_cache,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_str,
    s3_storage_from_env,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SYNTHGOV_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set it to a long random string, "
            "e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(64))'`."
        )
    # Only for local development: sessions signed with it are worthless elsewhere.
    SECRET_KEY = "django-insecure-local-development-only-8f3b2c1e9d7a6b5c4d3e2f1a0b9c8d7e6f"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

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
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "axes",
    "csp",
    "synthgov.accounts",
    "synthgov.trail",
    "synthgov.access",
    "registry",
    "audits",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "synthgov.security.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "synthgov.access.sessions.PrivilegedSessionMiddleware",
    # Last, so it turns a lockout flagged anywhere below into the lockout page.
    "axes.middleware.AxesMiddleware",
    # A file store that does not answer is a 503 with what to do, not a 500 page.
    "synthgov.storage.StorageUnavailableMiddleware",
]

ROOT_URLCONF = "synthgov.urls"
WSGI_APPLICATION = "synthgov.wsgi.application"

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
                "synthgov.accounts.context_processors.navigation",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'synthgov.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to the same file: wait for locks
    # instead of failing, and take the write lock at BEGIN so two writers
    # never deadlock half-way through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    # A file, not memory, so a worker process started by a test shares it; one
    # per test process, so two test runs on one checkout never share a file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-synthgov-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"  # never served directly: downloads go through permission checks
# Stored tables: the local folder MEDIA_ROOT (default), or an S3 bucket with
# SYNTHGOV_STORAGE=s3 so workers on other machines read the same files
# (synthgov/storage.py; every variable is in README "Storage").
SYNTHGOV_STORAGE = env_choice("SYNTHGOV_STORAGE", "local", ("local", "s3"))
STORAGES = {
    "default": (
        s3_storage_from_env()
        if SYNTHGOV_STORAGE == "s3"
        else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    ),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploads larger than this are refused while they stream in.
SYNTHGOV_MAX_UPLOAD_BYTES = env_bytes("SYNTHGOV_MAX_UPLOAD_BYTES", 2 * 1024**3)
SYNTHGOV_MAX_COLUMNS = env_int("SYNTHGOV_MAX_COLUMNS", 500, minimum=1)
# Tables with more rows are refused at upload, by format. An audit reads a CSV table
# whole into the worker's memory on first use, so CSV keeps the lower limit; it reads
# a Parquet table column by column and spills prepared columns to disk (above
# SYNTHGOV_AUDIT_SPILL_ROWS), so a Parquet table may be far longer: a 50M / 50M / 5M
# audit uploaded through the API peaked at 2.7 GiB in the worker (bench/census_e2e.py). A
# Parquet file is checked from its metadata before any row is read, then the rows read
# must match what it declares. Unset, the Parquet limit is never below the CSV one.
SYNTHGOV_MAX_ROWS = env_int("SYNTHGOV_MAX_ROWS", 10_000_000, minimum=1)
SYNTHGOV_MAX_PARQUET_ROWS = env_int(
    "SYNTHGOV_MAX_PARQUET_ROWS", max(50_000_000, SYNTHGOV_MAX_ROWS), minimum=1
)
# The most tables one (relational) version may hold; each table is also held to the
# limits above, and the tables together to SYNTHGOV_MAX_UPLOAD_BYTES.
SYNTHGOV_MAX_TABLES = env_int("SYNTHGOV_MAX_TABLES", 20, minimum=1)
# A running audit whose worker has not refreshed its heartbeat for this long is
# taken over by the next delivery of its task (the first worker died).
SYNTHGOV_AUDIT_LEASE_SECONDS = env_int("SYNTHGOV_AUDIT_LEASE_SECONDS", 30, minimum=6)
# A Dask distributed scheduler (tcp://host:8786): audits of tables with at least
# SYNTHGOV_DASK_MIN_ROWS rows compute their row-hash figures (duplicates, exact copies,
# linkage) as Dask tasks of SYNTHGOV_DASK_PIECE_ROWS rows on its workers, which read the
# stored files themselves (README, "Audits on a Dask cluster"). Empty: everything runs in
# the worker and Dask is never imported.
SYNTHGOV_DASK_SCHEDULER = env_str("SYNTHGOV_DASK_SCHEDULER").strip()
if SYNTHGOV_DASK_SCHEDULER and not SYNTHGOV_DASK_SCHEDULER.startswith(("tcp://", "tls://")):
    raise ImproperlyConfigured(
        f"SYNTHGOV_DASK_SCHEDULER={SYNTHGOV_DASK_SCHEDULER!r} is not a Dask scheduler "
        "address: write tcp://host:8786 (or tls://...), or leave it empty to run audits "
        "in the worker alone."
    )
# An audit whose three tables hold more rows together than this keeps its prepared
# columns (about 29 bytes a row narrow) in files under FILE_UPLOAD_TEMP_DIR, read back
# on each use, instead of in the worker's memory (audits.checks.compact.SpillStore);
# the files are removed when the audit ends. 0: always.
SYNTHGOV_AUDIT_SPILL_ROWS = env_int("SYNTHGOV_AUDIT_SPILL_ROWS", 10_000_000, minimum=0)
SYNTHGOV_DASK_MIN_ROWS = env_int("SYNTHGOV_DASK_MIN_ROWS", 1_000_000, minimum=1)
SYNTHGOV_DASK_PIECE_ROWS = env_int("SYNTHGOV_DASK_PIECE_ROWS", 1_000_000, minimum=1)
# Watermark secrets and manifest signing keys, one JSON file per organisation
# (<slug>.json), kept out of the database. A missing file is generated on first
# use; production mounts this folder from a secret store (README, "Watermarking").
SYNTHGOV_ORG_KEYS_DIR = Path(
    env_str("SYNTHGOV_ORG_KEYS_DIR", str(VAR_DIR / "keys" / "organisations"))
)
# Certificates: Ed25519 signing keys come from a keyring file or variable,
# never from the repository (README, "Certificates"). With neither set and
# DEBUG on, a key file is generated under VAR_DIR on first use.
SYNTHGOV_SIGNING_KEYS_FILE = env_str("SYNTHGOV_SIGNING_KEYS_FILE")
SYNTHGOV_SIGNING_KEYS = env_str("SYNTHGOV_SIGNING_KEYS")
# Validity of a certificate whose standard sets no period of its own.
SYNTHGOV_CERTIFICATE_VALIDITY_DAYS = env_int("SYNTHGOV_CERTIFICATE_VALIDITY_DAYS", 365, minimum=1)
# Anything bigger than this goes to a temporary file rather than memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2
FILE_UPLOAD_TEMP_DIR = str(VAR_DIR / "tmp")
FILE_UPLOAD_HANDLERS = ["registry.uploads.LimitedTemporaryFileUploadHandler"]

# --- Security (see `manage.py check --deploy`) ----------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes talk plain HTTP inside the cluster
X_FRAME_OPTIONS = "DENY"
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Sign-in throttling (django-axes; README, "Sign-in and sessions") -------
AUTHENTICATION_BACKENDS = [
    # Refuses a locked username+address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock the username+address pair, not the username alone: an attacker elsewhere
# cannot lock a colleague out, and one address cannot try many passwords.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env_int("SYNTHGOV_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SYNTHGOV_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# A wrong password during the lockout neither extends it nor stores anything more.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "synthgov.access.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "synthgov.access.lockout.client_ip"
# Successful sign-ins are already in the trail.
AXES_DISABLE_ACCESS_LOG = True
# Behind N reverse proxies that append to X-Forwarded-For, the client is the
# Nth address from the right; 0 means REMOTE_ADDR is the client.
SYNTHGOV_TRUSTED_PROXY_COUNT = env_int("SYNTHGOV_TRUSTED_PROXY_COUNT", 0, minimum=0)
# At most this many lockouts per cool-off window are written to the trail.
SYNTHGOV_LOCKOUT_EVENTS_PER_WINDOW = env_int("SYNTHGOV_LOCKOUT_EVENTS_PER_WINDOW", 100, minimum=1)
# Regulators, administrators and staff: signed out after this long, however
# active (the others keep SESSION_COOKIE_AGE, two weeks).
SYNTHGOV_PRIVILEGED_SESSION_SECONDS = env_int(
    "SYNTHGOV_PRIVILEGED_SESSION_SECONDS", 8 * 3600, minimum=60
)

# --- Content-Security-Policy (django-csp 4) and Permissions-Policy ---------
# Scripts only from this site or carrying the response's nonce: no inline
# handlers, no eval. Styles allow inline (Plotly and the meters set style
# attributes); a style cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=()"
)

# --- API ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated API call gets 401 with a
        # WWW-Authenticate header rather than a bare 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "synthgov.api_fields.FilterBackend",  # django-filter's, naming valid choices
        "rest_framework.filters.SearchFilter",
        "synthgov.api_fields.OrderingFilter",  # DRF's, offering only sortable fields
    ],
    # drf-spectacular's, documenting each operation's error answers too.
    "DEFAULT_SCHEMA_CLASS": "synthgov.api_schema.AutoSchema",
    # DRF's parsers, with a JSON one that refuses bodies nested too deeply (issue 11).
    "DEFAULT_PARSER_CLASSES": [
        "synthgov.api_parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Every API error is a JSON object, as the schema documents.
    "EXCEPTION_HANDLER": "synthgov.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SynthGov API",
    "DESCRIPTION": (
        "Registry, audits, compliance and certification of synthetic datasets. "
        "Authenticate with a session or with `Authorization: Token <key>`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Standards and population profiles share the draft/published choice set.
    "ENUM_NAME_OVERRIDES": {
        "DraftPublishedStatusEnum": "audits.models.populations.PopulationProfile.Status",
        "VersionFormatEnum": "registry.models.DatasetVersion.Format",
    },
}

# --- Cache ----------------------------------------------------------------
# The dashboard's summary figures and the report's charts. Entries are keyed on
# the data's state, so any backend is correct; a shared one (Redis, as in
# deploy/production.env.example) computes each figure once for every gunicorn
# worker instead of once per worker. Local memory by default (`make run`).
CACHES = {"default": env_cache("CACHE_URL", "locmem://")}

# --- Celery ---------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost/")
# The queue tasks are sent to, by the web process and by workers alike (an audit's
# worker queues the evaluation that follows it). Tests give a worker a private one.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery") or "celery"
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 4 * 3600, minimum=60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3 * 3600, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = env_int(
    "CELERY_TASK_SOFT_TIME_LIMIT", CELERY_TASK_TIME_LIMIT - 300, minimum=5
)
if not CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < CELERY_VISIBILITY_TIMEOUT:
    # A task still running when the broker's visibility timeout passes is
    # handed to a second worker and runs twice.
    raise ImproperlyConfigured(
        "Celery limits must satisfy CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < "
        f"CELERY_VISIBILITY_TIMEOUT (got {CELERY_TASK_SOFT_TIME_LIMIT}, "
        f"{CELERY_TASK_TIME_LIMIT}, {CELERY_VISIBILITY_TIMEOUT})."
    )
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        # Otherwise kombu writes exchange files into the working directory.
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE
# Run by `celery -A synthgov beat` (the compose "scheduler", and `make run`).
CELERY_BEAT_SCHEDULE = {
    "certificates-expire": {
        "task": "audits.certificates_expire",
        "schedule": crontab(hour=0, minute=5),
    },
    "certificates-review": {
        "task": "audits.certificates_review",
        "schedule": crontab(hour=1, minute=15),
    },
}

# Nothing orphaned, nothing stuck (README, "Runs that outlive an outage"). The
# sweeper re-sends runs that have no task (the broker was down when they were
# requested, or lost the message), hands on runs whose worker's lease ran out
# (SYNTHGOV_AUDIT_LEASE_SECONDS) and completes their cancels; a run whose
# workers died SYNTHGOV_AUDIT_MAX_ATTEMPTS times fails instead of looping.
SYNTHGOV_SWEEP_SECONDS = env_int("SYNTHGOV_SWEEP_SECONDS", 60, minimum=5)
SYNTHGOV_REQUEUE_SECONDS = env_int("SYNTHGOV_REQUEUE_SECONDS", 3600, minimum=60)
SYNTHGOV_AUDIT_MAX_ATTEMPTS = env_int("SYNTHGOV_AUDIT_MAX_ATTEMPTS", 3, minimum=1)
# The storage scrub re-hashes this many stored files per run, oldest-checked first.
SYNTHGOV_SCRUB_SECONDS = env_int("SYNTHGOV_SCRUB_SECONDS", 3600, minimum=60)
SYNTHGOV_SCRUB_BATCH = env_int("SYNTHGOV_SCRUB_BATCH", 100, minimum=1)
CELERY_BEAT_SCHEDULE["runs-sweep"] = {
    "task": "audits.runs_sweep",
    "schedule": float(SYNTHGOV_SWEEP_SECONDS),
    # Sweeps queued while no worker ran are redundant with the next one.
    "options": {"expires": float(SYNTHGOV_SWEEP_SECONDS)},
}
CELERY_BEAT_SCHEDULE["watermark-sweep"] = {
    "task": "registry.watermark_sweep",
    "schedule": float(SYNTHGOV_SWEEP_SECONDS),
    # Sweeps queued while no worker ran are redundant with the next one.
    "options": {"expires": float(SYNTHGOV_SWEEP_SECONDS)},
}
CELERY_BEAT_SCHEDULE["storage-scrub"] = {
    "task": "registry.storage_scrub",
    "schedule": float(SYNTHGOV_SCRUB_SECONDS),
    "options": {"expires": float(SYNTHGOV_SCRUB_SECONDS)},
}

# --- Logging --------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
# django-axes logs each wrong password at WARNING (with the address); its INFO
# lines (start-up banner, routine clean-ups) are noise.
LOGGING["loggers"]["axes"] = {"level": "WARNING"}

# A misspelt SYNTHGOV_ variable would otherwise be silently ignored.
_KNOWN_SYNTHGOV_VARS = {
    "SYNTHGOV_VAR_DIR",
    "SYNTHGOV_STORAGE",
    "SYNTHGOV_MAX_UPLOAD_BYTES",
    "SYNTHGOV_MAX_COLUMNS",
    "SYNTHGOV_MAX_ROWS",
    "SYNTHGOV_MAX_PARQUET_ROWS",
    "SYNTHGOV_MAX_TABLES",
    "SYNTHGOV_AUDIT_LEASE_SECONDS",
    "SYNTHGOV_AUDIT_SPILL_ROWS",
    "SYNTHGOV_DASK_SCHEDULER",
    "SYNTHGOV_DASK_MIN_ROWS",
    "SYNTHGOV_DASK_PIECE_ROWS",
    "SYNTHGOV_ORG_KEYS_DIR",
    "SYNTHGOV_SIGNING_KEYS_FILE",
    "SYNTHGOV_SIGNING_KEYS",
    "SYNTHGOV_CERTIFICATE_VALIDITY_DAYS",
    "SYNTHGOV_SWEEP_SECONDS",
    "SYNTHGOV_REQUEUE_SECONDS",
    "SYNTHGOV_AUDIT_MAX_ATTEMPTS",
    "SYNTHGOV_SCRUB_SECONDS",
    "SYNTHGOV_SCRUB_BATCH",
    "SYNTHGOV_LOGIN_FAILURE_LIMIT",
    "SYNTHGOV_LOGIN_COOLOFF_MINUTES",
    "SYNTHGOV_LOCKOUT_EVENTS_PER_WINDOW",
    "SYNTHGOV_TRUSTED_PROXY_COUNT",
    "SYNTHGOV_PRIVILEGED_SESSION_SECONDS",
}
_unknown = sorted(
    k for k in os.environ if k.startswith("SYNTHGOV_") and k not in _KNOWN_SYNTHGOV_VARS
)
if _unknown:
    raise ImproperlyConfigured(
        f"Unknown setting(s) {', '.join(_unknown)}: known SYNTHGOV_ variables are "
        f"{', '.join(sorted(_KNOWN_SYNTHGOV_VARS))}."
    )

for _folder in (VAR_DIR, MEDIA_ROOT, STATIC_ROOT, Path(FILE_UPLOAD_TEMP_DIR)):
    _folder.mkdir(parents=True, exist_ok=True)
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _folder in CELERY_BROKER_TRANSPORT_OPTIONS.values():
        if isinstance(_folder, str):
            Path(_folder).mkdir(parents=True, exist_ok=True)

# Audit trail: sign a checkpoint of the trail's head every hour (README, "Audit trail").
CELERY_BEAT_SCHEDULE["trail-checkpoint"] = {
    "task": "trail.checkpoint",
    "schedule": crontab(minute=7),
}
