"""Sign-in throttling as deployed: behind a proxy, per account and per address, in a shared cache.

The settings under test are the ones the environment produces: each test loads
``config/settings.py`` afresh with the environment a deployment would set, and applies what it
computed, so a variable that never reaches allauth fails here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "config" / "settings.py"
PROXY = "10.0.0.2"  # the reverse proxy: every request reaches the app from here
TOO_MANY = "Too many failed login attempts. Try again later."
APPLIED = (
    "ALLAUTH_TRUSTED_PROXY_COUNT",
    "ALLAUTH_TRUSTED_CLIENT_IP_HEADER",
    "ACCOUNT_RATE_LIMITS",
    "CACHES",
)


def settings_from(monkeypatch: pytest.MonkeyPatch, **environment: str) -> ModuleType:
    """``config/settings.py`` as it comes out under this environment (not imported as such)."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("settings_under_test", SETTINGS_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def deploy(monkeypatch: pytest.MonkeyPatch, settings: Any, *, cache_backend: str) -> None:
    """One proxy in front, as the README's deployment, and the cache the backend gives."""
    loaded = settings_from(monkeypatch, TRUSTED_PROXY_COUNT="1", CACHE_BACKEND=cache_backend)
    for name in APPLIED:
        setattr(settings, name, getattr(loaded, name))
    cache.clear()


@pytest.fixture(params=["locmem", "database"])
def deployed(request: Any, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[None]:
    deploy(monkeypatch, settings, cache_backend=request.param)
    yield
    cache.clear()


def log_in(email: str, password: str, *, client_address: str) -> Client:
    client = Client(REMOTE_ADDR=PROXY)
    # The proxy appends the address it saw; anything left of it came from the client.
    client.post(
        reverse("account_login"),
        {"login": email, "password": password},
        HTTP_X_FORWARDED_FOR=f"198.51.100.99, {client_address}",
    )
    return client


def signed_in(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def failed_with(email: str, *, client_address: str) -> str:
    client = Client(REMOTE_ADDR=PROXY)
    response = client.post(
        reverse("account_login"),
        {"login": email, "password": "not-the-password"},
        HTTP_X_FORWARDED_FOR=client_address,
    )
    return response.content.decode()


def test_wrong_passwords_behind_the_proxy_do_not_lock_out_another_person(
    deployed: None, practitioner: Any, agency_booker: Any
) -> None:
    for _ in range(30):
        failed_with(practitioner.email, client_address="203.0.113.66")

    for attempt in range(12):
        colleague = log_in(agency_booker.email, PASSWORD, client_address=f"192.0.2.{attempt + 1}")
        assert signed_in(colleague) == str(agency_booker.pk), attempt


def test_wrong_passwords_for_one_account_from_many_addresses_are_limited_per_account(
    deployed: None, practitioner: Any
) -> None:
    pages = [failed_with(practitioner.email, client_address=f"203.0.113.{n}") for n in range(1, 8)]

    assert [TOO_MANY in page for page in pages] == [False] * 5 + [True] * 2
    # Even the right password, from yet another address, waits out the account's limit.
    owner = log_in(practitioner.email, PASSWORD, client_address="192.0.2.200")
    assert signed_in(owner) is None


def test_the_database_cache_keeps_the_counts_where_every_process_reads_them(
    monkeypatch: pytest.MonkeyPatch, settings: Any, practitioner: Any
) -> None:
    deploy(monkeypatch, settings, cache_backend="database")
    failed_with(practitioner.email, client_address="203.0.113.5")
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM django_cache")
        keys = [row[0] for row in cursor.fetchall()]
    assert any("login_failed" in key for key in keys), keys


def test_production_shares_its_cache_through_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    production = settings_from(
        monkeypatch,
        DJANGO_ENV="production",
        SECRET_KEY="k" * 20 + "9f3a7c1e5b2d8064af19c37e5d2b8a60",
        ALLOWED_HOSTS="training.example.org",
        STRIPE_SECRET_KEY="sk_test_placeholder",
        STRIPE_WEBHOOK_SECRET="whsec_placeholder",
        SMTP_HOST="smtp.example.org",
        INVOICE_BANK_DETAILS="Council, sort code 12-34-56, account 12345678",
        FINANCE_CONTACT_EMAIL="finance@council.example.org",
    )
    assert production.CACHES["default"]["BACKEND"] == (
        "django.core.cache.backends.db.DatabaseCache"
    )
    development = settings_from(monkeypatch, DJANGO_ENV="development")
    assert development.CACHES["default"]["BACKEND"].endswith("LocMemCache")


def test_a_client_address_header_can_be_trusted_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = settings_from(monkeypatch, TRUSTED_CLIENT_IP_HEADER="X-Real-IP")
    assert (loaded.ALLAUTH_TRUSTED_CLIENT_IP_HEADER, loaded.ALLAUTH_TRUSTED_PROXY_COUNT) == (
        "X-Real-IP",
        0,
    )
