"""Making a booking: named places on one session, priced, never beyond its capacity.

Capacity rule: inside ``transaction.atomic()`` the session row is locked (see
``bookings.locking``), the places that hold capacity are counted, and only then are new
bookings inserted. No "places left" counter is stored. Gateway calls, emails and task enqueues
happen after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.audit import audit_entry, audit_record
from bookings.capacity import places_taken
from bookings.errors import BookingError, SessionFull
from bookings.locking import lock_rows, session_lock_for_booking
from bookings.models import (
    ACTIVE_STATUSES,
    ZERO,
    AuditEntry,
    Booking,
    BookingStatus,
    Order,
    OutgoingEmail,
    PaymentMethod,
    PaymentStatus,
    WaitingListEntry,
    WaitlistStatus,
)
from bookings.money.confirmations import confirmation_emails
from bookings.money.invoices import order_invoice_write
from bookings.outbox import emails_queue
from bookings.permissions import payment_methods_allowed
from bookings.places.pricing import PriceChanged, Quote, price_quote, subsidised_places_left
from bookings.states import booking_status_set
from bookings.templatetags.money import format_pounds
from training.models import Agency, Session, SessionStatus


@dataclass(frozen=True)
class AttendeeSpec:
    name: str
    email: str
    job_title: str = ""


def _normalise(attendees: Sequence[AttendeeSpec]) -> list[AttendeeSpec]:
    cleaned = []
    seen: set[str] = set()
    for attendee in attendees:
        email = attendee.email.strip().lower()
        name = " ".join(attendee.name.split())
        if not name or not email:
            raise BookingError("Give a name and an email address for every attendee.")
        if email in seen:
            raise BookingError(f"{email} is listed twice; each person needs one place only.")
        seen.add(email)
        cleaned.append(AttendeeSpec(name=name, email=email, job_title=attendee.job_title.strip()))
    if not cleaned:
        raise BookingError("Add at least one attendee.")
    return cleaned


def _session_closed_message(session: Session, now: dt.datetime) -> str | None:
    if session.status == SessionStatus.CANCELLED:
        return "This session has been cancelled."
    if session.status != SessionStatus.PUBLISHED:
        return "This session is not open for booking."
    if session.starts_at is None or session.starts_at <= now:
        return "This session has already started, so it can no longer be booked."
    if not session.is_open_for_booking(now):
        closes = session.booking_closes_on()
        return (
            f"Booking for this session closed on {closes:%A %-d %B %Y}."
            if closes
            else ("Booking for this session has closed.")
        )
    return None


_PAYMENT_METHOD_REFUSED: dict[str, str] = {
    PaymentMethod.INVOICE: (
        "Only your agency's booker can have the agency invoiced. Pay by card, or ask them to "
        "book the place for you."
    ),
    PaymentMethod.SUBSIDISED: (
        "Only your agency's booker can use its subsidised places. Pay by card, or ask them to "
        "book the place for you."
    ),
}


def booking_create(
    *,
    session: Session,
    attendees: Sequence[AttendeeSpec],
    agency: Agency,
    booked_by: Any,
    payment_method: str,
    purchase_order_number: str = "",
    quoted_total: Decimal | None = None,
    waitlist_offer: WaitingListEntry | None = None,
    now: dt.datetime,
) -> Order:
    """Book places for named attendees of one agency, never beyond the session's capacity.

    Free, subsidised and invoice places are confirmed at once; card places are held for
    ``BOOKING_HOLD_MINUTES`` until the gateway's webhook confirms payment. Invoice and
    subsidised places are only for those ``payment_methods_allowed`` lets spend the agency's
    money (``booked_by`` None is the training unit itself, e.g. an import).
    """
    people = _normalise(attendees)
    purchase_order_number = purchase_order_number.strip()
    if payment_method not in payment_methods_allowed(booked_by, agency):
        raise BookingError(
            _PAYMENT_METHOD_REFUSED.get(
                payment_method, "That way of paying is not available. Pay by card."
            )
        )
    if (
        payment_method == PaymentMethod.INVOICE
        and agency.purchase_order_required
        and not purchase_order_number
    ):
        raise BookingError(f"{agency.name} needs a purchase-order number on every invoice.")
    if payment_method == PaymentMethod.INVOICE and not agency.approved:
        raise BookingError(
            "Invoices can only go to agencies the training team has approved. Pay by card."
        )
    # The price comes from the same tables inside or outside the lock (which only guards
    # capacity), so it is checked first: a changed price never waits for the lock.
    quote = price_quote(
        session=session,
        agency=agency,
        payment_method=payment_method,
        places=len(people),
        booked_by=booked_by,
    )
    if quoted_total is not None and quoted_total != quote.total:
        raise PriceChanged(
            f"The price has changed to {format_pounds(quote.total)} since it was shown to you. "
            "Please check it and confirm again.",
            quote,
        )
    try:
        with transaction.atomic():
            order = _booking_create_locked(
                session=session,
                people=people,
                agency=agency,
                booked_by=booked_by,
                quote=quote,
                purchase_order_number=purchase_order_number,
                waitlist_offer=waitlist_offer,
                now=now,
            )
    except IntegrityError as error:
        # The unique constraint caught a same-person race the count could not see.
        raise BookingError("One of these people already has a place on this session.") from error
    return order


def _booking_create_locked(
    *,
    session: Session,
    people: list[AttendeeSpec],
    agency: Agency,
    booked_by: Any,
    quote: Quote,
    purchase_order_number: str,
    waitlist_offer: WaitingListEntry | None,
    now: dt.datetime,
) -> Order:
    # The session lock serialises the count and the insert (see bookings.locking).
    locked = session_lock_for_booking(session.pk)
    closed = _session_closed_message(locked, now)
    if closed:
        raise BookingError(closed)
    subsidised = quote.payment_method == PaymentMethod.SUBSIDISED
    # Then, moving on in the global order: the agency, so two bookers cannot both take its
    # last subsidised place, and the offer being claimed, so it is claimed once.
    rows = lock_rows(
        agencies=[agency.pk] if subsidised else [],
        offers=[waitlist_offer.pk] if waitlist_offer is not None else [],
    )
    offer_id = None
    if waitlist_offer is not None:
        offer = rows.offers.get(waitlist_offer.pk)
        if offer is None or not offer.is_open_offer(now) or offer.session_id != locked.pk:
            raise BookingError("This waiting-list offer has expired or been used.")
        offer_id = offer.pk
    taken = places_taken(locked.pk, now, except_offer_id=offer_id)
    free = locked.capacity - taken
    if len(people) > free:
        if free <= 0:
            raise SessionFull("This session is full. You can join the waiting list instead.")
        raise SessionFull(
            f"Only {free} place{'s' if free != 1 else ''} left on this session, "
            f"not enough for {len(people)} people. Book fewer people or join the waiting list."
        )
    audits: list[AuditEntry] = []
    # These people's places on this session, if any. A hold of their own that ran out (they
    # walked away from paying) is released here rather than waiting for the tick, so they can
    # book again straight away; any other is a place they already have.
    already = []
    for existing in Booking.objects.filter(
        session=locked, status__in=ACTIVE_STATUSES, attendee_email__in=[p.email for p in people]
    ):
        ran_out = existing.hold_expires_at is not None and existing.hold_expires_at <= now
        if (
            existing.status == BookingStatus.HELD
            and ran_out
            and not existing.order.payments.filter(status=PaymentStatus.PENDING).exists()
        ):
            if booking_status_set(
                existing,
                BookingStatus.EXPIRED,
                expected=BookingStatus.HELD,
                actor=None,
                now=now,
                cancellation_reason="Not paid in time",
            ):
                continue
        already.append(existing.attendee_email)
    if already:
        raise BookingError(f"Already booked on this session: {', '.join(sorted(already))}.")

    if subsidised:
        left = subsidised_places_left(
            rows.agencies[agency.pk], timezone.localdate(locked.starts_at)
        )
        if left < len(people):
            raise BookingError(
                f"{agency.name} has {left} subsidised place{'s' if left != 1 else ''} left this "
                "financial year. Pay by card or invoice for the others."
            )

    order = Order.objects.create(
        booked_by=booked_by,
        agency=agency,
        payment_method=quote.payment_method,
        purchase_order_number=purchase_order_number,
        created_at=now,
    )
    holding = quote.payment_method == PaymentMethod.CARD and quote.unit_price > ZERO
    users = {
        user.email.lower(): user
        for user in get_user_model().objects.filter(email__in=[p.email for p in people])
    }
    bookings = Booking.objects.bulk_create(
        [
            Booking(
                order=order,
                session=locked,
                attendee=users.get(person.email),
                attendee_name=person.name,
                attendee_email=person.email,
                attendee_job_title=person.job_title,
                agency=agency,
                sector=agency.sector,
                price_band=quote.band,
                price=quote.unit_price,
                in_kind_value=quote.in_kind_value,
                payment_method=quote.payment_method,
                status=BookingStatus.HELD if holding else BookingStatus.CONFIRMED,
                hold_expires_at=now + dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES)
                if holding
                else None,
                confirmed_at=None if holding else now,
                created_at=now,
            )
            for person in people
        ]
    )
    audits += [
        audit_entry(
            obj=booking,
            action="held for payment" if holding else "booked",
            actor=booked_by,
            now=now,
            changes={
                "status": booking.status,
                "price": booking.price,
                "payment_method": booking.payment_method,
                "order": order.reference,
            },
        )
        for booking in bookings
    ]
    if offer_id is not None:
        WaitingListEntry.objects.filter(pk=offer_id, status=WaitlistStatus.OFFERED).update(
            status=WaitlistStatus.CLAIMED
        )
    emails: list[OutgoingEmail | None] = []
    if quote.payment_method == PaymentMethod.INVOICE:
        _, invoice_audit, invoice_email = order_invoice_write(
            order=order, bookings=bookings, now=now, actor=booked_by
        )
        audits.append(invoice_audit)
        emails.append(invoice_email)
    if not holding:
        emails += confirmation_emails(order, bookings, now=now)
    # One insert each for the audit trail and the outbox, however many places.
    AuditEntry.objects.bulk_create(audits)
    emails_queue(emails)
    return order


def bookings_claim_for_user(*, user: Any, now: dt.datetime) -> int:
    """Link places booked for this email address (by an agency booker) to the new account."""
    bookings = Booking.objects.filter(attendee__isnull=True, attendee_email__iexact=user.email)
    count = 0
    for booking in bookings:
        booking.attendee = user
        booking.save(update_fields=["attendee"])
        audit_record(obj=booking, action="claimed by attendee's account", actor=user, now=now)
        count += 1
    return count
