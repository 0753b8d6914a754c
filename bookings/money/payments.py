"""Card payments: opening a checkout, and what the gateway's answers do to the held places."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from time import monotonic
from typing import Any

from django.db import transaction

from bookings import jobs
from bookings.audit import audit_record
from bookings.capacity import places_taken
from bookings.errors import BookingError
from bookings.locking import in_lock_order, lock_rows, locked_rows_check
from bookings.models import (
    ZERO,
    Booking,
    BookingStatus,
    Order,
    Payment,
    PaymentStatus,
)
from bookings.money.confirmations import confirmation_emails
from bookings.money.gateways import get_gateway
from bookings.money.refunds import refund_create
from bookings.outbox import email_queue, emails_queue
from bookings.states import booking_status_set
from training.models import SessionStatus


def payment_start(*, order: Order, success_url: str, cancel_url: str, now: dt.datetime) -> Payment:
    """Open a checkout for an order's held places (outside any lock: this calls the gateway).

    Refused (``BookingError``) when a hold has run out: its place no longer counts against
    the session, so someone else may have booked it.
    """

    held = list(
        order.bookings.filter(status=BookingStatus.HELD)
        .select_related("session__course")
        .order_by("pk")  # the checkout lists the places in the order they were booked
    )
    if not held:
        raise BookingError("There is nothing waiting for payment on this booking.")
    if any(b.hold_expires_at is not None and b.hold_expires_at <= now for b in held):
        raise BookingError(
            "The time to pay for these places has run out, so they may have gone to someone "
            "else. Book again if places are left."
        )
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
    started = monotonic()
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
        # Stripe wants a checkout open for at least 30 minutes; the hold follows it. ``now``
        # moves on by the time the gateway took to answer.
        holds_lengthen(
            order,
            until=checkout.expires_at,
            now=now + dt.timedelta(seconds=monotonic() - started),
        )
    return payment


def holds_lengthen(order: Order, *, until: dt.datetime, now: dt.datetime) -> int:
    """Hold ``order``'s places that are still held at ``now`` until ``until``; returns how many.

    Under the sessions' locks, as every change to what counts against a session: a booking
    counting places sees each hold either as it was or as it is now. A hold that ran out
    stays run out: its place no longer counted, and may be someone else's by now.
    """
    with transaction.atomic():
        lock_rows(sessions=_order_session_ids(order.pk))
        return order.bookings.filter(status=BookingStatus.HELD, hold_expires_at__gt=now).update(
            hold_expires_at=until
        )


def _order_session_ids(order_id: int) -> set[int]:
    # Read without a lock: a booking never moves to another session, so these stay right.
    return set(Booking.objects.filter(order_id=order_id).values_list("session_id", flat=True))


def payment_succeeded(
    *, payment: Payment, payment_intent_id: str, now: dt.datetime, actor: Any = "stripe"
) -> list[Booking]:
    """The gateway says the order is paid: confirm its held places, refund any already gone.

    Returns the bookings confirmed by this call.
    """
    with transaction.atomic():
        # The payment, then its places' sessions (the global order): nothing may release,
        # cancel or take these places while this decides whether each is still there.
        locked = lock_rows(payments=[payment.pk], sessions=_order_session_ids(payment.order_id))
        payment = locked.payments[payment.pk]
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
        # Read under the session locks, so these are the places as they are now.
        bookings = list(payment.order.bookings.select_related("session").order_by("pk"))
        confirmed, gone = [], []
        for booking in bookings:
            if booking.status == BookingStatus.HELD:
                session = locked.sessions[booking.session_id]
                # The hold may have run out while the bank was deciding: count the others.
                still_held = bool(booking.hold_expires_at and booking.hold_expires_at > now)
                others = places_taken(session.pk, now) - (1 if still_held else 0)
                # A place the administrator booked beyond the capacity (with a reason) keeps
                # that leave while its hold lasts.
                room = others < session.capacity or (
                    still_held and bool(payment.order.capacity_override_reason)
                )
                if session.status == SessionStatus.PUBLISHED and room:
                    if booking_status_set(
                        booking,
                        BookingStatus.CONFIRMED,
                        expected=BookingStatus.HELD,
                        actor=actor,
                        now=now,
                        confirmed_at=now,
                        hold_expires_at=None,
                    ):
                        confirmed.append(booking)
                        continue
                elif booking_status_set(
                    booking,
                    BookingStatus.EXPIRED,
                    expected=BookingStatus.HELD,
                    actor=actor,
                    now=now,
                    cancellation_reason="Place released before payment arrived",
                ):
                    gone.append(booking)
                    continue
                # Changed by someone else after all: go by what it is now.
                booking.refresh_from_db()
            if booking.status in (BookingStatus.EXPIRED, BookingStatus.CANCELLED) and (
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
            emails_queue(confirmation_emails(payment.order, confirmed, now=now))
    return confirmed


def payment_pending(*, payment: Payment, now: dt.datetime) -> None:
    """An asynchronous method (e.g. bank debit) is processing: keep the places held meanwhile."""
    with transaction.atomic():
        # The payment, then its places' sessions: a hold is lengthened only while nothing
        # else can release or count it.
        lock_rows(payments=[payment.pk], sessions=_order_session_ids(payment.order_id))
        updated = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
            status=PaymentStatus.PENDING
        )
        if updated:
            audit_record(obj=payment, action="status created → pending", actor="stripe", now=now)
            # Only the holds still running: one that ran out no longer counted, and its place
            # may be someone else's (``payment_succeeded`` decides it when the money comes).
            payment.order.bookings.filter(
                status=BookingStatus.HELD, hold_expires_at__gt=now
            ).update(hold_expires_at=now + dt.timedelta(days=5))


def payment_failed_or_expired(
    *, payment: Payment, now: dt.datetime, status: str, actor: Any = "stripe"
) -> list[int]:
    """The checkout expired or the payment failed: release the order's held places."""
    with transaction.atomic():
        # The payment (so a success cannot land half-way), then the sessions of the places
        # this releases.
        locked = lock_rows(payments=[payment.pk], sessions=_order_session_ids(payment.order_id))
        payment = locked.payments[payment.pk]
        if payment.status == PaymentStatus.SUCCEEDED:
            return []
        old = payment.status
        if old != status:
            payment.status = status
            payment.save(update_fields=["status"])
            audit_record(obj=payment, action=f"status {old} → {status}", actor=actor, now=now)
        released = held_release(payment.order.bookings.all(), actor=actor, now=now)
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
        # No payment to lock: the sessions alone guard the places being released.
        lock_rows(sessions=_order_session_ids(order.pk))
        return held_release(order.bookings.all(), actor=None, now=now)


