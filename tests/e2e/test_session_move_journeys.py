"""The administrator moves a session's date on her phone, and the attendee's email carries a
calendar file that replaces the entry from the confirmation (same UID, higher SEQUENCE)."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import icalendar
import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from bookings.models import AuditEntry, PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import PASSWORD, make_session
from tests.e2e.conftest import PHONE, assert_accessible, log_in, screenshot
from tests.e2e.test_booking_journeys import wait_for_email
from training.apps import grant_administrator_permissions
from training.models import Agency, Course, Session, Trainer, Venue

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def reference_data(transactional_db: None) -> None:
    importlib.import_module("training.migrations.0002_sectors_bands_roles").seed(django_apps, None)
    grant_administrator_permissions(sender=None)
    cache.clear()


def day_at(hour: int, days: int) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


def only_event(message: Any) -> Any:
    ((filename, content, mimetype),) = message.attachments
    assert (filename, mimetype) == ("training.ics", "text/calendar")
    (event,) = icalendar.Calendar.from_ical(content).walk("VEVENT")
    return event


@pytest.fixture
def booked_session(course: Course, venue: Venue, school: Agency) -> Session:
    session = make_session(course, venue, starts_at=day_at(9, days=21), capacity=10)
    session.trainers.add(Trainer.objects.create(name="Trudy Trainer", email="trudy@example.org"))
    booking_create(
        session=session,
        attendees=[
            AttendeeSpec(name="Amy Adams", email="amy@example.org"),
            AttendeeSpec(name="Ben Baker", email="ben@example.org"),
        ],
        agency=school,
        booked_by=None,
        payment_method=PaymentMethod.INVOICE,
        now=timezone.now(),
    )
    return session


def test_the_administrator_moves_a_session_and_the_attendees_calendar_entry_moves_with_it(
    phone_page: Any, booked_session: Session, training_admin: Any
) -> None:
    page = phone_page
    confirmed = only_event(wait_for_email("Booking confirmed", "amy@example.org"))
    new_day = timezone.localdate(booked_session.starts_at) + dt.timedelta(days=7)

    log_in(page, training_admin.email, PASSWORD)
    page.goto(f"/manage/sessions/{booked_session.pk}/")
    page.get_by_role("button", name="Move this session").click()
    expect(page.get_by_role("heading", name="Move this session")).to_be_visible()
    expect(page.get_by_text("Tell the 3 people booked?")).to_be_visible()
    page.get_by_label("Date").fill(new_day.isoformat())
    page.get_by_label("Starts at").fill("10:00")
    page.get_by_label("Ends at").fill("15:30")
    page.get_by_label("Yes, email them the new details").check()
    assert_accessible(page, "move a session")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the move page scrolls sideways ({width}px wide)"
    screenshot(page, "session-move-phone-form")
    page.get_by_role("button", name="Move the session").click()

    expect(
        page.get_by_text("The session has been moved. 3 people are being emailed")
    ).to_be_visible()
    expect(page.get_by_test_id("when")).to_contain_text(
        f"{new_day:%A} {new_day.day} {new_day:%B %Y}, 10:00 to 15:30"
    )
    screenshot(page, "session-move-phone-moved")

    moved = wait_for_email("Session moved", "amy@example.org")
    event = only_event(moved)
    assert str(event["UID"]) == str(confirmed["UID"])
    assert int(event["SEQUENCE"]) > int(confirmed["SEQUENCE"])
    assert event.decoded("DTSTART") == timezone.make_aware(
        dt.datetime.combine(new_day, dt.time(10, 0))
    ).astimezone(dt.UTC)
    assert "10:00 to 15:30" in moved.body
    trainer = only_event(wait_for_email("Session moved", "trudy@example.org"))
    assert trainer.decoded("DTSTART") == event.decoded("DTSTART")
    wait_for_email("Session moved", "ben@example.org")
    assert AuditEntry.objects.filter(action="moved", object_id=str(booked_session.pk)).exists()
