"""Settings come from the environment: safe embedded defaults, a production mode
that refuses an unsafe start, and an .env.example that documents every variable.

Each test starts Django in a subprocess, because settings are read once per process.
None of these subprocesses connects to a database or to Redis.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from restaurant import settings as brigade_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
# Every env_str/env_bool/env_int/env_list("NAME" ...) call is a variable Brigade reads.
_ENV_READ = re.compile(r"""\benv_(?:str|bool|int|float|list)\(\s*["']([A-Za-z0-9_]+)["']""")
_FILES_READING_ENVIRONMENT = [
    REPO_ROOT / "restaurant" / "settings.py",
    REPO_ROOT / "restaurant" / "observability.py",
    REPO_ROOT / "accounts" / "social.py",
]
SUBPROCESS_TIMEOUT_SECONDS = 90


def variables_read_by_settings() -> set[str]:
    names: set[str] = set()
    for path in _FILES_READING_ENVIRONMENT:
        names.update(_ENV_READ.findall(path.read_text(encoding="utf-8")))
    return names


def random_secret_key() -> str:
    return secrets.token_urlsafe(45)[:60]


def clean_env(var_dir: Path, **variables: str) -> dict[str, str]:
    """os.environ without anything Brigade reads, plus the variables under test."""
    ignored = variables_read_by_settings() | {"DATABASE_URL", "REDIS_URL"}
    env = {name: value for name, value in os.environ.items() if name not in ignored}
    env["DJANGO_SETTINGS_MODULE"] = "restaurant.settings"
    env["BRIGADE_VAR_DIR"] = str(var_dir)
    env.update(variables)
    return env


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_python(["manage.py", *args], env)


_PRINT_INTEGRATIONS = """
import json

import django
from django.conf import settings

django.setup()
layer = settings.CHANNEL_LAYERS["default"]
print(json.dumps({
    "database": settings.DATABASES["default"]["ENGINE"],
    "database_options": settings.DATABASES["default"].get("OPTIONS", {}),
    "cache": settings.CACHES["default"]["BACKEND"],
    "channel_layer": layer["BACKEND"],
    "channel_hosts": layer.get("CONFIG", {}).get("hosts"),
    "channel_capacity": layer.get("CONFIG", {}).get("capacity"),
    "channel_prefix": layer.get("CONFIG", {}).get("prefix"),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
}))
"""


def integrations(env: dict[str, str]) -> dict[str, object]:
    result = run_python(["-c", _PRINT_INTEGRATIONS], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- production refuses an unsafe start


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        pytest.param(
            {"DJANGO_DEBUG": "true", "SECRET_KEY": random_secret_key(), "ALLOWED_HOSTS": "brigade.example"},
            "DJANGO_DEBUG must be off when DJANGO_ENV=production",
            id="debug-on",
        ),
        pytest.param(
            {"ALLOWED_HOSTS": "brigade.example"},
            "SECRET_KEY must be set to a random value of 50+ characters",
            id="secret-key-unset",
        ),
        pytest.param(
            # The development key is long enough: only its value gives it away.
            {"SECRET_KEY": brigade_settings._DEVELOPMENT_SECRET_KEY, "ALLOWED_HOSTS": "brigade.example"},
            "SECRET_KEY must be set to a random value of 50+ characters",
            id="secret-key-is-the-development-default",
        ),
        pytest.param(
            {"SECRET_KEY": secrets.token_urlsafe(24)[:32], "ALLOWED_HOSTS": "brigade.example"},
            "SECRET_KEY must be set to a random value of 50+ characters",
            id="secret-key-too-short",
        ),
        pytest.param(
            {"SECRET_KEY": random_secret_key()},
            "ALLOWED_HOSTS must be set when DJANGO_ENV=production",
            id="allowed-hosts-unset",
        ),
        pytest.param(
            {"SECRET_KEY": random_secret_key(), "ALLOWED_HOSTS": " , "},
            "ALLOWED_HOSTS must be set when DJANGO_ENV=production",
            id="allowed-hosts-blank",
        ),
        pytest.param(
            {
                "SECRET_KEY": random_secret_key(),
                "ALLOWED_HOSTS": "brigade.example",
                "PARTNER_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
            },
            "PARTNER_WEBHOOK_ALLOW_PRIVATE_NETWORKS must be off when DJANGO_ENV=production",
            id="partner-webhooks-to-private-networks",
        ),
    ],
)
def test_production_mode_refuses_to_start_with_unsafe_settings(
    tmp_path: Path, variables: dict[str, str], message: str
) -> None:
    # Given production mode with one unsafe setting
    env = clean_env(tmp_path, DJANGO_ENV="production", **variables)

    # When Django starts
    result = manage(env, "check")

    # Then it refuses, and says why
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_mode_passes_the_deployment_checklist_without_warnings(tmp_path: Path) -> None:
    # Given production mode with a random key and a host name
    env = clean_env(
        tmp_path,
        DJANGO_ENV="production",
        SECRET_KEY=random_secret_key(),
        ALLOWED_HOSTS="brigade.example",
    )

    # When Django runs its deployment checklist
    result = manage(env, "check", "--deploy")

    # Then nothing is flagged
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    assert "System check identified no issues" in output, output


def test_an_unreadable_boolean_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    # Given a boolean variable holding something that is not a boolean
    env = clean_env(tmp_path, DJANGO_DEBUG="maybe")

    # When Django starts
    result = manage(env, "check")

    # Then it refuses, naming the variable and the value
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr
    assert "'maybe'" in result.stderr


# ---------------------------------------------------------------- integrations follow the URLs


def test_with_nothing_set_every_integration_is_embedded(tmp_path: Path) -> None:
    # Given no Brigade variable at all
    env = clean_env(tmp_path)

    # When Django starts
    chosen = integrations(env)

    # Then it needs no server: SQLite, local memory, in-memory layer, eager tasks
    assert chosen["database"] == "django.db.backends.sqlite3"
    assert chosen["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert chosen["channel_layer"] == "channels.layers.InMemoryChannelLayer"
    assert chosen["eager"] is True


def test_database_and_redis_urls_switch_every_integration_to_its_server(tmp_path: Path) -> None:
    # Given a PostgreSQL URL and a Redis URL (nothing listens there; nothing connects)
    redis_url = "redis://127.0.0.1:6379/3"
    env = clean_env(tmp_path, DATABASE_URL="postgres://u@127.0.0.1:5432/x", REDIS_URL=redis_url)

    # When Django starts
    chosen = integrations(env)

    # Then PostgreSQL, django-redis, channels-redis and a real Celery broker are used
    assert chosen["database"] == "django.db.backends.postgresql"
    assert chosen["cache"] == "django_redis.cache.RedisCache"
    assert chosen["channel_layer"] == "restaurant.channel_layer.HealingPubSubChannelLayer"
    assert chosen["eager"] is False
    # and PostgreSQL binds parameters itself and prepares what a connection runs often
    assert chosen["database_options"] == {"server_side_binding": True, "prepare_threshold": 5}


def test_prepared_statements_can_be_switched_off_for_a_transaction_pooler(tmp_path: Path) -> None:
    # Given PostgreSQL behind a pooler that cannot keep prepared statements
    env = clean_env(tmp_path, DATABASE_URL="postgres://u@127.0.0.1:6432/x", DATABASE_PREPARED_STATEMENTS="0")

    # When Django starts
    chosen = integrations(env)

    # Then parameters are bound in the client and nothing is prepared
    assert chosen["database"] == "django.db.backends.postgresql"
    assert chosen["database_options"] == {}


def test_the_core_channel_layer_can_be_chosen_and_gets_a_sized_capacity(tmp_path: Path) -> None:
    env = clean_env(tmp_path, REDIS_URL="redis://127.0.0.1:6379/3", CHANNEL_LAYER_BACKEND="core")

    chosen = integrations(env)

    assert chosen["channel_layer"] == "channels_redis.core.RedisChannelLayer"
    assert chosen["channel_capacity"] == 1500


def test_each_redis_database_gets_channels_of_its_own(tmp_path: Path) -> None:
    # Given two deployments on one Redis server, databases 3 and 4
    prefixes = [
        integrations(clean_env(tmp_path, REDIS_URL=f"redis://127.0.0.1:6379/{db}"))["channel_prefix"]
        for db in (3, 4)
    ]

    # Then their live broadcasts (pub/sub ignores the database) never meet
    assert prefixes == ["brigade:asgi:3", "brigade:asgi:4"]


def test_an_unknown_channel_layer_is_refused(tmp_path: Path) -> None:
    env = clean_env(tmp_path, REDIS_URL="redis://127.0.0.1:6379/3", CHANNEL_LAYER_BACKEND="kafka")

    result = manage(env, "check")

    assert result.returncode != 0
    assert "CHANNEL_LAYER_BACKEND must be pubsub or core" in result.stderr


def test_the_redis_channel_layer_sizes_its_connection_pool_explicitly(tmp_path: Path) -> None:
    # Given a Redis URL
    redis_url = "redis://127.0.0.1:6379/3"
    env = clean_env(tmp_path, REDIS_URL=redis_url)

    # When Django starts
    chosen = integrations(env)

    # Then each channel-layer host is a dict with its own pool size, above redis-py's default of 100
    hosts = chosen["channel_hosts"]
    assert isinstance(hosts, list)
    assert hosts
    for host in hosts:
        assert isinstance(host, dict), host
        assert host["address"] == redis_url
        assert isinstance(host["max_connections"], int)
        assert host["max_connections"] > 100


# ---------------------------------------------------------------- documentation


def test_env_example_documents_every_variable_the_settings_read() -> None:
    # Given the variables the settings and the observability module read
    names = variables_read_by_settings()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SENTRY_DSN"} <= names

    # When .env.example is read
    env_example = REPO_ROOT / ".env.example"
    assert env_example.is_file(), ".env.example is missing"
    documented = env_example.read_text(encoding="utf-8")

    # Then every variable is named in it
    missing = sorted(name for name in names if not re.search(rf"\b{name}\b", documented))
    assert not missing, f".env.example does not mention: {', '.join(missing)}"


def test_blank_variables_as_in_env_example_mean_the_defaults(tmp_path):
    """Loading .env.example as it is (blank values) must give the embedded defaults."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "DJANGO_DEBUG": "",
            "SECRET_KEY": "",
            "ALLOWED_HOSTS": "",
            "STATIC_ROOT": "",
            "BRIGADE_SERVE_MEDIA": "",
            "SENTRY_TRACES_SAMPLE_RATE": "",
            "BRIGADE_VAR_DIR": str(tmp_path),
        }
    )
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, bool(s.SECRET_KEY), '127.0.0.1' in s.ALLOWED_HOSTS, "
        "s.STATIC_ROOT.name, s.BRIGADE_SERVE_MEDIA)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "restaurant.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "staticfiles", "True"]


def test_production_cookies_are_secure_http_only_and_same_site(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path, DJANGO_ENV="production", SECRET_KEY=random_secret_key(), ALLOWED_HOSTS="b.example"
    )
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps(["
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SAMESITE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_SSL_REDIRECT, s.DEBUG]))"
    )
    result = run_python(["-c", code], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        True,
        True,
        True,
        "Lax",
        "Lax",
        31536000,
        True,
        False,
    ]


def test_production_cookies_carry_the_host_prefix(tmp_path: Path) -> None:
    # Given production mode
    env = clean_env(
        tmp_path, DJANGO_ENV="production", SECRET_KEY=random_secret_key(), ALLOWED_HOSTS="b.example"
    )
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps(["
        "s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_DOMAIN, s.CSRF_COOKIE_DOMAIN, "
        "s.SESSION_COOKIE_PATH, s.CSRF_COOKIE_PATH, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE]))"
    )

    # When the settings load
    result = run_python(["-c", code], env)

    # Then both cookies are __Host- cookies, which browsers accept only when
    # Secure, on path / and without a Domain
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "__Host-sessionid",
        "__Host-csrftoken",
        None,
        None,
        "/",
        "/",
        True,
        True,
    ]


def test_the_demo_seed_refuses_to_run_in_production(tmp_path: Path) -> None:
    # Given production mode on an empty database
    env = clean_env(
        tmp_path, DJANGO_ENV="production", SECRET_KEY=random_secret_key(), ALLOWED_HOSTS="b.example"
    )
    assert manage(env, "migrate", "--noinput", "-v0").returncode == 0

    # When someone runs the demo seed
    result = manage(env, "seed_demo")

    # Then it refuses, and no account with a published password exists
    assert result.returncode != 0
    assert "never runs in production" in result.stderr
    count = run_python(
        [
            "-c",
            "import django; django.setup(); from accounts.models import User; print(User.objects.count())",
        ],
        env,
    )
    assert count.returncode == 0, count.stderr
    assert count.stdout.strip().splitlines()[-1] == "0"
