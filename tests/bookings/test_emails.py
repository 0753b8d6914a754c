"""Booking emails: every kind renders from the outbox row the services write, carries its
attachment, and is sent exactly once, however many workers try."""

from __future__ import annotations

import datetime as dt
import html
import inspect
import re
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connections
from django.tasks import default_task_backend
from django.template.loader import get_template
from django.utils import timezone
from icalendar import Calendar

from bookings.models import (
    Booking,
    Invoice,
    InvoiceKind,
    Order,
    OutgoingEmail,
    PaymentMethod,
    PlaceReservation,
    WaitingListEntry,
    WaitlistStatus,
)
from bookings.outbox import (
    CLAIM_TIMEOUT,
    MAX_ATTEMPTS,
    email_queue,
    emails_due,
    emails_retry,
    outgoing_email_send,
    render_email,
)
from bookings.places.attendee_links import attendee_link_url
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.changes import booking_cancel, booking_transfer
from bookings.places.sessions import session_cancel
from bookings.places.waitlist import waitlist_join, waitlist_offer_next
from tests.conftest import make_session
from training.models import Agency, Course, Session, SessionPart, Venue

SITE = settings.SITE_URL
TEXT_ONLY = "text-only:"  # a fact the HTML shows in another layout


def future(days: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour, minute))


def book(
    session: Session,
    agency: Agency,
    booker: Any,
    method: str,
    *people: tuple[str, str],
    po: str = "",
) -> Order:
    return booking_create(
        session=session,
        attendees=[AttendeeSpec(name=name, email=email) for name, email in people],
        agency=agency,
        booked_by=booker,
        payment_method=method,
        purchase_order_number=po,
        now=timezone.now(),
    )


@dataclass
class Scene:
    """One session and everything the emails talk about."""

    session: Session
    order: Order  # an agency booker's invoice order for two colleagues without accounts
    booking: Booking  # Siobhán's place in it
    invoice: Invoice
    credit_note: Invoice
    cancelled: Booking  # cancelled before the cut-off, credited
    card_booking: Booking  # a practitioner's own card place
    entry: WaitingListEntry  # offered the place that the cancellation freed


@pytest.fixture
def scene(
    course: Course,
    school: Agency,
    agency_booker: Any,
    practitioner: Any,
    other_agency_booker: Any,
) -> Scene:
    # "&" and "'" test that plain-text bodies and subjects are not HTML-escaped.
    course.title = "Safeguarding & Thresholds"
    course.save()
    venue = Venue.objects.create(
        name="Bridgwater House",
        address="King Square\nBridgwater",
        postcode="TA6 3AR",
        area="bridgwater",
        directions="Park in the Angel Place car park; the training room is on the first floor.",
    )
    session = make_session(course, venue, starts_at=future(40, 9, 30), capacity=4)
    session.notes = "Lunch is provided."
    session.save()
    order = book(
        session,
        school,
        agency_booker,
        PaymentMethod.INVOICE,
        ("Siobhán O'Neill", "siobhan@example.org"),
        ("Raj Patel", "raj@example.org"),
        po="PO-2026/118",
    )
    other = book(
        session,
        school,
        agency_booker,
        PaymentMethod.INVOICE,
        ("Kim Lee", "kim@example.org"),
        po="PO-2026/119",
    )
    cancelled = other.bookings.get()
    booking_cancel(booking=cancelled, actor=agency_booker, now=timezone.now())
    card = book(
        session, school, practitioner, PaymentMethod.CARD, ("Tess Teacher", practitioner.email)
    )
    entry = waitlist_join(session=session, person=other_agency_booker, now=timezone.now())
    waitlist_offer_next(session=session, now=timezone.now())
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    return Scene(
        session=session,
        order=order,
        booking=order.bookings.get(attendee_email="siobhan@example.org"),
        invoice=order.invoices.get(),
        credit_note=Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE),
        cancelled=Booking.objects.get(pk=cancelled.pk),
        card_booking=card.bookings.get(),
        entry=entry,
    )


