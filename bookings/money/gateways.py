"""Payment gateways: Stripe Checkout, and a development stand-in that signs webhooks as Stripe does.

Gateways only talk to the payment provider; they import no service.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import stripe
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, Payment, Refund

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParams

logger = logging.getLogger(__name__)


STRIPE_MINIMUM_CHECKOUT = dt.timedelta(minutes=30, seconds=60)


class GatewayError(Exception):
    """The gateway refused or could not be reached; the message is for the administrator."""


@dataclass(frozen=True)
class CheckoutResult:
    session_id: str
    url: str
    expires_at: dt.datetime


class PaymentGateway(Protocol):
    name: str

    def create_checkout(
        self,
        *,
        payment: Payment,
        bookings: list[Booking],
        success_url: str,
        cancel_url: str,
        expires_at: dt.datetime,
        now: dt.datetime,
    ) -> CheckoutResult: ...

    def refund(self, *, refund: Refund) -> str: ...

    def expire_checkout(self, *, payment: Payment) -> None: ...


def to_pence(amount: Decimal) -> int:
    """Pounds to pence, only at the gateway boundary."""
    pence = amount * 100
    if pence != pence.to_integral_value():
        raise ValueError(f"£{amount} is not a whole number of pence")
    return int(pence)


def _line_name(booking: Booking) -> str:
    when = timezone.localtime(booking.session.starts_at).strftime("%-d %b %Y")
    return f"{booking.session.course.title} ({when}) – {booking.attendee_name}"


class StripeGateway:
    name = "stripe"

    def __init__(self) -> None:
        if not settings.STRIPE_SECRET_KEY:
            raise GatewayError("STRIPE_SECRET_KEY is not set.")
        self.client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {},
            max_network_retries=2,
        )

    def create_checkout(
        self,
        *,
        payment: Payment,
        bookings: list[Booking],
        success_url: str,
        cancel_url: str,
        expires_at: dt.datetime,
        now: dt.datetime,
    ) -> CheckoutResult:
        # Stripe keeps a checkout open for at least 30 minutes; the hold is stretched to match.
        expires_at = max(expires_at, now + STRIPE_MINIMUM_CHECKOUT)
        order = payment.order
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "gbp",
                        "unit_amount": to_pence(booking.price),
                        "product_data": {"name": _line_name(booking)},
                    },
                }
                for booking in bookings
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "expires_at": int(expires_at.timestamp()),
            "client_reference_id": order.reference,
            "metadata": {"booking_reference": order.reference, "payment_id": str(payment.pk)},
            "payment_intent_data": {
                "metadata": {"booking_reference": order.reference, "payment_id": str(payment.pk)}
            },
        }
        booker_email = getattr(order.booked_by, "email", "")
        if booker_email:
            params["customer_email"] = booker_email
        try:
            session = self.client.v1.checkout.sessions.create(
                params=params,
                options={"idempotency_key": f"checkout-{order.reference}-payment-{payment.pk}"},
            )
        except stripe.StripeError as error:
            raise GatewayError(
                f"Stripe refused the checkout: {error.user_message or error}"
            ) from error
        return CheckoutResult(session_id=session.id, url=session.url or "", expires_at=expires_at)

    def refund(self, *, refund: Refund) -> str:
        payment = refund.payment
        if not payment.payment_intent_id:
            raise GatewayError(f"Payment {payment.pk} has no payment intent to refund.")
        try:
            result = self.client.v1.refunds.create(
                params={
                    "payment_intent": payment.payment_intent_id,
                    "amount": to_pence(refund.amount),
                    "metadata": {
                        "refund_id": str(refund.pk),
                        "booking_reference": payment.order.reference,
                    },
                },
                # The order reference keeps keys unique across databases sharing one Stripe
                # account (a staging restore must not replay production's refund-1).
                options={"idempotency_key": f"refund-{payment.order.reference}-{refund.pk}"},
            )
        except stripe.StripeError as error:
            raise GatewayError(
                f"Stripe refused the refund: {error.user_message or error}"
            ) from error
        return result.id

    def expire_checkout(self, *, payment: Payment) -> None:
        if not payment.checkout_session_id:
            return
        try:
            self.client.v1.checkout.sessions.expire(payment.checkout_session_id)
        except stripe.StripeError as error:
            # Already completed or expired at Stripe: the webhook tells us which.
            logger.info("Could not expire checkout %s: %s", payment.checkout_session_id, error)


class DevelopmentGateway:
    """Offline stand-in for Stripe: a local page with Pay and Cancel buttons."""

    name = "development"

    def create_checkout(
        self,
        *,
        payment: Payment,
        bookings: list[Booking],
        success_url: str,
        cancel_url: str,
        expires_at: dt.datetime,
        now: dt.datetime,
    ) -> CheckoutResult:
        session_id = f"cs_dev_{payment.pk}_{secrets.token_hex(8)}"
        url = reverse("bookings:dev_checkout", args=[session_id])
        return CheckoutResult(session_id=session_id, url=url, expires_at=expires_at)

    def refund(self, *, refund: Refund) -> str:
        return f"re_dev_{refund.pk}"

    def expire_checkout(self, *, payment: Payment) -> None:
        return None


def get_gateway() -> PaymentGateway:
    if settings.PAYMENT_GATEWAY == "stripe":
        return StripeGateway()
    return DevelopmentGateway()


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``payload``, computed exactly as Stripe does."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def checkout_event(event_type: str, payment: Payment, *, paid: bool) -> dict[str, Any]:
    """An event in Stripe's shape, for the development gateway and tests."""
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": payment.checkout_session_id,
                "object": "checkout.session",
                "payment_status": "paid" if paid else "unpaid",
                "status": "complete" if event_type.endswith("completed") else "expired",
                "payment_intent": f"pi_dev_{payment.pk}" if paid else None,
                "client_reference_id": payment.order.reference,
                "metadata": {
                    "booking_reference": payment.order.reference,
                    "payment_id": str(payment.pk),
                },
                "amount_total": to_pence(payment.amount),
                "currency": "gbp",
            }
        },
    }
