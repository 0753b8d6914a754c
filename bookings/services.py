"""Operations on bookings: every change of a place, a payment or an invoice goes through here.

Capacity rule: inside ``transaction.atomic()`` the session row is locked
(``select_for_update``; on SQLite the IMMEDIATE transaction already holds the write lock), the
places that hold capacity are counted, and only then are new bookings inserted. No "places
left" counter is stored. Gateway calls, emails and task enqueues happen after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from bookings.models import (
    ACTIVE_STATUSES,
    ZERO,
    AuditEntry,
    Booking,
    BookingStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumberSequence,
    InvoiceStatus,
    Order,
    OutgoingEmail,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
    WaitingListEntry,
    WaitlistStatus,
)
from bookings.selectors import places_taken
from training.dates import financial_year_bounds
from training.models import Agency, PriceBand, Session, SessionStatus


class BookingError(Exception):
    """A booking could not be made or changed; the message tells the person what to do."""


class SessionFull(BookingError):
    """Not enough places left; the page offers the waiting list instead."""


class PriceChanged(BookingError):
    """The price changed since it was shown; the booker must confirm the new one."""

    def __init__(self, message: str, quote: Quote) -> None:
        super().__init__(message)
        self.quote = quote


# --- audit --------------------------------------------------------------------------------


def _actor_fields(actor: Any) -> dict[str, Any]:
    if actor is None or isinstance(actor, str):
        return {"actor": None, "actor_label": actor or "system"}
    return {"actor": actor, "actor_label": getattr(actor, "email", "") or str(actor)}


def audit_entry(
    *, obj: Any, action: str, actor: Any, now: dt.datetime, changes: dict[str, Any] | None = None
) -> AuditEntry:
    """An unsaved audit entry: who did what to which row, when (see ``audit_record``)."""
    return AuditEntry(
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        action=action,
        at=now,
        changes=_json_safe(changes or {}),
        **_actor_fields(actor),
    )


def audit_record(
    *, obj: Any, action: str, actor: Any, now: dt.datetime, changes: dict[str, Any] | None = None
) -> AuditEntry:
    """Write who did what to which row, when. ``actor`` is a user, 'stripe', or None (system)."""
    entry = audit_entry(obj=obj, action=action, actor=actor, now=now, changes=changes)
    entry.save()
    return entry


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, Decimal | dt.date | dt.datetime):
        return str(value)
    return value


def _set_status(
    booking: Booking, status: str, *, actor: Any, now: dt.datetime, **extra: Any
) -> None:
    old = booking.status
    booking.status = status
    for field, value in extra.items():
        setattr(booking, field, value)
    booking.save(update_fields=["status", *extra.keys()])
    audit_record(
        obj=booking,
        action=f"status {old} → {status}",
        actor=actor,
        now=now,
        changes={"status": [old, status], **{k: v for k, v in extra.items()}},
    )


# --- email outbox ---------------------------------------------------------------------------


def outgoing_email(
    *,
    kind: str,
    to: str,
    booking: Booking | None = None,
    order: Order | None = None,
    invoice: Invoice | None = None,
    waiting_list_entry: WaitingListEntry | None = None,
    context: dict[str, Any] | None = None,
    send_after: dt.datetime | None = None,
) -> OutgoingEmail | None:
    """An unsaved outbox email (None when there is nobody to send it to); see ``emails_queue``."""
    if not to:
        return None
    return OutgoingEmail(
        kind=kind,
        to=to,
        booking=booking,
        order=order,
        invoice=invoice,
        waiting_list_entry=waiting_list_entry,
        context=_json_safe(context or {}),
        send_after=send_after or timezone.now(),
    )


def emails_queue(emails: Iterable[OutgoingEmail | None]) -> list[OutgoingEmail]:
    """Write emails to the outbox in one insert; once the transaction commits, one background
    task sends those already due (the tick sends the rest when their time comes)."""
    rows = [email for email in emails if email is not None]
    if not rows:
        return []
    OutgoingEmail.objects.bulk_create(rows)
    now = timezone.now()
    due = [email.pk for email in rows if email.send_after <= now]
    if due:
        transaction.on_commit(lambda: _enqueue_emails(due))
    return rows


def email_queue(**email: Any) -> OutgoingEmail | None:
    """Write one email to the outbox (the arguments of ``outgoing_email``)."""
    queued = emails_queue([outgoing_email(**email)])
    return queued[0] if queued else None


def _enqueue_emails(email_ids: list[int]) -> None:
    from bookings.tasks import send_emails

    send_emails.enqueue(email_ids)


# --- price ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """What one place costs this booker, and what the whole booking comes to."""

    band: PriceBand
    unit_price: Decimal
    in_kind_value: Decimal
    places: int
    payment_method: str

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.places


def subsidised_places_left(agency: Agency, on: dt.date) -> int:
    """The agency's in-kind allowance left in the financial year containing ``on``."""
    start, end = financial_year_bounds(on)
    used = Booking.objects.filter(
        agency=agency,
        payment_method=PaymentMethod.SUBSIDISED,
        status__in=ACTIVE_STATUSES,
        session__starts_at__date__gte=start,
        session__starts_at__date__lte=end,
    ).count()
    return max(0, agency.subsidised_places_per_year - used)