def long_date(moment: dt.datetime | dt.date) -> str:
    if isinstance(moment, dt.datetime):
        moment = timezone.localtime(moment)
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def day_month_year(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


# What a move puts in its emails' context (see bookings.places.reschedule).
MOVED = {
    "was_when": ["Monday 1 March 2027, 09:30 to 16:00"],
    "was_venue": "Old Hall",
    "venue_changed": True,
}

# Each kind: how the services queue it, and what its text must say.
KINDS: dict[str, tuple[Callable[[Scene], dict[str, Any]], Callable[[Scene], list[str]]]] = {
    "booking_confirmed": (
        lambda s: {"to": s.booking.attendee_email, "booking": s.booking},
        lambda s: [
            "Dear Siobhán O'Neill",
            "Your place is confirmed",
            "Safeguarding & Thresholds",
            f"{long_date(s.session.starts_at)}, 09:30 to 15:30",
            "Bridgwater House",
            "King Square",
            "TA6 3AR",
            f"Booking reference: {s.order.reference}",
            f"£65.00, by invoice to Blackdown Primary School (invoice {s.invoice.number})",
            "cancel free of charge, with a full refund, until the end of "
            f"{long_date(s.booking.cancellation_cutoff())}",
            "After that the fee stands",
            "colleague from Blackdown Primary School",
            "Dee Lead at Blackdown Primary School booked this place for you",
            attendee_link_url(s.booking, now=timezone.now()),
            TEXT_ONLY + "no account needed",
            f"{SITE}/accounts/signup/",
            "training.ics",
        ],
    ),
    "booking_reminder": (
        lambda s: {"to": s.booking.attendee_email, "booking": s.booking},
        lambda s: [
            f"reminder of your training on {long_date(s.session.starts_at)}",
            "09:30 to 15:30",
            "Bridgwater House",
            "TA6 3AR",
            "Park in the Angel Place car park",
            "What to bring",
            s.order.reference,
            "Lunch is provided.",
            attendee_link_url(s.booking, now=timezone.now()),
        ],
    ),
    "order_confirmed": (
        lambda s: {"to": "dsl@example.org", "order": s.order},
        lambda s: [
            "Dear Dee Lead",
            f"Booking reference: {s.order.reference}",
            TEXT_ONLY + "Siobhán O'Neill (siobhan@example.org): £65.00",
            TEXT_ONLY + "Raj Patel (raj@example.org): £65.00",
            TEXT_ONLY + "Total: £130.00 (invoice, purchase order PO-2026/118)",
            "Siobhán O'Neill",
            "Raj Patel",
            "£130.00",
            "purchase order PO-2026/118",
            f"Invoice {s.invoice.number} goes to finance@blackdown.example.org",
            "Safeguarding & Thresholds",
            f"{SITE}/orders/{s.order.reference}/",
        ],
    ),
    "payment_refunded_place_gone": (
        lambda s: {"to": s.card_booking.attendee_email, "booking": s.card_booking},
        lambda s: [
            "Dear Tess Teacher",
            "We are sorry",
            "refunded the payment of £65.00 in full",
            "automatically",
            f"{SITE}/sessions/{s.session.pk}/",
            "waiting list",
        ],
    ),
    "refund_issued": (
        lambda s: {
            "to": s.card_booking.attendee_email,
            "booking": s.card_booking,
            "order": s.card_booking.order,
            "context": {"amount": Decimal("65.00")},
        },
        lambda s: [
            "Dear Tess Teacher",
            "We have refunded £65.00",
            f"booking {s.card_booking.order.reference}",
            "Safeguarding & Thresholds",
        ],
    ),
    "invoice_issued": (
        lambda s: {"to": "finance@blackdown.example.org", "invoice": s.invoice},
        lambda s: [
            f"invoice {s.invoice.number} ({s.invoice.number}.pdf)",
            "Total:          £130.00",
            f"Due by:         {day_month_year(s.invoice.due_on)}",
            "Purchase order: PO-2026/118",
            "bank transfer",
            "Finance team",
        ],
    ),
    "credit_note_issued": (
        lambda s: {"to": "finance@blackdown.example.org", "invoice": s.credit_note},
        lambda s: [
            f"credit note {s.credit_note.number} ({s.credit_note.number}.pdf)",
            f"against invoice {s.credit_note.credits.number}, for £65.00",
            "Kim Lee",
        ],
    ),
    "booking_cancelled": (
        lambda s: {
            "to": s.cancelled.attendee_email,
            "booking": s.cancelled,
            "context": {"refunded": True, "reason": "Cancelled by the booker"},
        },
        lambda s: [
            "Dear Kim Lee",
            "Your place on Safeguarding & Thresholds",
            "has been cancelled",
            "refunded in full: a credit note",
            f"Booking reference: {s.cancelled.order.reference}",
        ],
    ),
    "booking_transferred_in": (
        lambda s: {"to": s.booking.attendee_email, "booking": s.booking},
        lambda s: [
            "Dear Siobhán O'Neill",
            "handed their place",
            "now booked in your name",
            "training.ics",
            attendee_link_url(s.booking, now=timezone.now()),
            "TA6 3AR",
        ],
    ),
    "booking_moved": (
        lambda s: {
            "to": s.booking.attendee_email,
            "booking": s.booking,
            "context": {"from_session": "Thresholds, 3 March"},
        },
        lambda s: [
            "place on Safeguarding & Thresholds has moved from Thresholds, 3 March",
            f"{SITE}/bookings/{s.booking.pk}/",
            f"Booking reference: {s.booking.order.reference}",
        ],
    ),
    "booking_transferred_out": (
        lambda s: {
            "to": "raj@example.org",
            "booking": s.booking,
            "context": {"to_name": "Kim Lee"},
        },
        lambda s: [
            "Your place on Safeguarding & Thresholds",
            "has been transferred to Kim Lee",
            "You no longer have a place",
        ],
    ),
    "waitlist_offer": (
        lambda s: {"to": s.entry.email, "waiting_list_entry": s.entry},
        lambda s: [
            "Dear Olly Other",
            "a place has come free",
            "Safeguarding & Thresholds",
            f"{SITE}/waiting-list/claim/{s.entry.claim_token}/",
            "holding the place for you until "
            f"{long_date(s.entry.offer_expires_at)}, "
            f"{timezone.localtime(s.entry.offer_expires_at):%H:%M} (UK time)",
            "passes to the next person on the waiting list",
        ],
    ),
    "approval_request": (
        lambda s: {
            "to": "morag@example.org",
            "booking": s.booking,
            "context": {
                "approve_url": f"{SITE}/approvals/yes/",
                "decline_url": f"{SITE}/approvals/no/",
                "approver_name": "Morag Manager",
                "expires_at": s.session.starts_at,
                "reminder": True,
            },
        },
        lambda s: [
            "Dear Morag Manager",
            "named you as their line manager",
            "Safeguarding & Thresholds",
            f"{SITE}/approvals/yes/",
            f"{SITE}/approvals/no/",
            "You do not need an account",
        ],
    ),
    "approval_team_request": (
        lambda s: {
            "to": "team@example.org",
            "booking": s.booking,
            "context": {
                "approve_url": f"{SITE}/approvals/yes/",
                "decline_url": f"{SITE}/approvals/no/",
                "expires_at": s.session.starts_at,
            },
        },
        lambda s: ["Dear training team", "line manager has approved", f"{SITE}/approvals/yes/"],
    ),
    "approval_declined": (
        lambda s: {
            "to": s.booking.attendee_email,
            "booking": s.booking,
            "context": {"reason": "Not approved by your line manager: short-staffed"},
        },
        lambda s: ["Dear Siobhán O'Neill", "was not approved", "short-staffed"],
    ),
    "approval_expired": (
        lambda s: {
            "to": s.booking.attendee_email,
            "booking": s.booking,
            "context": {"reason": "No answer from your line manager in time"},
        },
        lambda s: ["Dear Siobhán O'Neill", "no answer from your line manager in time"],
    ),
    "approval_granted_pay": (
        lambda s: {"to": s.card_booking.attendee_email, "booking": s.card_booking},
        lambda s: [
            "has been approved",
            f"{SITE}/orders/{s.card_booking.order.reference}/",
        ],
    ),
    "manager_booking_confirmed": (
        lambda s: {"to": "morag@example.org", "booking": s.booking},
        lambda s: ["named you as their line manager", "Safeguarding & Thresholds"],
    ),
    "manager_late_cancellation": (
        lambda s: {"to": "morag@example.org", "booking": s.cancelled},
        lambda s: ["cancelled after the free-cancellation cut-off", "the fee stands"],
    ),
    "manager_non_attendance_charge": (
        lambda s: {"to": "morag@example.org", "booking": s.booking, "context": {"amount": "65.00"}},
        lambda s: ["did not attend", "£65.00", "Blackdown Primary School"],
    ),
    "session_moved": (
        lambda s: {"to": s.booking.attendee_email, "booking": s.booking, "context": MOVED},
        lambda s: [
            "Dear Siobhán O'Neill",
            "We have had to move Safeguarding & Thresholds",
            "It was: Monday 1 March 2027, 09:30 to 16:00",
            "at Old Hall",
            "replaces the entry you already have",
            f"{SITE}/bookings/{s.booking.pk}/",
        ],
    ),
    "session_message": (
        lambda s: {
            "to": "booker@example.org",
            "context": {
                "session_id": s.session.pk,
                "subject": "Room change",
                "body": "We are in room 4 & lunch is at 12:30.",
                "name": "Dee Lead",
                "role": "booker",
            },
        },
        lambda s: [
            "Dear Dee Lead",
            "We are in room 4 & lunch is at 12:30.",
            "because you booked a place on this session for a colleague",
            "Bridgwater House",
        ],
    ),
    "session_moved_booker": (
        lambda s: {
            "to": "booker@example.org",
            "context": {
                **MOVED,
                "session_id": s.session.pk,
                "attendee_names": ["Siobhán O'Neill", "Raj Patel"],
            },
        },
        lambda s: [
            "Dear colleague",
            "on which you booked Siobhán O'Neill, Raj Patel",
            "Bridgwater House",
            "It was: Monday 1 March 2027, 09:30 to 16:00",
        ],
    ),
    "session_moved_trainer": (
        lambda s: {"to": "trudy@example.org", "context": {**MOVED, "session_id": s.session.pk}},
        lambda s: ["Dear trainer", "which you are training, has moved", "Bridgwater House"],
    ),
    "places_reserved": (
        lambda s: {
            "to": "lead@blackdown.example",
            "order": reserved(s).order,
            "context": {"places": 3, "deadline": "Tuesday 3 March 2026", "policy": "charge"},
        },
        lambda s: [
            "3 places on this session are reserved for Blackdown Primary School",
            "Name the people taking them by Tuesday 3 March 2026",
            "and the fee stands",
            f"{SITE}/reservations/{s.order.reference}/",
        ],
    ),
    "reserved_places_reminder": (
        lambda s: {
            "to": "lead@blackdown.example",
            "order": reserved(s).order,
            "context": {
                "unnamed": 1,
                "places": 3,
                "deadline": "Tuesday 3 March 2026",
                "policy": "release",
            },
        },
        lambda s: [
            "1 of the 3 places reserved for Blackdown Primary School",
            "has no name yet",
            "given up and credited",
            f"{SITE}/reservations/{s.order.reference}/",
        ],
    ),
    "reserved_places_settled": (
        lambda s: {
            "to": "lead@blackdown.example",
            "order": reserved(s).order,
            "context": {"unnamed": 2, "credited": False, "amount": "£130.00"},
        },
        lambda s: [
            "2 places reserved for Blackdown Primary School",
            "were not named by the deadline, so they have been given up",
            "the fee of £130.00 stands",
            f"{SITE}/reservations/{s.order.reference}/",
        ],
    ),
    "session_cancelled_trainer": (
        lambda s: {
            "to": "trudy@example.org",
            "context": {"session_id": s.session.pk, "reason": "Flood at the venue"},
        },
        lambda s: ["Dear trainer", "has been cancelled", "Flood at the venue"],
    ),
}


def reserved(scene: Scene) -> PlaceReservation:
    """The scene's order as a reservation of unnamed places (the emails only read it)."""
    reservation, _ = PlaceReservation.objects.get_or_create(
        order=scene.order,
        defaults={"session": scene.session, "agency": scene.order.agency, "places": 3},
    )
    return reservation


def queue(kind: str, scene: Scene) -> OutgoingEmail:
    """The outbox row, written the way the services write it (context made JSON-safe)."""
    email = email_queue(kind=kind, **KINDS[kind][0](scene))
    assert email is not None
    return OutgoingEmail.objects.get(pk=email.pk)


def html_body(message: EmailMultiAlternatives) -> str:
    ((content, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return str(content)


def assert_well_formed(message: EmailMultiAlternatives) -> None:
    subject, text, page = message.subject, str(message.body), html_body(message)
    assert subject.strip() and "\n" not in subject
    assert text.strip() and page.strip()
    for part in (subject, text, page):
        assert "None" not in part and "{{" not in part and "{%" not in part
    for part in (subject, text):  # plain text: never HTML-escaped
        assert "&#x27;" not in part and "&amp;" not in part and "&lt;" not in part
        assert "<" not in part
    assert page.startswith("<!DOCTYPE html>") and 'lang="en-GB"' in page
    for url in re.findall(r"https?://\S+", text) + re.findall(r'href="([^"]+)"', page):
        assert url.startswith(SITE), url  # every link is absolute, to this site


def flat(text: str) -> str:
    """Words only: the HTML lays out in table cells what the text puts after a colon."""
    return " ".join(text.replace(":", " ").split())


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_renders_subject_text_and_html(kind: str, scene: Scene) -> None:
    message = render_email(queue(kind, scene))
    assert_well_formed(message)
    text, page = str(message.body), html_body(message)
    inline = re.sub(r"</?(?:strong|a|span|em)\b[^>]*>", "", page)
    visible_page = flat(html.unescape(re.sub(r"<[^>]+>", " ", inline)))
    for expected in KINDS[kind][1](scene):
        text_only = expected.startswith(TEXT_ONLY)
        expected = expected.removeprefix(TEXT_ONLY)
        assert expected in text, f"{kind} text lacks {expected!r}"
        if expected.startswith(SITE):
            assert f'href="{expected}"' in page, f"{kind} html lacks a link to {expected}"
        elif not text_only:
            assert flat(expected) in visible_page, f"{kind} html lacks {expected!r}"


def test_every_email_the_services_queue_has_a_template_trio() -> None:
    services = (
        "places.approvals",
        "places.booking",
        "places.changes",
        "places.sessions",
        "places.moves",
        "places.reschedule",
        "places.waitlist",
        "places.session_messages",
        "places.reservations",
        "money.confirmations",
        "money.payments",
        "money.refunds",
        "money.invoices",
    )
    source = "".join(inspect.getsource(import_module(f"bookings.{name}")) for name in services)
    queued = set(re.findall(r'(?:email_queue|outgoing_email)\(\s*kind="([a-z_]+)"', source))
    assert {"booking_confirmed", "invoice_issued", "session_message"} <= queued, queued
    assert queued, "the pattern no longer finds the services' emails"
    assert queued <= set(KINDS), queued - set(KINDS)
    for kind in KINDS:
        for name in (f"{kind}_subject.txt", f"{kind}.txt", f"{kind}.html"):
            get_template(f"bookings/email/{name}")


@pytest.mark.django_db
def test_every_email_a_booking_story_queues_renders(scene: Scene, training_admin: Any) -> None:
    now = timezone.now()
    raj = scene.order.bookings.get(attendee_email="raj@example.org")
    booking_transfer(
        booking=raj, to_name="Sam Green", to_email="sam@example.org", actor=None, now=now
    )
    session_cancel(
        session=scene.session, actor=training_admin, now=now, reason="the trainer is ill"
    )
    emails = list(OutgoingEmail.objects.all())
    kinds = {email.kind for email in emails}
    # (The reminders were withdrawn when the places were cancelled.)
    assert {
        "booking_confirmed",
        "order_confirmed",
        "invoice_issued",
        "credit_note_issued",
        "booking_cancelled",
        "waitlist_offer",
        "booking_transferred_in",
        "booking_transferred_out",
    } <= kinds
    for email in emails:
        assert_well_formed(render_email(email))


@pytest.mark.django_db
def test_unit_cancelling_the_session_apologises_and_refunds(
    scene: Scene, training_admin: Any
) -> None:
    session_cancel(
        session=scene.session, actor=training_admin, now=timezone.now(), reason="the trainer is ill"
    )
    email = OutgoingEmail.objects.filter(
        kind="booking_cancelled", booking=scene.booking, to="siobhan@example.org"
    ).get()
    message = render_email(email)
    assert message.subject.startswith("Session cancelled: Safeguarding & Thresholds")
    assert "we have had to cancel Safeguarding & Thresholds" in message.body
    assert "Reason: the trainer is ill" in message.body
    assert "We apologise" in message.body
    assert "The fee of £65.00 is refunded in full" in message.body
    # The booker, who is not the attendee, is told about the colleague's place.
    to_booker = OutgoingEmail.objects.get(
        kind="booking_cancelled", booking=scene.booking, to="dsl@example.org"
    )
    assert "The place booked for Siobhán O'Neill" in render_email(to_booker).body


@pytest.mark.django_db
def test_late_cancellation_says_the_fee_stands(scene: Scene) -> None:
    email = email_queue(
        kind="booking_cancelled",
        to=scene.booking.attendee_email,
        booking=scene.booking,
        context={"refunded": False, "reason": "Cancelled by the booker"},
    )
    body = render_email(email).body
    assert "so the fee of £65.00 stands and is not refunded" in body
    assert f"({day_month_year(scene.booking.cancellation_cutoff())})" in body
    assert "refunded in full" not in body


@pytest.mark.django_db
def test_confirmation_carries_the_calendar_file(scene: Scene) -> None:
    for kind in ("booking_confirmed", "booking_transferred_in"):
        message = render_email(queue(kind, scene))
        ((filename, content, mimetype),) = message.attachments
        assert (filename, mimetype) == ("training.ics", "text/calendar")
        calendar = Calendar.from_ical(content)
        (event,) = calendar.walk("VEVENT")
        assert event.decoded("DTSTART") == scene.session.starts_at
        assert str(event["UID"]).startswith(f"booking-{scene.booking.pk}-part-1@")


@pytest.mark.django_db
def test_invoice_and_credit_note_emails_carry_their_pdf(scene: Scene) -> None:
    for kind, document in (
        ("invoice_issued", scene.invoice),
        ("credit_note_issued", scene.credit_note),
    ):
        message = render_email(queue(kind, scene))
        ((filename, content, mimetype),) = message.attachments
        assert (filename, mimetype) == (f"{document.number}.pdf", "application/pdf")
        assert content.startswith(b"%PDF-")


@pytest.mark.django_db
def test_a_multi_part_session_lists_every_part(scene: Scene) -> None:
    SessionPart.objects.create(
        session=scene.session, starts_at=future(47, 13, 30), ends_at=future(47, 16, 45)
    )
    body = render_email(queue("booking_confirmed", scene)).body
    assert f"{long_date(scene.session.starts_at)}, 09:30 to 15:30" in body
    assert f"{long_date(future(47, 13, 30))}, 13:30 to 16:45" in body


# --- sending -----------------------------------------------------------------------------------


def outbox_row(booking: Booking, **fields: Any) -> OutgoingEmail:
    # Written directly, not through email_queue: nothing is enqueued on commit, so only the
    # calls the test makes can send it.
    return OutgoingEmail.objects.create(
        kind="booking_reminder", to=booking.attendee_email, booking=booking, **fields
    )


@pytest.mark.django_db
def test_sending_twice_sends_once(scene: Scene, mailoutbox: list[Any]) -> None:
    email = outbox_row(scene.booking)
    now = timezone.now()
    assert outgoing_email_send(email_id=email.pk, now=now) is True
    assert outgoing_email_send(email_id=email.pk, now=now) is False
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["siobhan@example.org"]
    assert mailoutbox[0].subject.startswith("Reminder: Safeguarding & Thresholds")
    email.refresh_from_db()
    assert email.sent_at == now
    assert email.pk not in emails_due(now + dt.timedelta(days=1))


@pytest.mark.django_db
def test_an_email_due_later_is_not_sent_before_its_time(
    scene: Scene, mailoutbox: list[Any]
) -> None:
    now = timezone.now()
    email = outbox_row(scene.booking, send_after=now + dt.timedelta(hours=1))
    assert email.pk not in emails_due(now)
    assert outgoing_email_send(email_id=email.pk, now=now) is False
    email.refresh_from_db()
    assert email.claimed_at is None and email.sent_at is None
    assert mailoutbox == []
    later = now + dt.timedelta(hours=2)
    assert email.pk in emails_due(later)
    assert outgoing_email_send(email_id=email.pk, now=later) is True
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_failed_send_releases_the_claim_and_keeps_the_reason(
    scene: Scene, mailoutbox: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    email = outbox_row(scene.booking)
    now = timezone.now()

    def refuse(self: EmailMultiAlternatives, fail_silently: bool = False) -> int:
        raise smtplib.SMTPServerDisconnected("mail server went away")

    with monkeypatch.context() as patched:
        patched.setattr(EmailMultiAlternatives, "send", refuse)
        assert outgoing_email_send(email_id=email.pk, now=now) is False
    email.refresh_from_db()
    assert email.claimed_at is None and email.sent_at is None
    assert "mail server went away" in email.error
    assert email.attempts == 1
    # A tick tries again after two minutes, not at once.
    assert email.send_after == now + dt.timedelta(minutes=2)
    assert email.pk not in emails_due(now)
    later = now + dt.timedelta(minutes=2)
    assert email.pk in emails_due(later)
    assert outgoing_email_send(email_id=email.pk, now=later) is True
    email.refresh_from_db()
    assert email.sent_at == later and email.error == "" and email.attempts == 2
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_an_email_that_keeps_failing_waits_longer_each_time_then_waits_for_the_administrator(
    scene: Scene, mailoutbox: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    email = outbox_row(scene.booking)
    now = timezone.now()
    waits = []
    with monkeypatch.context() as patched:
        patched.setattr(EmailMultiAlternatives, "send", lambda *a, **k: 1 / 0)
        for _ in range(MAX_ATTEMPTS):
            email.refresh_from_db()
            assert email.pk in emails_due(email.send_after)
            assert outgoing_email_send(email_id=email.pk, now=email.send_after) is False
            email.refresh_from_db()
            waits.append(email.send_after)
    gaps = [(b - a).total_seconds() / 60 for a, b in zip([now, *waits], waits, strict=False)]
    assert gaps[1:] == [4, 8, 16, 32]
    assert email.attempts == MAX_ATTEMPTS and "division by zero" in email.error
    far = email.send_after + dt.timedelta(days=30)
    assert email.pk not in emails_due(far), "given up on: no tick sends it again"
    assert outgoing_email_send(email_id=email.pk, now=far) is False

    # The administrator fixes the cause and asks for it to be tried again.
    assert emails_retry([email.pk], now=far) == 1
    assert outgoing_email_send(email_id=email.pk, now=far) is True
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_claim_left_by_a_worker_that_died_is_taken_over_after_the_timeout(
    scene: Scene, mailoutbox: list[Any]
) -> None:
    now = timezone.now()
    email = outbox_row(scene.booking)
    OutgoingEmail.objects.filter(pk=email.pk).update(claimed_at=now, attempts=1)
    soon = now + CLAIM_TIMEOUT - dt.timedelta(seconds=1)
    assert email.pk not in emails_due(soon), "a live worker's claim is respected"
    assert outgoing_email_send(email_id=email.pk, now=soon) is False
    after = now + CLAIM_TIMEOUT + dt.timedelta(seconds=1)
    assert email.pk in emails_due(after)
    assert outgoing_email_send(email_id=email.pk, now=after) is True
    assert len(mailoutbox) == 1


# serialized_rollback: the sectors, bands and roles come from a data migration and must survive
# the flush that ends a transactional test.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_racing_for_one_email_send_it_once(
    course: Course, venue: Venue, school: Agency, agency_booker: Any
) -> None:
    session = make_session(course, venue, starts_at=future(40))
    order = book(
        session, school, agency_booker, PaymentMethod.INVOICE, ("Ann Able", "ann@example.org")
    )
    email = outbox_row(order.bookings.get())
    mail.outbox.clear()  # the booking's own emails were sent on commit
    workers = 8
    barrier = threading.Barrier(workers)
    outcomes: list[Any] = [None] * workers
    now = timezone.now()

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            outcomes[index] = outgoing_email_send(email_id=email.pk, now=now)
        except BaseException as error:  # noqa: B036 - every outcome must reach the test
            outcomes[index] = error
        finally:
            connections.close_all()  # each thread opened its own connection

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes, key=str) == [False] * (workers - 1) + [True], outcomes
    assert [m.to for m in mail.outbox] == [["ann@example.org"]]
    email.refresh_from_db()
    assert email.sent_at == now


@pytest.mark.django_db
def test_a_booking_hands_its_due_emails_to_one_task(
    course: Course,
    venue: Venue,
    school: Agency,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """One task per booking, not one per email; reminders wait in the outbox for the tick."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}

    now = timezone.now()
    session = make_session(course, venue, starts_at=now + dt.timedelta(days=40), capacity=10)
    with django_capture_on_commit_callbacks(execute=True):
        order = booking_create(
            session=session,
            attendees=[
                AttendeeSpec(name=f"Colleague {n}", email=f"c{n}@example.org") for n in range(3)
            ],
            agency=school,
            booked_by=None,
            payment_method=PaymentMethod.INVOICE,
            now=now,
        )
    (task,) = default_task_backend.results
    assert task.task.name == "send_emails"
    due = OutgoingEmail.objects.filter(send_after__lte=timezone.now())
    later = OutgoingEmail.objects.filter(send_after__gt=timezone.now())
    assert sorted(task.args[0]) == sorted(due.values_list("pk", flat=True))
    assert due.count() == 3 + 1, "one confirmation each (with their own link), and the invoice"
    assert set(later.values_list("kind", flat=True)) == {"booking_reminder"}
    assert order.bookings.count() == 3
