"""A place booked, paid for and claimed, in Chromium against the live server.

The development gateway's Pay button sends a signed webhook over HTTP to the real endpoint of
the live server (multi-threaded), so these journeys exercise the same confirmation path as
Stripe. Emails are sent by the immediate task backend after commit and land in the locmem
outbox, because the live server runs in this process.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from bookings.models import (
    Booking,
    BookingStatus,
    Invoice,
    PaymentMethod,
    WaitingListEntry,
    WaitlistStatus,
)
from bookings.money.payments import payment_start, payment_succeeded
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.changes import booking_cancel
from bookings.places.waitlist import waitlist_join
from tests.conftest import PASSWORD, make_person, make_session
from tests.e2e.conftest import PHONE, assert_accessible, log_in, screenshot
from training.models import Agency, Course, Session, Venue

# serialized_rollback: the sectors, price bands and role groups come from a data migration, and
# the flush after each transactional test would otherwise leave the next test without them.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


@pytest.fixture(autouse=True)
def reference_data(db: Any) -> None:
    """Re-seed the sectors, price bands and roles if a flush took them.

    serialized_rollback alone is not enough when ordinary database tests run first: the
    serialized copy then hangs on a connection object that the browser tests (where
    Playwright's event loop makes Django's connection storage context-local) never see.
    """
    seed = importlib.import_module("training.migrations.0002_sectors_bands_roles").seed
    seed(django_apps, None)


def future(days: int, hour: int = 9) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=future(40), capacity=12)


def wait_for_email(kind_subject: str, to: str, timeout: float = 10.0) -> Any:
    """The outbox message to ``to`` whose subject contains ``kind_subject``."""

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in mail.outbox:
            if to in message.to and kind_subject.lower() in message.subject.lower():
                return message
        time.sleep(0.1)
    subjects = [(m.to, m.subject) for m in mail.outbox]
    raise AssertionError(f"No email to {to} about {kind_subject!r}; outbox: {subjects}")


def test_practitioner_books_a_paid_course_pays_and_downloads_the_calendar_entry(
    page: Any, session: Session, practitioner: Any
) -> None:
    log_in(page, practitioner.email, PASSWORD)
    page.goto(f"/sessions/{session.pk}/")
    page.get_by_role("button", name="Book a place").click()

    expect(page.get_by_role("heading", name="Check your booking")).to_be_visible()
    expect(page.get_by_test_id("total")).to_have_text("£65.00")
    expect(page.get_by_test_id("attendees")).to_contain_text("Tess Teacher")
    assert_accessible(page, "booking page (practitioner)")
    screenshot(page, "booking-01-practitioner-check")
    page.get_by_role("button", name="Confirm and pay £65.00").click()

    # The development gateway's page stands in for Stripe Checkout.
    expect(page).to_have_url(re.compile(r"/payments/dev/cs_dev_"))
    expect(page.get_by_role("heading", name="Pay £65.00")).to_be_visible()
    booking = Booking.objects.get(attendee=practitioner)
    assert booking.status == BookingStatus.HELD  # held, not confirmed, while paying
    screenshot(page, "booking-02-dev-gateway")
    page.get_by_role("button", name="Pay £65.00 (test)").click()

    # Confirmed by the signed webhook, which the Pay button delivered over HTTP.
    expect(page).to_have_url(re.compile(rf"/orders/{booking.order.reference}/$"))
    expect(page.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    expect(page.get_by_test_id("booking-status")).to_have_text("Confirmed")
    expect(page.get_by_test_id("payment-status")).to_have_text("Paid")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert_accessible(page, "order page")
    screenshot(page, "booking-03-order-confirmed")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Add to calendar")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".ics")
    calendar = Path(download.path()).read_text()
    assert "BEGIN:VCALENDAR" in calendar and "Working Together" in calendar

    confirmation = wait_for_email("Booking confirmed", practitioner.email)
    assert any(name.endswith(".ics") for name, *_ in confirmation.attachments)

    page.get_by_role("link", name="My bookings").first.click()
    expect(page.get_by_role("heading", name="Your bookings")).to_be_visible()
    expect(page.get_by_test_id("booking-card")).to_have_count(1)
    assert_accessible(page, "my bookings")
    screenshot(page, "booking-04-my-bookings")


def test_agency_booker_books_three_colleagues_on_invoice_and_opens_the_invoice(
    page: Any, session: Session, agency_booker: Any, school: Agency
) -> None:
    school.purchase_order_required = True
    school.save()
    log_in(page, agency_booker.email, PASSWORD)
    page.goto(f"/sessions/{session.pk}/")
    page.get_by_role("button", name="Book a place").click()
    expect(page.get_by_role("heading", name="Who is coming?")).to_be_visible()

    colleagues = [
        ("Amy Archer", "amy.archer@blackdown.example.org", "Teaching assistant"),
        ("Ben Baker", "ben.baker@blackdown.example.org", "Class teacher"),
        ("Cara Cole", "cara.cole@blackdown.example.org", "Lunchtime supervisor"),
    ]
    for index, (name, email, job) in enumerate(colleagues):
        if index:
            page.get_by_role("button", name="Add another colleague").click()
        row = page.get_by_role("group", name=f"Colleague {index + 1}")
        row.get_by_label("Full name").fill(name)
        row.get_by_label("Email address").fill(email)
        row.get_by_label("Job title").fill(job)
    page.get_by_label("Invoice my agency").check()
    page.get_by_label("Purchase-order number for the invoice").fill("PO-4471")
    assert_accessible(page, "booking page (agency booker)")
    screenshot(page, "booking-05-agency-booker-form")
    page.set_viewport_size(PHONE)
    screenshot(page, "booking-05-agency-booker-form-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Check your booking")).to_be_visible()
    expect(page.get_by_test_id("total")).to_have_text("£195.00")
    for name, *_ in colleagues:
        expect(page.get_by_test_id("attendees")).to_contain_text(name)
    screenshot(page, "booking-06-agency-booker-check")
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    expect(page.get_by_test_id("order-booking")).to_have_count(3)
    invoice = Invoice.objects.get()
    assert invoice.purchase_order_number == "PO-4471"
    assert invoice.total == 195
    screenshot(page, "booking-07-agency-order")

    link = page.get_by_role("link", name=f"Invoice {invoice.number} (PDF)")
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")

    page.get_by_role("link", name="Our agency's bookings").first.click()
    expect(page.get_by_test_id("booking-card")).to_have_count(3)
    screenshot(page, "booking-08-agency-bookings")


def test_full_session_waiting_list_cancellation_offer_email_and_claim_on_a_phone(
    phone_page: Any, course: Course, venue: Venue, practitioner: Any, school: Agency
) -> None:
    page = phone_page
    full = make_session(course, venue, starts_at=future(40), capacity=1)
    other = make_person("other.teacher@example.org", agency=school, first_name="Olive")
    taken = booking_create(
        session=full,
        attendees=[AttendeeSpec(name="Olive Person", email=other.email)],
        agency=school,
        booked_by=None,  # invoiced by the unit: a practitioner may not invoice their agency
        payment_method=PaymentMethod.INVOICE,
        now=timezone.now(),
    ).bookings.get()

    log_in(page, practitioner.email, PASSWORD)
    page.goto(f"/sessions/{full.pk}/")
    expect(page.get_by_test_id("places-left")).to_contain_text("full")
    screenshot(page, "waitlist-01-full-session-phone")
    page.get_by_role("button", name="Join the waiting list").click()
    expect(page.get_by_text("You are on the waiting list")).to_be_visible()
    # Back on the session page, which no longer offers to join again.
    expect(page.get_by_test_id("on-waiting-list")).to_be_visible()
    expect(page.get_by_role("button", name="Join the waiting list")).to_have_count(0)
    assert_accessible(page, "session page, on the waiting list (phone)")
    screenshot(page, "waitlist-01b-on-the-list-phone")
    entry = WaitingListEntry.objects.get(person=practitioner)
    assert entry.status == WaitlistStatus.WAITING

    # Someone else cancels: the freed place is offered to the first person waiting, by email.
    booking_cancel(booking=taken, actor=other, now=timezone.now(), reason="Off sick")
    offer = wait_for_email("A place is free", practitioner.email)
    link = re.search(r"https?://\S+(/waiting-list/claim/[\w-]+/)", offer.body)
    assert link, offer.body
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED

    page.goto(link.group(1))
    expect(page.get_by_text("Claim your place from the waiting list")).to_be_visible()
    expect(page.get_by_test_id("total")).to_have_text("£65.00")
    assert_accessible(page, "claim page (phone)")
    screenshot(page, "waitlist-02-claim-phone")
    page.get_by_role("button", name="Confirm and pay £65.00").click()
    page.get_by_role("button", name="Pay £65.00 (test)").click()

    expect(page.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    screenshot(page, "waitlist-03-claimed-phone")
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.CLAIMED
    assert (
        Booking.objects.get(attendee=practitioner, session=full).status == BookingStatus.CONFIRMED
    )

    page.goto("/my-bookings/")
    expect(page.get_by_test_id("booking-card")).to_have_count(1)
    assert_accessible(page, "my bookings (phone)")
    screenshot(page, "waitlist-04-my-bookings-phone")


def test_practitioner_cancels_a_place_and_walks_away_from_a_payment_on_a_phone(
    phone_page: Any, session: Session, practitioner: Any, school: Agency
) -> None:
    page = phone_page
    now = timezone.now()
    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Tess Teacher", email=practitioner.email)],
        agency=school,
        booked_by=practitioner,
        payment_method=PaymentMethod.CARD,
        now=now,
    )
    payment = payment_start(order=order, success_url="/", cancel_url="/", now=now)
    payment_succeeded(payment=payment, payment_intent_id="pi_test", now=now)

    log_in(page, practitioner.email, PASSWORD)
    page.goto("/my-bookings/")
    page.get_by_role("link", name=re.compile("^Cancel place")).click()
    expect(page.get_by_role("heading", name="Cancel Tess Teacher's place?")).to_be_visible()
    expect(page.get_by_test_id("cancel-terms")).to_contain_text("refunded in full")
    assert_accessible(page, "cancel page (phone)")
    screenshot(page, "cancel-01-confirm-phone")
    page.get_by_label("Why are you cancelling?").fill("Rota changed")
    page.get_by_role("button", name="Yes, cancel this place").click()
    expect(page.get_by_test_id("booking-status")).to_contain_text("Cancelled")
    assert_accessible(page, "booking page (phone)")
    screenshot(page, "cancel-02-cancelled-phone")
    assert Booking.objects.get(order=order).status == BookingStatus.CANCELLED

    # Book again, but come back from the payment page without paying.
    page.goto(f"/sessions/{session.pk}/book/")
    page.get_by_role("button", name="Confirm and pay £65.00").click()
    expect(page.get_by_role("button", name="Cancel payment")).to_be_visible()
    second = Booking.objects.filter(attendee=practitioner, status=BookingStatus.HELD).get()
    page.goto(f"/orders/{second.order.reference}/")
    expect(page.get_by_role("heading", name="Waiting for payment confirmation")).to_be_visible()
    assert_accessible(page, "order page waiting (phone)")
    screenshot(page, "cancel-03-waiting-for-payment-phone")
    page.get_by_role("link", name="Go back to the payment page").click()
    page.get_by_role("button", name="Cancel payment").click()
    expect(page.get_by_text("not paid for, so it has been released")).to_be_visible()
    screenshot(page, "cancel-04-payment-cancelled-phone")
    second.refresh_from_db()
    assert second.status == BookingStatus.EXPIRED


def test_administrator_raises_capacity_for_the_waiting_list_and_marks_an_invoice_paid(
    page: Any,
    course: Course,
    venue: Venue,
    training_admin: Any,
    practitioner: Any,
    agency_booker: Any,
    school: Agency,
) -> None:
    full = make_session(course, venue, starts_at=future(40), capacity=1)
    order = booking_create(
        session=full,
        attendees=[AttendeeSpec(name="Dee Lead", email=agency_booker.email)],
        agency=school,
        booked_by=agency_booker,
        payment_method=PaymentMethod.INVOICE,
        purchase_order_number="PO-1",
        now=timezone.now(),
    )
    waitlist_join(session=full, person=practitioner, now=timezone.now())

    log_in(page, training_admin.email, PASSWORD)
    page.goto(f"/manage/sessions/{full.pk}/")
    expect(page.get_by_test_id("places")).to_have_text("1 taken of 1 (0 left)")
    assert_accessible(page, "manage session")
    screenshot(page, "admin-01-manage-session")
    page.get_by_label("Places on this session").fill("2")
    page.get_by_role("button", name="Save capacity").click()
    expect(page.get_by_text("The capacity has been saved")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile("Offered a place"))).to_be_visible()
    wait_for_email("A place is free", practitioner.email)
    screenshot(page, "admin-02-capacity-raised")

    page.get_by_role("link", name="Invoices").click()
    invoice = order.invoices.get()
    assert_accessible(page, "manage invoices")
    page.get_by_role("button", name=f"Mark paid {invoice.number}").click()
    expect(page.get_by_text(f"Invoice {invoice.number} is marked paid.")).to_be_visible()
    screenshot(page, "admin-03-invoice-paid")
    invoice.refresh_from_db()
    assert invoice.status == "paid"

    page.get_by_role("link", name="Bookings", exact=True).click()
    page.get_by_label("Name, email, order reference or agency").fill(order.reference)
    page.get_by_role("button", name="Show bookings").click()
    expect(page.get_by_role("link", name="Dee Lead")).to_be_visible()
    assert_accessible(page, "manage bookings")
    screenshot(page, "admin-04-bookings")
