"""A practitioner books a course that needs approval; the manager approves from the email."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from bookings.models import Booking, BookingStatus
from tests.conftest import PASSWORD, make_session
from tests.e2e.conftest import PHONE, assert_accessible, log_in, screenshot
from tests.e2e.test_booking_journeys import (  # noqa: F401 - autouse fixtures and helpers
    fresh_rate_limits,
    future,
    pytestmark,
    reference_data,
    wait_for_email,
)
from training.models import ApprovalRule, Course, Session, Venue


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    course.approval = ApprovalRule.MANAGER
    course.save()
    return make_session(course, venue, starts_at=future(40), capacity=12)


def test_practitioner_books_a_course_needing_approval_and_the_manager_approves_on_a_phone(
    phone_page: Any, browser: Any, live_server: Any, session: Session, practitioner: Any
) -> None:
    page = phone_page
    log_in(page, practitioner.email, PASSWORD)
    page.goto(f"/sessions/{session.pk}/")
    page.get_by_role("button", name="Book a place").click()

    expect(page.get_by_role("heading", name="Line manager's approval")).to_be_visible()
    page.get_by_label("Your line manager's name").fill("Morag Manager")
    page.get_by_label("Your line manager's work email").fill("morag@school.example.org")
    screenshot(page, "approval-01-manager-fields-phone")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_test_id("line-manager")).to_contain_text("Morag Manager")
    expect(page.get_by_test_id("approval-needed")).to_be_visible()
    page.get_by_label("Access or dietary needs (optional)").fill("Vegetarian lunch, please")
    assert_accessible(page, "check booking, needs approval (phone)")
    screenshot(page, "approval-02-check-phone")
    page.get_by_role("button", name="Ask for approval").click()

    expect(page.get_by_role("heading", name="Waiting for approval")).to_be_visible()
    booking = Booking.objects.get(attendee=practitioner)
    assert booking.status == BookingStatus.AWAITING_APPROVAL
    assert booking.access_needs == "Vegetarian lunch, please"
    practitioner.profile.refresh_from_db()
    assert practitioner.profile.line_manager_email == "morag@school.example.org"  # remembered
    screenshot(page, "approval-03-waiting-phone")

    # The manager, on their own phone, with no account.
    request = wait_for_email("Please approve", "morag@school.example.org")
    link = re.search(r"https?://\S+(/approvals/\S+/)", request.body)
    assert link, request.body
    manager = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True)
    manager_page = manager.new_page()
    manager_page.goto(link.group(1))
    expect(manager_page.get_by_role("heading", name="Approve this training place?")).to_be_visible()
    expect(manager_page.get_by_test_id("approval-booking")).to_contain_text("Tess Teacher")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.AWAITING_APPROVAL  # opening the link decides nothing
    assert_accessible(manager_page, "approval page (phone)")
    screenshot(manager_page, "approval-04-manager-link-phone")
    manager_page.get_by_role("button", name="Approve the place").click()
    expect(manager_page.get_by_test_id("approval-outcome")).to_have_text("Place approved")
    screenshot(manager_page, "approval-05-manager-approved-phone")
    manager.close()

    # Approved: the practitioner pays, which confirms the place.
    wait_for_email("Place approved", practitioner.email)
    page.goto(f"/orders/{booking.order.reference}/")
    expect(page.get_by_role("heading", name="Approved: pay to confirm your place")).to_be_visible()
    screenshot(page, "approval-06-pay-phone")
    page.get_by_role("button", name="Pay by card").click()
    page.get_by_role("button", name="Pay £65.00 (test)").click()
    expect(page.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    wait_for_email("Copy:", "morag@school.example.org")  # the manager is copied
    screenshot(page, "approval-07-confirmed-phone")