def price_quote(*, session: Session, agency: Agency, payment_method: str, places: int) -> Quote:
    """The price for ``places`` attendees of ``agency``; MAPIGs are free, subsidised places too."""
    band = agency.sector.price_band
    list_price = session.price_for_band(band.pk)
    if list_price is None:
        raise BookingError(
            f"This session has no price for {band.name.lower()} agencies yet. "
            "Please contact the training team."
        )
    if list_price == ZERO:
        return Quote(band, ZERO, ZERO, places, PaymentMethod.FREE)
    if payment_method == PaymentMethod.SUBSIDISED:
        return Quote(band, ZERO, list_price, places, PaymentMethod.SUBSIDISED)
    if payment_method not in (PaymentMethod.CARD, PaymentMethod.INVOICE):
        raise BookingError("Choose how to pay: by card or by invoice.")
    return Quote(band, list_price, ZERO, places, payment_method)


# --- booking ----------------------------------------------------------------------------------


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
    ``BOOKING_HOLD_MINUTES`` until the gateway's webhook confirms payment.
    """
    people = _normalise(attendees)
    purchase_order_number = purchase_order_number.strip()
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
        session=session, agency=agency, payment_method=payment_method, places=len(people)
    )
    if quoted_total is not None and quoted_total != quote.total:
        raise PriceChanged(
            f"The price has changed to £{quote.total} since it was shown to you. "
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


def session_lock_for_booking(session_id: int) -> Session:
    """Lock one session's row until the transaction ends (with its course, read not locked).

    The lock serialises every booking of this session: count, then insert. Only the session's
    own row is locked: locking its course too would make every session of a course wait.
    """
    return (
        Session.objects.select_for_update(of=("self",)).select_related("course").get(pk=session_id)
    )


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
    locked = session_lock_for_booking(session.pk)
    closed = _session_closed_message(locked, now)
    if closed:
        raise BookingError(closed)
    offer_id = None
    if waitlist_offer is not None:
        offer = WaitingListEntry.objects.select_for_update().get(pk=waitlist_offer.pk)
        if not offer.is_open_offer(now) or offer.session_id != locked.pk:
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
            _set_status(
                existing,
                BookingStatus.EXPIRED,
                actor=None,
                now=now,
                cancellation_reason="Not paid in time",
            )
        else:
            already.append(existing.attendee_email)
    if already:
        raise BookingError(f"Already booked on this session: {', '.join(sorted(already))}.")

    if quote.payment_method == PaymentMethod.SUBSIDISED:
        # Lock the agency row (after the session: a fixed order) so two bookers cannot both
        # take the last subsidised place.
        locked_agency = Agency.objects.select_for_update().get(pk=agency.pk)
        left = subsidised_places_left(locked_agency, timezone.localdate(locked.starts_at))
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
        WaitingListEntry.objects.filter(pk=offer_id).update(status=WaitlistStatus.CLAIMED)
    emails: list[OutgoingEmail | None] = []
    if quote.payment_method == PaymentMethod.INVOICE:
        _, invoice_audit, invoice_email = _order_invoice_write(
            order=order, bookings=bookings, now=now, actor=booked_by
        )
        audits.append(invoice_audit)
        emails.append(invoice_email)
    if not holding:
        emails += _confirmation_emails(order, bookings, now=now)
    # One insert each for the audit trail and the outbox, however many places.
    AuditEntry.objects.bulk_create(audits)
    emails_queue(emails)
    return order


def _confirmation_emails(
    order: Order, bookings: list[Booking], *, now: dt.datetime
) -> list[OutgoingEmail | None]:
    """The emails that confirm an order's places: each attendee's, with a reminder before the
    session and an invitation to claim the place for those without an account, and the
    booker's when the booker is not one of the attendees."""
    emails = []
    for booking in bookings:
        emails.append(
            outgoing_email(kind="booking_confirmed", to=booking.attendee_email, booking=booking)
        )
        if booking.attendee_id is None:
            emails.append(
                outgoing_email(kind="claim_invitation", to=booking.attendee_email, booking=booking)
            )
        reminder_at = _reminder_time(booking.session)
        if reminder_at is not None and reminder_at > now:
            emails.append(
                outgoing_email(
                    kind="booking_reminder",
                    to=booking.attendee_email,
                    booking=booking,
                    send_after=reminder_at,
                )
            )
    booker_email = getattr(order.booked_by, "email", "")
    if booker_email and booker_email.lower() not in {b.attendee_email for b in bookings}:
        emails.append(outgoing_email(kind="order_confirmed", to=booker_email, order=order))
    return emails


