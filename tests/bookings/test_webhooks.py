"""Stripe's webhooks, as real signed payloads POSTed to the real endpoint.

The signature is checked by the real ``stripe`` library on the raw body, so each payload here is
signed exactly as Stripe signs it. The endpoint reads the real clock, so the stories run on it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from bookings.models import (
    Booking,
    BookingStatus,
    Order,
    OutgoingEmail,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from bookings.money.gateways import sign_payload
from bookings.money.payments import holds_release_expired, payment_start
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import make_session
from training.models import Agency, Course, Session, Venue

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_webhooks_0123456789"
URL = reverse("bookings:stripe_webhook")


@pytest.fixture(autouse=True)
def webhook_secret(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=timezone.now() + dt.timedelta(days=30), capacity=2)


@pytest.fixture
def order(session: Session, school: Agency, agency_booker: Any) -> Order:
    """Two colleagues held on a card booking made by their designated lead."""
    return booking_create(
        session=session,
        attendees=[
            AttendeeSpec(name="Colleague One", email="one@example.org"),
            AttendeeSpec(name="Colleague Two", email="two@example.org"),
        ],
        agency=school,
        booked_by=agency_booker,
        payment_method=PaymentMethod.CARD,
        now=timezone.now(),
    )


@pytest.fixture
def payment(order: Order) -> Payment:
    return payment_start(
        order=order, success_url="/paid/", cancel_url="/cancelled/", now=timezone.now()
    )


def checkout_payload(event_type: str, payment: Payment, *, payment_status: str = "paid") -> bytes:
    """A Stripe event about the payment's Checkout Session, serialised as Stripe sends it."""
    paid = payment_status == "paid"
    event = {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2025-09-30.clover",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": payment.checkout_session_id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "expired" if event_type.endswith("expired") else "complete",
                "payment_status": payment_status,
                "payment_intent": f"pi_{payment.pk}_test" if paid else None,
                "client_reference_id": payment.order.reference,
                "metadata": {
                    "booking_reference": payment.order.reference,
                    "payment_id": str(payment.pk),
                },
                "amount_total": int(payment.amount * 100),
                "currency": "gbp",
            }
        },
    }
    return json.dumps(event).encode()


def deliver(
    client: Any, payload: bytes, *, secret: str = SECRET, timestamp: int | None = None
) -> Any:
    return client.post(
        URL,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(payload, secret, timestamp),
    )


def statuses(order: Order) -> list[str]:
    return [b.status for b in order.bookings.order_by("pk")]


def outbox(kind: str) -> list[str]:
    return sorted(OutgoingEmail.objects.filter(kind=kind).values_list("to", flat=True))


def test_a_paid_completed_checkout_confirms_the_held_places(
    client: Any, order: Order, payment: Payment
) -> None:
    assert statuses(order) == [BookingStatus.HELD, BookingStatus.HELD]

    response = deliver(client, checkout_payload("checkout.session.completed", payment))

    assert response.status_code == 200
    assert response.content == b"paid; 2 place(s) confirmed"
    assert statuses(order) == [BookingStatus.CONFIRMED, BookingStatus.CONFIRMED]
    assert all(b.hold_expires_at is None for b in order.bookings.all())
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.payment_intent_id == f"pi_{payment.pk}_test"
    event = WebhookEvent.objects.get()
    assert (event.event_type, event.outcome) == (
        "checkout.session.completed",
        "paid; 2 place(s) confirmed",
    )
    assert event.processed_at is not None
    assert outbox("booking_confirmed") == ["one@example.org", "two@example.org"]
    assert outbox("order_confirmed") == ["dsl@example.org"]


def sent(subject_start: str) -> list[str]:
    """Recipients of the mail actually sent whose subject starts so."""
    return sorted(
        address
        for message in mail.outbox
        if message.subject.startswith(subject_start)
        for address in message.to
    )


