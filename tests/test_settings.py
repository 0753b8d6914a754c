from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_str

ROOT = Path(__file__).resolve().parents[1]
GOOD_KEY = "k" * 20 + "9f3a7c1e5b2d8064af19c37e5d2b8a60"


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    clean.update(env)
    clean["DATABASE_URL"] = env.get("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'check.sqlite3'}")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_env_bool_refuses_a_value_it_does_not_understand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False)


def test_env_int_refuses_words_and_small_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PORT", "twenty")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("SMTP_PORT", 25)
    monkeypatch.setenv("SMTP_PORT", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("SMTP_PORT", 25, minimum=1)


def test_secret_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    monkeypatch.delenv("MY_SECRET", raising=False)
    monkeypatch.setenv("MY_SECRET_FILE", str(secret))
    assert env_str("MY_SECRET") == "from-a-file"


def test_production_refuses_to_start_without_a_real_secret_key() -> None:
    result = run_manage(
        "check", env={"DJANGO_ENV": "production", "ALLOWED_HOSTS": "training.example.org"}
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts() -> None:
    result = run_manage("check", env={"DJANGO_ENV": "production", "SECRET_KEY": GOOD_KEY})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_refuses_the_development_payment_gateway() -> None:
    result = run_manage(
        "check",
        env={
            "DJANGO_ENV": "production",
            "SECRET_KEY": GOOD_KEY,
            "ALLOWED_HOSTS": "training.example.org",
            "PAYMENT_GATEWAY": "development",
            "SMTP_HOST": "smtp.example.org",
        },
    )
    assert result.returncode != 0
    assert "Stripe" in result.stderr


INVOICE_ENV = {
    "INVOICE_BANK_DETAILS": "Council, sort code 12-34-56, account 12345678",
    "FINANCE_CONTACT_EMAIL": "finance@council.example.org",
}


@pytest.mark.parametrize("missing", sorted(INVOICE_ENV))
def test_production_refuses_to_invoice_without_bank_details_and_a_finance_contact(
    missing: str,
) -> None:
    env = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": GOOD_KEY,
        "ALLOWED_HOSTS": "training.example.org",
        "STRIPE_SECRET_KEY": "sk_test_placeholder",
        "STRIPE_WEBHOOK_SECRET": "whsec_placeholder",
        "SMTP_HOST": "smtp.example.org",
        **INVOICE_ENV,
    }
    del env[missing]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr and "Invoices print how to pay" in result.stderr


def test_bad_database_url_is_refused() -> None:
    result = run_manage("check", env={"DATABASE_URL": "mysql://nobody@localhost/x"})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_ENV": "production",
            "SECRET_KEY": GOOD_KEY,
            "ALLOWED_HOSTS": "training.example.org",
            "STRIPE_SECRET_KEY": "sk_test_placeholder",
            "STRIPE_WEBHOOK_SECRET": "whsec_placeholder",
            "SMTP_HOST": "smtp.example.org",
            **INVOICE_ENV,
        },
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": GOOD_KEY,
    "ALLOWED_HOSTS": "training.example.org",
    "STRIPE_SECRET_KEY": "sk_test_placeholder",
    "STRIPE_WEBHOOK_SECRET": "whsec_placeholder",
    "SMTP_HOST": "smtp.example.org",
    **INVOICE_ENV,
}
SHOW_HEADERS = """
import json
from django.test import Client
from django.test.utils import override_settings, setup_test_environment
setup_test_environment()
# The page only, not its static files: no collectstatic manifest is needed to read headers.
plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
override_settings(STORAGES={"default": plain, "staticfiles": plain}).enable()
response = Client().get("/accounts/login/", secure=True, HTTP_HOST="training.example.org")
print(json.dumps({"status": response.status_code, **dict(response.headers)}))
"""


def test_a_production_response_carries_the_security_headers() -> None:
    result = run_manage("shell", "-c", SHOW_HEADERS, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    headers = json.loads(result.stdout.strip().splitlines()[-1])

    assert headers["status"] == 200
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_production_redirects_plain_http_except_the_health_probe() -> None:
    probe = SHOW_HEADERS.replace('"/accounts/login/", secure=True', '"/health/", secure=False')
    result = run_manage("shell", "-c", probe, env=PRODUCTION_ENV)
    assert json.loads(result.stdout.strip().splitlines()[-1])["status"] in (200, 503)
    login = SHOW_HEADERS.replace("secure=True", "secure=False")
    result = run_manage("shell", "-c", login, env=PRODUCTION_ENV)
    assert json.loads(result.stdout.strip().splitlines()[-1])["status"] == 301


SHOW_CACHE = (
    "from django.conf import settings; c = settings.CACHES['default']; "
    "print(c['BACKEND'], c['LOCATION'])"
)


def test_redis_url_makes_redis_the_shared_cache() -> None:
    result = run_manage(
        "shell", "-c", SHOW_CACHE, env={**PRODUCTION_ENV, "REDIS_URL": "redis://cache:6379/2"}
    )
    assert result.returncode == 0, result.stderr
    backend, location = result.stdout.split()[-2:]
    assert backend == "django.core.cache.backends.redis.RedisCache"
    assert location == "redis://cache:6379/2"
    # Without it, production shares the database cache.
    result = run_manage("shell", "-c", SHOW_CACHE, env=PRODUCTION_ENV)
    assert result.stdout.split()[-2] == "django.core.cache.backends.db.DatabaseCache"


def test_a_redis_url_that_is_not_one_is_refused() -> None:
    result = run_manage("check", env={"REDIS_URL": "http://cache:6379"})
    assert result.returncode != 0
    assert "REDIS_URL must start with redis://" in result.stderr
    result = run_manage("check", env={"CACHE_BACKEND": "redis"})
    assert result.returncode != 0
    assert "CACHE_BACKEND=redis needs REDIS_URL" in result.stderr


SHOW_CONNECTIONS = (
    "from django.conf import settings; d = settings.DATABASES['default']; "
    "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
)


def test_production_keeps_its_database_connections_and_checks_them_before_reuse() -> None:
    result = run_manage("shell", "-c", SHOW_CONNECTIONS, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["60", "True"]
    # The development server's thread per request would only pile connections up.
    development = {key: value for key, value in PRODUCTION_ENV.items() if key != "DJANGO_ENV"}
    result = run_manage("shell", "-c", SHOW_CONNECTIONS, env=development)
    assert result.stdout.split()[-2:] == ["0", "True"]