def _reminder_time(session: Session) -> dt.datetime | None:
    from training.dates import working_days_before

    if session.starts_at is None:
        return None
    day = working_days_before(
        timezone.localdate(session.starts_at), settings.BOOKING_REMINDER_WORKING_DAYS
    )
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, 9, 0))


# --- card payments ------------------------------------------------------------------------


def payment_start(*, order: Order, success_url: str, cancel_url: str, now: dt.datetime) -> Payment:
    """Open a checkout for an order's held places (outside any lock: this calls the gateway)."""
    from bookings.payments import get_gateway

    held = list(order.bookings.filter(status=BookingStatus.HELD).select_related("session__course"))
    if not held:
        raise BookingError("There is nothing waiting for payment on this booking.")
    gateway = get_gateway()
    payment = Payment.objects.create(
        order=order,
        gateway=gateway.name,
        amount=sum((b.price for b in held), ZERO),
        created_at=now,
    )
    audit_record(
        obj=payment,
        action="created",
        actor=order.booked_by,
        now=now,
        changes={"amount": payment.amount, "gateway": gateway.name},
    )
    hold_until = max(b.hold_expires_at for b in held if b.hold_expires_at)
    checkout = gateway.create_checkout(
        payment=payment,
        bookings=held,
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=hold_until,
        now=now,
    )
    payment.checkout_session_id = checkout.session_id
    payment.checkout_url = checkout.url
    payment.save(update_fields=["checkout_session_id", "checkout_url"])
    if checkout.expires_at > hold_until:
        # Stripe wants a checkout open for at least 30 minutes; the hold follows it.
        order.bookings.filter(status=BookingStatus.HELD).update(hold_expires_at=checkout.expires_at)
    return payment


def _lock_sessions(session_ids: Iterable[int]) -> dict[int, Session]:
    # Several sessions are locked in primary-key order so two operations cannot deadlock.
    return {
        session.pk: session
        for session in Session.objects.select_for_update()
        .filter(pk__in=set(session_ids))
        .order_by("pk")
    }


