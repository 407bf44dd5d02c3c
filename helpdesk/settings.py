"""Settings for the helpdesk, all read from the environment (README lists them).

Without any variable set, the helpdesk runs on embedded defaults: SQLite and a
Redis on a unix socket, both under ``HELPDESK_VAR_DIR``. ``HELPDESK_ENV=production``
turns on the checks and cookie flags a public deployment needs.
"""

import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from helpdesk.local_secrets import private_dir_ensure, private_file_ensure, read_or_create_secret

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

VAR_DIR = Path(env.str("HELPDESK_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()
PRODUCTION = env.str("HELPDESK_ENV", default="local") == "production"
private_dir_ensure(VAR_DIR)  # logins, the database, media: for this user's eyes only

DEBUG = env.bool("DEBUG", default=False)

if "SECRET_KEY" in env:
    SECRET_KEY = env.str("SECRET_KEY")
elif PRODUCTION:
    raise ImproperlyConfigured("SECRET_KEY must be set when HELPDESK_ENV=production.")
else:
    SECRET_KEY = read_or_create_secret(VAR_DIR / "secret_key", length=50)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "django_q",
    "ninja",
    "helpdesk",
    "contacts",
    "tickets",
    "whatsapp",
    "reports",
]

MIDDLEWARE = [
    "helpdesk.stack.RoomyStackMiddleware",  # first: CPython 3.11 frame stack (helpdesk/stack.py)
    "helpdesk.logging.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "helpdesk.api_common.ApiErrorsAsJson",  # every error under /api/ in the API's JSON
    "django.contrib.sessions.middleware.SessionMiddleware",
    "helpdesk.languages.UserLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "helpdesk.uploads.RequestSizeLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "helpdesk.untrusted.UntrustedTextMiddleware",  # after the login check, and the multipart parse within limits
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
ASGI_APPLICATION = "helpdesk.asgi.application"

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
                "helpdesk.context_processors.navigation",
            ],
        },
    },
]

# Database: SQLite under VAR_DIR unless DATABASE_URL says otherwise.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
# This process was started to serve the web (daphne helpdesk.asgi:application), not a worker or a test.
SERVES_ASGI = any(argument.startswith("helpdesk.asgi") for argument in sys.argv)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        private_file_ensure(Path(DATABASES["default"]["NAME"]))
    # WAL lets the web and worker processes read while one writes; IMMEDIATE
    # transactions take the write lock up front, so a writer waits for the busy
    # timeout instead of failing on a lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # The test database is a file too: concurrency tests need real locking.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A process frozen inside a transaction (SIGSTOP, a paused container, a debugger) keeps its row
    # locks: the server ends such a transaction after this many seconds, so a session frozen inside a
    # fenced batch holds up the takeover of its connection for about a lease, not until it is resumed
    # (docs/sessions.md). Nothing here sits idle in a transaction on purpose.
    idle_seconds = env.float("DATABASE_IDLE_TRANSACTION_TIMEOUT", default=60)
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c idle_in_transaction_session_timeout={round(idle_seconds * 1000)}"
    )
    if SERVES_ASGI:
        # Under ASGI each request runs in a thread of its own, so a persistent connection would be a
        # new one per request, left open until the dead thread is collected (44 at once in a 20 s
        # burst on an open ticket page): the web process borrows from a pool (docs/operations.md).
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": env.int("DATABASE_POOL_SIZE", default=10),
            "timeout": 10,  # seconds a request waits for a free connection before it fails
        }
    else:
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: the channel layer (the realtime bus between worker and web).
# Unset, it is the embedded Redis that `manage.py serve` starts in VAR_DIR.
EMBEDDED_REDIS = "REDIS_URL" not in env
REDIS_SOCKET = VAR_DIR / "redis.sock"
REDIS_URL = env.str("REDIS_URL", default=f"unix://{REDIS_SOCKET}")

# No socket timeout: the layer blocks in BZPOPMIN for up to 5 s by design, and
# redis-py gives unix sockets a 5 s read timeout by default, which would cut it.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # capacity: events waiting for one websocket consumer before channels_redis drops the next
        # ones silently (its default, 100, lost one message in ten on an open ticket page at 50
        # messages a second on two busy cores: tests/benchmarks/test_latency_bench.py).
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
            "prefix": "helpdesk",
            "capacity": env.int("CHANNEL_CAPACITY", default=2000),
        },
    },
}
# Upper bound of one realtime publish (helpdesk/realtime.py): events are best effort.
REALTIME_PUBLISH_TIMEOUT = env.float("REALTIME_PUBLISH_TIMEOUT", default=2)

