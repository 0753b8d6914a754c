"""In a real browser on a 390 px phone: a nurse who forgot her password resets it from the email."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import assert_accessible, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

NEW_PASSWORD = "a-fresh-nurse-password-37"


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


def test_a_practitioner_resets_a_forgotten_password_on_her_phone_and_signs_in(
    phone_page: Any, practitioner: Any, settings: Any
) -> None:
    page = phone_page
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()

    expect(page.get_by_role("heading", name="Reset your password", level=1)).to_be_visible()
    expect(page).to_have_title(f"Reset your password – {settings.UNIT_NAME}")
    assert_accessible(page, "password reset request")
    screenshot(page, "password-reset-01-request-phone")
    page.get_by_label("Email").fill(practitioner.email)
    page.get_by_role("button", name="Email me a link").click()

    expect(page.get_by_role("heading", name="Check your email", level=1)).to_be_visible()
    screenshot(page, "password-reset-02-sent-phone")
    # The live server runs in this process, so its mail lands in the locmem outbox.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [practitioner.email]
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", message.body)
    assert link, message.body

    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="Choose a new password", level=1)).to_be_visible()
    assert_accessible(page, "choose a new password")
    screenshot(page, "password-reset-03-choose-phone")
    # Two different passwords: the error is shown and nothing changes.
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password (again)").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="Save new password").click()
    expect(page.get_by_role("alert")).to_contain_text("same password")
    screenshot(page, "password-reset-04-mismatch-phone")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save new password").click()

    expect(page.get_by_role("heading", name="Your password has been changed")).to_be_visible()
    screenshot(page, "password-reset-05-done-phone")
    page.get_by_role("button", name="Sign in").click()

    page.get_by_label("Email").fill(practitioner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not correct")  # the old one is gone
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).not_to_have_url(re.compile(r"/accounts/"))
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="Sign out")).to_be_visible()
    screenshot(page, "password-reset-06-signed-in-phone")

    # The link works once: opened again, it says so and offers a new one.
    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()
    expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()
    screenshot(page, "password-reset-07-used-link-phone")