def payment_succeeded(
    *, payment: Payment, payment_intent_id: str, now: dt.datetime, actor: Any = "stripe"
) -> list[Booking]:
    """The gateway says the order is paid: confirm its held places, refund any already gone.

    Returns the bookings confirmed by this call.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == PaymentStatus.SUCCEEDED:
            return []
        old = payment.status
        payment.status = PaymentStatus.SUCCEEDED
        payment.payment_intent_id = payment_intent_id or payment.payment_intent_id
        payment.completed_at = now
        payment.save(update_fields=["status", "payment_intent_id", "completed_at"])
        audit_record(
            obj=payment,
            action=f"status {old} → succeeded",
            actor=actor,
            now=now,
            changes={"payment_intent": payment.payment_intent_id},
        )
        bookings = list(payment.order.bookings.select_related("session").order_by("pk"))
        sessions = _lock_sessions(b.session_id for b in bookings)
        confirmed, gone = [], []
        for booking in bookings:
            if booking.status == BookingStatus.HELD:
                session = sessions[booking.session_id]
                # The hold may have run out while the bank was deciding: count the others.
                others = places_taken(session.pk, now) - (
                    1 if booking.hold_expires_at and booking.hold_expires_at > now else 0
                )
                if session.status == SessionStatus.PUBLISHED and others < session.capacity:
                    _set_status(
                        booking,
                        BookingStatus.CONFIRMED,
                        actor=actor,
                        now=now,
                        confirmed_at=now,
                        hold_expires_at=None,
                    )
                    confirmed.append(booking)
                    continue
                _set_status(
                    booking,
                    BookingStatus.EXPIRED,
                    actor=actor,
                    now=now,
                    cancellation_reason="Place released before payment arrived",
                )
                gone.append(booking)
            elif booking.status in (BookingStatus.EXPIRED, BookingStatus.CANCELLED) and (
                booking.cancelled_at is None
            ):
                gone.append(booking)
        for booking in gone:
            refund_create(
                payment=payment,
                booking=booking,
                amount=booking.price,
                reason="Payment arrived after the place was released",
                actor=actor,
                now=now,
            )
            email_queue(
                kind="payment_refunded_place_gone", to=booking.attendee_email, booking=booking
            )
            booker = getattr(payment.order.booked_by, "email", "")
            if booker and booker.lower() != booking.attendee_email:
                email_queue(kind="payment_refunded_place_gone", to=booker, booking=booking)
        if confirmed:
            emails_queue(_confirmation_emails(payment.order, confirmed, now=now))
    return confirmed


def payment_pending(*, payment: Payment, now: dt.datetime) -> None:
    """An asynchronous method (e.g. bank debit) is processing: keep the places held meanwhile."""
    with transaction.atomic():
        updated = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
            status=PaymentStatus.PENDING
        )
        if updated:
            audit_record(obj=payment, action="status created → pending", actor="stripe", now=now)
            payment.order.bookings.filter(status=BookingStatus.HELD).update(
                hold_expires_at=now + dt.timedelta(days=5)
            )


def payment_failed_or_expired(
    *, payment: Payment, now: dt.datetime, status: str, actor: Any = "stripe"
) -> list[int]:
    """The checkout expired or the payment failed: release the order's held places."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == PaymentStatus.SUCCEEDED:
            return []
        old = payment.status
        if old != status:
            payment.status = status
            payment.save(update_fields=["status"])
            audit_record(obj=payment, action=f"status {old} → {status}", actor=actor, now=now)
        released = _release_held(payment.order.bookings.all(), actor=actor, now=now)
    return released


def checkout_failed(*, order: Order, now: dt.datetime) -> list[int]:
    """The gateway could not open a checkout (refused, unreachable or not configured): nothing
    was charged, so release the order's held places and expire any payment started for them."""
    started = order.payments.filter(status=PaymentStatus.CREATED).order_by("-created_at").first()
    if started is not None:
        return payment_failed_or_expired(
            payment=started, now=now, status=PaymentStatus.EXPIRED, actor=None
        )
    with transaction.atomic():
        return _release_held(order.bookings.all(), actor=None, now=now)


def _release_held(bookings: Any, *, actor: Any, now: dt.datetime) -> list[int]:
    held = list(bookings.filter(status=BookingStatus.HELD).order_by("pk"))
    sessions = {b.session_id for b in held}
    for booking in held:
        _set_status(
            booking,
            BookingStatus.EXPIRED,
            actor=actor,
            now=now,
            cancellation_reason="Not paid in time",
        )
    for session_id in sorted(sessions):
        transaction.on_commit(lambda sid=session_id: _enqueue_waitlist(sid))
    return sorted(sessions)


def _expire_open_checkouts(order: Order, *, actor: Any, now: dt.datetime) -> None:
    from bookings.payments import get_gateway

    for payment in order.payments.filter(status=PaymentStatus.CREATED):
        payment.status = PaymentStatus.EXPIRED
        payment.save(update_fields=["status"])
        audit_record(obj=payment, action="status created → expired", actor=actor, now=now)
        transaction.on_commit(lambda p=payment: get_gateway().expire_checkout(payment=p))


def holds_release_expired(*, now: dt.datetime) -> int:
    """Release card holds whose time ran out and whose payment is not being processed."""
    expired_orders = (
        Order.objects.filter(
            bookings__status=BookingStatus.HELD, bookings__hold_expires_at__lte=now
        )
        .exclude(payments__status=PaymentStatus.PENDING)
        .distinct()
    )
    count = 0
    for order in expired_orders:
        with transaction.atomic():
            released = _release_held(
                order.bookings.filter(hold_expires_at__lte=now), actor=None, now=now
            )
            _expire_open_checkouts(order, actor=None, now=now)
        count += len(released)
    return count


