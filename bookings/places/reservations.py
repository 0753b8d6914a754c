"""Reserved places: an agency reserves unnamed places, names them by a deadline, or loses them.

An agency's booker (for their own agency) or the administrator reserves N unnamed places on a
session. They are invoiced at once, through the same invoice path as any invoice booking, and
count against the session's capacity through the same session lock and count as any booking
(each place is a Booking with status RESERVED, see ``bookings.models.PlaceReservation``).
Naming a place (name, email, job title, checked as a booking of a colleague is) turns it into
an ordinary confirmed place. The booker is reminded before the naming deadline; at the
deadline the places still unnamed are given up to the waiting list and, by
``RESERVED_PLACES_UNNAMED``, credited ("release") or still charged ("charge").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings import jobs
from bookings.audit import audit_record
from bookings.capacity import places_taken
from bookings.errors import BookingError, SessionFull
from bookings.locking import lock_rows, session_lock_for_booking
from bookings.models import (
    ACTIVE_STATUSES,
    ZERO,
    Booking,
    BookingStatus,
    InvoiceKind,
    Order,
    PaymentMethod,
    PlaceReservation,
    ReservationSettled,
)
from bookings.money.confirmations import confirmation_emails
from bookings.money.invoices import credit_note_raise, order_invoice_write
from bookings.outbox import email_queue, emails_queue, outgoing_email
from bookings.permissions import can_name_reserved_place, can_reserve_places, is_admin
from bookings.places.booking import AttendeeSpec
from bookings.places.pricing import front_desk_quote
from bookings.states import booking_status_set
from bookings.templatetags.money import format_pounds
from training.models import Agency, BookerGrant, Profile, Session, SessionStatus

# What an unnamed place is called wherever a name is shown (its email stays empty).
UNNAMED = "Unnamed place"
MAX_PLACES = 50


def _deadline_label(reservation: PlaceReservation) -> str:
    deadline = reservation.naming_deadline()
    return f"{deadline:%A %-d %B %Y}" if deadline else ""


def reservation_recipients(reservation: PlaceReservation) -> list[str]:
    """Who is told about the reservation: whoever reserved it if they book for the agency,
    else the agency's bookers (the administrator reserved on their behalf)."""
    reserver = reservation.reserved_by
    if (
        reserver is not None
        and reserver.booker_grants.filter(
            agency_id=reservation.agency_id, revoked_at__isnull=True
        ).exists()
    ):
        return [reserver.email.lower()]
    emails = BookerGrant.objects.filter(
        agency_id=reservation.agency_id, revoked_at__isnull=True
    ).values_list("user__email", flat=True)
    return sorted({email.lower() for email in emails if email}) or (
        [reservation.agency.invoice_contact_email]
        if reservation.agency.invoice_contact_email
        else []
    )


def unnamed_places(reservation: PlaceReservation) -> list[Booking]:
    return list(reservation.order.bookings.filter(status=BookingStatus.RESERVED).order_by("pk"))


# --- reserving ------------------------------------------------------------------------------


def places_reserve(
    *,
    session: Session,
    agency: Agency,
    places: int,
    booked_by: Any,
    purchase_order_number: str = "",
    now: dt.datetime,
) -> PlaceReservation:
    """Reserve ``places`` unnamed places of ``agency`` on ``session``, invoiced now, never
    beyond the session's capacity."""
    if not can_reserve_places(booked_by, agency):
        raise BookingError("Only your agency's booker can reserve places for it.")
    if not 1 <= places <= MAX_PLACES:
        raise BookingError(f"Reserve between 1 and {MAX_PLACES} places.")
    purchase_order_number = purchase_order_number.strip()
    quote = front_desk_quote(
        session=session,
        agency=agency,
        payment_method=PaymentMethod.INVOICE,
        places=places,
        booked_by=booked_by,
    )
    invoiced = quote.payment_method == PaymentMethod.INVOICE
    if invoiced and agency.purchase_order_required and not purchase_order_number:
        raise BookingError(f"{agency.name} needs a purchase-order number on every invoice.")
    with transaction.atomic():
        # The session lock serialises the count and the insert, as for every booking.
        locked = session_lock_for_booking(session.pk)
        if locked.status != SessionStatus.PUBLISHED:
            raise BookingError("This session is not open for booking.")
        if locked.starts_at is None or locked.starts_at <= now:
            raise BookingError("This session has already started.")
        if not locked.is_open_for_booking(now) and not is_admin(booked_by):
            raise BookingError("Booking for this session has closed.")
        reservation = PlaceReservation(
            session=locked, agency=agency, places=places, reserved_by=booked_by, created_at=now
        )
        deadline = reservation.naming_deadline()
        if deadline is None or timezone.localdate(now) > deadline:
            raise BookingError(
                "It is too late to reserve places to name later: the names were due by "
                f"{deadline:%-d %B %Y}. Book the people by name instead."
            )
        free = locked.capacity - places_taken(locked.pk, now)
        if places > free:
            if free <= 0:
                raise SessionFull("This session is full. You can join the waiting list instead.")
            raise SessionFull(
                f"Only {free} place{'s' if free != 1 else ''} left on this session, "
                f"not enough to reserve {places}."
            )
        order = Order.objects.create(
            booked_by=booked_by,
            agency=agency,
            payment_method=quote.payment_method,
            purchase_order_number=purchase_order_number,
            created_at=now,
        )
        reservation.order = order
        reminder_day = reservation.reminder_day()
        if reminder_day is not None and timezone.localdate(now) >= reminder_day:
            # Reserved inside the reminder window: the email below is the reminder.
            reservation.reminded_at = now
        reservation.save()
        bookings = Booking.objects.bulk_create(
            [
                Booking(
                    order=order,
                    session=locked,
                    attendee_name=UNNAMED,
                    attendee_email="",
                    agency=agency,
                    sector=agency.sector,
                    price_band=quote.band,
                    price=quote.unit_price,
                    payment_method=quote.payment_method,
                    status=BookingStatus.RESERVED,
                    created_at=now,
                )
                for _ in range(places)
            ]
        )
        audit_record(
            obj=reservation,
            action="places reserved",
            actor=booked_by,
            now=now,
            changes={
                "places": places,
                "agency": agency.name,
                "price": quote.unit_price,
                "order": order.reference,
                "naming_deadline": deadline,
            },
        )
        emails = []
        if invoiced and quote.unit_price > ZERO:
            _, invoice_audit, invoice_email = order_invoice_write(
                order=order, bookings=bookings, now=now, actor=booked_by
            )
            invoice_audit.save()
            emails.append(invoice_email)
        context = {
            "places": places,
            "deadline": _deadline_label(reservation),
            "policy": settings.RESERVED_PLACES_UNNAMED,
        }
        emails += [
            outgoing_email(kind="places_reserved", to=to, order=order, context=context)
            for to in reservation_recipients(reservation)
        ]
        emails_queue(emails)
    return reservation


