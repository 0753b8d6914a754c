"""Joining an agency in Chromium: a practitioner asks, the agency's booker approves from the
emailed link on a phone, and only then does the agency's price apply."""

from __future__ import annotations

import importlib
import re
import time
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_person
from tests.e2e.conftest import assert_accessible, log_in, screenshot
from training.models import Agency, Profile

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


@pytest.fixture(autouse=True)
def reference_data(db: Any) -> None:
    seed = importlib.import_module("training.migrations.0002_sectors_bands_roles").seed
    seed(django_apps, None)


def wait_for_email(subject: str, to: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in mail.outbox:
            if to in message.to and subject.lower() in message.subject.lower():
                return message
        time.sleep(0.1)
    raise AssertionError(f"No email to {to} about {subject!r}: {[m.subject for m in mail.outbox]}")


def test_practitioner_asks_to_join_and_the_booker_approves_from_the_email_on_a_phone(
    browser: Any, live_server: Any, school: Agency, nursery: Agency, agency_booker: Any
) -> None:
    newcomer = make_person(
        "nell@acorns.example.org", agency=nursery, first_name="Nell", last_name="Newcomer"
    )
    desk = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    page.set_default_timeout(15_000)
    log_in(page, newcomer.email, PASSWORD)
    page.goto("/profile/")
    page.get_by_text("My agency is not in the list").click()
    page.get_by_label("Agency name").fill("blackdown  PRIMARY school")
    page.get_by_label("Sector").select_option(label="Schools")
    page.get_by_role("button", name="Save your details").click()
    join = page.get_by_role("button", name="Ask to join Blackdown Primary School")
    expect(join).to_be_visible()
    screenshot(page, "membership-01-lookalike-offered")
    join.click()
    expect(page.get_by_test_id("membership")).to_contain_text("has not yet confirmed")
    assert_accessible(page, "profile with a waiting membership")
    screenshot(page, "membership-02-request-waiting")
    desk.close()

    message = wait_for_email("asks to join Blackdown Primary School", agency_booker.email)
    link = re.search(r"https?://\S+/agency/members/approve/\S+/", message.body)
    assert link, message.body
    path = "/" + link.group(0).split("/", 3)[3]

    phone = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    mobile = phone.new_page()
    mobile.set_default_timeout(15_000)
    log_in(mobile, agency_booker.email, PASSWORD)
    mobile.goto(path)
    expect(
        mobile.get_by_role("heading", name="Does Nell Newcomer work for Blackdown Primary School?")
    ).to_be_visible()
    assert not Profile.objects.get(user=newcomer).agency_verified  # opening it changed nothing
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(mobile, "approve a membership request (phone)")
    screenshot(mobile, "membership-03-approve-phone")
    mobile.get_by_role("button", name="Yes, they work here").click()
    expect(
        mobile.get_by_text("Nell Newcomer is now a member of Blackdown Primary School")
    ).to_be_visible()
    expect(mobile.get_by_test_id("members")).to_contain_text("Nell Newcomer")
    screenshot(mobile, "membership-04-members-phone")
    phone.close()
    profile = Profile.objects.get(user=newcomer)
    assert profile.agency == school and profile.agency_verified
