"""The day itself: marking attendance, closing registers and charging for absence."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django.db import transaction
from django.utils import timezone

from bookings.attendance.certificates import certificate_emails_queue
from bookings.audit import audit_record
from bookings.errors import BookingError
from bookings.events import booking_attended
from bookings.models import (
    ZERO,
    Attendance,
    Booking,
    BookingStatus,
    NonAttendanceCharge,
    NonAttendancePolicy,
    Register,
    SessionLength,
)
from bookings.money.invoices import charge_invoice_raise, credit_note_raise
from bookings.outbox import email_queue
from training.models import Session

# Orders made by the historical registers import carry this reference prefix: their places
# were booked and paid outside the system (see bookings.importing).
HISTORICAL_ORDER_PREFIX = "HIST-"


def register_for(session: Session) -> Register:
    register, _ = Register.objects.get_or_create(session=session)
    return register


def _session_has_begun(session: Session, now: dt.datetime) -> bool:
    """Attendance can be taken from the morning of the first day."""
    return session.starts_at is not None and timezone.localdate(now) >= timezone.localdate(
        session.starts_at
    )


def attendance_record(
    *,
    booking: Booking,
    attendance: str,
    actor: Any,
    now: dt.datetime,
    reason: str = "",
    announce: bool = True,
) -> Booking:
    """Mark one confirmed place attended or absent. After the register is closed a reason is
    required: an absence charge is waived if the person is found to have attended, and an
    absence found after closing is charged as closing would have charged it.

    An attended place is announced (``booking_attended``, after commit) so that, for example,
    its evaluation survey is scheduled; ``announce=False`` is for replaying history, such as
    the demo's past year, which must not invite anyone to anything now."""
    if attendance not in (Attendance.ATTENDED, Attendance.ABSENT):
        raise BookingError("Mark the person as attended or absent.")
    with transaction.atomic():
        # Register row first, then the booking (the order register_close takes them in): a
        # change cannot slip between closing's "who is absent" and its charges, and two people
        # at the door tapping at once record one change each.
        register = register_for(booking.session)
        register = Register.objects.select_for_update().get(pk=register.pk)
        booking = (
            Booking.objects.select_for_update(of=("self",))  # not the session, course, agency
            .select_related("session__course", "agency")
            .get(pk=booking.pk)
        )
        if booking.status != BookingStatus.CONFIRMED:
            raise BookingError("Only confirmed places can be marked on the register.")
        if not _session_has_begun(booking.session, now):
            raise BookingError("Attendance can be recorded from the day of the session.")
        if register.is_closed and not reason.strip():
            raise BookingError("The register is closed: give a reason for changing it.")
        old = booking.attendance
        if old == attendance:
            return booking
        booking.attendance = attendance
        booking.save(update_fields=["attendance"])
        audit_record(
            obj=booking,
            action=f"attendance {old or 'not recorded'} → {attendance}",
            actor=actor,
            now=now,
            changes={"attendance": [old, attendance], "reason": reason.strip()},
        )
        if attendance == Attendance.ATTENDED:
            charge = NonAttendanceCharge.objects.filter(booking=booking, waived_at=None).first()
            if charge is not None:
                charge_waive(
                    charge=charge, actor=actor, now=now, reason=reason.strip() or "Marked attended"
                )
            if register.is_closed and announce:
                # Corrected to attended after closing: their certificate follows as at closing.
                certificate_emails_queue([booking])
            if announce:
                transaction.on_commit(
                    lambda: booking_attended.send(sender=Booking, booking=booking, now=now)
                )
        elif register.is_closed:
            _charges_raise(booking.session, [booking], actor=actor, now=now)
    return booking


def non_attendance_amount(booking: Booking) -> Decimal:
    """The charge for an absence without notice under the administrator's policy.

    A band charged the full price pays the session's list price for that band; where the
    place has no price (a free MAPIG) the policy's flat amount applies instead, as it does
    for free places in every other band.
    """
    length = (
        SessionLength.HALF_DAY
        if booking.session.course.duration_half_days <= 1
        else SessionLength.FULL_DAY
    )
    policy = NonAttendancePolicy.objects.filter(
        session_length=length, band_id=booking.price_band_id
    ).first()
    if policy is None:
        return ZERO
    if policy.charge_full_price:
        full_price = booking.session.price_for_band(booking.price_band_id) or ZERO
        if full_price > ZERO:
            return full_price
    return policy.amount


def chargeable_absences(bookings: Any) -> Any:
    """Absences that may be charged: not already charged, and not from a historical import
    (those places were never sold through the system, and nobody was told of a policy)."""
    return (
        bookings.filter(status=BookingStatus.CONFIRMED, attendance=Attendance.ABSENT)
        .exclude(non_attendance_charge__isnull=False)
        .exclude(order__reference__startswith=HISTORICAL_ORDER_PREFIX)
    )