# --- naming ---------------------------------------------------------------------------------


def _colleague_check(email: str, agency: Agency) -> Any:
    """The account of ``email`` if any; a BookingError if it is verified with another agency
    (as for a booking of a colleague or a transfer: only a colleague takes an agency's place)."""
    colleague = get_user_model().objects.filter(email__iexact=email).first()
    if colleague is not None:
        agency_id = (
            Profile.objects.filter(user=colleague, agency_verified_at__isnull=False)
            .values_list("agency_id", flat=True)
            .first()
        )
        if agency_id is not None and agency_id != agency.pk:
            raise BookingError(
                f"{email} is registered with another agency. A reserved place is for a "
                f"colleague at {agency.name}."
            )
    return colleague


def reserved_place_name(
    *, booking: Booking, attendee: AttendeeSpec, actor: Any, now: dt.datetime
) -> Booking:
    """Name one reserved place: it becomes an ordinary confirmed place, and the person is sent
    the confirmation (with the calendar entry and the reminder) as for any booking."""
    if not can_name_reserved_place(actor, booking):
        raise BookingError("Only your agency's booker can name its reserved places.")
    name = " ".join(attendee.name.split())
    email = attendee.email.strip().lower()
    if not name or not email:
        raise BookingError("Give the name and email address of the person taking the place.")
    colleague = _colleague_check(email, booking.agency)
    try:
        with transaction.atomic():
            # The session lock: no other place for this person lands between the check and
            # the naming, and the place is not given up at its deadline meanwhile.
            lock_rows(sessions=[booking.session_id])
            place = Booking.objects.select_related(
                "session__course", "order__reservation", "agency"
            ).get(pk=booking.pk)
            reservation = place.order.reservation
            if place.status != BookingStatus.RESERVED or not reservation.is_open_for_naming(now):
                raise BookingError(
                    "This place can no longer be named: its deadline has passed or it has "
                    "been named already."
                )
            if Booking.objects.filter(
                session_id=place.session_id, attendee_email=email, status__in=ACTIVE_STATUSES
            ).exists():
                raise BookingError(f"{email} already has a place on this session.")
            if not booking_status_set(
                place,
                BookingStatus.CONFIRMED,
                expected=BookingStatus.RESERVED,
                actor=actor,
                now=now,
                attendee=colleague,
                attendee_name=name,
                attendee_email=email,
                attendee_job_title=attendee.job_title.strip(),
                access_needs=attendee.access_needs.strip()[:2000],
                confirmed_at=now,
            ):
                raise BookingError("This place changed while it was being named. Look again.")
            audit_record(
                obj=place,
                action="reserved place named",
                actor=actor,
                now=now,
                changes={"attendee_name": name, "attendee_email": email},
            )
            emails_queue(
                email
                for email in confirmation_emails(place.order, [place], now=now)
                # The booker who named the place does not need the order's copy again.
                if email is None or email.kind != "order_confirmed"
            )
    except IntegrityError as error:
        raise BookingError(f"{email} already has a place on this session.") from error
    return place


# --- the reminder and the deadline ------------------------------------------------------------


def _open_reservations() -> Any:
    return PlaceReservation.objects.filter(
        settled_at=None, order__bookings__status=BookingStatus.RESERVED
    ).distinct()


