"""A colleague booked by their agency cancels, or says their needs, from the link in their one
email, with no account, on a phone; the administrator messages everyone on a session."""

from __future__ import annotations

import datetime as dt
import importlib
import re
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from bookings.models import Booking, BookingStatus, PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import PASSWORD, make_session
from tests.e2e.conftest import assert_accessible, log_in, screenshot
from tests.e2e.test_booking_journeys import wait_for_email
from training.apps import grant_administrator_permissions
from training.models import Agency, Course, Session, Trainer, Venue, VenueMode

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

JOIN = "https://teams.example.org/l/meetup-join/e2e"


@pytest.fixture(autouse=True)
def reference_data(transactional_db: None) -> None:
    importlib.import_module("training.migrations.0002_sectors_bands_roles").seed(django_apps, None)
    grant_administrator_permissions(sender=None)
    cache.clear()


def day_at(hour: int, days: int) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


@pytest.fixture
def online_session(course: Course) -> Session:
    venue = Venue.objects.create(
        name="Online (Microsoft Teams)",
        mode=VenueMode.ONLINE,
        area="taunton",
        joining_link=JOIN,
        joining_instructions="Passcode 4242",
    )
    session = make_session(course, venue, starts_at=day_at(9, days=30), capacity=10)
    session.trainers.add(Trainer.objects.create(name="Trudy Trainer", email="trudy@example.org"))
    return session


def book_colleagues(session: Session, school: Agency, booker: Any) -> None:
    booking_create(
        session=session,
        attendees=[
            AttendeeSpec(name="Cara Colleague", email="cara@example.org"),
            AttendeeSpec(name="Dev Deputy", email="dev@example.org", access_needs="Wheelchair"),
        ],
        agency=school,
        booked_by=booker,
        payment_method=PaymentMethod.INVOICE,
        purchase_order_number="PO-77",
        now=timezone.now(),
    )


def place_link(message: Any) -> str:
    match = re.search(r"https?://[^/\s]+(/place/[^\s]+/)", str(message.body))
    assert match, message.body
    return match.group(1)


def test_a_colleague_without_an_account_cancels_from_the_email_link_on_a_phone(
    phone_page: Any, online_session: Session, school: Agency, agency_booker: Any
) -> None:
    page = phone_page
    book_colleagues(online_session, school, agency_booker)
    email = wait_for_email("Booking confirmed", "cara@example.org")
    assert JOIN in str(email.body), "a confirmed attendee is given the joining link"
    link = place_link(email)

    # The public session page never shows the joining link.
    page.goto(f"/sessions/{online_session.pk}/")
    expect(page.get_by_text("Online (Microsoft Teams)").first).to_be_visible()
    assert JOIN not in page.content() and "Passcode" not in page.content()

    page.goto(link)
    expect(page.get_by_role("heading", name=online_session.course.title)).to_be_visible()
    expect(page.get_by_test_id("booking-status")).to_contain_text("Confirmed")
    expect(page.get_by_test_id("joining-link")).to_have_text(JOIN)
    assert_accessible(page, "attendee's place from the email link")
    screenshot(page, "place-link-01-phone")

    page.get_by_label("Access or dietary needs (optional)").fill("Captions on, please")
    page.get_by_role("button", name="Save my needs").click()
    expect(page.get_by_text("your access and dietary needs have been saved")).to_be_visible()
    assert Booking.objects.get(attendee_email="cara@example.org").access_needs == (
        "Captions on, please"
    )

    page.get_by_role("link", name="Cancel this place").click()
    expect(page.get_by_role("heading", name="Cancel Cara Colleague's place?")).to_be_visible()
    expect(page.get_by_test_id("cancel-terms")).to_contain_text("credit note")
    assert_accessible(page, "cancelling from the email link")
    screenshot(page, "place-link-02-cancel-phone")
    page.get_by_label("Why are you cancelling? (optional)").fill("Off sick")
    page.get_by_role("button", name="Yes, cancel this place").click()

    expect(page.get_by_text("Your place has been cancelled.")).to_be_visible()
    expect(page.get_by_test_id("booking-status")).to_contain_text("Cancelled")
    screenshot(page, "place-link-03-cancelled-phone")
    booking = Booking.objects.get(attendee_email="cara@example.org")
    assert booking.status == BookingStatus.CANCELLED and not booking.late_cancellation
    assert wait_for_email("cancelled", "cara@example.org")

    page.goto(link[:-6] + "xxxxx/")
    expect(page.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    screenshot(page, "place-link-04-altered-phone")


def test_the_administrator_messages_everyone_on_a_session(
    page: Any, online_session: Session, school: Agency, agency_booker: Any, training_admin: Any
) -> None:
    book_colleagues(online_session, school, agency_booker)
    log_in(page, training_admin.email, PASSWORD)
    page.goto(f"/manage/sessions/{online_session.pk}/")
    page.get_by_role("button", name="Message everyone on this session").click()
    expect(page.get_by_role("heading", name="Message everyone on this session")).to_be_visible()
    expect(page.get_by_test_id("recipient-count")).to_contain_text("2 attendees")
    expect(page.get_by_test_id("recipient-count")).to_contain_text("1 booker ")
    page.get_by_role("button", name="Send the message").click()
    expect(page.get_by_text("Write a subject for the message.").first).to_be_visible()
    screenshot(page, "message-session-01-errors")

    page.get_by_label("Subject").fill("New joining time")
    page.get_by_label("Message").fill("Please join at 09:20 so we can check your sound.")
    page.get_by_label("Send it to the session's trainers too").check()
    assert_accessible(page, "message everyone on a session")
    screenshot(page, "message-session-02-written")
    page.get_by_role("button", name="Send the message").click()
    expect(page.get_by_text("Your message is being emailed to 4 people.")).to_be_visible()
    for to in ("cara@example.org", "dev@example.org", agency_booker.email, "trudy@example.org"):
        message = wait_for_email("New joining time", to)
        assert "Please join at 09:20" in str(message.body)
        assert JOIN not in str(message.body), "the message itself does not carry the link"

    page.goto(f"/registers/{online_session.pk}/")
    screenshot(page, "message-session-03-register")