def _charges_raise(
    session: Session, bookings: list[Booking], *, actor: Any, now: dt.datetime
) -> list[NonAttendanceCharge]:
    """Charge each absence once and invoice the charges, one invoice per agency."""
    absent = list(
        chargeable_absences(Booking.objects.filter(pk__in=[b.pk for b in bookings]))
        .select_related("agency", "session__course")
        .order_by("agency_id", "pk")
    )
    charges: list[NonAttendanceCharge] = []
    by_agency: dict[int, list[tuple[Booking, Decimal]]] = {}
    for booking in absent:
        amount = non_attendance_amount(booking)
        charge = NonAttendanceCharge.objects.create(booking=booking, amount=amount, created_at=now)
        audit_record(
            obj=charge,
            action="raised",
            actor=actor,
            now=now,
            changes={"amount": amount, "booking": booking.pk},
        )
        charges.append(charge)
        if amount > ZERO:
            by_agency.setdefault(booking.agency_id, []).append((booking, amount))
            if booking.line_manager_email:
                # The line manager is copied on a charge for not attending.
                email_queue(
                    kind="manager_non_attendance_charge",
                    to=booking.line_manager_email,
                    booking=booking,
                    context={"amount": amount},
                )
    by_booking = {charge.booking_id: charge for charge in charges}
    for _agency_id, items in by_agency.items():
        agency = items[0][0].agency
        when = timezone.localtime(session.starts_at).strftime("%-d %b %Y")
        invoice = charge_invoice_raise(
            agency=agency,
            lines=[
                (
                    booking,
                    f"Non-attendance: {session.course.title}, {when} – {booking.attendee_name}",
                    amount,
                )
                for booking, amount in items
            ],
            now=now,
            actor=actor,
        )
        for line in invoice.lines.all():
            # Every line of this invoice was raised for a booking, so booking_id is set.
            NonAttendanceCharge.objects.filter(booking_id=cast(int, line.booking_id)).update(
                invoice_line=line
            )
            if line.booking_id in by_booking:
                by_booking[line.booking_id].invoice_line = line
    return charges


def register_close(*, session: Session, actor: Any, now: dt.datetime) -> list[NonAttendanceCharge]:
    """Close the register: every place must be marked; each new absence is charged once."""
    with transaction.atomic():
        register = register_for(session)
        # The register row lock makes close idempotent under double taps.
        register = Register.objects.select_for_update().get(pk=register.pk)
        if register.is_closed:
            return []
        if not _session_has_begun(session, now):
            raise BookingError("A register can be closed from the day of the session.")
        unmarked = session.bookings.filter(
            status=BookingStatus.CONFIRMED, attendance=Attendance.UNKNOWN
        ).count()
        if unmarked:
            raise BookingError(
                f"{unmarked} {'person has' if unmarked == 1 else 'people have'} not been marked "
                "yet. Mark everyone attended or absent before closing the register."
            )
        register.closed_at = now
        register.closed_by = actor if not isinstance(actor, str) else None
        register.save(update_fields=["closed_at", "closed_by"])
        audit_record(obj=register, action="closed", actor=actor, now=now)
        absent = list(chargeable_absences(session.bookings.all()))
        charges = _charges_raise(session, absent, actor=actor, now=now)
        # Everyone who came gets their certificate by email (once, however often it closes).
        certificate_emails_queue(
            list(session.bookings.filter(attendance=Attendance.ATTENDED).order_by("pk"))
        )
    return charges


def register_reopen(*, session: Session, actor: Any, now: dt.datetime, reason: str) -> None:
    """Open a closed register again; closing it again charges only absences not yet charged."""
    if not reason.strip():
        raise BookingError("Give a reason for reopening the register.")
    with transaction.atomic():
        register = register_for(session)
        register = Register.objects.select_for_update().get(pk=register.pk)
        if not register.is_closed:
            return
        register.closed_at = None
        register.save(update_fields=["closed_at"])
        audit_record(
            obj=register,
            action="reopened",
            actor=actor,
            now=now,
            changes={"reason": reason.strip()},
        )


def charge_waive(*, charge: NonAttendanceCharge, actor: Any, now: dt.datetime, reason: str) -> None:
    """Waive an absence charge, crediting it if it was already invoiced."""
    if not reason.strip():
        raise BookingError("Give a reason for waiving the charge.")
    with transaction.atomic():
        # Lock the charge row only: PostgreSQL refuses FOR UPDATE on the nullable side of the
        # outer join to the invoice line.
        charge = (
            NonAttendanceCharge.objects.select_for_update(of=("self",))
            .select_related("invoice_line__invoice", "booking")
            .get(pk=charge.pk)
        )
        if charge.waived_at is not None:
            return
        charge.waived_at = now
        charge.waived_by = actor if not isinstance(actor, str) else None
        charge.waive_reason = reason.strip()
        charge.save(update_fields=["waived_at", "waived_by", "waive_reason"])
        audit_record(
            obj=charge,
            action="waived",
            actor=actor,
            now=now,
            changes={"reason": reason.strip(), "amount": charge.amount},
        )
        if charge.invoice_line is not None:
            credit_note_raise(
                invoice=charge.invoice_line.invoice,
                bookings=[charge.booking],
                reason=f"Charge waived: {reason.strip()}",
                now=now,
                actor=actor,
            )
