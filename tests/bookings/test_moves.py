"""Moving a place to another date of the same course: the payment stays with the place, a
price difference is invoiced or given back, a full date or a stranger is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.errors import BookingError, SessionFull
from bookings.models import (
    AuditEntry,
    Booking,
    InvoiceKind,
    OutgoingEmail,
    PaymentMethod,
    Refund,
)
from bookings.money.payments import payment_start, payment_succeeded
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.moves import booking_move, can_move
from tests.conftest import PASSWORD, make_session
from training.models import Agency, Course, PriceBand, Session, SessionPrice, Venue

pytestmark = pytest.mark.django_db

BOOKED_ON = timezone.make_aware(dt.datetime(2030, 3, 1, 10))
FIRST = timezone.make_aware(dt.datetime(2030, 4, 10, 9))
SECOND = timezone.make_aware(dt.datetime(2030, 4, 17, 9))


@pytest.fixture
def dates(course: Course, venue: Venue) -> tuple[Session, Session]:
    return make_session(course, venue, starts_at=FIRST), make_session(
        course, venue, starts_at=SECOND, capacity=2
    )


def book(session: Session, agency: Agency, booked_by: Any, email: str = "amy@example.org") -> Any:
    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Amy Adams", email=email)],
        agency=agency,
        booked_by=booked_by,
        payment_method=PaymentMethod.INVOICE,
        now=BOOKED_ON,
    )
    return order.bookings.get()


def test_a_booker_moves_a_place_and_a_dearer_date_invoices_the_difference(
    dates: tuple[Session, Session], school: Agency, agency_booker: Any, bands: dict[str, PriceBand]
) -> None:
    first, second = dates
    booking = book(first, school, agency_booker)
    SessionPrice.objects.create(session=second, band=booking.price_band, amount=Decimal("80.00"))
    moved = booking_move(booking=booking, to_session=second, actor=agency_booker, now=BOOKED_ON)

    booking.refresh_from_db()
    assert booking.session_id == second.pk and moved.price == booking.price == Decimal("80.00")
    (difference,) = booking.invoice_lines.filter(description__startswith="Price difference")
    assert difference.amount == Decimal("15.00")
    assert AuditEntry.objects.filter(object_id=str(booking.pk), action="moved").exists()
    assert OutgoingEmail.objects.filter(kind="booking_moved", to="amy@example.org").exists()
    reminder = OutgoingEmail.objects.get(kind="booking_reminder", booking=booking)
    assert reminder.send_after is not None and reminder.send_after.date() < SECOND.date()
    assert reminder.send_after.date() > FIRST.date()  # the new date's reminder, not the old


def test_a_cheaper_date_credits_the_invoiced_place_and_invoices_the_new_price(
    dates: tuple[Session, Session], school: Agency, agency_booker: Any
) -> None:
    first, second = dates
    booking = book(first, school, agency_booker)
    SessionPrice.objects.create(session=second, band=booking.price_band, amount=Decimal("50.00"))
    booking_move(booking=booking, to_session=second, actor=agency_booker, now=BOOKED_ON)

    lines = booking.invoice_lines.order_by("pk")
    assert [(line.invoice.kind, line.amount) for line in lines] == [
        (InvoiceKind.INVOICE, Decimal("65.00")),
        (InvoiceKind.CREDIT_NOTE, Decimal("-65.00")),
        (InvoiceKind.INVOICE, Decimal("50.00")),
    ]


def test_a_full_date_is_refused_and_the_place_stays(
    dates: tuple[Session, Session], school: Agency, agency_booker: Any
) -> None:
    first, second = dates
    booking = book(first, school, agency_booker)
    book(second, school, agency_booker, "ben@example.org")
    book(second, school, agency_booker, "cara@example.org")
    with pytest.raises(SessionFull, match="That date is full"):
        booking_move(booking=booking, to_session=second, actor=agency_booker, now=BOOKED_ON)
    booking.refresh_from_db()
    assert booking.session_id == first.pk
    assert not OutgoingEmail.objects.filter(kind="booking_moved").exists()


def test_another_agencys_booker_may_not_move_the_place(
    client: Any,
    dates: tuple[Session, Session],
    school: Agency,
    agency_booker: Any,
    other_agency_booker: Any,
) -> None:
    first, second = dates
    booking = book(first, school, agency_booker)
    with pytest.raises(BookingError, match="can no longer be moved"):
        booking_move(booking=booking, to_session=second, actor=other_agency_booker, now=BOOKED_ON)
    client.login(username=other_agency_booker.username, password=PASSWORD)
    url = reverse("bookings:booking_move", args=[booking.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"session": second.pk}).status_code == 404
    assert Booking.objects.get(pk=booking.pk).session_id == first.pk


def test_after_the_cut_off_only_the_training_team_may_move_a_place(
    dates: tuple[Session, Session], school: Agency, agency_booker: Any, training_admin: Any
) -> None:
    first, second = dates
    booking = book(first, school, agency_booker)
    late = timezone.make_aware(dt.datetime(2030, 4, 8, 10))  # two days before the first date
    assert not can_move(booking=booking, user=agency_booker, now=late)
    with pytest.raises(BookingError):
        booking_move(booking=booking, to_session=second, actor=agency_booker, now=late)
    booking_move(booking=booking, to_session=second, actor=training_admin, now=late)
    assert Booking.objects.get(pk=booking.pk).session_id == second.pk


def test_the_booker_moves_a_place_from_the_booking_page(
    client: Any, dates: tuple[Session, Session], school: Agency, agency_booker: Any
) -> None:
    first, second = dates
    booking = book(first, school, agency_booker)
    client.login(username=agency_booker.username, password=PASSWORD)
    page = client.get(reverse("bookings:booking", args=[booking.pk])).content.decode()
    assert "Move this place to another date" in page
    url = reverse("bookings:booking_move", args=[booking.pk])
    assert "17 Apr 2030" in client.get(url).content.decode()
    refused = client.post(url, {"session": first.pk})  # not another date
    assert refused.status_code == 200 and "not open for booking" in refused.content.decode()
    response = client.post(url, {"session": second.pk})
    assert response.status_code == 302
    assert Booking.objects.get(pk=booking.pk).session_id == second.pk


def test_a_card_place_moved_to_a_cheaper_date_is_refunded_the_difference(
    dates: tuple[Session, Session], school: Agency, agency_booker: Any
) -> None:
    first, second = dates
    order = booking_create(
        session=first,
        attendees=[AttendeeSpec(name="Amy Adams", email="amy@example.org")],
        agency=school,
        booked_by=agency_booker,
        payment_method=PaymentMethod.CARD,
        now=BOOKED_ON,
    )
    payment = payment_start(order=order, success_url="/paid/", cancel_url="/no/", now=BOOKED_ON)
    payment_succeeded(payment=payment, payment_intent_id="pi_test_move", now=BOOKED_ON)
    booking = order.bookings.get()
    SessionPrice.objects.create(session=second, band=booking.price_band, amount=Decimal("50.00"))
    booking_move(booking=booking, to_session=second, actor=agency_booker, now=BOOKED_ON)
    (refund,) = Refund.objects.filter(booking=booking)
    assert refund.amount == Decimal("15.00") and refund.payment_id == payment.pk
    assert Booking.objects.get(pk=booking.pk).price == Decimal("50.00")
