"""In a real browser: an administrator sets up a second factor, signs out, signs in with a code;
and reads the audit trail on a phone."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from bookings.audit import audit_record
from tests.conftest import PASSWORD, make_session
from tests.e2e.conftest import assert_accessible, log_in, screenshot
from tests.evaluation.helpers import aware, place
from training.demo.second_factor import totp_code
from training.models import Agency, Course, Venue

pytestmark = [
    pytest.mark.browser,
    # Transactional like test_reports (the conftest re-seeds reference data after the flush):
    # a serialized rollback after a plain transactional test cannot restore content types.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


@pytest.mark.second_factor
def test_an_administrator_sets_up_an_authenticator_then_signs_in_with_a_code(
    page: Any, training_admin: Any, settings: Any
) -> None:
    # One step of clock drift either way, as authenticator apps allow: the second sign-in uses
    # the next step's code, so it is never the code already used to set up.
    settings.MFA_TOTP_TOLERANCE = 1
    log_in(page, training_admin.email, PASSWORD)

    # allauth asks for the password once more before a second factor is added.
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    screenshot(page, "mfa-set-up")
    assert_accessible(page, "set up the authenticator")
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret, time.time()))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    screenshot(page, "mfa-recovery-codes")
    page.goto("/manage/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "/accounts/2fa/" not in page.url

    page.goto("/accounts/logout/")
    page.get_by_role("button", name="Sign out").click()
    log_in(page, training_admin.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    screenshot(page, "mfa-sign-in-code")
    page.get_by_label("Code").fill(totp_code(secret, time.time() + 30))
    page.get_by_role("button", name="Sign In").click()

    page.goto("/audit/")
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()


def test_the_audit_trail_works_on_a_phone(
    phone_page: Any, training_admin: Any, course: Course, venue: Venue, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=aware(2025, 3, 10, 9, 30))
    booking = place(session, name="Dee Phone", email="dee@example.org", agency=school)
    audit_record(obj=booking, action="created", actor=training_admin, now=aware(2025, 1, 2))
    audit_record(
        obj=booking,
        action="status confirmed → cancelled",
        actor=None,
        now=aware(2025, 2, 2),
        changes={"reason": "Cancelled by the attendee, who could not come after all"},
    )
    log_in(phone_page, training_admin.email, PASSWORD)

    phone_page.goto("/audit/")
    expect(phone_page.get_by_role("heading", name="Status changed")).to_be_visible()
    phone_page.get_by_text("Filter the entries").click()
    phone_page.get_by_label("Action").select_option(label="Status changed")
    phone_page.get_by_role("button", name="Show entries").click()

    expect(phone_page.get_by_text("1 entry.")).to_be_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"
    screenshot(phone_page, "audit-trail-phone")
    assert_accessible(phone_page, "audit trail on a phone")
