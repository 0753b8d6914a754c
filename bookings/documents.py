"""Files people take away: the calendar entry for a place and the invoice or credit note PDF.

Both are built from the database alone: no network, no external fonts or images, so they
render the same in a background task, a web request and a test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from bookings.models import ZERO, Booking, BookingStatus, Invoice, InvoiceKind, InvoiceStatus


def _site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def _venue_location(booking: Booking) -> str:
    venue = booking.session.venue
    pieces = [venue.name, *(line.strip() for line in venue.address.splitlines()), venue.postcode]
    return ", ".join(piece for piece in pieces if piece)


def booking_ics_uid(booking: Booking, part_number: int) -> str:
    """The same for every download of the same place, so calendars update instead of adding."""
    return f"booking-{booking.pk}-part-{part_number}@{_site_host()}"


def booking_ics(booking: Booking) -> bytes:
    """An iCalendar file with one event per dated part of the booked session (times in UTC)."""
    session = booking.session
    course = session.course
    parts = session.ordered_parts
    booking_url = settings.SITE_URL + reverse("bookings:booking", args=[booking.pk])
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.UNIT_NAME}//Training bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", settings.UNIT_NAME)
    stamp = timezone.now().astimezone(dt.UTC)
    for number, part in enumerate(parts, start=1):
        event = Event()
        event.add("uid", booking_ics_uid(booking, number))
        event.add("dtstamp", stamp)
        event.add("dtstart", part.starts_at.astimezone(dt.UTC))
        event.add("dtend", part.ends_at.astimezone(dt.UTC))
        summary = course.title
        if len(parts) > 1:
            summary = f"{summary} (part {number} of {len(parts)})"
        event.add("summary", summary)
        event.add("location", _venue_location(booking))
        event.add(
            "description",
            "\n".join(
                [
                    f"Attendee: {booking.attendee_name}",
                    f"Booking reference: {booking.order.reference}",
                    f"Venue: {_venue_location(booking)}",
                    f"Your booking: {booking_url}",
                ]
            ),
        )
        event.add("url", booking_url)
        event.add(
            "status", "CANCELLED" if booking.status == BookingStatus.CANCELLED else "CONFIRMED"
        )
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()


# --- invoices and credit notes ----------------------------------------------------------------


@dataclass(frozen=True)
class DocumentLine:
    description: str
    amount: Decimal


def _finance_contact() -> str:
    return getattr(settings, "FINANCE_CONTACT_EMAIL", "") or settings.DEFAULT_FROM_EMAIL


def _address_lines(invoice: Invoice) -> list[str]:
    # The address starts with the agency's name, which is often also the billing name (and
    # agencies often type their name into the address too): print each line once.
    lines: list[str] = []
    for raw in invoice.billing_address.splitlines():
        line = raw.strip()
        if line and line != invoice.billing_name and line not in lines:
            lines.append(line)
    return lines


def invoice_context(invoice: Invoice) -> dict[str, Any]:
    """What the invoice template shows. A credit note's lines are stored negative and shown as
    the positive amounts credited, as finance teams expect to read them."""
    is_credit_note = invoice.kind == InvoiceKind.CREDIT_NOTE
    sign = Decimal(-1) if is_credit_note else Decimal(1)
    lines = [
        DocumentLine(description=line.description, amount=line.amount * sign)
        for line in invoice.lines.all()
    ]
    total = sum((line.amount for line in lines), ZERO)
    credit_notes: list[str] = []
    credited = ZERO
    if not is_credit_note:
        for note in invoice.credit_notes.order_by("pk").prefetch_related("lines"):
            credit_notes.append(note.number)
            credited -= note.total
    balance = max(total - credited, ZERO)
    return {
        "invoice": invoice,
        "is_credit_note": is_credit_note,
        "title": "Credit note" if is_credit_note else "Invoice",
        "lines": lines,
        "address_lines": _address_lines(invoice),
        "total": total,
        "is_paid": invoice.status == InvoiceStatus.PAID,
        "is_credited": invoice.status == InvoiceStatus.CREDITED,
        "credit_notes": credit_notes,
        "credited": credited,
        "balance": balance,
        "UNIT_NAME": settings.UNIT_NAME,
        "SITE_URL": settings.SITE_URL,
        "finance_email": _finance_contact(),
        "bank_details": getattr(settings, "INVOICE_BANK_DETAILS", ""),
    }


def invoice_html(invoice: Invoice) -> str:
    return render_to_string("bookings/invoice_pdf.html", invoice_context(invoice))


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice or credit note as an A4 PDF (WeasyPrint)."""
    # Imported here: loading pango is slow and most processes never print an invoice.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Everything the document needs is inline; only data: URLs may be read, so rendering never
    # waits on the network or reads a file a template happened to name.
    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=invoice_html(invoice), url_fetcher=fetcher).write_pdf()
