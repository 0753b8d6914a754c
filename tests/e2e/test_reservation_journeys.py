"""Reserved places in a browser, on a phone: an agency booker reserves unnamed places, names
one of them, and the administrator sees the other as "Unnamed place (Agency)" on the
register; a booker of another agency cannot open the reservation."""

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

from bookings.models import Booking, BookingStatus, Invoice, OutgoingEmail, PlaceReservation
from tests.conftest import PASSWORD, make_session
from tests.e2e.conftest import PHONE, assert_accessible, log_in, screenshot
from training.apps import grant_administrator_permissions
from training.models import Agency, Course, Session, Venue

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def reference_data(transactional_db: None) -> None:
    for module in (
        "training.migrations.0002_sectors_bands_roles",
        "bookings.migrations.0002_default_non_attendance_policy",
    ):
        importlib.import_module(module).seed(django_apps, None)
    grant_administrator_permissions(sender=None)
    cache.clear()


@pytest.fixture
def coming(course: Course, venue: Venue) -> Session:
    day = timezone.localdate() + dt.timedelta(days=28)
    starts = timezone.make_aware(dt.datetime(day.year, day.month, day.day, 9, 30))
    return make_session(course, venue, starts_at=starts, capacity=10)


def fits(page: Any, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: the page scrolls sideways ({width}px wide)"


def test_a_booker_reserves_places_names_one_and_the_register_shows_the_other(
    phone_page: Any,
    coming: Session,
    agency_booker: Any,
    other_agency_booker: Any,
    training_admin: Any,
    school: Agency,
) -> None:
    page = phone_page
    log_in(page, agency_booker.email, PASSWORD)
    page.goto("/agency/bookings/")
    expect(page.get_by_text("No places reserved to name later.")).to_be_visible()
    page.get_by_role("link", name="Reserve places to name later").click()
    page.get_by_label("Session").select_option(index=1)
    page.get_by_label("How many places").fill("2")
    assert_accessible(page, "reserve places")
    fits(page, "reserve places")
    screenshot(page, "reserve-places-phone")
    page.get_by_role("button", name="Reserve and invoice the places").click()
    expect(page.get_by_text(re.compile("2 places reserved for Blackdown"))).to_be_visible()
    expect(page.get_by_test_id("reservation-count")).to_have_text("2 reserved, 2 still to name")
    expect(page.get_by_test_id("reserved-place")).to_have_count(2)
    assert_accessible(page, "reservation")
    fits(page, "reservation")
    screenshot(page, "reservation-phone")
    reservation = PlaceReservation.objects.get()
    assert Invoice.objects.get(order=reservation.order).total > 0

    page.get_by_role("link", name="Name this place (1)").click()
    page.get_by_label("Full name").fill("Cara Colleague")
    page.get_by_label("Work email address").fill("cara@blackdown.example")
    screenshot(page, "reserved-place-name-phone")
    page.get_by_role("button", name="Give them the place").click()
    expect(page.get_by_text("Cara Colleague has the place")).to_be_visible()
    expect(page.get_by_test_id("reservation-count")).to_have_text("2 reserved, 1 still to name")
    cara = Booking.objects.get(attendee_email="cara@blackdown.example")
    assert cara.status == BookingStatus.CONFIRMED
    assert OutgoingEmail.objects.filter(booking=cara, kind="booking_confirmed").exists()
    page.goto("/agency/bookings/")
    expect(page.get_by_test_id("agency-reservations")).to_contain_text("1 of 2 still to name")
    screenshot(page, "agency-bookings-with-reservation-phone")
    reservation_url = f"/reservations/{reservation.order.reference}/"

    # Another agency's booker cannot see the reservation or name its places.
    page.context.clear_cookies()
    log_in(page, other_agency_booker.email, PASSWORD)
    assert page.request.get(reservation_url).status == 404

    # The administrator sees the unnamed place on the register and the session page.
    page.context.clear_cookies()
    log_in(page, training_admin.email, PASSWORD)
    page.goto(f"/registers/{coming.pk}/")
    expect(page.get_by_test_id("unnamed-places")).to_contain_text(f"Unnamed place ({school.name})")
    expect(page.get_by_text("Cara Colleague")).to_be_visible()
    fits(page, "register with an unnamed place")
    screenshot(page, "register-unnamed-place-phone")
    page.goto(f"/manage/sessions/{coming.pk}/")
    expect(page.get_by_test_id("session-reservations")).to_contain_text("1 still to name")
    fits(page, "session page with a reservation")
    screenshot(page, "session-page-reservation-phone")


def test_the_administrator_reserves_places_for_an_agency_from_the_session_page(
    page: Any, coming: Session, training_admin: Any, nursery: Agency
) -> None:
    log_in(page, training_admin.email, PASSWORD)
    page.goto(f"/manage/sessions/{coming.pk}/")
    page.get_by_role("button", name="Reserve places for an agency").click()
    expect(page.get_by_label("Session")).to_have_value(str(coming.pk))
    page.get_by_label("How many places").fill("3")
    page.get_by_role("button", name="Reserve and invoice the places").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose the agency")
    page.get_by_label("For which agency").select_option(label=nursery.name)
    page.get_by_role("button", name="Reserve and invoice the places").click()
    expect(page.get_by_test_id("reservation-count")).to_have_text("3 reserved, 3 still to name")
    screenshot(page, "reservation-by-admin")
    page.get_by_role("link", name="The session page").click()
    expect(page.get_by_test_id("places")).to_contain_text("3 taken of 10")
    expect(page.get_by_test_id("session-reservations")).to_contain_text(nursery.name)
