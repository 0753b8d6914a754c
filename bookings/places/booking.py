"""Making a booking: named places on one session, priced, never beyond its capacity.

Capacity rule: inside ``transaction.atomic()`` the session row is locked (see
``bookings.locking``), the places that hold capacity are counted, and only then are new
bookings inserted. No "places left" counter is stored. Gateway calls, emails and task enqueues
happen after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.audit import audit_entry
from bookings.capacity import places_and_people
from bookings.errors import BookingError, SessionFull
from bookings.events import booking_attended
from bookings.locking import lock_rows, session_lock_refresh
from bookings.models import (
    ACTIVE_STATUSES,
    ZERO,
    Attendance,
    AuditEntry,
    Booking,
    BookingStatus,
    Invoice,
    InvoiceLine,
    Order,
    OutgoingEmail,
    PaymentMethod,
    PaymentStatus,
    Register,
    WaitingListEntry,
    WaitlistStatus,
)
from bookings.money.confirmations import confirmation_emails
from bookings.money.invoices import (
    invoice_number_next,
    invoice_number_rider,
    order_invoice_write,
)
from bookings.outbox import emails_queue
from bookings.permissions import (
    front_desk_payment_methods,
    payment_methods_allowed,
)
from bookings.places.approvals import ManagerSpec, approval_deadline, approvals_request
from bookings.places.booking_checks import (
    PAYMENT_METHOD_REFUSED,
    AttendeeSpec,
    FrontDesk,
    attendees_normalise,
    front_desk_check,
    manager_check,
    session_closed_message,
)
from bookings.places.pricing import PriceChanged, Quote, front_desk_quote, subsidised_places_left
from bookings.rows import rows_batched, rows_insert, rows_keys_rider
from bookings.states import booking_status_set
from bookings.templatetags.money import format_pounds
from training.models import Agency, Session
from training.page_version import pages_changed


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
    manager: ManagerSpec | None = None,
    front_desk: FrontDesk | None = None,
    now: dt.datetime,
) -> Order:
    """Book places for named attendees of one agency, never beyond the session's capacity.

    Free, subsidised and invoice places are confirmed at once; card places are held for
    ``BOOKING_HOLD_MINUTES`` until the gateway's webhook confirms payment. Invoice and
    subsidised places are only for those ``payment_methods_allowed`` lets spend the agency's
    money (``booked_by`` None is the training unit itself, e.g. an import). ``front_desk`` is
    the administrator booking on someone's behalf (see ``FrontDesk``).

    On a course that needs approval, the places await the line manager's (``manager``)
    answer, held like a payment hold, unless the booker recorded that the manager agreed;
    the training unit itself (``booked_by`` None) and the administrator at the front desk
    need nobody's approval.
    """
    people = attendees_normalise(attendees)
    purchase_order_number = purchase_order_number.strip()
    desk = front_desk_check(front_desk, booked_by, payment_method, session)
    # At the front desk the administrator books what was agreed by phone or in person.
    manager = manager_check(session, manager, booked_by if desk is None else None)
    allowed = (
        front_desk_payment_methods(
            booked_by, agency, walk_in_session=session if desk and desk.walk_in else None
        )
        if desk is not None
        else payment_methods_allowed(booked_by, agency)
    )
    if payment_method not in allowed:
        raise BookingError(
            PAYMENT_METHOD_REFUSED.get(
                payment_method, "That way of paying is not available. Pay by card."
            )
        )
    if (
        payment_method == PaymentMethod.INVOICE
        and agency.purchase_order_required
        and not purchase_order_number
    ):
        raise BookingError(f"{agency.name} needs a purchase-order number on every invoice.")
    if payment_method == PaymentMethod.INVOICE and not agency.approved and desk is None:
        raise BookingError(
            "Invoices can only go to agencies the training team has approved. Pay by card."
        )
    # The price comes from the same tables inside or outside the lock (which only guards
    # capacity), so it is checked first: a changed price never waits for the lock.
    quote = front_desk_quote(
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
        # On PostgreSQL the order, places, invoice, lines, audit entries, emails and task
        # go in as few statements as reads between them allow (bookings.rows.rows_batched).
        n = len(people)
        rows = {Order: 1, Booking: n, Invoice: 1, InvoiceLine: n, AuditEntry: n + 2}
        with transaction.atomic(), rows_batched({**rows, OutgoingEmail: 3 * n + 3}):
            order = _booking_create_locked(
                session=session,
                people=people,
                agency=agency,
                booked_by=booked_by,
                quote=quote,
                purchase_order_number=purchase_order_number,
                waitlist_offer=waitlist_offer,
                manager=manager,
                desk=desk,
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
    manager: ManagerSpec,
    desk: FrontDesk | None,
    now: dt.datetime,
) -> Order:
    # The session lock serialises the count and the insert (see bookings.locking).
    locked = session_lock_refresh(session)
    closed = session_closed_message(locked, now, desk)
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
    addresses = [person.email for person in people]
    # Someone booking only themselves is the account already in hand; the others' accounts
    # come with the count.
    booking_self = booked_by is not None and addresses == [getattr(booked_by, "email", None)]
    awaiting = locked.course.needs_approval and bool(manager.email) and not manager.agreed
    invoiced = quote.payment_method == PaymentMethod.INVOICE and not awaiting
    # On PostgreSQL the invoice's number and the new rows' keys are taken in the count's
    # statement, under the locks (given back with the rest if the booking is refused).
    number_rider = invoice_number_rider() if invoiced else None
    riders = [rider for rider in (number_rider, rows_keys_rider()) if rider is not None]
    counted = places_and_people(
        locked.pk,
        now,
        emails=addresses,
        except_offer_id=offer_id,
        accounts=not booking_self,
        riders=riders,
    )
    taken, already_booked = counted.taken, counted.of_these
    free = locked.capacity - taken
    override = desk.capacity_override_reason if desk is not None else ""
    if len(people) > free and not override:
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
    # Counted with the places: most bookings are of people with no place yet, and read none.
    for existing in (
        Booking.objects.filter(
            session=locked, status__in=ACTIVE_STATUSES, attendee_email__in=addresses
        )
        if already_booked
        else ()
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

    # The invoice's number before the rows (taken with the count on PostgreSQL), so that every
    # row of the booking goes in after it, together (rows_batched).
    number = invoice_number_next(number_rider) if invoiced else None
    (order,) = rows_insert(
        [
            Order(
                booked_by=booked_by,
                agency=agency,
                payment_method=quote.payment_method,
                purchase_order_number=purchase_order_number,
                no_charge_reason=desk.no_charge_reason if desk is not None else "",
                capacity_override_reason=override if len(people) > free else "",
                created_at=now,
            )
        ]
    )
    holding = quote.payment_method == PaymentMethod.CARD and quote.unit_price > ZERO
    if awaiting:
        status, hold_until, action = (
            BookingStatus.AWAITING_APPROVAL,
            approval_deadline(now),
            "booked, awaiting approval",
        )
    elif holding:
        hold_for = dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES)
        if desk is not None and desk.card_hold_hours:
            hold_for = dt.timedelta(hours=desk.card_hold_hours)
        status, hold_until, action = BookingStatus.HELD, now + hold_for, "held for payment"
    else:
        status, hold_until, action = BookingStatus.CONFIRMED, None, "booked"
    accounts = {booked_by.email: booked_by.pk} if booking_self else counted.accounts
    walk_in = desk is not None and desk.walk_in
    if walk_in and Register.objects.filter(session=locked, closed_at__isnull=False).exists():
        raise BookingError("The register is closed. Reopen it to add someone who came.")
    # The places in one plain insert; the pages hear of them as bulk_create would tell them.
    bookings = rows_insert(
        [
            Booking(
                order=order,
                session=locked,
                attendee_id=accounts.get(person.email),
                attendee_name=person.name,
                attendee_email=person.email,
                attendee_job_title=person.job_title,
                agency=agency,
                sector=agency.sector,
                price_band=quote.band,
                price=quote.unit_price,
                in_kind_value=quote.in_kind_value,
                payment_method=quote.payment_method,
                status=status,
                hold_expires_at=hold_until,
                confirmed_at=now if status == BookingStatus.CONFIRMED else None,
                attendance=Attendance.ATTENDED if walk_in else Attendance.UNKNOWN,
                created_at=now,
                line_manager_name=manager.name,
                line_manager_email=manager.email,
                manager_agreed=manager.agreed,
                access_needs=person.access_needs,
            )
            for person in people
        ]
    )
    pages_changed()
    audits += [
        audit_entry(
            obj=booking,
            action=action,
            actor=booked_by,
            now=now,
            changes={
                "status": booking.status,
                "price": booking.price,
                "payment_method": booking.payment_method,
                "order": order.reference,
                **({"no_charge_reason": order.no_charge_reason} if order.no_charge_reason else {}),
                **({"booked_on_behalf": True} if desk is not None else {}),
                **({"walk_in": True, "attendance": Attendance.ATTENDED} if walk_in else {}),
            },
        )
        for booking in bookings
    ]
    if order.capacity_override_reason:
        audits.append(
            audit_entry(
                obj=locked,
                action="capacity overridden",
                actor=booked_by,
                now=now,
                changes={
                    "capacity": locked.capacity,
                    "taken_before": taken,
                    "places_added": len(people),
                    "reason": order.capacity_override_reason,
                    "order": order.reference,
                },
            )
        )
    if offer_id is not None:
        WaitingListEntry.objects.filter(pk=offer_id, status=WaitlistStatus.OFFERED).update(
            status=WaitlistStatus.CLAIMED
        )
    emails: list[OutgoingEmail | None] = []
    if awaiting:
        # No invoice, payment or confirmation until every approval is in.
        approval_audits, approval_emails = approvals_request(
            bookings=bookings, manager=manager, actor=booked_by, now=now
        )
        rows_insert(audits + approval_audits)
        emails_queue(approval_emails)
        return order
    if invoiced:
        _, invoice_audit, invoice_email = order_invoice_write(
            order=order, bookings=bookings, now=now, actor=booked_by, number=number
        )
        audits.append(invoice_audit)
        emails.append(invoice_email)
    if walk_in:
        # Someone who came on the day needs no confirmation or calendar entry; their place is
        # attended, which is announced like a mark on the register (the evaluation follows).
        for booking in bookings:
            transaction.on_commit(
                lambda booking=booking: booking_attended.send(  # type: ignore[misc]
                    sender=Booking, booking=booking, now=now
                )
            )
    elif not holding:
        emails += [
            email
            for email in confirmation_emails(order, bookings, now=now)
            # The administrator who booked by phone is not sent the booker's copy.
            if desk is None or email is None or email.kind != "order_confirmed"
        ]
    # One insert each for the audit trail and the outbox, however many places.
    rows_insert(audits)
    emails_queue(emails)
    return order
