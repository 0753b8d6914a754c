"""What the unit does to a whole session: cancel it (everyone told and refunded), resize it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from bookings import jobs
from bookings.audit import audit_record
from bookings.capacity import places_taken
from bookings.errors import BookingError
from bookings.locking import in_lock_order, lock_rows, locked_rows_check
from bookings.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingStatus,
    Payment,
    WaitlistStatus,
)
from bookings.money.payments import held_release, open_checkouts_expire
from bookings.outbox import email_queue, emails_queue, outgoing_email
from bookings.places.changes import booking_cancel
from bookings.places.reservations import reservation_cancel_with_session
from training.models import Session, SessionStatus


def _session_payment_ids(session_id: int) -> set[int]:
    # The payments of the orders that still have a place on this session.
    return set(
        Payment.objects.filter(
            order__bookings__session_id=session_id, order__bookings__status__in=ACTIVE_STATUSES
        ).values_list("pk", flat=True)
    )


def session_cancel(*, session: Session, actor: Any, now: dt.datetime, reason: str) -> int:
    """The unit cancels a session: every place is cancelled and refunded in full."""
    if not reason.strip():
        raise BookingError("Give a reason: it is sent to everyone booked.")
    return in_lock_order(
        lambda: _session_cancel_locked(session_id=session.pk, actor=actor, now=now, reason=reason)
    )


def _session_cancel_locked(*, session_id: int, actor: Any, now: dt.datetime, reason: str) -> int:
    # The payments of the session's orders before the session itself (the global order): a
    # late "paid" webhook either confirms its place first (and it is refunded below) or
    # finds it released (and refunds it itself). Read without a lock, then checked under it.
    payment_ids = _session_payment_ids(session_id)
    rows = lock_rows(payments=payment_ids, sessions=[session_id])
    locked_rows_check(rows.payments, _session_payment_ids(session_id))
    locked = rows.sessions[session_id]
    if locked.starts_at is not None and locked.starts_at <= now:
        raise BookingError(
            "This session has already started, so it cannot be cancelled and refunded. "
            "Cancel or refund single places from their booking pages."
        )
    old = locked.status
    locked.status = SessionStatus.CANCELLED
    # A higher SEQUENCE, so calendars accept the METHOD:CANCEL on the cancellation emails.
    locked.calendar_sequence += 1
    locked.save(update_fields=["status", "calendar_sequence"])
    audit_record(
        obj=locked,
        action=f"status {old} → cancelled",
        actor=actor,
        now=now,
        changes={"reason": reason, "calendar_sequence": locked.calendar_sequence},
    )
    bookings = list(locked.bookings.filter(status__in=ACTIVE_STATUSES).order_by("pk"))
    for booking in bookings:
        if booking.status == BookingStatus.HELD:
            # Someone is paying right now: release the place, close their checkout and
            # tell them; a payment that still arrives is refunded by payment_succeeded.
            if not held_release(Booking.objects.filter(pk=booking.pk), actor=actor, now=now):
                continue
            open_checkouts_expire(
                booking.order, payment_ids=rows.payments.keys(), actor=actor, now=now
            )
            context = {
                "refunded": False,
                "unpaid": True,
                "reason": f"Session cancelled: {reason}",
            }
            for address in {
                booking.attendee_email,
                getattr(booking.order.booked_by, "email", "").lower(),
            } - {""}:
                email_queue(kind="booking_cancelled", to=address, booking=booking, context=context)
            continue
        booking_cancel(
            booking=booking,
            actor=actor,
            now=now,
            reason=f"Session cancelled: {reason}",
            by_unit=True,
        )
    # Reserved places not yet named are cancelled and credited, and their bookers told.
    for reservation in locked.reservations.filter(settled_at=None).select_related(
        "order__agency", "agency", "reserved_by"
    ):
        reservation_cancel_with_session(
            reservation=reservation, reason=f"Session cancelled: {reason}", actor=actor, now=now
        )
    # The trainers are told too, with the update that takes it out of their calendar.
    emails_queue(
        outgoing_email(
            kind="session_cancelled_trainer",
            to=trainer_email,
            context={"session_id": locked.pk, "reason": reason},
        )
        for trainer_email in locked.trainers.exclude(email="").values_list("email", flat=True)
    )
    locked.waiting_list.filter(status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]).update(
        status=WaitlistStatus.LEFT
    )
    return len(bookings)


def session_capacity_set(*, session: Session, capacity: int, actor: Any, now: dt.datetime) -> None:
    """Change a session's capacity, never below the places already taken; new places go to
    the waiting list in order."""
    with transaction.atomic():
        # The session row lock keeps bookings from landing between the count and the change.
        locked = lock_rows(sessions=[session.pk]).sessions[session.pk]
        taken = places_taken(locked.pk, now)
        if capacity < taken:
            raise BookingError(
                f"{taken} places are taken or offered, so the capacity cannot go below {taken}."
            )
        old = locked.capacity
        if old == capacity:
            return
        locked.capacity = capacity
        locked.save(update_fields=["capacity"])
        audit_record(
            obj=locked,
            action=f"capacity {old} → {capacity}",
            actor=actor,
            now=now,
            changes={"capacity": [old, capacity]},
        )
        if capacity > old:
            jobs.enqueue_on_commit("offer_waiting_places", locked.pk)
