"""The booking pages through Django's test client: who may see and change what, and how the
booking form answers a changed price, a full session and a missing purchase order."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.capacity import places_taken
from bookings.errors import BookingError
from bookings.models import (
    Booking,
    BookingStatus,
    Invoice,
    InvoiceStatus,
    Order,
    Payment,
    PaymentMethod,
    PaymentStatus,
    WaitingListEntry,
    WaitlistStatus,
)
from bookings.money import views as money_views
from bookings.money.paylinks import pay_link_token
from bookings.money.payments import payment_start, payment_succeeded
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.changes import booking_cancel
from bookings.places.signals import claim_bookings_on_login
from bookings.places.waitlist import waitlist_join, waitlist_offer_next
from tests.conftest import PASSWORD, make_person, make_session
from training.models import Agency, Course, CoursePrice, Session, Venue
from training.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    # These tests sign in often; the slow production hasher proves nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def future(days: int, hour: int = 9) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


def logged_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def book_for(
    user: Any,
    session: Session,
    *,
    method: str = PaymentMethod.CARD,
    people: list[Any] | None = None,
    purchase_order_number: str = "",
) -> Order:
    agency = user.profile.agency
    attendees = [AttendeeSpec(name=p.get_full_name(), email=p.email) for p in (people or [user])]
    return booking_create(
        session=session,
        attendees=attendees,
        agency=agency,
        booked_by=user,
        payment_method=method,
        purchase_order_number=purchase_order_number,
        now=timezone.now(),
    )


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=future(40), capacity=10)


@pytest.fixture
def colleague(school: Agency) -> Any:
    return make_person(
        "colleague@example.org", agency=school, first_name="Cal", last_name="Colleague"
    )


@pytest.fixture
def our_bookings(
    session: Session, practitioner: Any, agency_booker: Any, colleague: Any
) -> dict[str, Any]:
    """A confirmed invoice order by our agency booker, and a card order held for payment."""
    invoiced = book_for(
        agency_booker,
        session,
        method=PaymentMethod.INVOICE,
        people=[agency_booker, colleague],
        purchase_order_number="PO-77",
    )
    card = book_for(practitioner, session, method=PaymentMethod.CARD)
    payment = payment_start(
        order=card,
        success_url="http://testserver/",
        cancel_url="http://testserver/",
        now=timezone.now(),
    )
    return {
        "invoiced": invoiced,
        "invoice": invoiced.invoices.get(),
        "booking": invoiced.bookings.get(attendee_email=colleague.email),
        "card": card,
        "payment": payment,
        "held": card.bookings.get(),
    }


def urls_of(bookings: dict[str, Any]) -> list[str]:
    booking = bookings["booking"]
    return [
        reverse("bookings:order", args=[bookings["invoiced"].reference]),
        reverse("bookings:order_status", args=[bookings["invoiced"].reference]),
        reverse("bookings:order", args=[bookings["card"].reference]),
        reverse("bookings:booking", args=[booking.pk]),
        reverse("bookings:booking_ics", args=[booking.pk]),
        reverse("bookings:booking_cancel", args=[booking.pk]),
        reverse("bookings:booking_transfer", args=[booking.pk]),
        reverse("bookings:invoice_pdf", args=[bookings["invoice"].number]),
        reverse("bookings:dev_checkout", args=[bookings["payment"].checkout_session_id]),
    ]


# --- permissions ------------------------------------------------------------------------------


def test_booker_from_another_agency_gets_404_on_every_booking_order_and_invoice_of_ours(
    our_bookings: dict[str, Any], other_agency_booker: Any
) -> None:
    client = logged_in(other_agency_booker)
    for url in urls_of(our_bookings):
        assert client.get(url).status_code == 404, url
    booking = our_bookings["booking"]
    cancel = client.post(reverse("bookings:booking_cancel", args=[booking.pk]), {"reason": "x"})
    transfer = client.post(
        reverse("bookings:booking_transfer", args=[booking.pk]),
        {"name": "Olly Other", "email": "manager@acorns.example.org"},
    )
    assert (cancel.status_code, transfer.status_code) == (404, 404)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.attendee_email == "colleague@example.org"


def test_our_agency_booker_and_the_administrator_can_open_the_same_pages(
    our_bookings: dict[str, Any], agency_booker: Any, training_admin: Any
) -> None:
    """The control for the 404s above: the URLs are real and open to the right people."""
    for person in (agency_booker, training_admin):
        client = logged_in(person)
        for url in urls_of(our_bookings)[:-1]:  # the checkout page is the card booker's alone
            response = client.get(url)
            assert response.status_code == 200, (person.email, url)
    pdf = logged_in(agency_booker).get(
        reverse("bookings:invoice_pdf", args=[our_bookings["invoice"].number])
    )
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_practitioner_cannot_cancel_someone_elses_booking(
    our_bookings: dict[str, Any], practitioner: Any
) -> None:
    """Same agency, but neither attendee nor booker nor agency booker: the place is not theirs."""
    booking = our_bookings["booking"]
    client = logged_in(practitioner)
    assert client.get(reverse("bookings:booking", args=[booking.pk])).status_code == 404
    response = client.post(reverse("bookings:booking_cancel", args=[booking.pk]), {"reason": ""})
    assert response.status_code == 404
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_attendee_can_cancel_their_own_place_before_the_cutoff(
    our_bookings: dict[str, Any], colleague: Any
) -> None:
    booking = our_bookings["booking"]
    client = logged_in(colleague)
    page = client.get(reverse("bookings:booking_cancel", args=[booking.pk]))
    assert "credit note" in page.content.decode()  # invoiced, before the cut-off
    response = client.post(
        reverse("bookings:booking_cancel", args=[booking.pk]), {"reason": "Rota changed"}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert booking.cancellation_reason == "Rota changed"
    assert not booking.late_cancellation


def test_anonymous_visitors_are_sent_to_log_in(
    our_bookings: dict[str, Any], session: Session
) -> None:
    client = Client()
    entry_token = "not-a-real-token"
    urls = [
        *urls_of(our_bookings),
        reverse("bookings:book", args=[session.pk]),
        reverse("bookings:my_bookings"),
        reverse("bookings:agency_bookings"),
        reverse("bookings:waitlist_claim", args=[entry_token]),
        reverse("bookings:manage_bookings"),
        reverse("bookings:manage_invoices"),
        reverse("bookings:manage_session", args=[session.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert urlsplit(response["Location"]).path == reverse("account_login"), url
    join = client.post(reverse("bookings:waitlist_join", args=[session.pk]))
    assert urlsplit(join["Location"]).path == reverse("account_login")


def test_only_administrators_reach_the_administrators_area(
    session: Session, agency_booker: Any, training_admin: Any
) -> None:
    urls = [
        reverse("bookings:manage_bookings"),
        reverse("bookings:manage_invoices"),
        reverse("bookings:manage_session", args=[session.pk]),
    ]
    for url in urls:
        # 404, not 403: the administrator's pages are not even confirmed to exist.
        assert logged_in(agency_booker).get(url).status_code == 404, url
        assert logged_in(training_admin).get(url).status_code == 200, url


def test_webhook_endpoint_rejects_get(client: Client) -> None:
    assert client.get(reverse("bookings:stripe_webhook")).status_code == 405


@override_settings(PAYMENT_GATEWAY="stripe")
def test_development_checkout_page_does_not_exist_under_stripe(
    our_bookings: dict[str, Any], practitioner: Any
) -> None:
    url = reverse("bookings:dev_checkout", args=[our_bookings["payment"].checkout_session_id])
    client = logged_in(practitioner)
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "pay"}).status_code == 404
    assert Payment.objects.get(pk=our_bookings["payment"].pk).status == PaymentStatus.CREATED


def test_development_checkout_page_is_only_for_the_booker(
    our_bookings: dict[str, Any], practitioner: Any, agency_booker: Any
) -> None:
    url = reverse("bookings:dev_checkout", args=[our_bookings["payment"].checkout_session_id])
    assert logged_in(agency_booker).get(url).status_code == 404
    page = logged_in(practitioner).get(url)
    assert page.status_code == 200
    assert "Pay £65.00 (test)" in page.content.decode()


# --- the booking form -----------------------------------------------------------------------------


def test_practitioner_sees_their_price_and_is_sent_to_the_checkout(
    session: Session, practitioner: Any
) -> None:
    client = logged_in(practitioner)
    url = reverse("bookings:book", args=[session.pk])
    page = client.get(url)
    body = page.content.decode()
    assert "Check your booking" in body
    assert 'name="quoted_total" value="65.00"' in body
    assert "Confirm and pay £65.00" in body

    response = client.post(
        url, {"action": "confirm", "payment_method": "card", "quoted_total": "65.00"}
    )
    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "bookings:dev_checkout", args=[payment.checkout_session_id]
    )
    booking = Booking.objects.get()
    assert (booking.status, booking.price, booking.attendee_id) == (
        BookingStatus.HELD,
        Decimal("65.00"),
        practitioner.pk,
    )


@pytest.mark.parametrize("stripe_key", ["", "sk_test_unreachable"])
def test_when_no_checkout_can_be_opened_the_places_are_released_and_the_booker_told(
    session: Session, practitioner: Any, settings: Any, stripe_key: str
) -> None:
    """Whether Stripe is not configured or cannot be reached, nothing is charged and the held
    place goes back at once, as the message says."""
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = stripe_key
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    client = logged_in(practitioner)
    url = reverse("bookings:book", args=[session.pk])

    response = client.post(
        url,
        {"action": "confirm", "payment_method": "card", "quoted_total": "65.00"},
        follow=True,
    )
    assert "nothing has been charged and the places have been released" in (
        response.content.decode()
    )
    booking = Booking.objects.get()
    assert booking.status == BookingStatus.EXPIRED
    assert all(p.status == PaymentStatus.EXPIRED for p in Payment.objects.all())
    assert places_taken(session.pk, timezone.now()) == 0


def test_changed_price_is_shown_and_the_booker_asked_again(
    session: Session, course: Course, practitioner: Any, bands: dict[str, Any]
) -> None:
    client = logged_in(practitioner)
    url = reverse("bookings:book", args=[session.pk])
    assert 'name="quoted_total" value="65.00"' in client.get(url).content.decode()
    CoursePrice.objects.filter(course=course, band=bands["statutory"]).update(amount=Decimal("70"))

    response = client.post(
        url, {"action": "confirm", "payment_method": "card", "quoted_total": "65.00"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "The price has changed to £70.00" in body
    assert 'name="quoted_total" value="70.00"' in body
    assert not Order.objects.exists()

    again = client.post(
        url, {"action": "confirm", "payment_method": "card", "quoted_total": "70.00"}
    )
    assert again.status_code == 302
    assert Booking.objects.get().price == Decimal("70.00")


def test_booking_without_a_quoted_total_is_asked_to_confirm_the_price(
    session: Session, practitioner: Any
) -> None:
    response = logged_in(practitioner).post(
        reverse("bookings:book", args=[session.pk]), {"action": "confirm", "payment_method": "card"}
    )
    assert response.status_code == 200
    assert "The price has changed to £65.00" in response.content.decode()
    assert not Order.objects.exists()


def test_full_session_offers_the_waiting_list_not_an_error(
    course: Course, venue: Venue, practitioner: Any, colleague: Any
) -> None:
    full = make_session(course, venue, starts_at=future(40), capacity=1)
    book_for(colleague, full, method=PaymentMethod.CARD)
    response = logged_in(practitioner).post(
        reverse("bookings:book", args=[full.pk]),
        {"action": "confirm", "payment_method": "card", "quoted_total": "65.00"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "This session is full" in body
    assert f'action="{reverse("bookings:waitlist_join", args=[full.pk])}"' in body
    assert "Join the waiting list" in body
    assert Booking.objects.filter(attendee=practitioner).count() == 0


def test_person_without_an_agency_is_sent_to_their_profile(session: Session, db: Any) -> None:
    nobody = make_person("new@example.org", agency=None)
    response = logged_in(nobody).get(reverse("bookings:book", args=[session.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("training:profile") + "?next=/")


def test_free_mapig_needs_only_a_confirmation(venue: Venue, practitioner: Any) -> None:
    mapig = Course.objects.create(title="Think Family", kind="mapig", duration_half_days=1)
    mapig_session = make_session(mapig, venue, starts_at=future(30), hours=3)
    client = logged_in(practitioner)
    url = reverse("bookings:book", args=[mapig_session.pk])
    assert "Confirm free place" in client.get(url).content.decode()
    response = client.post(
        url, {"action": "confirm", "payment_method": "free", "quoted_total": "0.00"}, follow=True
    )
    booking = Booking.objects.get()
    assert (booking.status, booking.payment_method) == (BookingStatus.CONFIRMED, "free")
    assert response.redirect_chain[-1][0] == reverse(
        "bookings:order", args=[booking.order.reference]
    )
    assert "Booking confirmed" in response.content.decode()


def test_agency_booker_adds_colleague_rows_and_reviews_before_booking(
    session: Session, agency_booker: Any
) -> None:
    client = logged_in(agency_booker)
    url = reverse("bookings:book", args=[session.pk])
    page = client.get(url).content.decode()
    assert "Invoice my agency" in page and "Pay by card now" in page
    assert 'name="attendees-TOTAL_FORMS" value="1"' in page

    rows = {
        "attendees-TOTAL_FORMS": "1",
        "attendees-INITIAL_FORMS": "0",
        "attendees-MIN_NUM_FORMS": "0",
        "attendees-MAX_NUM_FORMS": "30",
        "attendees-0-name": "Ann One",
        "attendees-0-email": "ann@example.org",
        "attendees-0-job_title": "TA",
    }
    added = client.post(
        url, {**rows, "action": "add", "payment_method": "invoice"}
    ).content.decode()
    assert 'name="attendees-TOTAL_FORMS" value="2"' in added
    assert 'value="Ann One"' in added

    review = client.post(
        url,
        {
            **rows,
            "action": "review",
            "payment_method": "invoice",
            "include_myself": "on",
            "purchase_order_number": "PO-1",
        },
    ).content.decode()
    assert "Check your booking" in review
    assert 'name="quoted_total" value="130.00"' in review  # two places at £65
    assert "Ann One" in review and "Dee Lead" in review
    assert not Order.objects.exists()


def test_purchase_order_number_is_required_when_the_agency_says_so(
    session: Session, agency_booker: Any, school: Agency
) -> None:
    school.purchase_order_required = True
    school.save()
    client = logged_in(agency_booker)
    data = {
        "action": "review",
        "payment_method": "invoice",
        "include_myself": "on",
        "attendees-TOTAL_FORMS": "1",
        "attendees-INITIAL_FORMS": "0",
        "attendees-0-name": "",
        "attendees-0-email": "",
        "attendees-0-job_title": "",
    }
    response = client.post(reverse("bookings:book", args=[session.pk]), data)
    assert response.status_code == 200
    assert "Enter the purchase-order number for the invoice." in response.content.decode()

    confirm = client.post(
        reverse("bookings:book", args=[session.pk]),
        {**data, "action": "confirm", "purchase_order_number": "PO-9", "quoted_total": "65.00"},
    )
    assert confirm.status_code == 302
    invoice = Invoice.objects.get()
    assert invoice.purchase_order_number == "PO-9"


def test_booking_error_becomes_a_form_error(
    session: Session, agency_booker: Any, colleague: Any
) -> None:
    book_for(colleague, session, method=PaymentMethod.CARD)
    response = logged_in(agency_booker).post(
        reverse("bookings:book", args=[session.pk]),
        {
            "action": "confirm",
            "payment_method": "invoice",
            "quoted_total": "65.00",
            "attendees-TOTAL_FORMS": "1",
            "attendees-INITIAL_FORMS": "0",
            "attendees-0-name": "Cal Colleague",
            "attendees-0-email": "colleague@example.org",
        },
    )
    assert response.status_code == 200
    assert "Already booked on this session: colleague@example.org." in response.content.decode()


# --- order page and payment --------------------------------------------------------------


def test_order_status_says_waiting_until_the_webhook_confirms(
    our_bookings: dict[str, Any], practitioner: Any
) -> None:
    client = logged_in(practitioner)
    reference = our_bookings["card"].reference
    status_url = reverse("bookings:order_status", args=[reference])
    assert client.get(status_url).json()["waiting"] is True
    page = client.get(reverse("bookings:order", args=[reference])).content.decode()
    assert "Waiting for payment confirmation" in page
    assert status_url in page  # the page polls this

    payment_succeeded(payment=our_bookings["payment"], payment_intent_id="pi_1", now=timezone.now())
    state = client.get(status_url).json()
    assert state["waiting"] is False
    assert [b["status"] for b in state["bookings"]] == ["confirmed"]
    assert (
        "Booking confirmed"
        in client.get(reverse("bookings:order", args=[reference])).content.decode()
    )


def test_test_payment_delivers_a_signed_webhook_that_confirms_the_place(
    our_bookings: dict[str, Any], practitioner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The development gateway's Pay button posts a signed event to the real endpoint."""
    delivered: list[int] = []

    def urlopen(request: Any, timeout: float) -> Any:
        # Route the HTTP request to the real webhook view through the test client.
        assert urlsplit(request.full_url).path == reverse("bookings:stripe_webhook")
        response = Client().post(
            reverse("bookings:stripe_webhook"),
            data=request.data,
            content_type=request.headers["Content-type"],
            HTTP_STRIPE_SIGNATURE=request.headers["Stripe-signature"],
        )
        delivered.append(response.status_code)
        return io.BytesIO(response.content)

    monkeypatch.setattr("bookings.money.views.urllib.request.urlopen", urlopen)
    client = logged_in(practitioner)
    payment = our_bookings["payment"]
    response = client.post(
        reverse("bookings:dev_checkout", args=[payment.checkout_session_id]), {"action": "pay"}
    )
    assert delivered == [200]
    assert response["Location"] == reverse("bookings:order", args=[our_bookings["card"].reference])
    assert Booking.objects.get(pk=our_bookings["held"].pk).status == BookingStatus.CONFIRMED
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED


def test_ics_is_offered_for_a_confirmed_place(our_bookings: dict[str, Any], colleague: Any) -> None:
    response = logged_in(colleague).get(
        reverse("bookings:booking_ics", args=[our_bookings["booking"].pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VCALENDAR" in response.content


# --- transfer, lists, waiting list ----------------------------------------------------------------


def test_booker_transfers_a_place_to_a_colleague(
    our_bookings: dict[str, Any], agency_booker: Any
) -> None:
    booking = our_bookings["booking"]
    response = logged_in(agency_booker).post(
        reverse("bookings:booking_transfer", args=[booking.pk]),
        {"name": "Nia New", "email": "Nia.New@example.org", "job_title": "TA"},
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.attendee_name, booking.attendee_email) == ("Nia New", "nia.new@example.org")


def test_transfer_to_someone_from_another_agency_is_a_form_error(
    our_bookings: dict[str, Any], agency_booker: Any, other_agency_booker: Any
) -> None:
    booking = our_bookings["booking"]
    response = logged_in(agency_booker).post(
        reverse("bookings:booking_transfer", args=[booking.pk]),
        {"name": "Olly Other", "email": other_agency_booker.email},
    )
    assert response.status_code == 200
    assert "not registered with Blackdown Primary School" in response.content.decode()


def test_my_bookings_and_agency_bookings_show_the_right_places(
    our_bookings: dict[str, Any], colleague: Any, agency_booker: Any, other_agency_booker: Any
) -> None:
    mine = logged_in(colleague).get(reverse("bookings:my_bookings")).content.decode()
    assert mine.count('data-testid="booking-card"') == 1
    ours = logged_in(agency_booker).get(reverse("bookings:agency_bookings")).content.decode()
    assert ours.count('data-testid="booking-card"') == 3
    theirs = logged_in(other_agency_booker).get(reverse("bookings:agency_bookings"))
    assert theirs.content.decode().count('data-testid="booking-card"') == 0


def test_waiting_list_offer_can_only_be_claimed_by_its_person_and_explains_a_lapse(
    course: Course,
    venue: Venue,
    practitioner: Any,
    colleague: Any,
    agency_booker: Any,
    other_agency_booker: Any,
) -> None:
    full = make_session(course, venue, starts_at=future(40), capacity=1)
    taken = book_for(
        agency_booker, full, method=PaymentMethod.INVOICE, people=[colleague]
    ).bookings.get()
    client = logged_in(practitioner)
    client.post(reverse("bookings:waitlist_join", args=[full.pk]))
    booking_cancel(booking=taken, actor=colleague, now=timezone.now())
    waitlist_offer_next(session=full, now=timezone.now())
    entry = WaitingListEntry.objects.get(person=practitioner)
    assert entry.status == WaitlistStatus.OFFERED
    url = reverse("bookings:waitlist_claim", args=[entry.claim_token])
    assert logged_in(other_agency_booker).get(url).status_code == 404

    review = client.get(url).content.decode()
    assert "Claim your place from the waiting list" in review
    response = client.post(
        url, {"action": "confirm", "payment_method": "card", "quoted_total": "65.00"}
    )
    assert response.status_code == 302  # to the checkout: the offered place is held
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.CLAIMED

    lapsed = WaitingListEntry.objects.create(
        session=full,
        person=other_agency_booker,
        email=other_agency_booker.email,
        name="Olly",
        status=WaitlistStatus.LAPSED,
        offer_expires_at=timezone.now() - dt.timedelta(hours=1),
    )
    page = logged_in(other_agency_booker).get(
        reverse("bookings:waitlist_claim", args=[lapsed.claim_token])
    )
    assert "This offer has run out" in page.content.decode()


# --- the administrator's area ---------------------------------------------------------------------


def test_administrator_raises_capacity_and_the_waiting_list_is_offered_the_place(
    course: Course,
    venue: Venue,
    practitioner: Any,
    colleague: Any,
    agency_booker: Any,
    training_admin: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    full = make_session(course, venue, starts_at=future(40), capacity=1)
    book_for(agency_booker, full, method=PaymentMethod.INVOICE, people=[colleague])
    waitlist_join(session=full, person=practitioner, now=timezone.now())
    client = logged_in(training_admin)
    url = reverse("bookings:manage_session", args=[full.pk])
    lowered = client.post(url, {"action": "capacity", "capacity": "0"})
    assert lowered.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "capacity", "capacity": "2"})
    assert response.status_code == 302
    full.refresh_from_db()
    assert full.capacity == 2
    assert WaitingListEntry.objects.get(person=practitioner).status == WaitlistStatus.OFFERED


def test_administrator_cancels_a_session_with_a_reason(
    our_bookings: dict[str, Any], session: Session, training_admin: Any
) -> None:
    client = logged_in(training_admin)
    url = reverse("bookings:manage_session", args=[session.pk])
    refused = client.post(url, {"action": "cancel", "reason": ""})
    assert refused.status_code == 200
    client.post(url, {"action": "cancel", "reason": "The trainer is ill"})
    session.refresh_from_db()
    assert session.status == "cancelled"
    assert not Booking.objects.filter(session=session, status=BookingStatus.CONFIRMED).exists()


def test_administrator_marks_an_invoice_paid_and_searches_bookings(
    our_bookings: dict[str, Any], training_admin: Any
) -> None:
    client = logged_in(training_admin)
    invoice = our_bookings["invoice"]
    listing = client.get(reverse("bookings:manage_invoices")).content.decode()
    assert invoice.number in listing
    client.post(
        reverse("bookings:manage_invoices"), {"invoice": invoice.pk, "paid_on": "2026-01-15"}
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.paid_on == dt.date(2026, 1, 15)

    found = client.get(reverse("bookings:manage_bookings"), {"q": "colleague@"}).content.decode()
    assert "Cal Colleague" in found and "Tess Teacher" not in found
    assert "Invoice paid" in found
    held = client.get(reverse("bookings:manage_bookings"), {"status": "held"}).content.decode()
    assert "Tess Teacher" in held and "Waiting for the booker to pay" in held


# --- accounts -----------------------------------------------------------------------------------


def test_signing_in_links_places_booked_for_that_email(
    session: Session, agency_booker: Any, school: Agency
) -> None:
    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Liz Later", email="liz@example.org")],
        agency=school,
        booked_by=agency_booker,
        payment_method=PaymentMethod.INVOICE,
        now=timezone.now(),
    )
    liz = make_person("liz@example.org", agency=school, first_name="Liz", last_name="Later")
    assert order.bookings.get().attendee_id is None
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": "liz@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert order.bookings.get().attendee_id == liz.pk
    mine = client.get(reverse("bookings:my_bookings")).content.decode()
    assert mine.count('data-testid="booking-card"') == 1


def test_unverified_address_does_not_claim_places(
    session: Session, agency_booker: Any, school: Agency
) -> None:

    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Liz Later", email="liz@example.org")],
        agency=school,
        booked_by=agency_booker,
        payment_method=PaymentMethod.INVOICE,
        now=timezone.now(),
    )
    liz = make_person("liz@example.org", agency=school)
    EmailAddress.objects.filter(user=liz).update(verified=False)
    claim_bookings_on_login(sender=None, request=None, user=liz)
    assert order.bookings.get().attendee_id is None


def test_session_page_offers_booking_or_the_waiting_list(
    course: Course,
    venue: Venue,
    session: Session,
    practitioner: Any,
    colleague: Any,
    agency_booker: Any,
) -> None:
    client = logged_in(practitioner)
    page = client.get(reverse("bookings:session", args=[session.pk])).content.decode()
    assert reverse("bookings:book", args=[session.pk]) in page
    full = make_session(course, venue, starts_at=future(41), capacity=1)
    book_for(agency_booker, full, method=PaymentMethod.INVOICE, people=[colleague])
    page = client.get(reverse("bookings:session", args=[full.pk])).content.decode()
    assert reverse("bookings:waitlist_join", args=[full.pk]) in page
    assert re.search(r"Join the waiting list", page)
    assert Group.objects.filter(name=Role.AGENCY_BOOKER).exists()

    # Once on the list, the page says so instead of offering to join again.
    client.post(reverse("bookings:waitlist_join", args=[full.pk]))
    page = client.get(reverse("bookings:session", args=[full.pk])).content.decode()
    assert 'data-testid="on-waiting-list"' in page
    assert reverse("bookings:waitlist_join", args=[full.pk]) not in page
    assert reverse("bookings:my_bookings") in page


def test_confirming_costs_the_same_statements_for_one_place_or_five(
    session: Session, agency_booker: Any, settings: Any
) -> None:
    """Every place, audit entry and email of a booking is written in one insert each, and its
    emails go to the worker as one task: the statements do not grow with the places."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    client = logged_in(agency_booker)
    url = reverse("bookings:book", args=[session.pk])

    def confirm(first: int, places: int) -> list[str]:
        rows: dict[str, str] = {
            "attendees-TOTAL_FORMS": str(places),
            "attendees-INITIAL_FORMS": "0",
            "attendees-MIN_NUM_FORMS": "0",
            "attendees-MAX_NUM_FORMS": "30",
        }
        for index in range(places):
            rows[f"attendees-{index}-name"] = f"Colleague {first + index}"
            rows[f"attendees-{index}-email"] = f"colleague{first + index}@example.org"
        post = {**rows, "payment_method": "invoice", "purchase_order_number": "PO-7"}
        review = client.post(url, {**post, "action": "review"})
        quoted = re.search(r'name="quoted_total" value="([0-9.]+)"', review.content.decode())
        assert quoted, "the review step shows the total it asks to confirm"
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                url, {**post, "action": "confirm", "quoted_total": quoted.group(1)}
            )
        assert response.status_code == 302 and "/orders/" in response["Location"]
        return [query["sql"] for query in queries.captured_queries]

    confirm(first=1, places=1)  # the unit's first invoice also creates its number sequence
    one = confirm(first=2, places=1)
    five = confirm(first=10, places=5)
    assert len(five) == len(one), "\n".join(five)
    tables = [
        "bookings_order",
        "bookings_booking",
        "bookings_invoice",
        "bookings_invoiceline",
        "bookings_auditentry",
        "bookings_outgoingemail",
    ]
    assert Order.objects.get(
        purchase_order_number="PO-7", bookings__attendee_email="colleague14@example.org"
    )
    assert Booking.objects.filter(attendee_email__startswith="colleague1").count() == 6
    # The session and user with the booker's roles and grant; the form's rate limits (one
    # upsert of both counts); the session with its band's price and whether its course asks
    # a pre-course questionnaire; SAVEPOINT; under the lock the session's status and
    # capacity, then places taken with the attendees' own places and accounts in one count;
    # the invoice number; the rows; RELEASE. (With the database task queue the email task's
    # row goes with the rows.)
    if connection.vendor == "postgresql":
        # The invoice number and the rows' keys are taken in the count's statement, under the
        # lock; then every row goes in, in one WITH of inserts.
        (count,) = [sql for sql in five if "invoice_number AS (UPDATE" in sql]
        assert "nextval(" in count and "COUNT(*)" in count, count
        (rows,) = [sql for sql in five if sql.startswith("WITH w0 AS (INSERT")]
        assert [t for t in tables if f'INSERT INTO "{t}"' in rows] == tables, rows
        assert not [sql for sql in five if sql.startswith('INSERT INTO "bookings_')]
        assert not [sql for sql in five if "nextval(" in sql and sql != count]
        assert len(one) <= 9, "\n".join(one)
    else:
        # SQLite has no WITH that writes: one insert per table.
        inserts = [sql.split('"')[1] for sql in five if sql.startswith("INSERT")]
        assert sorted(inserts) == sorted(set(inserts)), f"one insert per table: {inserts}"
        assert set(tables) <= set(inserts)
        assert len(one) <= 15, "\n".join(one)


def test_paying_for_a_hold_that_ran_out_says_so_instead_of_opening_a_checkout(
    session: Session, agency_booker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The booker's pay button and the emailed pay link, pressed after the hold ran out (and
    before the tick released it): a message, no checkout and no error page."""
    agency = agency_booker.profile.agency
    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Late Payer", email="late@example.org")],
        agency=agency,
        booked_by=agency_booker,
        payment_method=PaymentMethod.CARD,
        now=timezone.now() - dt.timedelta(hours=2),
    )
    client = logged_in(agency_booker)
    response = client.post(reverse("bookings:order_pay", args=[order.reference]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("bookings:order", args=[order.reference])
    assert "The time to pay for these places has run out" in response.content.decode()
    assert not order.payments.exists()

    # The pay link checks the hold itself; if it runs out while the button is pressed, the
    # service refuses and the page says why.
    def ran_out(**_: Any) -> Any:
        raise BookingError("The time to pay for these places has run out.")

    Booking.objects.filter(order=order).update(
        hold_expires_at=timezone.now() + dt.timedelta(hours=1)
    )
    monkeypatch.setattr(money_views, "payment_start", ran_out)
    token = pay_link_token(order)
    response = Client().post(reverse("bookings:pay_link", args=[token]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("bookings:pay_link", args=[token])
    assert "The time to pay for these places has run out" in response.content.decode()
