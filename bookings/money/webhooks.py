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
    body = _verified_body(payload, signature, secret)
    event_id, event_type = body.get("id"), body.get("type")
    if not _is_text(event_id) or not event_id or not isinstance(event_type, str):
        raise WebhookRejected("The event has no id or no type.")
    if event_type not in HANDLED_EVENTS:
        return f"ignored {event_type[:100]}"
    checkout = _checkout_session(body)
    # One transaction for the record and its effects: if processing fails, neither is kept
    # and Stripe's retry processes the event afresh.
    with transaction.atomic():
        try:
            # The unique event id makes processing exactly-once: a repeat delivery stops here.
            with transaction.atomic():
                record = WebhookEvent.objects.create(
                    event_id=event_id,
                    event_type=event_type,
                    payload=body,
                    received_at=now,
                )
        except IntegrityError:
            return f"duplicate {event_id}"
        outcome = _process_checkout_event(event_type, checkout, now=now)
        WebhookEvent.objects.filter(pk=record.pk).update(processed_at=now, outcome=outcome)
    return outcome


def _verified_body(payload: bytes, signature: str, secret: str) -> dict[str, Any]:
    """The body as JSON, once its signature is proved to be Stripe's.

    The signature proves who sent the body, not that it has the shape the code reads: a body
    that is not a JSON object, or holds a NUL (which PostgreSQL cannot store), is refused
    here like a bad signature, so Stripe is answered 400 and the reason is logged.
    """
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature, secret, stripe.Webhook.DEFAULT_TOLERANCE
        )
    except (ValueError, stripe.SignatureVerificationError) as error:  # ValueError: not UTF-8
        raise WebhookRejected(f"Bad signature: {error}") from error
    try:
        body = json.loads(payload)
    except ValueError as error:
        raise WebhookRejected(f"The body is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise WebhookRejected(f"The body is JSON but not an object: {type(body).__name__}.")
    if _holds_nul(body):
        raise WebhookRejected("The body holds a NUL character.")
    return body


def _checkout_session(body: dict[str, Any]) -> dict[str, Any]:
    """The event's Checkout Session, with the fields processing reads of the right kind."""
    data = body.get("data")
    checkout = data.get("object") if isinstance(data, dict) else None
    if not isinstance(checkout, dict):
        raise WebhookRejected("The event has no data.object.")
    if not _is_text(checkout.get("id")) or not checkout["id"]:
        raise WebhookRejected("The event's Checkout Session has no id.")
    for name in ("payment_status", "payment_intent"):
        if checkout.get(name) is not None and not _is_text(checkout[name]):
            raise WebhookRejected(f"The event's Checkout Session has a bad {name}.")
    return checkout


def _is_text(value: Any) -> bool:
    """A string that fits the columns it is stored in (255 characters)."""
    return isinstance(value, str) and len(value) <= 255


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


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