# WhatsApp sessions (whatsapp/session.py). Times in seconds.
WHATSAPP_WEB_URL = env.str("WHATSAPP_WEB_URL", default="https://web.whatsapp.com/")
WHATSAPP_BROWSER_PATH = env.str("WHATSAPP_BROWSER_PATH", default="/usr/bin/chromium")
WHATSAPP_SESSIONS_DIR = VAR_DIR / "sessions"
WHATSAPP_WA_JS_PATH = BASE_DIR / "node_modules" / "@wppconnect" / "wa-js" / "dist" / "wppconnect-wa.js"
WHATSAPP_LAUNCH_TIMEOUT = env.float("WHATSAPP_LAUNCH_TIMEOUT", default=60)
WHATSAPP_AUTH_TIMEOUT = env.float("WHATSAPP_AUTH_TIMEOUT", default=60)
WHATSAPP_QR_MAX_CODES = env.int("WHATSAPP_QR_MAX_CODES", default=5)
WHATSAPP_CLOSE_TIMEOUT = env.float("WHATSAPP_CLOSE_TIMEOUT", default=30)
WHATSAPP_HEARTBEAT = env.float("WHATSAPP_HEARTBEAT", default=15)
WHATSAPP_LEASE = env.float("WHATSAPP_LEASE", default=60)
WHATSAPP_BACKOFF_BASE = env.float("WHATSAPP_BACKOFF_BASE", default=1)
WHATSAPP_BACKOFF_MAX = env.float("WHATSAPP_BACKOFF_MAX", default=60)
WHATSAPP_MAX_ATTEMPTS = env.int("WHATSAPP_MAX_ATTEMPTS", default=10)
WHATSAPP_PROFILE_MAX_AGE_DAYS = env.int("WHATSAPP_PROFILE_MAX_AGE_DAYS", default=14)
# The login kept centrally (whatsapp/profile_archive.py, docs/operations.md "The login, kept
# centrally"): the key its archives are encrypted with ("" derives one from SECRET_KEY), the STORAGES
# alias that holds them ("" keeps them in the database), and minutes between two saves while connected.
WHATSAPP_PROFILE_KEY = env.str("WHATSAPP_PROFILE_KEY", default="")
WHATSAPP_PROFILE_STORAGE = env.str("WHATSAPP_PROFILE_STORAGE", default="")
WHATSAPP_PROFILE_SAVE_MINUTES = env.float("WHATSAPP_PROFILE_SAVE_MINUTES", default=10)
MAX_WHATSAPP_CONNECTIONS = env.int("MAX_WHATSAPP_CONNECTIONS", default=5)
WHATSAPP_ACCEPT_GROUPS = env.bool("WHATSAPP_ACCEPT_GROUPS", default=False)
WHATSAPP_MAX_MEDIA_MB = env.float("WHATSAPP_MAX_MEDIA_MB", default=16)
# Request bodies (helpdesk/uploads.py): form fields and JSON up to DATA_UPLOAD_MAX_MEMORY_SIZE bytes, a
# file up to WHATSAPP_MAX_MEDIA_MB counted while it is read, a multipart request up to both together.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
FILE_UPLOAD_HANDLERS = [
    "helpdesk.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
WHATSAPP_CHAT_CONCURRENCY = env.int("WHATSAPP_CHAT_CONCURRENCY", default=4)  # chats a session stores at once
# Seconds CONNECTED after which a session's restart attempts count from zero again: a session that
# fails soon after each connect backs off further each time instead of restarting at once forever.
WHATSAPP_STABLE_AFTER = env.float("WHATSAPP_STABLE_AFTER", default=60)
# A session whose WhatsApp only looks alive (whatsapp/session.py, docs/sessions.md "Sessions that only
# look alive"): seconds a reply may wait for WhatsApp's server acknowledgement, and seconds the
# heartbeat's round trip to WhatsApp's servers may take, before the session restarts its browser.
WHATSAPP_SEND_ACK_TIMEOUT = env.float("WHATSAPP_SEND_ACK_TIMEOUT", default=60)
WHATSAPP_PROBE_TIMEOUT = env.float("WHATSAPP_PROBE_TIMEOUT", default=10)
# Tests only: seconds a session waits between WhatsApp accepting a reply and marking it sent, so that
# a test can kill the worker exactly there (tests/whatsapp/test_crash_recovery.py). 0 in production.
WHATSAPP_TEST_PAUSE_AFTER_SEND = env.float("WHATSAPP_TEST_PAUSE_AFTER_SEND", default=0)
# Webhooks (whatsapp/webhooks.py): attempts, the first retry's delay (doubling), and
# whether private, loopback and link-local addresses may be called (off: no SSRF).
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_RETRY_BASE = env.float("WEBHOOK_RETRY_BASE", default=10)
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
# A customer writing within this many seconds of a ticket's closing reopens it (docs/decisions.md).
TICKET_REOPEN_WINDOW = env.int("TICKET_REOPEN_WINDOW", default=2 * 3600)
# The manager's helpdesk (docs/reports.md): an agent with a page open but no activity for this long is
# away; an agent's open tickets at most when assignment is automatic (each agent may have their own).
AGENT_AWAY_MINUTES = env.int("AGENT_AWAY_MINUTES", default=15)
AGENT_CAPACITY = env.int("AGENT_CAPACITY", default=10)
# How often an open websocket checks its user's rights again (signed out, deactivated, a right or
# queue lost or gained: helpdesk/consumers.py).
SOCKET_RECHECK_SECONDS = env.float("SOCKET_RECHECK_SECONDS", default=5.0)
# How many days old records are kept (whatsapp/pruning.py, an hourly schedule): connection events,
# webhook deliveries, and django-q's finished tasks and spent one-off schedules.
EVENTS_KEEP_DAYS = env.int("EVENTS_KEEP_DAYS", default=30)
WEBHOOK_DELIVERIES_KEEP_DAYS = env.int("WEBHOOK_DELIVERIES_KEEP_DAYS", default=30)
TASKS_KEEP_DAYS = env.int("TASKS_KEEP_DAYS", default=7)
# Days the text and file of a message its sender deleted for everyone are kept (served to nobody,
# tickets/message_changes.py): 0 forgets them at once; teams that must keep them set how long.
DELETED_CONTENT_KEEP_DAYS = env.int("DELETED_CONTENT_KEEP_DAYS", default=0)

# The audit (tickets/audit/, `manage.py audit`): a ticket without a message for AUDIT_CLOSE_AFTER
# hours is stale; the schedule runs every AUDIT_SCHEDULE minutes and closes only with AUDIT_AUTO_CLOSE.
AUDIT_CLOSE_AFTER = env.int("AUDIT_CLOSE_AFTER", default=24)
AUDIT_IGNORE_WAITING = env.bool("AUDIT_IGNORE_WAITING", default=False)
AUDIT_SCHEDULE = env.int("AUDIT_SCHEDULE", default=60)
AUDIT_AUTO_CLOSE = env.bool("AUDIT_AUTO_CLOSE", default=False)
AUDIT_KEEP_DAYS = env.int("AUDIT_KEEP_DAYS", default=90)

# django-q2: background tasks on the database broker, so no extra service is needed.
# Sessions run on a cluster of their own ("sessions", `manage.py session_worker`):
# a session lives as long as its connection, so that cluster never times a task
# out nor hands it to another worker (the lease in the database guards it).
FOREVER = 10 * 365 * 24 * 3600
Q_CLUSTER = {
    "name": "helpdesk",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 300,
    "retry": 360,
    "catch_up": False,
    "poll": env.float("Q_POLL", default=1),  # seconds an idle worker waits before asking the queue again
    "ALT_CLUSTERS": {
        "sessions": {
            "workers": MAX_WHATSAPP_CONNECTIONS,
            "timeout": FOREVER - 1,
            "retry": FOREVER,
            "max_attempts": 1,
            "ack_failures": True,
            "recycle": 1,  # a fresh process per session: nothing leaks from one browser to the next
        },
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("pt-br", _("Brazilian Portuguese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="America/Sao_Paulo")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
# Third-party browser code comes from npm (make setup), never a CDN.
ICONS_DIR = BASE_DIR / "node_modules" / "lucide-static" / "icons"  # helpdesk/templatetags/icons.py
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),  # the reports' charts
]
# Uploaded and downloaded media (message attachments). Never served as static
# files: views check permission before they hand a file out.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Security headers that cost nothing locally; the HTTPS-only ones follow below.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# The admin account `manage.py serve` makes sure of on the embedded setup.
HELPDESK_ADMIN_USERNAME = env.str("HELPDESK_ADMIN_USERNAME", default="admin")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"()": "helpdesk.logging.StructuredFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # One line per request comes from helpdesk.logging.AccessLogMiddleware, not from the server.
        "django.server": {"level": "WARNING"},
    },
}