# --- refunds and credit notes -----------------------------------------------------------------


def refund_create(
    *,
    payment: Payment,
    booking: Booking | None,
    amount: Decimal,
    reason: str,
    actor: Any,
    now: dt.datetime,
) -> Refund | None:
    """Record a refund; the gateway is asked after commit (with an idempotency key)."""
    remaining = payment.amount - payment.refunded_amount
    amount = min(amount, remaining)
    if amount <= ZERO:
        return None
    refund = Refund.objects.create(
        payment=payment, booking=booking, amount=amount, reason=reason, created_at=now
    )
    audit_record(
        obj=refund,
        action="created",
        actor=actor,
        now=now,
        changes={"amount": amount, "reason": reason},
    )
    transaction.on_commit(lambda: _enqueue_refund(refund.pk))
    return refund


def _enqueue_refund(refund_id: int) -> None:
    from bookings.tasks import process_refund

    process_refund.enqueue(refund_id)


def refund_process(*, refund_id: int, now: dt.datetime) -> Refund:
    """Send one pending refund to the gateway. Safe to run twice: the key makes it once."""
    from bookings.payments import GatewayError, get_gateway

    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    try:
        gateway_id = get_gateway().refund(refund=refund)
    except GatewayError as error:
        Refund.objects.filter(pk=refund.pk).update(error=str(error))
        refund.refresh_from_db()
        audit_record(
            obj=refund, action="gateway refused", actor=None, now=now, changes={"error": str(error)}
        )
        return refund
    with transaction.atomic():
        updated = Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).update(
            status=RefundStatus.SUCCEEDED, gateway_refund_id=gateway_id, error=""
        )
        if updated:
            refund.refresh_from_db()
            audit_record(
                obj=refund,
                action="status pending → succeeded",
                actor=None,
                now=now,
                changes={"gateway_refund_id": gateway_id},
            )
            to = refund.booking.attendee_email if refund.booking else ""
            booker = getattr(refund.payment.order.booked_by, "email", "")
            for address in {a for a in (to, booker) if a}:
                email_queue(
                    kind="refund_issued",
                    to=address,
                    booking=refund.booking,
                    order=refund.payment.order,
                    context={"amount": refund.amount},
                )
    return refund


def _next_number(prefix: str) -> str:
    # Incrementing the sequence row locks it until commit: numbers are gapless because the
    # increment and the invoice insert commit together, or neither does. One statement
    # (UPDATE … RETURNING, which SQLite and PostgreSQL both speak): it runs on every booking.
    table = InvoiceNumberSequence._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(table)} SET {quote('last_number')} = {quote('last_number')} + 1 "
            f"WHERE {quote('prefix')} = %s RETURNING {quote('last_number')}",
            [prefix],
        )
        row = cursor.fetchone()
    if row is None:
        InvoiceNumberSequence.objects.get_or_create(prefix=prefix)  # the prefix's first number
        return _next_number(prefix)
    return f"{prefix}-{row[0]:06d}"


def _line_description(booking: Booking) -> str:
    when = timezone.localtime(booking.session.starts_at).strftime("%-d %b %Y")
    return f"{booking.session.course.title}, {when} – {booking.attendee_name}"


def _invoice_write(
    *,
    agency: Agency,
    lines: Sequence[tuple[Booking | None, str, Decimal]],
    recipient: str,
    now: dt.datetime,
    actor: Any,
    order: Order | None = None,
    purchase_order_number: str = "",
) -> tuple[Invoice, AuditEntry, OutgoingEmail | None]:
    """Number and write an invoice with its lines (inside the caller's transaction); return it
    with its audit entry and email, unsaved, for the caller to write with others."""
    today = timezone.localdate(now)
    invoice = Invoice.objects.create(
        kind=InvoiceKind.INVOICE,
        number=_next_number(settings.INVOICE_NUMBER_PREFIX),
        order=order,
        agency=agency,
        purchase_order_number=purchase_order_number,
        billing_name=agency.invoice_contact_name or agency.name,
        billing_address=f"{agency.name}\n{agency.address}".strip(),
        billing_email=recipient,
        issued_on=today,
        due_on=today + dt.timedelta(days=settings.INVOICE_DUE_DAYS),
        created_at=now,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(invoice=invoice, booking=booking, description=description, amount=amount)
        for booking, description, amount in lines
    )
    entry = audit_entry(
        obj=invoice,
        action="issued",
        actor=actor,
        now=now,
        changes={"number": invoice.number, "total": sum((line[2] for line in lines), ZERO)},
    )
    return invoice, entry, outgoing_email(kind="invoice_issued", to=recipient, invoice=invoice)


