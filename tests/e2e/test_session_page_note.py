"""The session page tells a person who already holds a place, in Chromium on a phone; the page
every viewer shares comes from the cache, the note never does (issues 12 and 15)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils import timezone
from playwright.sync_api import expect

from bookings.models import Booking, PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import PASSWORD, make_person, make_session
from tests.e2e.conftest import assert_accessible, log_in, screenshot
from training.models import Agency, Course, Venue


def test_a_person_with_an_unpaid_hold_is_sent_to_finish_paying_and_a_colleague_may_book(
    phone_page: Any, course: Course, venue: Venue, practitioner: Any, school: Agency
) -> None:
    page = phone_page
    now = timezone.now()
    session = make_session(course, venue, starts_at=now + dt.timedelta(days=30), capacity=2)
    booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Tess Teacher", email=practitioner.email)],
        agency=school,
        booked_by=practitioner,
        payment_method=PaymentMethod.CARD,
        now=now,
    )
    order = Booking.objects.get(session=session).order
    colleague = make_person("colleague@example.org", agency=school, first_name="Cal")

    # The colleague first: the shared part of the page is rendered and cached for their band.
    log_in(page, colleague.email, PASSWORD)
    page.goto(f"/sessions/{session.pk}/")
    expect(page.get_by_test_id("places-left")).to_have_text("1 of 2")
    expect(page.get_by_role("button", name="Book a place")).to_be_visible()
    expect(page.get_by_test_id("my-place")).to_have_count(0)
    page.context.clear_cookies()  # another person on the same phone

    log_in(page, practitioner.email, PASSWORD)
    page.goto(f"/sessions/{session.pk}/")
    note = page.get_by_test_id("my-place")
    expect(note).to_contain_text("held for you until")
    expect(note).to_contain_text("not paid for yet")
    expect(page.get_by_role("button", name="Book a place")).to_have_count(0)
    expect(page.get_by_test_id("places-left")).to_have_text("1 of 2")
    assert_accessible(page, "session page, an unpaid hold (phone)")
    screenshot(page, "session-note-01-unpaid-hold-phone")
    note.get_by_role("link", name="Finish paying").click()
    expect(page).to_have_url(re.compile(rf"/orders/{order.reference}/$"))
    screenshot(page, "session-note-02-order-page-phone")