def held_release(bookings: Any, *, actor: Any, now: dt.datetime) -> list[int]:
    """Release the held places among ``bookings``; returns the sessions that got places back.

    The caller holds the locks of these places' sessions (``lock_rows``), so the held places
    read here are current; each release is still conditional on the place being held.
    """
    held = list(bookings.filter(status=BookingStatus.HELD).order_by("pk"))
    sessions = set()
    for booking in held:
        if booking_status_set(
            booking,
            BookingStatus.EXPIRED,
            expected=BookingStatus.HELD,
            actor=actor,
            now=now,
            cancellation_reason="Not paid in time",
        ):
            sessions.add(booking.session_id)
    for session_id in sorted(sessions):
        jobs.enqueue_on_commit("offer_waiting_places", session_id)
    return sorted(sessions)


def open_checkouts_expire(
    order: Order, *, payment_ids: Collection[int], actor: Any, now: dt.datetime
) -> None:
    """Close the order's checkouts still waiting for the booker, among ``payment_ids`` (the
    payments the caller has locked: one opened since is left to expire at the gateway, and a
    payment for it that still arrives is refunded by ``payment_succeeded``)."""
    for payment in order.payments.filter(pk__in=payment_ids, status=PaymentStatus.CREATED):
        # Conditional, like every change of status: a success that got in first stands.
        if Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
            status=PaymentStatus.EXPIRED
        ):
            payment.status = PaymentStatus.EXPIRED
            audit_record(obj=payment, action="status created → expired", actor=actor, now=now)
            # The default binds this loop's payment (mypy cannot infer a lambda's default).
            transaction.on_commit(lambda p=payment: get_gateway().expire_checkout(payment=p))  # type: ignore[misc]


def expired_hold_orders(*, now: dt.datetime) -> list[int]:
    """The orders with card holds whose time ran out and whose payment is not processing."""
    return list(
        Order.objects.filter(
            bookings__status=BookingStatus.HELD, bookings__hold_expires_at__lte=now
        )
        .exclude(payments__status=PaymentStatus.PENDING)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def order_holds_release(*, order_id: int, now: dt.datetime) -> int:
    """Release one order's expired holds (in a transaction of its own); returns how many
    sessions got places back."""
    return in_lock_order(lambda: _order_holds_release_locked(order_id=order_id, now=now))


def _order_holds_release_locked(*, order_id: int, now: dt.datetime) -> int:
    order = Order.objects.get(pk=order_id)
    payment_ids = set(order.payments.values_list("pk", flat=True))
    # The order's payments, then its sessions (the global order): a late "paid" webhook
    # either lands before this (and the place is confirmed) or after (and is refunded).
    locked = lock_rows(payments=payment_ids, sessions=_order_session_ids(order_id))
    locked_rows_check(locked.payments, order.payments.values_list("pk", flat=True))
    # Read again under the locks: a payment may have started processing meanwhile.
    if any(p.status == PaymentStatus.PENDING for p in locked.payments.values()):
        return 0
    released = held_release(order.bookings.filter(hold_expires_at__lte=now), actor=None, now=now)
    open_checkouts_expire(order, payment_ids=locked.payments.keys(), actor=None, now=now)
    return len(released)


def holds_release_expired(*, now: dt.datetime) -> int:
    """Release card holds whose time ran out and whose payment is not being processed."""
    return sum(
        order_holds_release(order_id=order_id, now=now) for order_id in expired_hold_orders(now=now)
    )
