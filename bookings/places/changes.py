"""Changing a place: cancelling it (refunded up to the cut-off), handing it to a colleague,
and the attendee's own access and dietary needs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from bookings import jobs
from bookings.audit import audit_record
from bookings.errors import BookingError
from bookings.locking import in_lock_order, lock_rows, locked_rows_check
from bookings.models import (
    ACTIVE_STATUSES,
    Approval,
    ApprovalStatus,
    Booking,
    BookingStatus,
    OutgoingEmail,
    Payment,
    new_token,
)
from bookings.money.refunds import booking_refund
from bookings.outbox import email_queue
from bookings.states import booking_status_set
from training.models import Profile


def booking_cancel(
    *, booking: Booking, actor: Any, now: dt.datetime, reason: str = "", by_unit: bool = False
) -> Booking:
    """Cancel a place. Before the cut-off (or when the unit cancels) it is refunded in full;
    after it the fee stands. The freed place goes to the waiting list."""
    return in_lock_order(
        lambda: _booking_cancel_locked(
            booking_id=booking.pk,
            order_id=booking.order_id,
            session_id=booking.session_id,
            actor=actor,
            now=now,
            reason=reason,
            by_unit=by_unit,
        )
    )


def _booking_cancel_locked(
    *,
    booking_id: int,
    order_id: int,
    session_id: int,
    actor: Any,
    now: dt.datetime,
    reason: str,
    by_unit: bool,
) -> Booking:
    def payment_ids() -> set[int]:
        return set(Payment.objects.filter(order_id=order_id).values_list("pk", flat=True))

    # The order's payments (a refund is taken from one of them), then the session (the
    # global order): the place and what was paid for it change together or not at all.
    locked = lock_rows(payments=payment_ids(), sessions=[session_id])
    locked_rows_check(locked.payments, payment_ids())
    booking = Booking.objects.select_related("session__course", "order").get(pk=booking_id)
    if not booking.is_cancellable(now) and not (by_unit and booking.is_active):
        if booking.status != BookingStatus.CONFIRMED:
            raise BookingError("This booking is not active, so it cannot be cancelled.")
        raise BookingError("This session has started; the booking can no longer be cancelled.")
    refunded = by_unit or booking.is_free_cancellation(now)
    if not booking_status_set(
        booking,
        BookingStatus.CANCELLED,
        expected=booking.status,
        actor=actor,
        now=now,
        cancelled_at=now,
        cancellation_reason=reason
        or ("Cancelled by the training unit" if by_unit else "Cancelled by the booker"),
        late_cancellation=not refunded,
    ):
        # Read under the session lock, so nothing should have changed it; if it did, say so.
        raise BookingError("This booking changed while it was being cancelled. Look again.")
    # A request for approval of a place that is gone is no longer anyone's to answer.
    Approval.objects.filter(booking=booking, status=ApprovalStatus.PENDING).update(
        status=ApprovalStatus.WITHDRAWN, decided_at=now
    )
    if refunded:
        booking_refund(booking, reason=booking.cancellation_reason, actor=actor, now=now)
    OutgoingEmail.objects.filter(booking=booking, kind="booking_reminder", claimed_at=None).delete()
    context = {"refunded": refunded, "reason": booking.cancellation_reason}
    email_queue(
        kind="booking_cancelled", to=booking.attendee_email, booking=booking, context=context
    )
    booker = getattr(booking.order.booked_by, "email", "")
    if booker and booker.lower() != booking.attendee_email:
        email_queue(kind="booking_cancelled", to=booker, booking=booking, context=context)
    if not refunded and booking.line_manager_email:
        # The fee stands: the line manager, who may be paying it, gets a copy.
        email_queue(
            kind="manager_late_cancellation", to=booking.line_manager_email, booking=booking
        )
    if not by_unit:
        jobs.enqueue_on_commit("offer_waiting_places", booking.session_id)
    return booking


def booking_transfer(
    *,
    booking: Booking,
    to_name: str,
    to_email: str,
    to_job_title: str = "",
    actor: Any,
    now: dt.datetime,
) -> Booking:
    """Hand a place to a colleague of the same agency, up to the start of the session."""

    to_email = to_email.strip().lower()
    to_name = " ".join(to_name.split())
    if not to_name or not to_email:
        raise BookingError("Give your colleague's name and email address.")
    User = get_user_model()
    colleague = User.objects.filter(email__iexact=to_email).first()
    if colleague is not None:
        # Their verified agency: naming an agency on one's profile makes nobody a colleague.
        agency_id = (
            Profile.objects.filter(user=colleague, agency_verified_at__isnull=False)
            .values_list("agency_id", flat=True)
            .first()
        )
        if agency_id != booking.agency_id:
            raise BookingError(
                f"{to_email} is not registered with {booking.agency.name}. A place can only "
                "be handed to a colleague of the same agency."
            )
    with transaction.atomic():
        # The session lock: no other place for this person lands between the check and the
        # hand-over, and the place is not cancelled meanwhile.
        lock_rows(sessions=[booking.session_id])
        booking = Booking.objects.select_related("session", "order").get(pk=booking.pk)
        if not booking.is_transferable(now):
            raise BookingError("This place can no longer be transferred.")
        if Booking.objects.filter(
            session=booking.session, attendee_email=to_email, status__in=ACTIVE_STATUSES
        ).exists():
            raise BookingError(f"{to_email} already has a place on this session.")
        old = {"attendee_name": booking.attendee_name, "attendee_email": booking.attendee_email}
        previous_email = booking.attendee_email
        booking.attendee = colleague
        booking.attendee_name = to_name
        booking.attendee_email = to_email
        booking.attendee_job_title = to_job_title.strip()
        # The place's own needs were the previous attendee's; a new secret makes the previous
        # attendee's emailed link stop working.
        booking.access_needs = ""
        booking.claim_token = new_token()
        booking.save(
            update_fields=[
                "attendee",
                "attendee_name",
                "attendee_email",
                "attendee_job_title",
                "access_needs",
                "claim_token",
            ]
        )
        audit_record(
            obj=booking,
            action="transferred",
            actor=actor,
            now=now,
            changes={"from": old, "to": {"attendee_name": to_name, "attendee_email": to_email}},
        )
        OutgoingEmail.objects.filter(
            booking=booking, kind="booking_reminder", claimed_at=None
        ).update(to=to_email)
        email_queue(kind="booking_transferred_in", to=to_email, booking=booking)
        email_queue(
            kind="booking_transferred_out",
            to=previous_email,
            booking=booking,
            context={"to_name": to_name},
        )
    return booking


def access_needs_set(*, booking: Booking, access_needs: str, actor: Any, now: dt.datetime) -> None:
    """The attendee says (or changes) their access and dietary needs; audited without the
    text itself (it is personal data the audit trail keeps longer)."""
    text = access_needs.strip()[:2000]
    with transaction.atomic():
        changed = Booking.objects.filter(pk=booking.pk).exclude(access_needs=text)
        if changed.update(access_needs=text):
            audit_record(
                obj=booking,
                action="access needs changed",
                actor=actor,
                now=now,
                changes={"access_needs": "given" if text else "removed"},
            )
    booking.access_needs = text