def _order_invoice_write(
    *, order: Order, bookings: Sequence[Booking], now: dt.datetime, actor: Any
) -> tuple[Invoice, AuditEntry, OutgoingEmail | None]:
    """The invoice for an order's places, one line per place, to the agency's invoice contact."""
    return _invoice_write(
        agency=order.agency,
        order=order,
        purchase_order_number=order.purchase_order_number,
        # Whoever receives the invoice also receives any credit note against it.
        recipient=order.agency.invoice_contact_email or getattr(order.booked_by, "email", ""),
        lines=[(booking, _line_description(booking), booking.price) for booking in bookings],
        now=now,
        actor=actor,
    )


def charge_invoice_raise(
    *,
    agency: Agency,
    lines: Sequence[tuple[Booking | None, str, Decimal]],
    now: dt.datetime,
    actor: Any,
    purchase_order_number: str = "",
) -> Invoice:
    """An invoice not tied to an order, e.g. non-attendance charges."""
    invoice, entry, email = _invoice_write(
        agency=agency,
        lines=lines,
        recipient=agency.invoice_contact_email,
        purchase_order_number=purchase_order_number,
        now=now,
        actor=actor,
    )
    entry.save()
    emails_queue([email])
    return invoice


def credit_note_raise(
    *, invoice: Invoice, bookings: Sequence[Booking], reason: str, now: dt.datetime, actor: Any
) -> Invoice | None:
    """Credit the lines of ``bookings`` on ``invoice`` (never twice for the same line)."""
    credited = set(
        InvoiceLine.objects.filter(invoice__credits=invoice, booking__in=bookings).values_list(
            "booking_id", flat=True
        )
    )
    lines = [
        line
        for line in invoice.lines.filter(booking__in=bookings)
        if line.booking_id not in credited
    ]
    if not lines:
        return None
    today = timezone.localdate(now)
    note = Invoice.objects.create(
        kind=InvoiceKind.CREDIT_NOTE,
        number=_next_number(settings.CREDIT_NOTE_NUMBER_PREFIX),
        order=invoice.order,
        agency=invoice.agency,
        credits=invoice,
        purchase_order_number=invoice.purchase_order_number,
        billing_name=invoice.billing_name,
        billing_address=invoice.billing_address,
        billing_email=invoice.billing_email,
        issued_on=today,
        due_on=today,
        status=InvoiceStatus.ISSUED,
        created_at=now,
    )
    for line in lines:
        InvoiceLine.objects.create(
            invoice=note,
            booking=line.booking,
            description=f"Credit: {line.description} ({reason})",
            amount=-line.amount,
        )
    audit_record(
        obj=note,
        action="issued",
        actor=actor,
        now=now,
        changes={"number": note.number, "credits": invoice.number, "total": note.total},
    )
    credited_total = sum(
        (line.amount for cn in invoice.credit_notes.all() for line in cn.lines.all()), ZERO
    )
    if invoice.total + credited_total <= ZERO and invoice.status == InvoiceStatus.ISSUED:
        invoice.status = InvoiceStatus.CREDITED
        invoice.save(update_fields=["status"])
        audit_record(obj=invoice, action="status issued → credited", actor=actor, now=now)
    email_queue(kind="credit_note_issued", to=invoice.billing_email, invoice=note)
    return note


def invoice_mark_paid(*, invoice: Invoice, paid_on: dt.date, actor: Any, now: dt.datetime) -> bool:
    """The administrator records that finance received the money."""
    with transaction.atomic():
        updated = Invoice.objects.filter(
            pk=invoice.pk, status=InvoiceStatus.ISSUED, kind=InvoiceKind.INVOICE
        ).update(status=InvoiceStatus.PAID, paid_on=paid_on)
        if updated:
            audit_record(
                obj=invoice,
                action="status issued → paid",
                actor=actor,
                now=now,
                changes={"paid_on": paid_on},
            )
    return bool(updated)


# --- cancellation and transfer ----------------------------------------------------------------


