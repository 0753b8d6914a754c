"""The gateway's webhook: signature checked on the raw body, each event processed once."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from bookings.models import Payment, PaymentStatus, WebhookEvent
from bookings.money.payments import payment_failed_or_expired, payment_pending, payment_succeeded


class WebhookRejected(Exception):
    """Bad signature or payload: answer 400 and change nothing."""


HANDLED_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}


def webhook_handle(*, payload: bytes, signature: str, now: dt.datetime) -> str:
    """Verify and process one webhook delivery; returns what happened, for the log."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise WebhookRejected("No webhook secret is configured.")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError) as error:
        raise WebhookRejected(str(error)) from error
    event_type = event["type"]
    if event_type not in HANDLED_EVENTS:
        return f"ignored {event_type}"
    # stripe's objects are not dicts (no .get()): process the verified body as plain JSON.
    body = json.loads(payload)
    checkout = body["data"]["object"]
    # One transaction for the record and its effects: if processing fails, neither is kept
    # and Stripe's retry processes the event afresh.
    with transaction.atomic():
        try:
            # The unique event id makes processing exactly-once: a repeat delivery stops here.
            with transaction.atomic():
                record = WebhookEvent.objects.create(
                    event_id=event["id"],
                    event_type=event_type,
                    payload=body,
                    received_at=now,
                )
        except IntegrityError:
            return f"duplicate {event['id']}"
        outcome = _process_checkout_event(event_type, checkout, now=now)
        WebhookEvent.objects.filter(pk=record.pk).update(processed_at=now, outcome=outcome)
    return outcome


def _process_checkout_event(event_type: str, checkout: Any, *, now: dt.datetime) -> str:
    payment = (
        Payment.objects.filter(checkout_session_id=checkout["id"]).select_related("order").first()
    )
    if payment is None:
        return "no payment for this checkout session"
    if event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if checkout.get("payment_status") in ("paid", "no_payment_required"):
            confirmed = payment_succeeded(
                payment=payment, payment_intent_id=checkout.get("payment_intent") or "", now=now
            )
            return f"paid; {len(confirmed)} place(s) confirmed"
        payment_pending(payment=payment, now=now)
        return "payment processing"
    if event_type == "checkout.session.async_payment_failed":
        payment_failed_or_expired(payment=payment, now=now, status=PaymentStatus.FAILED)
        return "payment failed; places released"
    payment_failed_or_expired(payment=payment, now=now, status=PaymentStatus.EXPIRED)
    return "checkout expired; places released"
