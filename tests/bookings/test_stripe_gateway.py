"""The Stripe gateway's calls, made through the real ``stripe`` library over HTTP.

Refunds go to a local ``localstripe`` server (a stateful fake Stripe) started by these tests on
127.0.0.1. Checkout Session creation is checked at the HTTP boundary: a tiny recording server
answers as Stripe would, and the test reads the method, path, form fields and headers sent.
"""

from __future__ import annotations

import datetime as dt
import json
import select
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import stripe
from django.test import override_settings
from django.utils import timezone

from bookings.models import (
    BookingStatus,
    Order,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from bookings.money.gateways import STRIPE_MINIMUM_CHECKOUT, GatewayError
from bookings.money.payments import payment_start, payment_succeeded
from bookings.money.refunds import refund_create, refund_process
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.changes import booking_cancel
from tests.conftest import make_session
from training.models import Agency, Course, Session, Venue

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk_test_local_0123456789"
HOST = "127.0.0.1"

# Runs localstripe's aiohttp app on 127.0.0.1 only (its own CLI binds every interface), keeps its
# state in memory (it would otherwise pickle it to /tmp), records each API request's method,
# path and Idempotency-Key, and serves that record at /_config/requests (a path localstripe
# exempts from authentication). Prints the port it bound, then serves until terminated.
LOCALSTRIPE = r"""
import asyncio, json
from aiohttp import web
from localstripe import server
from localstripe.resources import store

type(store).dump_to_disk = lambda self: None
requests = []

@web.middleware
async def record(request, handler):
    if not request.path.startswith("/_config/"):
        requests.append({"method": request.method, "path": request.path,
                         "idempotency_key": request.headers.get("Idempotency-Key"),
                         "body": (await request.read()).decode()})
    return await handler(request)

async def recorded(request):
    return web.json_response(requests)

server.app.middlewares.insert(0, record)
server.app.router.add_get("/_config/requests", recorded)

async def main():
    runner = web.AppRunner(server.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def localstripe_url() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", LOCALSTRIPE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline().strip() if ready else ""  # type: ignore[union-attr]
        if not line.isdigit():
            process.kill()
            _, stderr = process.communicate(timeout=10)
            pytest.fail(f"localstripe did not start: {line!r} {stderr}")
        yield f"http://{HOST}:{line}"
    finally:
        process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def localstripe_requests(url: str) -> list[dict[str, Any]]:
    """Every API request localstripe received since it started, oldest first."""
    with urllib.request.urlopen(f"{url}/_config/requests", timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=timezone.now() + dt.timedelta(days=40))


def card_order(session: Session, agency: Agency, booker: Any, *emails: str) -> Order:
    return booking_create(
        session=session,
        attendees=[AttendeeSpec(name=e.split("@")[0].title(), email=e) for e in emails],
        agency=agency,
        booked_by=booker,
        payment_method=PaymentMethod.CARD,
        now=timezone.now(),
    )


# --- refunds against localstripe --------------------------------------------------------------


def test_a_cancellation_refund_is_made_through_stripe_with_an_idempotency_key(
    localstripe_url: str,
    session: Session,
    school: Agency,
    agency_booker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    stripe_client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe_url})
    # The booker paid £130 for two places on Stripe's side...
    intent = stripe_client.v1.payment_intents.create(
        params={
            "amount": 13000,
            "currency": "gbp",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    assert intent.status == "succeeded"
    # ...and the webhook recorded it here.
    order = card_order(session, school, agency_booker, "one@example.org", "two@example.org")
    payment = Payment.objects.create(
        order=order, gateway="stripe", amount=Decimal("130.00"), checkout_session_id="cs_test_paid"
    )
    payment_succeeded(payment=payment, payment_intent_id=intent.id, now=timezone.now())
    booking = order.bookings.order_by("pk").first()
    assert booking is not None and booking.status == BookingStatus.CONFIRMED

    earlier = len(localstripe_requests(localstripe_url))
    with override_settings(
        PAYMENT_GATEWAY="stripe", STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_API_BASE=localstripe_url
    ):
        # The refund task runs after commit and calls refund_process.
        with django_capture_on_commit_callbacks(execute=True):
            booking_cancel(booking=booking, actor=agency_booker, now=timezone.now())

    refund = Refund.objects.get()
    assert refund.status == RefundStatus.SUCCEEDED, refund.error
    assert refund.amount == Decimal("65.00")
    assert refund.gateway_refund_id.startswith("re_")
    remote = stripe_client.v1.refunds.retrieve(refund.gateway_refund_id)
    assert (remote.amount, remote.currency, remote.payment_intent) == (6500, "gbp", intent.id)
    assert remote.metadata["refund_id"] == str(refund.pk)
    assert remote.metadata["booking_reference"] == order.reference

    sent = [
        r
        for r in localstripe_requests(localstripe_url)[earlier:]
        if r["path"] == "/v1/refunds" and r["method"] == "POST"
    ]
    assert [r["idempotency_key"] for r in sent] == [
        f"refund-{refund.payment.order.reference}-{refund.pk}"
    ]
    form = parse_qs(sent[0]["body"])
    assert form["payment_intent"] == [intent.id]
    assert form["amount"] == ["6500"]


def test_refund_process_with_the_stripe_gateway_directly(
    localstripe_url: str, session: Session, school: Agency, agency_booker: Any
) -> None:
    stripe_client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe_url})
    intent = stripe_client.v1.payment_intents.create(
        params={
            "amount": 6500,
            "currency": "gbp",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    order = card_order(session, school, agency_booker, "one@example.org")
    payment = Payment.objects.create(
        order=order,
        gateway="stripe",
        amount=Decimal("65.00"),
        status=PaymentStatus.SUCCEEDED,
        payment_intent_id=intent.id,
    )
    refund = refund_create(
        payment=payment,
        booking=order.bookings.get(),
        amount=Decimal("65.00"),
        reason="Test",
        actor=agency_booker,
        now=timezone.now(),
    )
    assert refund is not None
    earlier = len(localstripe_requests(localstripe_url))

    with override_settings(
        PAYMENT_GATEWAY="stripe", STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_API_BASE=localstripe_url
    ):
        processed = refund_process(refund_id=refund.pk, now=timezone.now())
        # Run again (a retried task): nothing more is sent.
        refund_process(refund_id=refund.pk, now=timezone.now())

    assert processed.status == RefundStatus.SUCCEEDED
    remote = stripe_client.v1.refunds.retrieve(processed.gateway_refund_id)
    assert remote.status == "succeeded" and remote.amount == 6500
    keys = [
        r["idempotency_key"]
        for r in localstripe_requests(localstripe_url)[earlier:]
        if r["path"] == "/v1/refunds" and r["method"] == "POST"
    ]
    assert keys == [f"refund-{refund.payment.order.reference}-{refund.pk}"]


def test_a_refund_stripe_refuses_stays_pending_with_the_reason(
    localstripe_url: str, session: Session, school: Agency, agency_booker: Any
) -> None:
    order = card_order(session, school, agency_booker, "one@example.org")
    payment = Payment.objects.create(
        order=order,
        gateway="stripe",
        amount=Decimal("65.00"),
        status=PaymentStatus.SUCCEEDED,
        payment_intent_id="pi_unknown_to_stripe",
    )
    refund = refund_create(
        payment=payment,
        booking=None,
        amount=Decimal("65.00"),
        reason="Test",
        actor=None,
        now=timezone.now(),
    )
    assert refund is not None

    with override_settings(
        PAYMENT_GATEWAY="stripe", STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_API_BASE=localstripe_url
    ):
        processed = refund_process(refund_id=refund.pk, now=timezone.now())

    assert processed.status == RefundStatus.PENDING
    assert processed.gateway_refund_id == ""
    assert "Stripe refused the refund" in processed.error


# --- Checkout Session creation at the HTTP boundary -------------------------------------------


class RecordingStripe(ThreadingHTTPServer):
    """Answers POST /v1/checkout/sessions as Stripe does, and keeps what it was sent."""

    def __init__(self) -> None:
        super().__init__((HOST, 0), RecordingHandler)
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.answer: dict[str, Any] = {
            "id": "cs_test_a1b2c3",
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "url": "https://checkout.stripe.com/c/pay/cs_test_a1b2c3",
        }

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"


class RecordingHandler(BaseHTTPRequestHandler):
    server: RecordingStripe

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.server.requests.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers),
                "form": parse_qs(body),
            }
        )
        answer = json.dumps(self.server.answer).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.send_header("Request-Id", "req_test")
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_stripe() -> Iterator[RecordingStripe]:
    server = RecordingStripe()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with override_settings(
            PAYMENT_GATEWAY="stripe", STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_API_BASE=server.url
        ):
            yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_checkout_session_is_created_with_the_places_in_pence_and_an_idempotency_key(
    fake_stripe: RecordingStripe,
    session: Session,
    school: Agency,
    agency_booker: Any,
    settings: Any,
) -> None:
    settings.BOOKING_HOLD_MINUTES = 45
    now = timezone.now().replace(microsecond=0)
    order = booking_create(
        session=session,
        attendees=[
            AttendeeSpec(name="One", email="one@example.org"),
            AttendeeSpec(name="Two", email="two@example.org"),
        ],
        agency=school,
        booked_by=agency_booker,
        payment_method=PaymentMethod.CARD,
        now=now,
    )

    payment = payment_start(
        order=order,
        success_url="http://127.0.0.1/paid/",
        cancel_url="http://127.0.0.1/cancelled/",
        now=now,
    )

    (request,) = fake_stripe.requests
    assert (request["method"], request["path"]) == ("POST", "/v1/checkout/sessions")
    headers = request["headers"]
    assert headers["Idempotency-Key"] == f"checkout-{payment.order.reference}-payment-{payment.pk}"
    assert headers["Authorization"] == f"Bearer {SECRET_KEY}"
    form = request["form"]
    assert form["mode"] == ["payment"]
    for line in (0, 1):
        assert form[f"line_items[{line}][price_data][unit_amount]"] == ["6500"]
        assert form[f"line_items[{line}][price_data][currency]"] == ["gbp"]
        assert form[f"line_items[{line}][quantity]"] == ["1"]
    assert "line_items[2][quantity]" not in form
    assert "One" in form["line_items[0][price_data][product_data][name]"][0]
    hold_until = now + dt.timedelta(minutes=45)
    assert form["expires_at"] == [str(int(hold_until.timestamp()))]
    assert form["metadata[booking_reference]"] == [order.reference]
    assert form["metadata[payment_id]"] == [str(payment.pk)]
    assert form["client_reference_id"] == [order.reference]
    assert form["customer_email"] == ["dsl@example.org"]
    assert form["success_url"] == ["http://127.0.0.1/paid/"]
    assert form["cancel_url"] == ["http://127.0.0.1/cancelled/"]

    payment.refresh_from_db()
    assert payment.gateway == "stripe"
    assert payment.amount == Decimal("130.00")
    assert payment.checkout_session_id == "cs_test_a1b2c3"
    assert payment.checkout_url == "https://checkout.stripe.com/c/pay/cs_test_a1b2c3"
    # A hold longer than Stripe's minimum is left as it was.
    assert {b.hold_expires_at for b in order.bookings.all()} == {hold_until}


def test_a_hold_shorter_than_stripes_minimum_is_stretched_to_match_the_checkout(
    fake_stripe: RecordingStripe,
    session: Session,
    school: Agency,
    agency_booker: Any,
    settings: Any,
) -> None:
    settings.BOOKING_HOLD_MINUTES = 10
    now = timezone.now().replace(microsecond=0)
    order = card_order(session, school, agency_booker, "one@example.org")
    order.bookings.update(hold_expires_at=now + dt.timedelta(minutes=10))

    payment_start(
        order=order,
        success_url="http://127.0.0.1/paid/",
        cancel_url="http://127.0.0.1/cancelled/",
        now=now,
    )

    stretched = now + STRIPE_MINIMUM_CHECKOUT
    assert STRIPE_MINIMUM_CHECKOUT >= dt.timedelta(minutes=30)
    (request,) = fake_stripe.requests
    assert request["form"]["expires_at"] == [str(int(stretched.timestamp()))]
    assert order.bookings.get().hold_expires_at == stretched


def test_a_checkout_stripe_refuses_is_reported_as_a_gateway_error(
    fake_stripe: RecordingStripe, session: Session, school: Agency, agency_booker: Any
) -> None:
    fake_stripe.status = 400
    fake_stripe.answer = {
        "error": {"type": "invalid_request_error", "message": "Currency gbp is not enabled."}
    }
    order = card_order(session, school, agency_booker, "one@example.org")

    with pytest.raises(GatewayError, match="Stripe refused the checkout"):
        payment_start(
            order=order,
            success_url="http://127.0.0.1/paid/",
            cancel_url="http://127.0.0.1/cancelled/",
            now=timezone.now(),
        )
    assert len(fake_stripe.requests) == 1, "a refusal is not retried"
    assert order.bookings.get().status == BookingStatus.HELD
