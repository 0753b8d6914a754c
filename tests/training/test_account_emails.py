"""Account emails in the unit's own words: its name (never the host), sentence case, and the
layout of the product's other emails."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.conftest import make_person


def html_of(message: Any) -> str:
    ((body, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return str(body)


def assert_the_units_email(message: Any) -> None:
    assert settings.UNIT_NAME in message.subject, message.subject
    assert not message.subject.startswith("["), "no bracketed prefix: the subject says it"
    for body in (str(message.body), html_of(message)):
        assert settings.UNIT_NAME in body
        assert "example.com" not in body, "the site's host name is never the unit's name"
        assert "Hello from" not in body and "Thank you for using" not in body
    page = html_of(message)
    assert "background-color:#24435f" in page, "the unit's email layout"


@pytest.mark.django_db
def test_the_confirmation_email_is_the_units_in_its_layout(client: Client) -> None:
    client.post(
        reverse("account_signup"),
        {
            "email": "nurse@example.org",
            "password1": "a-long-Passphrase-1",
            "password2": "a-long-Passphrase-1",
        },
    )
    (message,) = mail.outbox
    assert message.subject == f"Confirm your email address for {settings.UNIT_NAME}"
    assert_the_units_email(message)
    assert "/accounts/confirm-email/" in str(message.body)
    assert "Confirm your email address</a>" in html_of(message)


@pytest.mark.django_db
def test_the_password_reset_email_is_the_units_in_its_layout(client: Client, school: Any) -> None:
    make_person("nurse@example.org", agency=school)
    client.post(reverse("account_reset_password"), {"email": "nurse@example.org"})
    (message,) = mail.outbox
    assert message.subject == f"Reset your password for {settings.UNIT_NAME}"
    assert_the_units_email(message)
    assert "/accounts/password/reset/key/" in str(message.body)


@pytest.mark.django_db
def test_a_reset_for_an_unknown_address_says_so_in_the_units_words(client: Client) -> None:
    client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    (message,) = mail.outbox
    assert message.subject == f"No account with this address at {settings.UNIT_NAME}"
    assert_the_units_email(message)
    assert "/accounts/signup/" in str(message.body)
