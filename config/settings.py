"""Settings for the traded training unit.

Everything that differs between a laptop and production is read from the environment through
the typed helpers in ``config.env``. With no environment at all the project runs in
development: SQLite, console email, tasks run in process, the offline payment gateway.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from config.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DJANGO_ENV = env_choice("DJANGO_ENV", ("development", "production"), "development")
PRODUCTION = DJANGO_ENV == "production"

_DEV_SECRET_KEY = "dev-only-insecure-key-never-used-in-production-0123456789abcdef"
SECRET_KEY = env_str("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET_KEY)
DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

if PRODUCTION:
    if len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET_KEY or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "Production needs a real SECRET_KEY: at least 50 random characters."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Production needs ALLOWED_HOSTS (comma-separated host names).")
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production.")

# The unit's own name, shown in the header, emails and documents.
UNIT_NAME = env_str("UNIT_NAME", "Somerset Safeguarding Training")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "import_export",
    "django_tasks_db",
    "training",
    "bookings",
    "evaluation",
]

MIDDLEWARE = [
    # First, so its request id and timing cover everything below (see config/logs.py).
    "config.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the path, a cookie or a field: NUL is a 500 on PostgreSQL.
    "config.middleware.RefuseInvalidCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

# --- Staff accounts (issue 16): a second factor for everyone who can see everyone's data ---
# allauth's MFA (TOTP and recovery codes). Training administrators and board viewers must set
# it up before they reach any page of their role (training.mfa's middleware); anyone else may.
INSTALLED_APPS += ["allauth.mfa"]
MIDDLEWARE += ["training.mfa.RequireSecondFactorMiddleware"]
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = UNIT_NAME
# Only tests may switch the requirement off, and never in production (tests/test_settings.py).
MFA_REQUIRED_FOR_STAFF = PRODUCTION or env_bool("MFA_REQUIRED_FOR_STAFF", True)
# --- end of staff accounts -------------------------------------------------------------------

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "training.context_processors.unit",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite by default. WAL lets readers continue while one writer works; IMMEDIATE makes every
# transaction take the write lock at BEGIN, so "lock, count, insert" cannot interleave.
_SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"),
}
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
# In production each worker keeps its connection between requests (checked before reuse, so
# one dropped by the server is replaced, not failed): opening one per request cost the cached
# catalogue more than the page itself, and psycopg's prepared statements last only as long as
# the connection. The development server starts a thread per request, so there it is 0.
try:
    _database = dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60 if PRODUCTION else 0, minimum=0),
        conn_health_checks=True,
    )
except Exception as error:  # dj-database-url raises several types for a bad URL
    raise ImproperlyConfigured(
        f"DATABASE_URL is not a database URL I understand: {error}"
    ) from error
if _database["ENGINE"] == "django.db.backends.sqlite3":
    _database["OPTIONS"] = {**_SQLITE_OPTIONS, **_database.get("OPTIONS", {})}
    # A file, not Django's in-memory default: concurrency tests open real connections from
    # several threads, and the browser tests' live server shares it.
    # One file per test process, so two suites running side by side never share one.
    _database["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}
    Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
elif _database["ENGINE"] == "django.db.backends.postgresql":
    # Parameters travel apart from the SQL and psycopg prepares the statements a connection
    # runs often (a booking runs the same twenty each time), so PostgreSQL stops re-planning
    # them. Turn it off behind PgBouncer in transaction mode, which cannot keep them.
    if env_bool("DB_SERVER_SIDE_BINDING", True):
        _database.setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": 5}
        )
else:
    raise ImproperlyConfigured("DATABASE_URL must be a sqlite:// or postgres:// URL.")
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts (django-allauth) ----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # Django's and allauth's backends, each loading the person's profile and agency with them.
    "training.auth.ModelBackend",
    "training.auth.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# The account emails' subjects name the unit themselves, as the product's other emails do.
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_ADAPTER = "training.adapters.AccountAdapter"
# Throttling: allauth counts failed logins per account ("key": the email typed) and per client
# address, in the cache below. The account limit is the guard against guessing one password
# from many addresses; the address limit is looser, since a school or a council office signs
# in from one shared address and one person's typos must not lock their colleagues out.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "20/5m/ip,5/5m/key",
    "signup": "20/h/ip",
    "confirm_email": "3/3m/key",
    "reset_password": "5/h/ip,3/h/key",
}
# Used only when the account adapter cannot say (see AccountAdapter.get_login_redirect_url).
LOGIN_REDIRECT_URL = "bookings:catalogue"
LOGIN_URL = "account_login"
ACCOUNT_LOGOUT_REDIRECT_URL = "bookings:catalogue"
# Users carry a username column (Django's default user); allauth fills it from the email.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The client's address. Behind a proxy (gunicorn behind nginx, a load balancer) every request
# comes from the proxy's address, so throttling by address would throttle everyone at once.
# TRUSTED_PROXY_COUNT says how many proxies in front of the app append to X-Forwarded-For (the
# client is the address that many places from the right: entries further left are whatever
# the client chose to send); TRUSTED_CLIENT_IP_HEADER instead names a header the proxy sets to
# the client's address alone (e.g. X-Real-IP, CF-Connecting-IP). Never trust a header the
# client can reach the app without passing through the proxy.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
TRUSTED_CLIENT_IP_HEADER = env_str("TRUSTED_CLIENT_IP_HEADER", "")
if TRUSTED_PROXY_COUNT and TRUSTED_CLIENT_IP_HEADER:
    raise ImproperlyConfigured("Set TRUSTED_PROXY_COUNT or TRUSTED_CLIENT_IP_HEADER, not both.")
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = TRUSTED_CLIENT_IP_HEADER or None

# --- Cache ----------------------------------------------------------------------------------
# What the cache holds must be seen by every process: throttling counts most of all, or each
# of four gunicorn workers keeps its own count and an attacker gets four times the guesses.
# Production uses the database cache (the table comes with the migrations, so `migrate` is
# all it needs); development and tests keep a per-process memory cache unless told otherwise.
# With REDIS_URL set (redis:// or rediss://), Redis is the shared cache instead.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://.")
_cache_backend = env_choice(
    "CACHE_BACKEND",
    ("locmem", "database", "redis"),
    "redis" if REDIS_URL else "database" if PRODUCTION else "locmem",
)
if _cache_backend == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("CACHE_BACKEND=redis needs REDIS_URL (redis://host:6379/0).")
CACHE_TABLE = "django_cache"
_CACHE_BACKENDS: dict[str, dict[str, str]] = {
    "database": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE},
    "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
    "locmem": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "traded-training",
    },
}
CACHES = {"default": _CACHE_BACKENDS[_cache_backend]}
# The catalogue and session pages are cached until anything they show changes
# (bookings.places.pagecache); this caps how long an entry lives even so.
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 600, minimum=0)

# --- Email (Django 6.1 mailers) -----------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "training@example.org")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email_backend = env_choice(
    "EMAIL_BACKEND_KIND", ("console", "smtp"), "smtp" if PRODUCTION else "console"
)
if _email_backend == "smtp":
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env_str("SMTP_HOST"),
                "port": env_int("SMTP_PORT", 587, minimum=1),
                "username": env_str("SMTP_USERNAME", ""),
                "password": env_str("SMTP_PASSWORD", ""),
                "use_tls": env_bool("SMTP_USE_TLS", True),
                "timeout": env_int("SMTP_TIMEOUT", 20, minimum=1),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# --- Background tasks ---------------------------------------------------------------------
# In process by default (development and tests); TASKS_BACKEND=database queues work in the
# database for `manage.py db_worker`, and any number of workers can run side by side.
_tasks_backend = env_choice("TASKS_BACKEND", ("immediate", "database"), "immediate")
TASKS = {
    "default": {
        "BACKEND": (
            "bookings.jobs.DatabaseQueue"
            if _tasks_backend == "database"
            else "django.tasks.backends.immediate.ImmediateBackend"
        ),
        "QUEUES": ["default"],
    }
}

# --- Payments ------------------------------------------------------------------------------
PAYMENT_GATEWAY = env_choice(
    "PAYMENT_GATEWAY", ("development", "stripe"), "stripe" if PRODUCTION else "development"
)
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
# The development gateway signs its webhooks with this secret when no real one is set.
STRIPE_WEBHOOK_SECRET = env_str(
    "STRIPE_WEBHOOK_SECRET", "" if PRODUCTION else "whsec_development_only_not_a_secret"
)
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "")  # a local fake server in tests
if PRODUCTION and PAYMENT_GATEWAY != "stripe":
    raise ImproperlyConfigured("Production takes card payments through Stripe only.")
if PAYMENT_GATEWAY == "stripe" and PRODUCTION and not (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET):
    raise ImproperlyConfigured(
        "PAYMENT_GATEWAY=stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET."
    )

# --- Booking rules (the unit's policy; each can be changed without a release) ----------------
# Booking form posts allowed a minute from one client address and from one account (a clear
# 429 page after that). A unit whose bookers sit behind one council or NHS address raises the
# first on launch day (and sets TRUSTED_PROXY_COUNT behind its proxy).
BOOKING_POSTS_PER_ADDRESS_PER_MINUTE = env_int(
    "BOOKING_POSTS_PER_ADDRESS_PER_MINUTE", 30, minimum=1
)
BOOKING_POSTS_PER_ACCOUNT_PER_MINUTE = env_int(
    "BOOKING_POSTS_PER_ACCOUNT_PER_MINUTE", 15, minimum=1
)
BOOKING_HOLD_MINUTES = env_int("BOOKING_HOLD_MINUTES", 30, minimum=1)
# The price band of someone whose agency is not yet verified (they book as an individual): a
# band's slug, or "highest" for the dearest band of the session.
UNVERIFIED_PRICE_BAND = env_str("UNVERIFIED_PRICE_BAND", "independent")
# How long a membership request's approval link in an email stays valid.
MEMBERSHIP_APPROVAL_LINK_DAYS = env_int("MEMBERSHIP_APPROVAL_LINK_DAYS", 14, minimum=1)
BOOKING_CANCELLATION_CUTOFF_WORKING_DAYS = env_int(
    "BOOKING_CANCELLATION_CUTOFF_WORKING_DAYS", 10, minimum=0
)
BOOKING_REMINDER_WORKING_DAYS = env_int("BOOKING_REMINDER_WORKING_DAYS", 2, minimum=0)
# A place awaiting the line manager's (or the training team's) approval is held this long.
BOOKING_APPROVAL_WORKING_DAYS = env_int("BOOKING_APPROVAL_WORKING_DAYS", 3, minimum=1)
# Once approved, a card place is held this long for the practitioner to pay.
BOOKING_APPROVED_PAYMENT_HOURS = env_int("BOOKING_APPROVED_PAYMENT_HOURS", 48, minimum=1)
WAITLIST_OFFER_HOURS = env_int("WAITLIST_OFFER_HOURS", 48, minimum=1)
# A place the administrator books by phone for card payment is held this long while the
# person pays by the link emailed to them.
FRONT_DESK_CARD_HOLD_HOURS = env_int("FRONT_DESK_CARD_HOLD_HOURS", 48, minimum=1)
# Reserved unnamed places (an agency's block of places, invoiced now, named later): named by
# this many working days before the session; the booker is reminded this many working days
# before that deadline. At the deadline the places still unnamed are "charge"d (given up to
# the waiting list, the fee stands: the deadline falls after the cancellation cut-off, so a
# named place given up then would be charged too) or "release"d (given up and credited).
RESERVED_PLACES_NAMING_WORKING_DAYS = env_int("RESERVED_PLACES_NAMING_WORKING_DAYS", 5, minimum=0)
RESERVED_PLACES_REMINDER_WORKING_DAYS = env_int(
    "RESERVED_PLACES_REMINDER_WORKING_DAYS", 2, minimum=0
)
RESERVED_PLACES_UNNAMED = env_choice("RESERVED_PLACES_UNNAMED", ("charge", "release"), "charge")
# Days a certificate's emailed download link (signed, no account needed) keeps working.
CERTIFICATE_LINK_DAYS = env_int("CERTIFICATE_LINK_DAYS", 365, minimum=1)
# Days after the session an attendee's emailed link to their place (see, cancel, hand on;
# signed, no account needed) keeps working.
ATTENDEE_LINK_DAYS_AFTER_SESSION = env_int("ATTENDEE_LINK_DAYS_AFTER_SESSION", 30, minimum=1)
INVOICE_DUE_DAYS = env_int("INVOICE_DUE_DAYS", 30, minimum=0)
INVOICE_NUMBER_PREFIX = env_str("INVOICE_NUMBER_PREFIX", "INV")
CREDIT_NOTE_NUMBER_PREFIX = env_str("CREDIT_NOTE_NUMBER_PREFIX", "CN")
# Printed on invoices: who to ask about them and how to pay (bank transfer details).
# Development and the demo print made-up details; production must be told the real ones.
FINANCE_CONTACT_EMAIL = env_str(
    "FINANCE_CONTACT_EMAIL", "" if PRODUCTION else "finance@training.example.org"
)
# Where the training team's approval requests go (courses needing the team's approval).
TRAINING_TEAM_EMAIL = env_str("TRAINING_TEAM_EMAIL", DEFAULT_FROM_EMAIL)
INVOICE_BANK_DETAILS = env_str(
    "INVOICE_BANK_DETAILS",
    ""
    if PRODUCTION
    else "Demo Bank plc, sort code 00-00-00, account 00000000 (a demonstration: do not pay)",
)
if PRODUCTION and not (FINANCE_CONTACT_EMAIL and INVOICE_BANK_DETAILS):
    raise ImproperlyConfigured(
        "Invoices print how to pay and whom to ask: set INVOICE_BANK_DETAILS (for example "
        "'Somerset County Council, sort code 12-34-56, account 12345678') and "
        "FINANCE_CONTACT_EMAIL (the finance team's address) before starting in production."
    )

# --- Evaluation ------------------------------------------------------------------------------
SURVEY_LINK_DAYS = env_int("SURVEY_LINK_DAYS", 30, minimum=1)
SURVEY_REMINDER_DAYS = env_int("SURVEY_REMINDER_DAYS", 7, minimum=1)
CALL_DRAW_WINDOW_MONTHS = env_int("CALL_DRAW_WINDOW_MONTHS", 6, minimum=1)

# --- Admin import-export ---------------------------------------------------------------------
# Every admin download (training's and bookings') goes through the one safe-cell spreadsheet
# writer, so an agency called "=HYPERLINK(...)" is text in Excel, never a live formula. The
# module imports no models, so it is safe to load here; imports keep the library's formats.
# --- Personal data (issue 16): retention defaults and who holds the data ------------------
# The defaults of the retention policy (the administrator changes them in the admin, one row);
# UK GDPR storage limitation. Periods in whole years, unverified accounts in days.
RETENTION_CONTACT_YEARS = env_int("RETENTION_CONTACT_YEARS", 6, minimum=1)
RETENTION_FREE_TEXT_YEARS = env_int("RETENTION_FREE_TEXT_YEARS", 3, minimum=1)
RETENTION_CALL_NOTES_YEARS = env_int("RETENTION_CALL_NOTES_YEARS", 3, minimum=1)
RETENTION_UNVERIFIED_ACCOUNT_DAYS = env_int("RETENTION_UNVERIFIED_ACCOUNT_DAYS", 30, minimum=1)
RETENTION_AUDIT_ACTOR_YEARS = env_int("RETENTION_AUDIT_ACTOR_YEARS", 6, minimum=1)
# The scheduler applies the policy daily in production; in development it would anonymise the
# demo's 2016/17 year, which is older than the contact period, so it is asked for there.
RETENTION_DAILY = env_bool("RETENTION_DAILY", PRODUCTION)
# Named on the privacy notice: who holds the data and whom to ask.
DATA_CONTROLLER_NAME = env_str("DATA_CONTROLLER_NAME", "Somerset Safeguarding Children Partnership")
DATA_PROTECTION_EMAIL = env_str("DATA_PROTECTION_EMAIL", "dataprotection@example.org")
# --- end of personal data ------------------------------------------------------------------

from bookings.files.spreadsheets import ADMIN_EXPORT_FORMATS  # noqa: E402

EXPORT_FORMATS = ADMIN_EXPORT_FORMATS

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("govuk", BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"),
    ("chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
# Outside production whitenoise reads straight from the finders, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security -------------------------------------------------------------------------------
# Django's database sessions, read in one plain statement (config/sessions.py).
SESSION_ENGINE = "config.sessions"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"


# --- Go-live (issue 11): the scheduler, health, logs, error pages, security headers ----------
# How many 'test and check' calls the scheduler draws on the 1st of each month.
CALL_DRAW_SIZE = env_int("CALL_DRAW_SIZE", 20, minimum=1)
# /health/ answers 503 when the oldest due email or the oldest queued task waited longer: the
# workers, the scheduler or the mail server are down. An email that fails is retried for up
# to half an hour (2, 4, 8, 16 minutes), so the email limit is above that.
HEALTH_MAX_EMAIL_AGE_SECONDS = env_int("HEALTH_MAX_EMAIL_AGE_SECONDS", 45 * 60, minimum=1)
HEALTH_MAX_TASK_AGE_SECONDS = env_int("HEALTH_MAX_TASK_AGE_SECONDS", 10 * 60, minimum=1)

# Logs: one JSON object per line in production (for a log collector), a readable line in
# development; both carry the request id. See config/logs.py for what is never logged.
LOG_FORMAT = env_choice("LOG_FORMAT", ("json", "text"), "json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "config.logs.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "config.logs.JsonFormatter"},
        "text": {
            "()": "config.logs.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_context"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # One line per task run is noise; failures are still logged.
        "django.tasks": {"level": "WARNING"},
        # runserver prints every request in development already; JSON logs carry one line each.
        "config.requests": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
    },
}
if PRODUCTION:
    # A load balancer probes /health/ over plain HTTP on the private network.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
# The unit's own page when a form's CSRF check fails (config/errors.py).
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"
# Content-Security-Policy (Django 6.1's own middleware), on in every environment so a page
# the policy breaks shows in development and in the browser tests. Scripts and styles come
# from this site only; the few inline <script> and <style> blocks carry the request's nonce
# ({{ csp_nonce }}), and no page uses a style attribute. Stripe Checkout is reached by a
# redirect after a form is sent, which form-action must allow.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
)
TEMPLATES[0]["OPTIONS"]["context_processors"].append("django.template.context_processors.csp")  # type: ignore[index]
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF, "https://checkout.stripe.com"],
}
