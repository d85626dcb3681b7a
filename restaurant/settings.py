"""Brigade settings: one module, every value from the environment.

With nothing set, Brigade runs on embedded defaults (SQLite, local-memory cache,
in-memory channel layer, Celery eager) so `make run` needs no server. Setting
DATABASE_URL and REDIS_URL switches each integration to its production backend;
DJANGO_ENV=production adds the checks that refuse an unsafe start.
Every variable is listed, with its default, in .env.example and the README.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from accounts.social import socialaccount_providers
from restaurant.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("BRIGADE_VAR_DIR", str(BASE_DIR / "var")))

# ------------------------------------------------------------------------------
# Mode
# ------------------------------------------------------------------------------
DJANGO_ENV = env_str("DJANGO_ENV", "development").strip().lower()
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development or production, got {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

_DEVELOPMENT_SECRET_KEY = "brigade-development-only-key-never-use-in-production-0123456789"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", _DEVELOPMENT_SECRET_KEY)
# Off unless asked for, even in development: `make run` serves the product as
# customers see it (friendly error pages, hashed long-cached static files).
DEBUG = env_bool("DJANGO_DEBUG", default=False)

if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG must be off when DJANGO_ENV=production.")
    if SECRET_KEY == _DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of 50+ characters when DJANGO_ENV=production."
        )

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_ENV=production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# ------------------------------------------------------------------------------
# Applications
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    # daphne first: it replaces runserver with its ASGI server.
    "daphne",
    # Django admin behind the permission matrix (accounts.admin_site).
    "accounts.admin_site.BrigadeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files, served from our own static files (no CDN, under our CSP).
    "drf_spectacular_sidecar",
    # Delivery partners' API keys (orders.partners.models.PartnerAPIKey): hashed, prefixed.
    "rest_framework_api_key",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.openid_connect",
    "waffle",
    "django_ratelimit",
    "accounts",
    "menu",
    "orders",
    "kitchen",
]

MIDDLEWARE = [
    "restaurant.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "restaurant.security.PermissionsPolicyMiddleware",
    # https://whitenoise.readthedocs.io/en/stable/django.html
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.session_policy.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "waffle.middleware.WaffleMiddleware",
]

ROOT_URLCONF = "restaurant.urls"
WSGI_APPLICATION = "restaurant.wsgi.application"
ASGI_APPLICATION = "restaurant.asgi.application"

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
                "restaurant.context_processors.brigade",
                "csp.context_processors.nonce",
                "accounts.context_processors.roles",
                "orders.context_processors.cart",
                "orders.context_processors.online_ordering",
                "orders.context_processors.coupon_banner",
                "orders.context_processors.dine_in_table",
            ],
        },
    },
]

# ------------------------------------------------------------------------------
# Database: DATABASE_URL (PostgreSQL in production) or an SQLite file.
# https://github.com/jazzband/dj-database-url
# ------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
            # A persistent connection is checked (SELECT 1) before a request
            # first uses it, and replaced if the server went away meanwhile, so
            # a PostgreSQL restart fails no request once the server is back.
            conn_health_checks=True,
        )
    }
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        # Parameters sent apart from the statement, and a statement a connection
        # has run five times prepared on it: PostgreSQL then parses and plans each
        # of an order's repeated statements once per connection, not on every
        # run, which took a quarter to a third of its CPU an order off a rush
        # (docs/BENCHMARKS.md). Off behind a pooler in transaction mode that
        # cannot keep prepared statements across clients (PgBouncer before 1.21,
        # or without max_prepared_statements).
        # https://docs.djangoproject.com/en/5.2/ref/databases/#server-side-parameters-binding
        # Added to what the URL's query asked for (sslmode and the like), not in its place.
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            "OPTIONS": {
                # The busy timeout: a writer waits this many seconds for the
                # write lock before "database is locked".
                "timeout": 20,
                # IMMEDIATE takes the write lock when a transaction starts, so
                # two checkouts at once wait for each other instead of one
                # failing with "database is locked" half-way through (a
                # deferred transaction that upgrades to writing is refused
                # without waiting when another writer holds the lock).
                "transaction_mode": "IMMEDIATE",
                # https://www.sqlite.org/wal.html: readers no longer wait for
                # a writer's commit nor block it, and a commit is one append.
                # The mode is kept in the file; NORMAL sync is safe with WAL
                # (a power cut may lose the last commits, never corrupt).
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ------------------------------------------------------------------------------
# Redis: cache, sessions, channel layer and Celery broker switch on together.
# ------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")

SILENCED_SYSTEM_CHECKS: list[str] = []
if REDIS_URL:
    # https://github.com/jazzband/django-redis
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "brigade",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
    # django-waffle's flags and switches are read on every page: while Redis
    # is away they are read from the database instead of failing the page
    # (IGNORE_EXCEPTIONS turns a refused connection into a cache miss). A
    # flip made then cannot clear the cached copy, hence the short timeout.
    CACHES["waffle"] = {
        **CACHES["default"],
        "OPTIONS": {**CACHES["default"]["OPTIONS"], "IGNORE_EXCEPTIONS": True},
        "TIMEOUT": 60,
    }
    WAFFLE_CACHE_NAME = "waffle"
    # https://github.com/django/channels_redis
    # "pubsub" (default): one Redis PUBLISH per group message, fanned out in
    # each daphne process; measured here it halves the tail latency of live
    # fan-out (docs/BENCHMARKS.md) and has no per-channel capacity to overflow.
    # "core": Redis lists per channel; drops group messages silently past
    # `capacity`, so that is sized for a lunch rush's burst.
    # Either way a restarted Redis forgets who listens: sockets re-join on
    # every client ping (restaurant/sockets.py).
    CHANNEL_LAYER_BACKEND = env_str("CHANNEL_LAYER_BACKEND", "pubsub")
    if CHANNEL_LAYER_BACKEND not in ("pubsub", "core"):
        raise ImproperlyConfigured("CHANNEL_LAYER_BACKEND must be pubsub or core.")
    # The hosts entry is a dict so the asyncio pool gets an explicit size:
    # redis-py's default limit of 100 fails the 101st socket handshake.
    _channel_hosts = [
        {"address": REDIS_URL, "max_connections": env_int("CHANNEL_LAYER_MAX_CONNECTIONS", 2000)}
    ]
    # Pub/sub channels belong to the whole Redis server, whatever the database
    # number: a prefix per database keeps two deployments (or a CI run and a
    # developer's tests) sharing one server off each other's sockets.
    _channel_prefix = f"brigade:asgi:{urlsplit(REDIS_URL).path.strip('/') or '0'}"
    if CHANNEL_LAYER_BACKEND == "pubsub":
        CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
            "default": {
                "BACKEND": "restaurant.channel_layer.HealingPubSubChannelLayer",
                "CONFIG": {"hosts": _channel_hosts, "prefix": _channel_prefix},
            }
        }
    else:
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": _channel_hosts,
                    "prefix": _channel_prefix,
                    "capacity": env_int("CHANNEL_LAYER_CAPACITY", 1500),
                    "expiry": 60,
                },
            }
        }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Rate-limit counters: the shared cache above, or this process's memory while
# it cannot be reached (restaurant/rate_limit_cache.py; docs/security.md).
# Local memory in the embedded mode is per process, which is all it serves.
CACHES["rate_limits"] = {
    "BACKEND": "restaurant.rate_limit_cache.SharedOrLocalCache",
    "OPTIONS": {"SHARED": "default"},
}
RATELIMIT_USE_CACHE = "rate_limits"
# django-ratelimit vouches only for the backends it knows; this one passes
# every count on to the django-redis cache (or the embedded local memory).
SILENCED_SYSTEM_CHECKS += ["django_ratelimit.W001"]
# While the shared cache is away, how often a process asks it again.
RATE_LIMIT_SHARED_RETRY_SECONDS = env_float("RATE_LIMIT_SHARED_RETRY_SECONDS", 5.0)

# A socket that has not been re-authorised for this long (pages re-check with
# every ping, 10 s) asks again by itself, and before its next event if that is
# overdue: a client that never pings must not go on receiving after its right ended.
SOCKET_RECHECK_SECONDS = env_int("SOCKET_RECHECK_SECONDS", 30)
# A ping that finds its socket behind the database (events it has not been
# sent) waits this long for them before the state is sent again: in a rush
# they are usually on their way, and a board's state is the kitchen's every ticket.
SOCKET_CATCH_UP_SECONDS = env_float("SOCKET_CATCH_UP_SECONDS", 2.0)
# How long an app's socket ticket (POST /api/v1/sockets/ticket/) may wait to be used, once.
SOCKET_TICKET_SECONDS = env_int("SOCKET_TICKET_SECONDS", 30)
# Threads per web process for the sockets' database reads (the right to a
# socket, its state), each with its own persistent connection.
SOCKET_DB_THREADS = env_int("SOCKET_DB_THREADS", 6)

# cached_db that carries on from the database while Redis is away, and
# deletes the copies it could not update when Redis is back (restaurant/sessions.py).
SESSION_ENGINE = "restaurant.sessions"

# ------------------------------------------------------------------------------
# Celery: https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html
# ------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
# With no broker, tasks run in the web process as they are sent.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# A failing task (an email relay down) must not fail the request that sent
# it; it retries and is dead-lettered like on a worker.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# CELERY_TIMEZONE is TIME_ZONE (below, "Internationalisation"): beat's crontabs run on the restaurant's clock.
# A task is acknowledged only when it has finished, and handed back to the
# queue if its worker dies, so a crash never loses one; every task is
# idempotent because of that.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One task at a time per worker process: a crash takes at most one with it.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90)
# Redis redelivers an unacknowledged task after this many seconds (one hour
# by default): how long a killed worker's task waits. It must exceed the
# longest task and the longest retry countdown, or a running task would be
# delivered twice. Set once here and used for broker and results alike.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 600)
# max_retries 0: a producer whose broker connection broke tries to connect
# once, not for broker_connection_timeout's ~6 s. A request enqueuing while
# Redis is away fails at once and leaves the event to the sweep; measured
# before this, each enqueue of a payment webhook waited 6 s, three times, with
# the live pages' clock rows locked, so every checkout queued behind it.
# Publishes that want retries get them from Celery's retry policy instead.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT, "max_retries": 0}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# Retries back off exponentially with jitter, never longer than this.
CELERY_RETRY_BACKOFF_MAX = min(env_int("CELERY_RETRY_BACKOFF_MAX", 300), CELERY_VISIBILITY_TIMEOUT // 2)
# Partner webhooks: tries in all (the first and its retries), and the first
# retry's delay; each later retry waits twice as long (up to the maximum above),
# with ±20 % jitter. See docs/partner-webhooks.md.
PARTNER_WEBHOOK_MAX_ATTEMPTS = env_int("PARTNER_WEBHOOK_MAX_ATTEMPTS", 8)
PARTNER_WEBHOOK_RETRY_BASE_SECONDS = env_float("PARTNER_WEBHOOK_RETRY_BASE_SECONDS", 30.0)
# How long a worker's claim on sending one delivery lasts: the POST runs with no
# row locked, and a dead worker's claim expires after this. Longer than a POST
# can take (connect 3 s + read 10 s, orders/partners/services.py TIMEOUT).
PARTNER_WEBHOOK_CLAIM_SECONDS = env_int("PARTNER_WEBHOOK_CLAIM_SECONDS", 30)
if PARTNER_WEBHOOK_MAX_ATTEMPTS < 1 or PARTNER_WEBHOOK_RETRY_BASE_SECONDS <= 0:
    raise ImproperlyConfigured(
        "PARTNER_WEBHOOK_MAX_ATTEMPTS must be at least 1 and PARTNER_WEBHOOK_RETRY_BASE_SECONDS above 0."
    )
# Partner webhook URLs must be on the public internet (orders/partners/url_checks.py):
# loopback, private, link-local (cloud metadata) and reserved addresses are
# refused when saved and when sent, or a manager could scan our own network
# through the delivery log. Tests whose partner listens on 127.0.0.1 turn this
# on; production never does. See docs/security.md "Partner webhook URLs".
PARTNER_WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool("PARTNER_WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
if PRODUCTION and PARTNER_WEBHOOK_ALLOW_PRIVATE_NETWORKS:
    raise ImproperlyConfigured(
        "PARTNER_WEBHOOK_ALLOW_PRIVATE_NETWORKS must be off when DJANGO_ENV=production."
    )
# Kitchen pacing: how often beat looks for scheduled orders whose time to reach
# the board has come (an order is at most this late there). docs/decisions.md.
KITCHEN_RELEASE_SWEEP_SECONDS = env_int("KITCHEN_RELEASE_SWEEP_SECONDS", 30)
if KITCHEN_RELEASE_SWEEP_SECONDS < 1:
    raise ImproperlyConfigured("KITCHEN_RELEASE_SWEEP_SECONDS must be at least 1.")
# Kitchen pacing's rules and opening hours are kept in the shared cache under
# the pacing version, which every change bumps after commit (orders/pacing/cache.py);
# this long at most: the bound on how long a change whose bump was lost to a
# cache outage goes unseen. The recent prep time (a median over the last
# finished orders) is kept this long: a quote may use one that old. 0: not kept.
PACING_CONFIG_CACHE_SECONDS = env_int("PACING_CONFIG_CACHE_SECONDS", 600)
PACING_PREP_CACHE_SECONDS = env_float("PACING_PREP_CACHE_SECONDS", 60.0)
if PACING_CONFIG_CACHE_SECONDS < 0 or PACING_PREP_CACHE_SECONDS < 0:
    raise ImproperlyConfigured(
        "PACING_CONFIG_CACHE_SECONDS and PACING_PREP_CACHE_SECONDS must not be negative."
    )
# Queues per concern, so a slow partner never delays a confirmation email.
CELERY_TASK_DEFAULT_QUEUE = "orders"
CELERY_TASK_ROUTES = {
    "orders.tasks.outbox_*": {"queue": "orders"},
    "orders.tasks.send_*": {"queue": "notifications"},
    "orders.tasks.deliver_*": {"queue": "webhooks"},
    "kitchen.tasks.*": {"queue": "orders"},
    "orders.inventory_tasks.send_*": {"queue": "notifications"},
    "orders.inventory_tasks.*": {"queue": "orders"},
}
# The schedule lives here, reviewed with the code. Run exactly one beat
# process (`celery -A restaurant beat`), never `worker -B` on every worker.
# The sweep publishes outbox events the after-commit relay could not (a
# broker outage, a crash): how often it looks, in seconds.
OUTBOX_SWEEP_SECONDS = env_float("OUTBOX_SWEEP_SECONDS", 30.0)
# The nightly inventory runs at this hour of the restaurant's day (TIME_ZONE),
# after closing: 2 is 02:00. It reports the local day that ended at midnight,
# and every earlier night since the last report, at most
# INVENTORY_CATCH_UP_NIGHTS of them (docs/decisions.md "Nightly inventory").
INVENTORY_NIGHTLY_HOUR = 2
INVENTORY_CATCH_UP_NIGHTS = env_int("INVENTORY_CATCH_UP_NIGHTS", 7)
if INVENTORY_CATCH_UP_NIGHTS < 1:
    raise ImproperlyConfigured("INVENTORY_CATCH_UP_NIGHTS must be at least 1.")
# Tests only: every this many seconds instead of nightly, so a real beat fires
# within a test. 0 (the default) is the nightly crontab.
INVENTORY_NIGHTLY_EVERY_SECONDS = env_float("INVENTORY_NIGHTLY_EVERY_SECONDS", 0.0)
if PRODUCTION and INVENTORY_NIGHTLY_EVERY_SECONDS:
    raise ImproperlyConfigured("INVENTORY_NIGHTLY_EVERY_SECONDS is for tests: leave it unset in production.")
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "orders.tasks.outbox_sweep", "schedule": OUTBOX_SWEEP_SECONDS},
    "expire-unpaid-orders": {"task": "orders.payment_tasks.orders_expire_unpaid", "schedule": 60.0},
    # Refunds owed whose process died before asking the provider, or whose
    # task ran out of tries: asked again with their own idempotency key.
    "refunds-sweep": {"task": "orders.payment_tasks.refunds_sweep", "schedule": 60.0},
    # Orders scheduled for a later pickup reach the board their prep time before
    # their slot: at most this late. Kitchen pacing, docs/decisions.md.
    "idempotency-keys-purge": {"task": "orders.tasks.idempotency_keys_purge", "schedule": 3600.0},
    "kitchen-release-scheduled": {
        "task": "kitchen.tasks.release_scheduled_orders",
        "schedule": float(KITCHEN_RELEASE_SWEEP_SECONDS),
    },
    # The boards' 86 list is sent after a menu or stock change commits; a
    # process that died in between leaves it to this check (a few queries,
    # nothing sent unless the list changed).
    "kitchen-sold-out-check": {"task": "kitchen.tasks.board_sold_out_check", "schedule": 60.0},
    # The nightly inventory (orders/inventory/): at 02:00 on the restaurant's
    # clock, which CELERY_TIMEZONE makes the crontab's (02:00 is 02:00 local
    # in winter and in summer). A run that finds a night built does nothing.
    "inventory-nightly": {
        "task": "orders.inventory_tasks.inventory_nightly",
        "schedule": (
            float(INVENTORY_NIGHTLY_EVERY_SECONDS)
            if INVENTORY_NIGHTLY_EVERY_SECONDS
            else crontab(hour=INVENTORY_NIGHTLY_HOUR, minute=0)
        ),
    },
}

# ------------------------------------------------------------------------------
# Authentication: https://docs.allauth.org/en/latest/account/configuration.html
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "menu:index"
ACCOUNT_ADAPTER = "accounts.adapter.BrigadeAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# Mandatory, and not a setting: with it, signing up with a taken address
# answers exactly as with a free one (both are told to check their mail) and
# the owner is mailed "someone tried to sign up with your address". With
# optional verification the sign-up form would have to say the address is
# taken. Demo users (seed_demo) and social sign-ins arrive verified.
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGOUT_ON_GET = False

# https://docs.allauth.org/en/latest/socialaccount/configuration.html
SOCIALACCOUNT_PROVIDERS = socialaccount_providers()
# allauth trusts an ID token fetched from the token endpoint without checking
# its signature (OIDC Core 3.1.3.7 allows that only over TLS).
if PRODUCTION and env_str("OIDC_CLIENT_ID") and not env_str("OIDC_SERVER_URL").startswith("https://"):
    raise ImproperlyConfigured("OIDC_SERVER_URL must be an https:// URL when DJANGO_ENV=production.")
# A provider that vouches for an email we already know signs in to that
# account and links itself, instead of failing on the duplicate address.
# Only emails the provider marks verified are trusted for this.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_LOGIN_ON_GET = False
# Unknown email and wrong password get the same answer; password reset and
# sign-up never say whether an account exists.
ACCOUNT_PREVENT_ENUMERATION = True

# Second factors: https://docs.allauth.org/en/latest/mfa/configuration.html
# An authenticator app (TOTP) with recovery codes, for anyone who wants one.
# WebAuthn stays off: it needs the fido2 package and a secure origin.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Admin opens only to a session that passed a second factor; a manager
# without an authenticator is sent to set one up. On by default in
# production; the embedded demo's manager gets in with a password alone.
STAFF_MFA_REQUIRED = env_bool("STAFF_MFA_REQUIRED", default=PRODUCTION)

# allauth's own limits, stated rather than inherited. Per-IP ones key on
# restaurant.client_ip (through accounts.adapter). The per-account limit on
# failed sign-ins is Brigade's (below), so allauth's "/key" part is left out
# of login_failed rather than running a second, different account lockout.
# https://docs.allauth.org/en/latest/account/rate_limits.html
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip",
    # Sign-up is limited by Brigade's limiter alone (RATE_LIMITS["sign_up"]
    # below, and the sign-in budget per IP), so its 429 is the one answer.
    "signup": None,
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "confirm_email": "1/3m/key",
    "reauthenticate": "10/m/user",
}
# Brigade's sign-in limiter (accounts.sign_in_limits; django-ratelimit on the
# shared cache), which every sign-in door goes through. Per client IP every
# attempt at any door counts; per account only failures (wrong password or
# second-factor code) count. Past either, 429 with Retry-After until the
# window ends.
SIGN_IN_RATE_PER_IP = env_str("SIGN_IN_RATE_PER_IP", "10/5m")
SIGN_IN_RATE_PER_ACCOUNT = env_str("SIGN_IN_RATE_PER_ACCOUNT", "8/15m")
# The doors that cost us or can be abused (restaurant/rate_limits.py): each
# `<count>/<period>/<key>`, keys session, ip and user, comma-separated; every
# budget counts each attempt and any one over refuses it (429, Retry-After,
# RateLimit-* headers). The table with the reasons is in docs/security.md.
RATE_LIMITS = {
    # Adding, changing and removing cart lines.
    "cart": env_str("RATE_LIMIT_CART", "60/m/session,300/m/ip,60/m/user"),
    # Sending the checkout form: each one may place an order.
    "checkout": env_str("RATE_LIMIT_CHECKOUT", "10/10m/session,60/10m/ip,10/10m/user"),
    # Starting or retrying a payment, and the sandbox's pay page.
    "payment": env_str("RATE_LIMIT_PAYMENT", "20/10m/session,120/10m/ip,20/10m/user"),
    # A customer calling an order off.
    "cancel": env_str("RATE_LIMIT_CANCEL", "10/10m/session,60/10m/ip,10/10m/user"),
    # Creating an account (each sends an email); also spends SIGN_IN_RATE_PER_IP.
    "sign_up": env_str("RATE_LIMIT_SIGN_UP", "3/h/session,10/h/ip"),
    # A delivery partner placing orders over the API, per key (its customers are many).
    "partner_orders": env_str("RATE_LIMIT_PARTNER_ORDERS", "300/10m/key,600/10m/ip"),
    # Trying a coupon code, for the door that applies one.
    "coupon": env_str("RATE_LIMIT_COUPON", "10/10m/session,20/10m/ip,10/10m/user"),
}
# How many proxies we run in front of Brigade, each appending to
# X-Forwarded-For: the client is the Nth address from the right
# (restaurant/client_ip.py). 0 (no proxy) ignores the header, which a client
# could otherwise forge. One nginx in front (README, Production) is 1.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
# Every django-ratelimit "ip" key asks the same function.
RATELIMIT_IP_META_KEY = "restaurant.client_ip.client_ip"

# ------------------------------------------------------------------------------
# Internationalisation and money
# ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-ie"
TIME_ZONE = env_str("TIME_ZONE", "Europe/Dublin")
# Celery evaluates a crontab in its app's time zone, so the nightly inventory's
# 02:00 is 02:00 here in winter and in summer.
# https://docs.celeryq.dev/en/stable/userguide/periodic-tasks.html#time-zones
CELERY_TIMEZONE = TIME_ZONE
USE_I18N = True
USE_TZ = True
# ISO 4217 code; every price is an integer count of this currency's minor unit.
BRIGADE_CURRENCY = env_str("BRIGADE_CURRENCY", "EUR").upper()
# Babel locale used to format money for people (symbol, separators).
BRIGADE_MONEY_LOCALE = env_str("BRIGADE_MONEY_LOCALE", "en_IE")
BRIGADE_RESTAURANT_NAME = env_str("BRIGADE_RESTAURANT_NAME", "Brigade Bistro")
# The VAT rate included in every price, as a percentage ("13.5": Ireland's rate
# for restaurant food). Prices are gross, so VAT only appears on the receipt,
# as the part of the total that is tax (docs/decisions.md, "Customers' side").
try:
    BRIGADE_VAT_PERCENT = Decimal(env_str("BRIGADE_VAT_PERCENT", "13.5"))
except InvalidOperation as _vat_error:
    raise ImproperlyConfigured("BRIGADE_VAT_PERCENT must be a number such as 13.5") from _vat_error
if not BRIGADE_VAT_PERCENT.is_finite() or not 0 <= BRIGADE_VAT_PERCENT < 100:
    raise ImproperlyConfigured("BRIGADE_VAT_PERCENT must be from 0 up to (not including) 100")
# The address customers reach the site at, for links in emails.
BRIGADE_BASE_URL = env_str("BRIGADE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Limits that keep one order a plausible order (and a hostile one cheap to refuse).
BRIGADE_MAX_LINE_QUANTITY = env_int("BRIGADE_MAX_LINE_QUANTITY", 50)
BRIGADE_MAX_CART_LINES = env_int("BRIGADE_MAX_CART_LINES", 40)
# How many orders awaiting payment one visitor may hold at once (per session,
# and per signed-in account): a few never pay, and each holds stock and a
# kitchen slot until it expires (PAYMENT_TIMEOUT_MINUTES). Staff ordering on
# the floor are not held to it. 0 turns the check off.
BRIGADE_MAX_UNPAID_ORDERS_PER_GUEST = env_int("BRIGADE_MAX_UNPAID_ORDERS_PER_GUEST", 3)
# Retry-After on the 503 that cart and checkout answer while the
# `online_ordering` switch (django-waffle, in admin) is off.
ORDERING_CLOSED_RETRY_AFTER_SECONDS = env_int("ORDERING_CLOSED_RETRY_AFTER_SECONDS", 900)
# The cached menu (menu/cache.py): how long one version's snapshot is kept (and
# so the longest a change whose bump was lost to a cache outage goes unseen);
# how long one rebuild may hold its lock; how long a process without any
# copy waits for another's rebuild before reading the database itself.
MENU_CACHE_SECONDS = env_int("MENU_CACHE_SECONDS", 600)
MENU_REBUILD_LOCK_SECONDS = env_int("MENU_REBUILD_LOCK_SECONDS", 10)
MENU_REBUILD_WAIT_SECONDS = env_int("MENU_REBUILD_WAIT_SECONDS", 2)

# ------------------------------------------------------------------------------
# Payments: "sandbox" (test payments served by Brigade) or "stripe".
# ------------------------------------------------------------------------------
PAYMENT_PROVIDER = env_str("PAYMENT_PROVIDER", "stripe" if PRODUCTION else "sandbox")
if PAYMENT_PROVIDER not in {"sandbox", "stripe"}:
    raise ImproperlyConfigured(f"PAYMENT_PROVIDER must be sandbox or stripe, got {PAYMENT_PROVIDER!r}")
if PRODUCTION and PAYMENT_PROVIDER == "sandbox":
    # Anyone could approve their own order on the sandbox's page.
    raise ImproperlyConfigured("The sandbox takes no real money: set PAYMENT_PROVIDER=stripe in production.")
# Provider events older (or further in the future) than this are refused.
PAYMENT_WEBHOOK_TOLERANCE_SECONDS = env_int("PAYMENT_WEBHOOK_TOLERANCE_SECONDS", 300)
# Largest webhook body accepted; a provider event is a few kilobytes.
PAYMENT_WEBHOOK_MAX_BYTES = env_int("PAYMENT_WEBHOOK_MAX_BYTES", 256 * 1024)
# An order not paid within this many minutes is cancelled.
PAYMENT_TIMEOUT_MINUTES = env_int("PAYMENT_TIMEOUT_MINUTES", 30)
# Circuit breaker: open after this many failed provider calls in a row, for this long.
PAYMENT_BREAKER_FAIL_MAX = env_int("PAYMENT_BREAKER_FAIL_MAX", 5)
PAYMENT_BREAKER_RESET_SECONDS = env_int("PAYMENT_BREAKER_RESET_SECONDS", 30)
SANDBOX_WEBHOOK_SECRET = env_str("SANDBOX_WEBHOOK_SECRET", "sandbox-webhook-secret-for-test-payments-only")
SANDBOX_WEBHOOK_URL = env_str("SANDBOX_WEBHOOK_URL", BRIGADE_BASE_URL + "/webhooks/payments/sandbox/")
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
# Only for tests against a local stand-in of Stripe's API.
STRIPE_API_BASE = env_str("STRIPE_API_BASE")

# ------------------------------------------------------------------------------
# Static and media files: hashed names, served by WhiteNoise in every mode.
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Uploaded menu photos; in production a front proxy or object store serves them.
BRIGADE_SERVE_MEDIA = env_bool("BRIGADE_SERVE_MEDIA", default=not PRODUCTION)

ADMIN_PATH = env_str("ADMIN_PATH", "admin/").strip("/") + "/"

# ------------------------------------------------------------------------------
# REST framework
# ------------------------------------------------------------------------------
# https://www.django-rest-framework.org/api-guide/settings/
# JSON only, in and out: no browsable API (its pages need inline script the
# CSP refuses; /api/v1/docs/ is the human view). No DRF throttling: the API's
# doors spend the one limiter of the pages (restaurant/rate_limits.py).
REST_FRAMEWORK = {
    # Apps: JWT (accounts.authentication); partners: API keys
    # (orders.partners.authentication); browsers: the session, with CSRF.
    # The first two answer 401 with a WWW-Authenticate challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.AppTokenAuthentication",
        "orders.partners.authentication.PartnerKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["restaurant.api.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "restaurant.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "restaurant.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html
# Short-lived access tokens; refresh tokens rotate on every use, and every
# request is checked against its app session (accounts.authentication).
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_ACCESS_SECONDS", 300)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_REFRESH_SECONDS", 14 * 24 * 3600)),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}
# Idempotency-Key on the API's order and payment doors (orders/idempotency.py):
# how long a key's first answer is kept and replayed; how long a running
# request holds its key before another may take over (a crashed worker).
IDEMPOTENCY_KEY_HOURS = env_int("IDEMPOTENCY_KEY_HOURS", 24)
IDEMPOTENCY_CLAIM_SECONDS = env_int("IDEMPOTENCY_CLAIM_SECONDS", 60)
# Largest JSON body an API door reads; an order of 40 lines is a few kilobytes.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024)
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "Brigade API",
    "DESCRIPTION": "The restaurant's menu, orders and kitchen for apps and delivery partners (docs/api.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar's static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "restaurant.api.schema.error_responses",
    ],
}

# ------------------------------------------------------------------------------
# Email: console in the embedded mode, SMTP when EMAIL_HOST is set.
# ------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Brigade <orders@brigade.example>")
# Seconds before a silent mail relay counts as down (Django waits forever by default).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
# How long a worker's claim on sending an order's email lasts. The mail is sent
# outside any transaction (no row stays locked while the relay answers); a claim
# whose worker died expires after this and the task's next try sends it. Longer
# than a send can take (the relay's timeout and a margin), or a slow send could
# be repeated by a second worker.
ORDER_EMAIL_CLAIM_SECONDS = env_int("ORDER_EMAIL_CLAIM_SECONDS", EMAIL_TIMEOUT + 5)
# The same for the nightly inventory report to managers (orders/inventory/).
INVENTORY_EMAIL_CLAIM_SECONDS = env_int("INVENTORY_EMAIL_CLAIM_SECONDS", EMAIL_TIMEOUT + 5)

# ------------------------------------------------------------------------------
# Security. Production behind a TLS-terminating proxy; see README "Production".
# ------------------------------------------------------------------------------
# https://django-csp.readthedocs.io/en/latest/configuration.html
# Scripts only from our own origin or a <script nonce="{{ CSP_NONCE }}">; never
# inline handlers, so text a customer typed can never run. Styles allow
# inline for Django admin's style attributes: CSS cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        # 'self' covers same-origin websockets in current browsers.
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Signed-in sessions end when idle and, for staff, after a shift whatever the
# activity (accounts/session_policy.py; docs/security.md "Sessions and cookies").
# A customer's session lasts at most SESSION_COOKIE_AGE.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)
SESSION_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 3 * 24 * 3600)
STAFF_SESSION_IDLE_TIMEOUT_SECONDS = env_int("STAFF_SESSION_IDLE_TIMEOUT_SECONDS", 4 * 3600)
STAFF_SESSION_MAX_AGE_SECONDS = env_int("STAFF_SESSION_MAX_AGE_SECONDS", 12 * 3600)
if PRODUCTION:
    # https://developer.mozilla.org/en-US/docs/Web/HTTP/Cookies#cookie_prefixes
    # A __Host- cookie is accepted by browsers only when Secure, for path /
    # and without Domain, so a sibling subdomain cannot plant or shadow it.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers probe over plain HTTP; a redirect would read as "down".
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("TRUST_X_FORWARDED_PROTO", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# ------------------------------------------------------------------------------
# Logging: one JSON object per line, each carrying the request id.
# ------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "restaurant.observability.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own request logger repeats what the access line says.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

# ------------------------------------------------------------------------------
# Sentry: on when SENTRY_DSN is set, with personal data off.
# https://docs.sentry.io/platforms/python/integrations/django/
# ------------------------------------------------------------------------------
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from restaurant.observability import init_sentry

    init_sentry(dsn=SENTRY_DSN, environment=DJANGO_ENV)
