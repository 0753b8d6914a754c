"""Refunds: recorded first, then sent to the gateway by a background task, each exactly once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from bookings import jobs
from bookings.audit import audit_record
from bookings.models import (
    ZERO,
    Booking,
    InvoiceKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from bookings.money.gateways import GatewayError, get_gateway
from bookings.money.invoices import credit_note_raise
from bookings.outbox import email_queue


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
    jobs.enqueue_on_commit("process_refund", refund.pk)
    return refund


def refund_process(*, refund_id: int, now: dt.datetime) -> Refund:
    """Send one pending refund to the gateway. Safe to run twice: the key makes it once."""

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


def booking_refund(booking: Booking, *, reason: str, actor: Any, now: dt.datetime) -> None:
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
    # Invoice places are credited; so is any price difference invoiced on a card place
    # (bookings.places.membership: a proposed agency approved in a dearer sector).
    if booking.payment_method in (PaymentMethod.INVOICE, PaymentMethod.CARD):
        for line in booking.invoice_lines.filter(invoice__kind=InvoiceKind.INVOICE).select_related(
            "invoice"
        ):
            credit_note_raise(
                invoice=line.invoice, bookings=[booking], reason=reason, now=now, actor=actor
            )
