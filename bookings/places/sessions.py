"""What the unit does to a whole session: cancel it (everyone told and refunded), resize it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from bookings import jobs
from bookings.audit import audit_record
from bookings.capacity import places_taken
from bookings.errors import BookingError
from bookings.locking import sessions_lock
from bookings.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingStatus,
    WaitlistStatus,
)
from bookings.money.payments import held_release, open_checkouts_expire
from bookings.outbox import email_queue
from bookings.places.changes import booking_cancel
from training.models import Session, SessionStatus


def session_cancel(*, session: Session, actor: Any, now: dt.datetime, reason: str) -> int:
    """The unit cancels a session: every place is cancelled and refunded in full."""
    if not reason.strip():
        raise BookingError("Give a reason: it is sent to everyone booked.")
    with transaction.atomic():
        locked = sessions_lock([session.pk])[session.pk]
        old = locked.status
        locked.status = SessionStatus.CANCELLED
        locked.save(update_fields=["status"])
        audit_record(
            obj=locked,
            action=f"status {old} → cancelled",
            actor=actor,
            now=now,
            changes={"reason": reason},
        )
        bookings = list(locked.bookings.filter(status__in=ACTIVE_STATUSES).order_by("pk"))
        for booking in bookings:
            if booking.status == BookingStatus.HELD:
                # Someone is paying right now: release the place, close their checkout and
                # tell them; a payment that still arrives is refunded by payment_succeeded.
                held_release(Booking.objects.filter(pk=booking.pk), actor=actor, now=now)
                open_checkouts_expire(booking.order, actor=actor, now=now)
                context = {
                    "refunded": False,
                    "unpaid": True,
                    "reason": f"Session cancelled: {reason}",
                }
                for address in {
                    booking.attendee_email,
                    getattr(booking.order.booked_by, "email", "").lower(),
                } - {""}:
                    email_queue(
                        kind="booking_cancelled", to=address, booking=booking, context=context
                    )
                continue
            booking_cancel(
                booking=booking,
                actor=actor,
                now=now,
                reason=f"Session cancelled: {reason}",
                by_unit=True,
            )
        for entry in locked.waiting_list.filter(
            status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
        ):
            entry.status = WaitlistStatus.LEFT
            entry.save(update_fields=["status"])
    return len(bookings)


def session_capacity_set(*, session: Session, capacity: int, actor: Any, now: dt.datetime) -> None:
    """Change a session's capacity, never below the places already taken; new places go to
    the waiting list in order."""
    with transaction.atomic():
        # The session row lock keeps bookings from landing between the count and the change.
        locked = Session.objects.select_for_update().get(pk=session.pk)
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