def test_the_same_event_delivered_twice_is_processed_once(
    client: Any, order: Order, payment: Payment, django_capture_on_commit_callbacks: Any
) -> None:
    payload = checkout_payload("checkout.session.completed", payment)
    # The mail tasks run after each commit, as they do after a real request.
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(client, payload)
    # Stripe retries with the same event id (and a fresh signature).
    with django_capture_on_commit_callbacks(execute=True):
        again = deliver(client, payload, timestamp=int(time.time()) + 1)

    assert (first.status_code, again.status_code) == (200, 200)
    event_id = json.loads(payload)["id"]
    assert again.content == f"duplicate {event_id}".encode()
    assert WebhookEvent.objects.count() == 1
    assert outbox("booking_confirmed") == ["one@example.org", "two@example.org"]
    assert outbox("order_confirmed") == ["dsl@example.org"]
    assert statuses(order) == [BookingStatus.CONFIRMED, BookingStatus.CONFIRMED]
    assert sent("Booking confirmed:") == ["one@example.org", "two@example.org"]
    assert sent(f"Booking {order.reference}:") == ["dsl@example.org"]


def test_a_second_event_saying_the_same_thing_confirms_nothing_more(
    client: Any, order: Order, payment: Payment
) -> None:
    deliver(client, checkout_payload("checkout.session.completed", payment))
    response = deliver(
        client, checkout_payload("checkout.session.async_payment_succeeded", payment)
    )
    assert response.status_code == 200
    assert response.content == b"paid; 0 place(s) confirmed"
    assert WebhookEvent.objects.count() == 2
    assert outbox("booking_confirmed") == ["one@example.org", "two@example.org"]
    assert not Refund.objects.exists()


def test_expired_before_completed_releases_the_places_then_refunds_the_late_payment(
    client: Any, order: Order, payment: Payment, django_capture_on_commit_callbacks: Any
) -> None:
    expired = deliver(
        client, checkout_payload("checkout.session.expired", payment, payment_status="unpaid")
    )
    assert expired.status_code == 200
    assert statuses(order) == [BookingStatus.EXPIRED, BookingStatus.EXPIRED]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED

    # Stripe's events can arrive out of order: the payment went through after all.
    with django_capture_on_commit_callbacks(execute=True):
        completed = deliver(client, checkout_payload("checkout.session.completed", payment))

    assert completed.status_code == 200
    assert completed.content == b"paid; 0 place(s) confirmed"
    assert statuses(order) == [BookingStatus.EXPIRED, BookingStatus.EXPIRED]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    refunds = list(Refund.objects.order_by("pk"))
    assert [r.amount for r in refunds] == [Decimal("65.00"), Decimal("65.00")]
    assert {r.booking for r in refunds} == set(order.bookings.all())
    # The refund task ran after commit, through the development gateway.
    assert {r.status for r in refunds} == {RefundStatus.SUCCEEDED}
    assert outbox("payment_refunded_place_gone") == [
        "dsl@example.org",
        "dsl@example.org",
        "one@example.org",
        "two@example.org",
    ]
    assert not OutgoingEmail.objects.filter(kind="booking_confirmed").exists()
    assert WebhookEvent.objects.count() == 2
    # The booker and each attendee were told, by mail actually sent.
    assert sent("Refunded in full:") == [
        "dsl@example.org",
        "dsl@example.org",
        "one@example.org",
        "two@example.org",
    ]
    assert not sent("Booking confirmed:")


def test_a_stale_signature_is_refused_and_changes_nothing(
    client: Any, order: Order, payment: Payment
) -> None:
    payload = checkout_payload("checkout.session.completed", payment)
    # Stripe's library tolerates 300 seconds between signing and receipt.
    response = deliver(client, payload, timestamp=int(time.time()) - 301)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert statuses(order) == [BookingStatus.HELD, BookingStatus.HELD]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED
    # The same payload freshly signed is accepted: it was only the age.
    assert deliver(client, payload).status_code == 200