def _refund_booking(booking: Booking, *, reason: str, actor: Any, now: dt.datetime) -> None:
    """Give back what was paid for one place, by the way it was paid."""
    if booking.payment_method == PaymentMethod.CARD and booking.price > ZERO:
        payment = booking.order.payments.filter(status=PaymentStatus.SUCCEEDED).first()
        if payment is not None:
            refund_create(
                payment=payment,
                booking=booking,
                amount=booking.price,
                reason=reason,
                actor=actor,
                now=now,
            )
    elif booking.payment_method == PaymentMethod.INVOICE:
        for line in booking.invoice_lines.filter(invoice__kind=InvoiceKind.INVOICE).select_related(
            "invoice"
        ):
            credit_note_raise(
                invoice=line.invoice, bookings=[booking], reason=reason, now=now, actor=actor
            )


def booking_cancel(
    *, booking: Booking, actor: Any, now: dt.datetime, reason: str = "", by_unit: bool = False
) -> Booking:
    """Cancel a place. Before the cut-off (or when the unit cancels) it is refunded in full;
    after it the fee stands. The freed place goes to the waiting list."""
    with transaction.atomic():
        _lock_sessions([booking.session_id])
        booking = Booking.objects.select_related("session__course", "order").get(pk=booking.pk)
        if not booking.is_cancellable(now) and not by_unit:
            if booking.status != BookingStatus.CONFIRMED:
                raise BookingError("This booking is not active, so it cannot be cancelled.")
            raise BookingError("This session has started; the booking can no longer be cancelled.")
        refunded = by_unit or booking.is_free_cancellation(now)
        _set_status(
            booking,
            BookingStatus.CANCELLED,
            actor=actor,
            now=now,
            cancelled_at=now,
            cancellation_reason=reason
            or ("Cancelled by the training unit" if by_unit else "Cancelled by the booker"),
            late_cancellation=not refunded,
        )
        if refunded:
            _refund_booking(booking, reason=booking.cancellation_reason, actor=actor, now=now)
        OutgoingEmail.objects.filter(
            booking=booking, kind="booking_reminder", claimed_at=None
        ).delete()
        context = {"refunded": refunded, "reason": booking.cancellation_reason}
        email_queue(
            kind="booking_cancelled", to=booking.attendee_email, booking=booking, context=context
        )
        booker = getattr(booking.order.booked_by, "email", "")
        if booker and booker.lower() != booking.attendee_email:
            email_queue(kind="booking_cancelled", to=booker, booking=booking, context=context)
        if not by_unit:
            transaction.on_commit(lambda: _enqueue_waitlist(booking.session_id))
    return booking


