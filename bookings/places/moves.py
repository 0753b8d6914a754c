"""Moving a place to another date: another session of the same course, keeping its payment.

The attendee, whoever booked the place and the agency's bookers may move it up to the
cancellation cut-off (when cancelling would still be refunded), to a session open for booking;
the training team may move it at any time to any published session that has not started. A
dearer session's difference is invoiced to whoever booked (as a price difference); a cheaper
one's is refunded to the card, or, for an invoiced place, the place's invoice line is credited
and the new price invoiced. Both sessions are locked (by primary key, ``lock_rows``) so the
target's capacity is counted and taken in one step.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from bookings.audit import audit_record
from bookings.capacity import places_taken
from bookings.errors import BookingError, SessionFull
from bookings.locking import lock_rows
from bookings.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingStatus,
    InvoiceKind,
    OutgoingEmail,
    PaymentMethod,
    PaymentStatus,
)
from bookings.money.confirmations import reminder_time
from bookings.money.invoices import credit_note_raise, invoice_write, price_difference_invoice_raise
from bookings.money.refunds import refund_create
from bookings.outbox import email_queue, emails_queue
from bookings.permissions import can_see_booking, is_admin
from training.models import Session, SessionStatus

ZERO = Decimal("0.00")


def move_targets(*, booking: Booking, user: Any, now: dt.datetime) -> list[Session]:
    """The other sessions of the place's course that ``user`` may move it to now."""
    sessions = (
        Session.objects.filter(
            course_id=booking.session.course_id,
            status=SessionStatus.PUBLISHED,
            starts_at__gt=now,
        )
        .exclude(pk=booking.session_id)
        .select_related("course", "venue")
        .prefetch_related("parts", "price_overrides", "course__prices")
        .order_by("starts_at", "pk")
    )
    if is_admin(user):
        return list(sessions)
    return [session for session in sessions if session.is_open_for_booking(now)]


def can_move(*, booking: Booking, user: Any, now: dt.datetime) -> bool:
    """The place is confirmed and ``user`` may still move it (see the module's rule)."""
    if booking.status != BookingStatus.CONFIRMED or not can_see_booking(user, booking):
        return False
    if is_admin(user):
        return booking.session.starts_at is None or now < booking.session.starts_at
    return booking.is_free_cancellation(now)


@transaction.atomic
def booking_move(*, booking: Booking, to_session: Session, actor: Any, now: dt.datetime) -> Booking:
    """Move a confirmed place to ``to_session`` (same course), its money following the price."""
    if not can_move(booking=booking, user=actor, now=now):
        raise BookingError(
            "This place can no longer be moved: the cut-off for changes has passed. "
            "Contact the training team."
        )
    if to_session.course_id != booking.session.course_id or to_session.pk == booking.session_id:
        raise BookingError("A place can only move to another date of the same course.")
    # Both sessions, in primary-key order: the place leaves one and takes a place on the other.
    locked = lock_rows(sessions=[booking.session_id, to_session.pk])
    target = locked.sessions[to_session.pk]
    booking = Booking.objects.select_related("session__course", "order__booked_by", "agency").get(
        pk=booking.pk
    )
    if booking.status != BookingStatus.CONFIRMED:
        raise BookingError("This place is no longer confirmed, so it cannot be moved.")
    allowed = {session.pk for session in move_targets(booking=booking, user=actor, now=now)}
    if target.pk not in allowed:
        raise BookingError("That date is not open for booking. Choose another.")
    if Booking.objects.filter(
        session=target, attendee_email=booking.attendee_email, status__in=ACTIVE_STATUSES
    ).exists():
        raise BookingError(f"{booking.attendee_name} already has a place on that date.")
    if places_taken(target.pk, now) >= target.capacity:
        raise SessionFull("That date is full. Choose another, or join its waiting list.")
    old_session, old_price = booking.session, booking.price
    new_price = target.price_for_band(booking.price_band_id)
    if new_price is None:
        raise BookingError("That date has no price for this place yet. Contact the training team.")
    changed = Booking.objects.filter(
        pk=booking.pk, status=BookingStatus.CONFIRMED, session_id=old_session.pk
    ).update(session=target)
    if not changed:
        raise BookingError("This place changed while it was being moved. Look again.")
    booking.session = target
    _money_follows(booking=booking, old_price=old_price, new_price=new_price, actor=actor, now=now)
    audit_record(
        obj=booking,
        action="moved",
        actor=actor,
        now=now,
        changes={
            "session": [old_session.pk, target.pk],
            "price": [str(old_price), str(booking.price)],
        },
    )
    OutgoingEmail.objects.filter(booking=booking, kind="booking_reminder", claimed_at=None).delete()
    reminder_at = reminder_time(target)
    moved_from = {"from_session": str(old_session)}
    email_queue(
        kind="booking_moved", to=booking.attendee_email, booking=booking, context=moved_from
    )
    if reminder_at is not None and reminder_at > now:
        email_queue(
            kind="booking_reminder",
            to=booking.attendee_email,
            booking=booking,
            send_after=reminder_at,
        )
    booker = getattr(booking.order.booked_by, "email", "")
    if booker and booker.lower() != booking.attendee_email:
        email_queue(kind="booking_moved", to=booker, booking=booking, context=moved_from)
    return booking


def _money_follows(
    *, booking: Booking, old_price: Decimal, new_price: Decimal, actor: Any, now: dt.datetime
) -> None:
    """The place keeps its payment; only the difference changes hands."""
    if booking.payment_method in (PaymentMethod.FREE, PaymentMethod.NO_CHARGE):
        return
    if booking.payment_method == PaymentMethod.SUBSIDISED:
        Booking.objects.filter(pk=booking.pk).update(in_kind_value=new_price)
        booking.in_kind_value = new_price
        return
    difference = new_price - old_price
    if difference == ZERO:
        return
    Booking.objects.filter(pk=booking.pk).update(price=new_price)
    booking.price = new_price
    if difference > ZERO:
        price_difference_invoice_raise(
            order=booking.order, lines=[(booking, difference)], now=now, actor=actor
        )
        return
    reason = f"moved to {booking.session}"
    if booking.payment_method == PaymentMethod.CARD:
        payment = booking.order.payments.filter(status=PaymentStatus.SUCCEEDED).first()
        if payment is not None:
            refund_create(
                payment=payment,
                booking=booking,
                amount=-difference,
                reason=f"Price difference: {reason}",
                actor=actor,
                now=now,
            )
        return
    # An invoiced place: its line is credited and the new price invoiced, so a later
    # cancellation credits exactly what is then owed.
    lines = booking.invoice_lines.filter(invoice__kind=InvoiceKind.INVOICE).select_related(
        "invoice"
    )
    for line in lines:
        credit_note_raise(
            invoice=line.invoice, bookings=[booking], reason=reason, now=now, actor=actor
        )
    order = booking.order
    invoice, entry, email = invoice_write(
        agency=order.agency,
        order=order,
        purchase_order_number=order.purchase_order_number,
        recipient=order.agency.invoice_contact_email or getattr(order.booked_by, "email", ""),
        lines=[(booking, f"{booking.session} for {booking.attendee_name} (moved)", new_price)],
        now=now,
        actor=actor,
    )
    entry.save()
    emails_queue([email])