def test_a_payload_signed_with_the_wrong_secret_is_refused_and_changes_nothing(
    client: Any, order: Order, payment: Payment
) -> None:
    payload = checkout_payload("checkout.session.completed", payment)
    response = deliver(client, payload, secret="whsec_someone_else")

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert statuses(order) == [BookingStatus.HELD, BookingStatus.HELD]
    assert not OutgoingEmail.objects.filter(kind="booking_confirmed").exists()


def test_a_tampered_or_unsigned_payload_is_refused(
    client: Any, order: Order, payment: Payment
) -> None:
    payload = checkout_payload("checkout.session.completed", payment)
    signature = sign_payload(payload, SECRET)
    tampered = payload.replace(b'"gbp"', b'"usd"')
    assert (
        client.post(
            URL, data=tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        ).status_code
        == 400
    )
    assert client.post(URL, data=payload, content_type="application/json").status_code == 400
    assert not WebhookEvent.objects.exists()
    assert statuses(order) == [BookingStatus.HELD, BookingStatus.HELD]


def test_the_endpoint_only_accepts_post(client: Any) -> None:
    assert client.get(URL).status_code == 405


def test_an_event_of_no_interest_gets_200_and_is_not_stored(
    client: Any, order: Order, payment: Payment
) -> None:
    event = {
        "id": "evt_customer_created",
        "object": "event",
        "type": "customer.created",
        "created": int(time.time()),
        "data": {"object": {"id": "cus_123", "object": "customer"}},
    }
    response = deliver(client, json.dumps(event).encode())

    assert response.status_code == 200
    assert not WebhookEvent.objects.exists()
    assert statuses(order) == [BookingStatus.HELD, BookingStatus.HELD]


def test_an_event_for_a_checkout_we_do_not_know_is_acknowledged(client: Any) -> None:
    unknown = Payment(
        pk=999_999,
        checkout_session_id="cs_test_not_ours",
        amount=Decimal("10.00"),
        order=Order(reference="TT-NOTOURS1"),
    )
    response = deliver(client, checkout_payload("checkout.session.completed", unknown))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == "no payment for this checkout session"


def test_a_completed_but_unpaid_checkout_keeps_the_hold_until_the_async_payment_succeeds(
    client: Any, order: Order, payment: Payment
) -> None:
    original_hold = order.bookings.first().hold_expires_at
    response = deliver(
        client, checkout_payload("checkout.session.completed", payment, payment_status="unpaid")
    )

    assert response.status_code == 200
    assert response.content == b"payment processing"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert statuses(order) == [BookingStatus.HELD, BookingStatus.HELD]
    extended = order.bookings.first().hold_expires_at
    assert extended > original_hold + dt.timedelta(days=1)
    # The hold-expiry task leaves a processing payment alone, even past the original hold.
    assert holds_release_expired(now=original_hold + dt.timedelta(minutes=1)) == 0
    assert statuses(order) == [BookingStatus.HELD, BookingStatus.HELD]
    assert not OutgoingEmail.objects.filter(kind="booking_confirmed").exists()

    succeeded = deliver(
        client, checkout_payload("checkout.session.async_payment_succeeded", payment)
    )
    assert succeeded.status_code == 200
    assert succeeded.content == b"paid; 2 place(s) confirmed"
    assert statuses(order) == [BookingStatus.CONFIRMED, BookingStatus.CONFIRMED]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert outbox("booking_confirmed") == ["one@example.org", "two@example.org"]


def test_a_failed_async_payment_releases_the_places(
    client: Any, order: Order, payment: Payment, session: Session
) -> None:
    deliver(
        client, checkout_payload("checkout.session.completed", payment, payment_status="unpaid")
    )
    response = deliver(
        client,
        checkout_payload("checkout.session.async_payment_failed", payment, payment_status="unpaid"),
    )

    assert response.status_code == 200
    assert response.content == b"payment failed; places released"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert statuses(order) == [BookingStatus.EXPIRED, BookingStatus.EXPIRED]
    assert not Booking.objects.holding_capacity(timezone.now()).filter(session=session).exists()
    assert not Refund.objects.exists()
    assert WebhookEvent.objects.count() == 2