def session_cancel(*, session: Session, actor: Any, now: dt.datetime, reason: str) -> int:
    """The unit cancels a session: every place is cancelled and refunded in full."""
    if not reason.strip():
        raise BookingError("Give a reason: it is sent to everyone booked.")
    with transaction.atomic():
        locked = _lock_sessions([session.pk])[session.pk]
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
                _release_held(Booking.objects.filter(pk=booking.pk), actor=actor, now=now)
                _expire_open_checkouts(booking.order, actor=actor, now=now)
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
    from training.models import Profile

    to_email = to_email.strip().lower()
    to_name = " ".join(to_name.split())
    if not to_name or not to_email:
        raise BookingError("Give your colleague's name and email address.")
    User = get_user_model()
    colleague = User.objects.filter(email__iexact=to_email).first()
    if colleague is not None:
        agency_id = (
            Profile.objects.filter(user=colleague).values_list("agency_id", flat=True).first()
        )
        if agency_id != booking.agency_id:
            raise BookingError(
                f"{to_email} is not registered with {booking.agency.name}. A place can only "
                "be handed to a colleague of the same agency."
            )
    with transaction.atomic():
        _lock_sessions([booking.session_id])
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
        booking.save(
            update_fields=["attendee", "attendee_name", "attendee_email", "attendee_job_title"]
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
        if colleague is None:
            email_queue(kind="claim_invitation", to=to_email, booking=booking)
    return booking


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


# --- waiting list ------------------------------------------------------------------------------


def waitlist_join(*, session: Session, person: Any, now: dt.datetime) -> WaitingListEntry:
    """Join a session's waiting list (once)."""
    if session.status != SessionStatus.PUBLISHED or (
        session.starts_at and session.starts_at <= now
    ):
        raise BookingError("This session is not taking a waiting list.")
    email = person.email.lower()
    if Booking.objects.filter(
        session=session, attendee_email=email, status__in=ACTIVE_STATUSES
    ).exists():
        raise BookingError("You already have a place on this session.")
    existing = WaitingListEntry.objects.filter(
        session=session, person=person, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
    ).first()
    if existing is not None:
        raise BookingError("You are already on the waiting list for this session.")
    try:
        with transaction.atomic():
            entry = WaitingListEntry.objects.create(
                session=session,
                person=person,
                email=email,
                name=person.get_full_name() or email,
                joined_at=now,
            )
    except IntegrityError as error:
        raise BookingError("You are already on the waiting list for this session.") from error
    audit_record(obj=entry, action="joined waiting list", actor=person, now=now)
    return entry


def _enqueue_waitlist(session_id: int) -> None:
    from bookings.tasks import offer_waiting_places

    offer_waiting_places.enqueue(session_id)


def _offer(entry: WaitingListEntry, *, now: dt.datetime, actor: Any) -> None:
    entry.status = WaitlistStatus.OFFERED
    entry.offered_at = now
    entry.offer_expires_at = now + dt.timedelta(hours=settings.WAITLIST_OFFER_HOURS)
    entry.save(update_fields=["status", "offered_at", "offer_expires_at"])
    audit_record(
        obj=entry,
        action="offered a place",
        actor=actor,
        now=now,
        changes={"offer_expires_at": entry.offer_expires_at},
    )
    email_queue(kind="waitlist_offer", to=entry.email, waiting_list_entry=entry)


def waitlist_offer_next(*, session: Session, now: dt.datetime) -> list[WaitingListEntry]:
    """Offer every free place on a session to the next people waiting, in order."""
    with transaction.atomic():
        locked = _lock_sessions([session.pk])[session.pk]
        if locked.status != SessionStatus.PUBLISHED or (
            locked.starts_at and locked.starts_at <= now
        ):
            return []
        # Offers that ran out pass on: mark them lapsed first.
        for lapsed in locked.waiting_list.filter(
            status=WaitlistStatus.OFFERED, offer_expires_at__lte=now
        ):
            lapsed.status = WaitlistStatus.LAPSED
            lapsed.save(update_fields=["status"])
            audit_record(obj=lapsed, action="offer lapsed", actor=None, now=now)
        free = locked.capacity - places_taken(locked.pk, now)
        offered = []
        if free > 0:
            for entry in locked.waiting_list.filter(status=WaitlistStatus.WAITING).order_by(
                "joined_at", "pk"
            )[:free]:
                _offer(entry, now=now, actor=None)
                offered.append(entry)
    return offered


def waitlist_offer_by_hand(*, entry: WaitingListEntry, actor: Any, now: dt.datetime) -> None:
    """The administrator offers a place to a particular person, even out of turn."""
    with transaction.atomic():
        locked = _lock_sessions([entry.session_id])[entry.session_id]
        entry = WaitingListEntry.objects.get(pk=entry.pk)
        if entry.status != WaitlistStatus.WAITING:
            raise BookingError("This person is not waiting any more.")
        if locked.capacity - places_taken(locked.pk, now) <= 0:
            raise BookingError(
                "There is no free place to offer. Raise the capacity first, then offer."
            )
        _offer(entry, now=now, actor=actor)


def waitlist_lapse_offers(*, now: dt.datetime) -> int:
    """Pass on offers that ran out, session by session."""
    session_ids = set(
        WaitingListEntry.objects.filter(
            status=WaitlistStatus.OFFERED, offer_expires_at__lte=now
        ).values_list("session_id", flat=True)
    )
    for session_id in sorted(session_ids):
        waitlist_offer_next(session=Session.objects.get(pk=session_id), now=now)
    return len(session_ids)


def waitlist_leave(*, entry: WaitingListEntry, actor: Any, now: dt.datetime) -> None:
    with transaction.atomic():
        updated = WaitingListEntry.objects.filter(
            pk=entry.pk, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
        ).update(status=WaitlistStatus.LEFT)
        if updated:
            audit_record(obj=entry, action="left waiting list", actor=actor, now=now)
            transaction.on_commit(lambda: _enqueue_waitlist(entry.session_id))


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
            transaction.on_commit(lambda: _enqueue_waitlist(locked.pk))


def active_bookings_q() -> Q:
    return Q(status__in=ACTIVE_STATUSES)
