"""Driftgate settings, read from the environment with safe development defaults.

Production sets DJANGO_DEBUG=0, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL (PostgreSQL) and
CELERY_BROKER_URL (Redis); see the README's "Configuration" section for every variable.
"""
import secrets
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from driftgate.env import (
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_str,
    s3_files_storages,
    s3_storage,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("DRIFTGATE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", True)


def _development_secret_key() -> str:
    """Return a random key kept in var/ so development sessions survive a restart."""
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = _development_secret_key()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "csp",
    "driftgate",
    "governance",
    "monitoring",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files carry the policy too; every response gets it.
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "driftgate.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so it turns any view's locked-out login into the 429 refusal.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "driftgate.urls"
WSGI_APPLICATION = "driftgate.wsgi.application"
ASGI_APPLICATION = "driftgate.asgi.application"

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
                "django.template.context_processors.i18n",
                "governance.pages.context.navigation",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# SQLite is the embedded default (`make demo`); production and the test suite use PostgreSQL.
DATABASES = {"default": database_from_url(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'driftgate.sqlite3'}"))}
if env_str("DRIFTGATE_TEST_DB_SUFFIX") and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Lets several test runs share one PostgreSQL server without dropping each other's test database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{env_str('DRIFTGATE_TEST_DB_SUFFIX')}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The pages speak these; the API's error messages stay English (clients read the stable codes).
LANGUAGES = [("en", "English"), ("nb", "Norsk bokmål"), ("sv", "Svenska")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("DRIFTGATE_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
REPORTS_ROOT = Path(env_str("DRIFTGATE_REPORTS_ROOT", str(VAR_DIR / "reports")))
STORAGES: dict[str, dict] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # Evidence files and rendered reports: local disk (MEDIA_ROOT, REPORTS_ROOT) unless a bucket is named, which
    # every web and worker machine then shares. Both keep their SHA-256 in the database and are checked on download.
    "evidence": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "reports": {"BACKEND": "reports.models.ReportFileStorage"},
}
if env_str("DRIFTGATE_FILES_S3_BUCKET"):
    STORAGES.update(s3_files_storages())

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login lockout (django-axes): failures are counted per account and, separately, per address; either reaching
# the limit locks that account or address for the cool-off. Staff lift it: `manage.py login_unlock`, or the admin.
AUTHENTICATION_BACKENDS = ["driftgate.auth_backends.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("DRIFTGATE_LOGIN_MAX_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("DRIFTGATE_LOGIN_LOCKOUT_SECONDS", 900, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# Refused attempts while locked neither extend the lock nor count again (nor audit again).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "driftgate.lockout.lockout_response"
AXES_ENABLE_ADMIN = False  # governance's admin shows attempts read-only, with an audited unlock action
AXES_VERBOSE = False

# Single sign-on with OpenID Connect (README "Single sign-on"): off unless DRIFTGATE_OIDC_ENABLED=1. The provider's
# endpoints are configured, not discovered, so starting a process never waits on the provider; the client secret
# comes from the environment or a mounted file, never from code.
DRIFTGATE_OIDC_ENABLED = env_bool("DRIFTGATE_OIDC_ENABLED", False)
# The name on the pages ("Sign in with Entra ID"); unset, the pages say "single sign-on" in the reader's language.
DRIFTGATE_OIDC_PROVIDER_NAME = env_str("DRIFTGATE_OIDC_PROVIDER_NAME")
DRIFTGATE_OIDC_ISSUER = env_str("DRIFTGATE_OIDC_ISSUER")
# The claim that names the Driftgate person: `email` matches the e-mail address, any other claim the username.
DRIFTGATE_OIDC_USER_CLAIM = env_str("DRIFTGATE_OIDC_USER_CLAIM", "email").strip()
# Off: only people who already exist in Driftgate sign in. On: a new person is created, with no role anywhere.
DRIFTGATE_OIDC_CREATE_USERS = env_bool("DRIFTGATE_OIDC_CREATE_USERS", False)
# Signing with OIDC: the provider's login must be at most this old when the token comes back and when the
# signature is made; the ID token's auth_time must also not predate the re-authentication request by more than the
# clock skew allowed.
DRIFTGATE_OIDC_REAUTH_MAX_AGE_SECONDS = env_int("DRIFTGATE_OIDC_REAUTH_MAX_AGE_SECONDS", 300, minimum=10)
DRIFTGATE_OIDC_CLOCK_SKEW_SECONDS = env_int("DRIFTGATE_OIDC_CLOCK_SKEW_SECONDS", 30, minimum=0)
OIDC_RP_CLIENT_ID = env_str("DRIFTGATE_OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("DRIFTGATE_OIDC_CLIENT_SECRET")
if not OIDC_RP_CLIENT_SECRET and env_str("DRIFTGATE_OIDC_CLIENT_SECRET_FILE"):
    OIDC_RP_CLIENT_SECRET = Path(env_str("DRIFTGATE_OIDC_CLIENT_SECRET_FILE")).read_text().strip()
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("DRIFTGATE_OIDC_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_str("DRIFTGATE_OIDC_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_str("DRIFTGATE_OIDC_USERINFO_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_str("DRIFTGATE_OIDC_JWKS_ENDPOINT") or None
OIDC_RP_SIGN_ALGO = env_str("DRIFTGATE_OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("DRIFTGATE_OIDC_SCOPES", "openid email profile")
OIDC_USE_PKCE = env_bool("DRIFTGATE_OIDC_USE_PKCE", True)
OIDC_TIMEOUT = env_int("DRIFTGATE_OIDC_TIMEOUT_SECONDS", 10, minimum=1)
OIDC_STORE_ID_TOKEN = False
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"
if DRIFTGATE_OIDC_ENABLED:
    _missing = [name for name, value in [
        ("DRIFTGATE_OIDC_ISSUER", DRIFTGATE_OIDC_ISSUER), ("DRIFTGATE_OIDC_CLIENT_ID", OIDC_RP_CLIENT_ID),
        ("DRIFTGATE_OIDC_CLIENT_SECRET or DRIFTGATE_OIDC_CLIENT_SECRET_FILE", OIDC_RP_CLIENT_SECRET),
        ("DRIFTGATE_OIDC_AUTHORIZATION_ENDPOINT", OIDC_OP_AUTHORIZATION_ENDPOINT),
        ("DRIFTGATE_OIDC_TOKEN_ENDPOINT", OIDC_OP_TOKEN_ENDPOINT),
        ("DRIFTGATE_OIDC_USERINFO_ENDPOINT", OIDC_OP_USER_ENDPOINT)] if not value]
    if OIDC_RP_SIGN_ALGO.startswith(("RS", "ES")) and not OIDC_OP_JWKS_ENDPOINT:
        _missing.append(f"DRIFTGATE_OIDC_JWKS_ENDPOINT (for {OIDC_RP_SIGN_ALGO})")
    if _missing:
        raise ImproperlyConfigured(f"DRIFTGATE_OIDC_ENABLED is on but these are not set: {', '.join(_missing)}")
    if "openid" not in OIDC_RP_SCOPES.split():
        raise ImproperlyConfigured(f"DRIFTGATE_OIDC_SCOPES={OIDC_RP_SCOPES!r} must include openid")
# Listed always, so a session started by single sign-on keeps working; it signs no one in while OIDC is off.
AUTHENTICATION_BACKENDS.append("governance.sso.backend.OidcBackend")

# Security: strict by default outside development; `manage.py check --deploy` passes with DJANGO_DEBUG=0.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # DRF's session auth reads the CSRF token from the cookie in browser clients.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    if env_bool("DJANGO_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        # The client's address for lockouts is the proxy's last X-Forwarded-For entry, not the proxy itself.
        AXES_IPWARE_PROXY_COUNT = 1
        AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# Content-Security-Policy on every response (pages, admin, API docs, JSON, downloads): scripts and styles only from
# this origin or carrying the response's nonce, nothing from elsewhere, no inline script or style attribute, no
# framing. Templates that need an inline block give it `nonce="{{ request.csp_nonce }}"`.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

# Request bodies: traffic batches are large; the traffic view enforces its own byte limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DRIFTGATE_MAX_REQUEST_BYTES", 32 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "driftgate.authentication.TokenAuthentication",
        "driftgate.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["driftgate.permissions.TokenScopeRequired"],
    "DEFAULT_PAGINATION_CLASS": "driftgate.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "driftgate.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Proxies in front of the web whose X-Forwarded-For entries the rate limits skip to find the client.
    "NUM_PROXIES": 1 if env_bool("DJANGO_BEHIND_PROXY", False) else None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Driftgate API",
    "DESCRIPTION": "Decision gates, audit trail, drift monitoring and compliance reports for fine-tuned LLM systems.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The documentation pages use the bundled sidecar assets so they work without internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status` field with different choices; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "ReportStatusEnum": "reports.models.ReportStatus",
        "ChecklistItemStatusEnum": "governance.models.checklists.ItemStatus",
        "GateStatusEnum": "governance.models.gates.GateStatus",
        "DecisionStatusEnum": "governance.models.gates.DecisionStatus",
        "ObligationStatusEnum": "governance.models.gates.ObligationStatus",
        "ModelVersionStatusEnum": "governance.models.inventory.ModelVersionStatus",
        "BaselineStatusEnum": "monitoring.models.BaselineStatus",
        "RunStatusEnum": "monitoring.models.RunStatus",
        "AlertStatusEnum": "monitoring.models.AlertStatus",
        "NotificationEventEnum": "governance.models.notifications.NotificationEvent",
    },
}

# Celery: with no broker configured, tasks run in-process (the embedded demo); same code paths.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Embed traffic as it arrives (on the embed queue) so hourly runs never wait on embeddings. Off when tasks run
# in-process: there it would embed inside the ingest request, and the drift run embeds its window instead.
DRIFTGATE_EMBED_ON_ARRIVAL = env_bool("DRIFTGATE_EMBED_ON_ARRIVAL", not CELERY_TASK_ALWAYS_EAGER)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 600, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 720, minimum=1)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "monitoring.tasks.ingest_*": {"queue": "ingest"},
    "monitoring.tasks.embed_*": {"queue": "embed"},
    "monitoring.tasks.drift_*": {"queue": "drift"},
    "monitoring.tasks.schedule_*": {"queue": "drift"},
    "reports.tasks.*": {"queue": "reports"},
    # Model probes wait on remote endpoints for minutes; their own queue keeps drift runs from queueing behind them.
    "monitoring.tasks.probe_*": {"queue": "probes"},
    # Notifications wait on SMTP servers and webhook receivers; their own queue keeps them from delaying drift runs.
    "governance.tasks.notification_*": {"queue": "notify"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)}
# Periodic work run by `celery beat`; each app adds its own key.
CELERY_BEAT_SCHEDULE = {
    # Minute 5: records of the hour just ended have had a few minutes to arrive.
    "monitoring-hourly-drift-runs": {"task": "monitoring.tasks.schedule_hourly_runs", "schedule": crontab(minute=5)},
    # Each use case's probe interval is checked hourly; a slot that already has its run is skipped.
    "monitoring-probe-runs": {"task": "monitoring.tasks.probe_schedule_due", "schedule": crontab(minute=20)},
    # Daily, off the hour's drift runs: next months' partitions first, then expired traffic goes.
    "monitoring-traffic-retention": {"task": "monitoring.tasks.traffic_retention",
                                     "schedule": crontab(minute=35, hour=3)},
    # Reports whose render message was lost (the broker was away when they were requested) are sent again.
    "reports-requeue-waiting": {"task": "reports.tasks.requeue_waiting_reports", "schedule": crontab(minute="*/10")},
    # Deliveries whose task message was lost (broker away, worker killed) are queued again.
    "governance-notification-sweep": {"task": "governance.tasks.notification_sweep", "schedule": 60.0},
    # Obligations due in 7 days or overdue and gate-3 approvals expiring in 30 days, once per object and state.
    "governance-notification-reminders": {"task": "governance.tasks.notification_reminders",
                                          "schedule": crontab(minute=30, hour=6)},
}
# Drills and tests tick the drift schedule every N seconds instead of hourly (0: hourly, at minute 5). A tick
# schedules only windows that still need a run, so a fast tick adds deliveries, never runs.
DRIFTGATE_DRIFT_SCHEDULE_SECONDS = env_int("DRIFTGATE_DRIFT_SCHEDULE_SECONDS", 0, minimum=0)
if DRIFTGATE_DRIFT_SCHEDULE_SECONDS:
    CELERY_BEAT_SCHEDULE["monitoring-hourly-drift-runs"]["schedule"] = float(DRIFTGATE_DRIFT_SCHEDULE_SECONDS)

# The cache holds rate-limit counters shared by every web process: Redis when a Redis URL is given (the broker's by
# default), local memory otherwise (one process, as in the embedded demo).
_CACHE_URL = env_str("DRIFTGATE_CACHE_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "")
if _CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL,
                          "KEY_PREFIX": "driftgate",
                          # A stopped Redis must not hang requests: limits fail open after a short wait.
                          "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "driftgate"}}

# Rate limits: invalid bearer tokens per client address and window; traffic batches per token and use case
# per minute (a use case's monitoring policy may set its own; 0 turns the default off).
DRIFTGATE_TOKEN_FAILURE_LIMIT = env_int("DRIFTGATE_TOKEN_FAILURE_LIMIT", 20, minimum=1)
DRIFTGATE_TOKEN_FAILURE_WINDOW_SECONDS = env_int("DRIFTGATE_TOKEN_FAILURE_WINDOW_SECONDS", 600, minimum=1)
DRIFTGATE_INGEST_RATE_PER_MINUTE = env_int("DRIFTGATE_INGEST_RATE_PER_MINUTE", 600, minimum=0)

# Prometheus scrapes /metrics with a `metrics:read` token, or from these networks without one (CIDRs; none by
# default, so an address alone never suffices until an operator names the scraper's network).
DRIFTGATE_METRICS_ALLOWED_NETWORKS = env_networks("DRIFTGATE_METRICS_ALLOWED_NETWORKS", [])

# How many past windows the hourly scheduler looks back for windows that never got a run.
DRIFTGATE_DRIFT_CATCH_UP_WINDOWS = env_int("DRIFTGATE_DRIFT_CATCH_UP_WINDOWS", 24, minimum=1)

# Governance.
DRIFTGATE_EVIDENCE_MAX_BYTES = env_int("DRIFTGATE_EVIDENCE_MAX_BYTES", 20 * 1024 * 1024, minimum=1)
DRIFTGATE_GATE3_VALIDITY_DAYS = env_int("DRIFTGATE_GATE3_VALIDITY_DAYS", 365, minimum=1)
DRIFTGATE_OBLIGATION_DEFAULT_DAYS = env_int("DRIFTGATE_OBLIGATION_DEFAULT_DAYS", 30, minimum=1)
DRIFTGATE_REVIEW_TRIAGE_DAYS = env_int("DRIFTGATE_REVIEW_TRIAGE_DAYS", 7, minimum=1)

# E-signatures: this many wrong passwords within the window lock signing for the lockout (21 CFR 11.300(d)).
DRIFTGATE_SIGNING_MAX_FAILURES = env_int("DRIFTGATE_SIGNING_MAX_FAILURES", 3, minimum=1)
DRIFTGATE_SIGNING_FAILURE_WINDOW_SECONDS = env_int("DRIFTGATE_SIGNING_FAILURE_WINDOW_SECONDS", 900, minimum=1)
DRIFTGATE_SIGNING_LOCKOUT_SECONDS = env_int("DRIFTGATE_SIGNING_LOCKOUT_SECONDS", 900, minimum=1)

# E-mail (signing lockouts are reported to governance owners); development prints mail to the console.
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEBUG
                        else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("DJANGO_EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "driftgate@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Notifications (README "Notifications"): links in e-mails and webhook payloads start with the base URL; a delivery
# that fails is retried after base·2^(attempt−1) seconds until the last attempt, then it is marked failed.
# Unset in production, it is https:// and the first allowed host.
_FIRST_HOST = next((host for host in ALLOWED_HOSTS if host and not host.startswith(".") and host != "*"), "")
DRIFTGATE_BASE_URL = env_str("DRIFTGATE_BASE_URL", f"https://{_FIRST_HOST}" if _FIRST_HOST and not DEBUG
                             else "http://localhost:8000").rstrip("/")
if not DRIFTGATE_BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"DRIFTGATE_BASE_URL={DRIFTGATE_BASE_URL!r} is not an http(s) address")
DRIFTGATE_NOTIFY_MAX_ATTEMPTS = env_int("DRIFTGATE_NOTIFY_MAX_ATTEMPTS", 6, minimum=1)
DRIFTGATE_NOTIFY_RETRY_BASE_SECONDS = env_float("DRIFTGATE_NOTIFY_RETRY_BASE_SECONDS", 30.0)
# How long a worker's claim on a delivery lasts; past it, the sweep hands the delivery to another worker.
DRIFTGATE_NOTIFY_CLAIM_SECONDS = env_int("DRIFTGATE_NOTIFY_CLAIM_SECONDS", 120, minimum=10)
DRIFTGATE_WEBHOOK_TIMEOUT_SECONDS = env_float("DRIFTGATE_WEBHOOK_TIMEOUT_SECONDS", 10.0)
# Webhooks to loopback addresses are refused (they would reach this server); development and tests may allow them.
DRIFTGATE_WEBHOOK_ALLOW_LOOPBACK = env_bool("DRIFTGATE_WEBHOOK_ALLOW_LOOPBACK", False)
# Key that encrypts webhook secrets at rest (any string; empty: derived from SECRET_KEY, so rotating SECRET_KEY then
# needs every webhook secret rotated too).
DRIFTGATE_NOTIFY_SECRET_KEY = env_str("DRIFTGATE_NOTIFY_SECRET_KEY")

# Monitoring.
DRIFTGATE_EMBEDDING_MODEL = env_str("DRIFTGATE_EMBEDDING_MODEL")  # empty: the packaged all-MiniLM-L6-v2
DRIFTGATE_EMBEDDING_BATCH_SIZE = env_int("DRIFTGATE_EMBEDDING_BATCH_SIZE", 32, minimum=1)
DRIFTGATE_EMBEDDING_THREADS = env_int("DRIFTGATE_EMBEDDING_THREADS", 0, minimum=0)  # 0: every core the process may use
DRIFTGATE_EMBEDDING_BACKEND = env_str("DRIFTGATE_EMBEDDING_BACKEND", "onnx").strip().lower()  # onnx or torch
DRIFTGATE_BASELINE_MIN_RECORDS = env_int("DRIFTGATE_BASELINE_MIN_RECORDS", 10_000, minimum=1)
# Frozen baselines kept decoded per worker process (a 50k-record baseline is ~150 MB as float32).
DRIFTGATE_BASELINE_CACHE_SIZE = env_int("DRIFTGATE_BASELINE_CACHE_SIZE", 4, minimum=1)
DRIFTGATE_WINDOW_SAMPLE_SIZE = env_int("DRIFTGATE_WINDOW_SAMPLE_SIZE", 5000, minimum=100)
DRIFTGATE_TRAFFIC_MAX_RECORDS = env_int("DRIFTGATE_TRAFFIC_MAX_RECORDS", 10_000, minimum=1)
DRIFTGATE_TRAFFIC_MAX_BYTES = env_int("DRIFTGATE_TRAFFIC_MAX_BYTES", 16 * 1024 * 1024, minimum=1024)
DRIFTGATE_FUTURE_TOLERANCE_SECONDS = env_int("DRIFTGATE_FUTURE_TOLERANCE_SECONDS", 300, minimum=0)
# OpenTelemetry GenAI spans at /v1/traces (OTLP/HTTP): the body limit holds before and after decompression.
DRIFTGATE_OTLP_MAX_BYTES = env_int("DRIFTGATE_OTLP_MAX_BYTES", 16 * 1024 * 1024, minimum=1024)
# The resource attribute that names a span's use case (else the X-Driftgate-Use-Case header).
DRIFTGATE_OTLP_USE_CASE_ATTRIBUTE = env_str("DRIFTGATE_OTLP_USE_CASE_ATTRIBUTE", "driftgate.use_case")
# Span attributes (else resource attributes) that carry a record's model version label, segment, score, feedback.
DRIFTGATE_OTLP_MODEL_VERSION_ATTRIBUTE = env_str("DRIFTGATE_OTLP_MODEL_VERSION_ATTRIBUTE", "driftgate.model_version")
DRIFTGATE_OTLP_SEGMENT_ATTRIBUTE = env_str("DRIFTGATE_OTLP_SEGMENT_ATTRIBUTE", "driftgate.segment")
DRIFTGATE_OTLP_SCORE_ATTRIBUTE = env_str("DRIFTGATE_OTLP_SCORE_ATTRIBUTE", "driftgate.score")
DRIFTGATE_OTLP_FEEDBACK_ATTRIBUTE = env_str("DRIFTGATE_OTLP_FEEDBACK_ATTRIBUTE", "driftgate.feedback")
# gen_ai.operation.name values that are one prompt and its response; other GenAI operations (embeddings, tool
# calls, agent invocations that wrap chat spans) are ignored and counted.
DRIFTGATE_OTLP_OPERATIONS = env_list("DRIFTGATE_OTLP_OPERATIONS", ["chat", "text_completion", "generate_content"])
# Raw prompts and responses of a use case without its own data-protection policy are kept this many days.
DRIFTGATE_TRAFFIC_RETENTION_DAYS = env_int("DRIFTGATE_TRAFFIC_RETENTION_DAYS", 180, minimum=1)
# Monthly traffic partitions (PostgreSQL) the schedule keeps ready beyond the current month.
DRIFTGATE_TRAFFIC_PARTITIONS_AHEAD = env_int("DRIFTGATE_TRAFFIC_PARTITIONS_AHEAD", 2, minimum=1)
DRIFTGATE_MATERIAL_DEGRADATION = env_float("DRIFTGATE_MATERIAL_DEGRADATION", 0.10)
# A window with fewer sampled records is skipped: the tests' error rates are not calibrated below it.
DRIFTGATE_RUN_MIN_RECORDS = env_int("DRIFTGATE_RUN_MIN_RECORDS", 200, minimum=1)
# Hard limit of one drift run; a run still "running" after it belongs to a dead worker and may be taken over.
DRIFTGATE_DRIFT_TIME_LIMIT = env_int("DRIFTGATE_DRIFT_TIME_LIMIT", 1800, minimum=20)
# Model probes: where secret files holding endpoint keys are mounted (the database only names the file), the
# fixed seed sent with every call, and the hard limit of one probe run.
DRIFTGATE_SECRETS_DIR = env_str("DRIFTGATE_SECRETS_DIR", "/run/secrets")
DRIFTGATE_PROBE_SEED = env_int("DRIFTGATE_PROBE_SEED", 20261201, minimum=0)
DRIFTGATE_PROBE_TIME_LIMIT = env_int("DRIFTGATE_PROBE_TIME_LIMIT", 3600, minimum=60)


# Audit log keys and checkpoints (README "The audit trail"); no key is ever stored in the database. Development
# generates keys into var/audit-keys/ on first use; production must configure them (`check --deploy` says so).
DRIFTGATE_AUDIT_DEV_KEYS = env_bool("DRIFTGATE_AUDIT_DEV_KEYS", DEBUG)
DRIFTGATE_AUDIT_HMAC_KEYS = env_str("DRIFTGATE_AUDIT_HMAC_KEYS")
DRIFTGATE_AUDIT_HMAC_KEYS_FILE = env_str("DRIFTGATE_AUDIT_HMAC_KEYS_FILE")
DRIFTGATE_AUDIT_SIGNING_KEY_FILE = env_str("DRIFTGATE_AUDIT_SIGNING_KEY_FILE")
DRIFTGATE_AUDIT_TRUSTED_KEY_FILES = env_list("DRIFTGATE_AUDIT_TRUSTED_KEY_FILES", [])
# Events written before events were keyed (an upgraded installation): only these may lack bytes and MAC.
DRIFTGATE_AUDIT_LEGACY_EVENTS = env_int("DRIFTGATE_AUDIT_LEGACY_EVENTS", 0, minimum=0)
# External append-only sinks for checkpoints: a directory (mount a WORM volume there) and/or a storage alias.
DRIFTGATE_AUDIT_CHECKPOINT_DIR = env_str("DRIFTGATE_AUDIT_CHECKPOINT_DIR",
                                         str(VAR_DIR / "audit-checkpoints") if DEBUG else "")
DRIFTGATE_AUDIT_CHECKPOINT_STORAGE = ""
if env_str("DRIFTGATE_AUDIT_CHECKPOINT_S3_BUCKET"):
    # Never replace a checkpoint (file_overwrite off, as for evidence and reports): the sink keeps what was signed.
    STORAGES["audit_checkpoints"] = s3_storage(prefix="DRIFTGATE_AUDIT_CHECKPOINT",
                                               location=env_str("DRIFTGATE_AUDIT_CHECKPOINT_S3_PREFIX", "checkpoints"))
    DRIFTGATE_AUDIT_CHECKPOINT_STORAGE = "audit_checkpoints"
DRIFTGATE_AUDIT_CHECKPOINT_INTERVAL_SECONDS = env_int("DRIFTGATE_AUDIT_CHECKPOINT_INTERVAL_SECONDS", 300, minimum=10)
CELERY_BEAT_SCHEDULE["governance-audit-checkpoint"] = {
    "task": "governance.tasks.audit_checkpoint", "schedule": float(DRIFTGATE_AUDIT_CHECKPOINT_INTERVAL_SECONDS),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DRIFTGATE_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs every rendering step at INFO; only its warnings matter.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