def reservations_to_remind(*, now: dt.datetime) -> list[int]:
    """Reservations with unnamed places whose reminder day has come and not yet reminded."""
    today = timezone.localdate(now)
    return [
        reservation.pk
        for reservation in _open_reservations()
        .filter(reminded_at=None, session__starts_at__gt=now)
        .select_related("session")
        if (day := reservation.reminder_day()) is not None
        and today >= day
        and reservation.is_open_for_naming(now)
    ]


def reservation_remind(*, reservation_id: int, now: dt.datetime) -> int:
    """Remind the booker, once, of the places still to name and the deadline."""
    with transaction.atomic():
        # Claimed by a conditional update, so two workers never both send it.
        if not PlaceReservation.objects.filter(pk=reservation_id, reminded_at=None).update(
            reminded_at=now
        ):
            return 0
        reservation = PlaceReservation.objects.select_related("order", "agency", "session").get(
            pk=reservation_id
        )
        unnamed = len(unnamed_places(reservation))
        if not unnamed:
            return 0
        context = {
            "unnamed": unnamed,
            "places": reservation.places,
            "deadline": _deadline_label(reservation),
            "policy": settings.RESERVED_PLACES_UNNAMED,
        }
        emails_queue(
            outgoing_email(
                kind="reserved_places_reminder", to=to, order=reservation.order, context=context
            )
            for to in reservation_recipients(reservation)
        )
    return 1


def reservations_past_deadline(*, now: dt.datetime) -> list[int]:
    today = timezone.localdate(now)
    return [
        reservation.pk
        for reservation in _open_reservations().select_related("session")
        if (deadline := reservation.naming_deadline()) is not None and today > deadline
    ]


def _give_up(
    *, reservation: PlaceReservation, credit: bool, reason: str, actor: Any, now: dt.datetime
) -> list[Booking]:
    """Cancel the reservation's unnamed places (the caller holds the session lock): the seats
    go back to the session, and the fee is credited (``credit``) or stands."""
    given_up = [
        place
        for place in unnamed_places(reservation)
        if booking_status_set(
            place,
            BookingStatus.CANCELLED,
            expected=BookingStatus.RESERVED,
            actor=actor,
            now=now,
            cancelled_at=now,
            cancellation_reason=reason,
            late_cancellation=not credit,
        )
    ]
    if credit and given_up:
        for invoice in reservation.order.invoices.filter(kind=InvoiceKind.INVOICE):
            credit_note_raise(
                invoice=invoice, bookings=given_up, reason=reason, now=now, actor=actor
            )
    return given_up


def reservation_settle(*, reservation_id: int, now: dt.datetime) -> int:
    """At the deadline, give up the places still unnamed by the unit's policy; the seats go
    to the waiting list. Returns how many places were given up."""
    credit = settings.RESERVED_PLACES_UNNAMED == "release"
    with transaction.atomic():
        session_id = PlaceReservation.objects.values_list("session_id", flat=True).get(
            pk=reservation_id
        )
        # The session lock: no place is named while the others are given up.
        lock_rows(sessions=[session_id])
        if not PlaceReservation.objects.filter(pk=reservation_id, settled_at=None).update(
            settled_at=now,
            settled_how=ReservationSettled.RELEASED if credit else ReservationSettled.CHARGED,
        ):
            return 0
        reservation = PlaceReservation.objects.select_related("order", "agency", "session").get(
            pk=reservation_id
        )
        given_up = _give_up(
            reservation=reservation,
            credit=credit,
            reason="Not named by the deadline",
            actor=None,
            now=now,
        )
        audit_record(
            obj=reservation,
            action="reserved places released" if credit else "reserved places kept",
            actor=None,
            now=now,
            changes={"unnamed": len(given_up), "credited": credit},
        )
        if given_up:
            context = {
                "unnamed": len(given_up),
                "credited": credit,
                "amount": format_pounds(sum((place.price for place in given_up), ZERO)),
            }
            emails_queue(
                outgoing_email(
                    kind="reserved_places_settled",
                    to=to,
                    order=reservation.order,
                    context=context,
                )
                for to in reservation_recipients(reservation)
            )
            jobs.enqueue_on_commit("offer_waiting_places", session_id)
    return len(given_up)


def reservation_cancel_with_session(
    *, reservation: PlaceReservation, reason: str, actor: Any, now: dt.datetime
) -> int:
    """The unit cancelled the session (its lock held by the caller): the unnamed places are
    cancelled and credited, and the booker told."""
    given_up = _give_up(reservation=reservation, credit=True, reason=reason, actor=actor, now=now)
    if given_up:
        PlaceReservation.objects.filter(pk=reservation.pk, settled_at=None).update(
            settled_at=now, settled_how=ReservationSettled.RELEASED
        )
        for to in reservation_recipients(reservation):
            email_queue(
                kind="reserved_places_settled",
                to=to,
                order=reservation.order,
                context={
                    "unnamed": len(given_up),
                    "credited": True,
                    "amount": format_pounds(sum((place.price for place in given_up), ZERO)),
                    "reason": reason,
                },
            )
    return len(given_up)
