"""The calendar file of a place and the invoice / credit note PDF."""

from __future__ import annotations

import datetime as dt
import html
import shutil
import socket
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from django.utils.html import strip_tags
from icalendar import Calendar

from bookings.files.calendar import booking_ics
from bookings.models import Booking, Invoice, InvoiceKind, Order, PaymentMethod
from bookings.money import documents
from bookings.money.documents import invoice_html, invoice_pdf
from bookings.money.invoices import invoice_mark_paid
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.changes import booking_cancel, booking_transfer
from tests.conftest import make_session
from training.models import Agency, Course, Session, SessionPart, Venue

pytestmark = pytest.mark.django_db

PDFTOTEXT = shutil.which("pdftotext")


def future(days: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour, minute))


@pytest.fixture
def two_part_session(course: Course) -> Session:
    venue = Venue.objects.create(
        name="Bridgwater House",
        address="King Square\nBridgwater",
        postcode="TA6 3AR",
        area="bridgwater",
    )
    session = make_session(course, venue, starts_at=future(40, 9, 30), hours=3)
    SessionPart.objects.create(
        session=session, starts_at=future(47, 13, 30), ends_at=future(47, 16, 45)
    )
    session.refresh_from_db()
    return session


@pytest.fixture
def order(two_part_session: Session, school: Agency, agency_booker: Any) -> Order:
    return booking_create(
        session=two_part_session,
        attendees=[
            AttendeeSpec("Siobhán O'Neill", "siobhan@example.org"),
            AttendeeSpec("Raj Patel", "raj@example.org"),
        ],
        agency=school,
        booked_by=agency_booker,
        payment_method=PaymentMethod.INVOICE,
        purchase_order_number="PO-2026/118",
        now=timezone.now(),
    )


def events(ics: bytes) -> list[Any]:
    calendar = Calendar.from_ical(ics)
    assert str(calendar["METHOD"]) == "PUBLISH"
    return list(calendar.walk("VEVENT"))


def test_calendar_file_has_one_event_per_part_in_utc(
    order: Order, two_part_session: Session
) -> None:
    booking = order.bookings.get(attendee_email="siobhan@example.org")
    parsed = events(booking_ics(booking))
    parts = two_part_session.ordered_parts
    assert len(parsed) == 2
    for event, part in zip(parsed, parts, strict=True):
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert start == part.starts_at and end == part.ends_at
        assert start.utcoffset() == dt.timedelta(0)  # written in UTC, not floating local time
    assert b"DTSTART:" in booking_ics(booking)  # UTC form, no TZID to resolve
    assert str(parsed[0]["SUMMARY"]) == "Working Together (part 1 of 2)"


def test_calendar_file_says_where_who_and_links_to_the_booking(order: Order) -> None:
    booking = order.bookings.get(attendee_email="siobhan@example.org")
    event = events(booking_ics(booking))[0]
    assert str(event["LOCATION"]) == "Bridgwater House, King Square, Bridgwater, TA6 3AR"
    description = str(event["DESCRIPTION"])
    assert "Siobhán O'Neill" in description
    assert order.reference in description
    assert f"{settings.SITE_URL}/bookings/{booking.pk}/" in description


def test_calendar_uids_are_stable_and_distinct_per_place_and_part(order: Order) -> None:
    first, second = order.bookings.order_by("pk")
    host = settings.SITE_URL.split("://", 1)[1].split(":")[0].split("/")[0]
    uids = [str(event["UID"]) for event in events(booking_ics(first))]
    assert uids == [f"booking-{first.pk}-part-1@{host}", f"booking-{first.pk}-part-2@{host}"]
    # Downloading again gives the same UIDs, so a calendar updates the entry, not doubles it.
    assert [str(e["UID"]) for e in events(booking_ics(first))] == uids
    assert not set(uids) & {str(e["UID"]) for e in events(booking_ics(second))}


def test_calendar_file_of_a_transferred_place_names_the_new_attendee(order: Order) -> None:
    booking = order.bookings.get(attendee_email="raj@example.org")
    booking_transfer(
        booking=booking,
        to_name="Kim Lee",
        to_email="kim@example.org",
        actor=None,
        now=timezone.now(),
    )
    booking = Booking.objects.get(pk=booking.pk)
    description = str(events(booking_ics(booking))[0]["DESCRIPTION"])
    assert "Kim Lee" in description and "Raj Patel" not in description


def pdf_text(pdf: bytes, invoice: Invoice) -> str:
    """The PDF's text via pdftotext when installed, else the HTML it was printed from."""
    assert pdf.startswith(b"%PDF-")
    if PDFTOTEXT is None:  # poppler-utils not installed: read the HTML the PDF is printed from
        body = invoice_html(invoice).split("<body", 1)[1]
        return html.unescape(strip_tags(body.replace("<", " <")))
    result = subprocess.run(
        [PDFTOTEXT, "-layout", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60
    )
    return result.stdout.decode("utf-8")


def test_invoice_pdf_shows_number_po_billing_lines_total_and_due_date(order: Order) -> None:
    invoice = order.invoices.get()
    text = pdf_text(invoice_pdf(invoice), invoice)
    assert "INVOICE" in text.upper()
    assert invoice.number in text
    assert "PO-2026/118" in text
    assert "Blackdown Primary School" in text  # the billing name
    assert "1 School Lane" in text
    assert "finance@blackdown.example.org" in text
    assert "Siobhán O" in text and "Raj Patel" in text  # one line per place
    assert "£130.00" in text
    assert f"Due by {invoice.due_on:%-d %B %Y}" in text
    assert f"quote {invoice.number}" in " ".join(text.split())


def test_paid_invoice_pdf_says_when_it_was_paid(order: Order) -> None:
    invoice = order.invoices.get()
    invoice_mark_paid(invoice=invoice, paid_on=dt.date(2026, 3, 9), actor=None, now=timezone.now())
    invoice.refresh_from_db()
    text = pdf_text(invoice_pdf(invoice), invoice)
    assert "Paid on 9 March 2026" in text
    assert "Due by" not in text


def test_credit_note_pdf_names_the_invoice_it_credits(order: Order) -> None:
    invoice = order.invoices.get()
    booking = order.bookings.get(attendee_email="raj@example.org")
    booking_cancel(booking=booking, actor=None, now=timezone.now())
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.total == Decimal("-65.00")
    text = pdf_text(invoice_pdf(note), note)
    assert "CREDIT NOTE" in text.upper()
    assert note.number in text
    assert f"Credits invoice {invoice.number}" in " ".join(text.split())
    assert "£65.00" in text and "-£65.00" not in text and "£-65.00" not in text
    # The invoice it credits now says how much is left to pay.
    invoice_text = pdf_text(invoice_pdf(invoice), invoice)
    assert note.number in invoice_text
    assert "£65.00" in invoice_text.split(note.number, 1)[1]


def test_invoice_pdf_never_opens_a_network_connection(order: Order, monkeypatch: Any) -> None:
    invoice = order.invoices.get()
    page = invoice_html(invoice)
    assert "http://" not in page and "https://" not in page
    # Even if a template one day names a remote image, printing must not go and fetch it.
    monkeypatch.setattr(
        documents,
        "invoice_html",
        lambda inv: page.replace("</body>", '<img src="http://192.0.2.1/logo.png"></body>'),
    )
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert invoice_pdf(invoice).startswith(b"%PDF-")
    assert attempts == []
