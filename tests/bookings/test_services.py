"""The booking services, told as the rules a training unit relies on.

Time is frozen by passing ``now`` to every service. Rules about dates use fixed days around the
Spring bank holiday of 2030 (Monday 27 May) and the end of the 2030/31 financial year; flows that
run background tasks (which read the real clock) are anchored on the real time instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.capacity import places_taken
from bookings.errors import BookingError, SessionFull
from bookings.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    Invoice,
    InvoiceKind,
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
from bookings.money import payments as payments_module
from bookings.money.gateways import CheckoutResult, DevelopmentGateway
from bookings.money.invoices import invoice_mark_paid
from bookings.money.payments import (
    holds_lengthen,
    holds_release_expired,
    payment_pending,
    payment_start,
    payment_succeeded,
)
from bookings.money.refunds import refund_process
from bookings.places import booking as booking_module
from bookings.places import sessions as sessions_module
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.changes import booking_cancel, booking_transfer
from bookings.places.pricing import PriceChanged, subsidised_places_left
from bookings.places.sessions import session_cancel
from bookings.places.waitlist import (
    waitlist_join,
    waitlist_lapse_offers,
    waitlist_leave,
    waitlist_offer_by_hand,
    waitlist_offer_next,
)
from tests.conftest import make_person, make_session
from training.models import (
    Agency,
    Course,
    CourseKind,
    CoursePrice,
    PriceBand,
    Profile,
    Sector,
    Session,
    SessionStatus,
    Venue,
)

pytestmark = pytest.mark.django_db

FULL_MESSAGE = "This session is full. You can join the waiting list instead."


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    """A wall-clock time in the unit's time zone (Europe/London)."""
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


def spec(person: Any) -> AttendeeSpec:
    if isinstance(person, AttendeeSpec):
        return person
    return AttendeeSpec(name=person.get_full_name(), email=person.email, job_title="Teacher")


def guest(n: int) -> AttendeeSpec:
    """A colleague with no account yet."""
    return AttendeeSpec(name=f"Colleague {n}", email=f"colleague{n}@example.org")


def book(
    session: Session,
    *people: Any,
    agency: Agency,
    now: dt.datetime,
    booked_by: Any = None,
    method: str = PaymentMethod.INVOICE,
    **kwargs: Any,
) -> Order:
    return booking_create(
        session=session,
        attendees=[spec(person) for person in people],
        agency=agency,
        booked_by=booked_by,
        payment_method=method,
        now=now,
        **kwargs,
    )


def pay(order: Order, *, now: dt.datetime) -> Payment:
    """Open a checkout for the order's held places and have the gateway say it was paid."""
    payment = payment_start(order=order, success_url="/paid/", cancel_url="/cancelled/", now=now)
    payment_succeeded(payment=payment, payment_intent_id=f"pi_test_{payment.pk}", now=now)
    payment.refresh_from_db()
    return payment


def emails(kind: str) -> list[str]:
    return sorted(OutgoingEmail.objects.filter(kind=kind).values_list("to", flat=True))


def only_booking(order: Order) -> Booking:
    (booking,) = order.bookings.all()
    return booking


# --- the Spring bank holiday of 2030 ----------------------------------------------------------

# Bookings for a session on Wednesday 29 May 2030 close two working days before: Tuesday 28,
# then (Monday 27 being the Spring bank holiday) Friday 24 May.
WEDNESDAY_AFTER_BANK_HOLIDAY = local(2030, 5, 29, 10)
# Free cancellation for a session on Monday 10 June 2030 ends ten working days before: again the
# bank holiday pushes it back to Friday 24 May.
JUNE_SESSION_STARTS = local(2030, 6, 10, 10)
CUTOFF_DAY = local(2030, 5, 24, 17)
AFTER_CUTOFF = local(2030, 5, 28, 9)
EARLY = local(2030, 5, 1, 9)


@pytest.fixture
def june_session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=10)


# --- what a booking records -------------------------------------------------------------------


def test_booking_records_agency_sector_band_and_price_as_at_booking_time(
    june_session: Session,
    practitioner: Any,
    school: Agency,
    nursery: Agency,
    sectors: dict[str, Sector],
    bands: dict[str, PriceBand],
    course: Course,
) -> None:
    # Booked for her by the training unit (booked_by None): only bookers may invoice.
    order = book(june_session, practitioner, agency=school, now=EARLY)
    booking = only_booking(order)
    assert (booking.agency, booking.sector, booking.price_band, booking.price) == (
        school,
        sectors["Schools"],
        bands["statutory"],
        Decimal("65.00"),
    )
    assert booking.attendee == practitioner

    # Later the teacher moves to the nursery, the school is re-classified and prices rise.
    Profile.objects.filter(user=practitioner).update(agency=nursery)
    school.sector = sectors["Early Years Providers"]
    school.save()
    CoursePrice.objects.filter(course=course).update(amount=Decimal("99.00"))

    booking.refresh_from_db()
    assert (booking.agency, booking.sector, booking.price_band, booking.price) == (
        school,
        sectors["Schools"],
        bands["statutory"],
        Decimal("65.00"),
    )
    assert booking.payment_method == PaymentMethod.INVOICE
    assert order.invoices.get().total == Decimal("65.00")


def test_the_price_follows_the_attendees_sector_band(
    june_session: Session, nursery: Agency, other_agency_booker: Any, bands: dict[str, PriceBand]
) -> None:
    order = book(june_session, other_agency_booker, agency=nursery, now=EARLY)
    booking = only_booking(order)
    assert booking.price_band == bands["independent"]
    assert booking.price == Decimal("95.00")


# --- one place per person ---------------------------------------------------------------------


def test_one_active_booking_per_attendee_per_session(
    june_session: Session, practitioner: Any, school: Agency
) -> None:
    book(june_session, practitioner, agency=school, now=EARLY)
    shouting = AttendeeSpec(name="Tess Teacher", email="TEACHER@Example.org ")
    with pytest.raises(BookingError, match="Already booked on this session: teacher@example.org"):
        book(june_session, shouting, agency=school, now=EARLY)
    assert Booking.objects.filter(session=june_session).count() == 1


def test_the_database_refuses_a_second_active_booking_for_the_same_attendee(
    june_session: Session, practitioner: Any, school: Agency
) -> None:
    first = only_booking(book(june_session, practitioner, agency=school, now=EARLY))
    duplicate = Booking(
        order=first.order,
        session=june_session,
        attendee_name=first.attendee_name,
        attendee_email=first.attendee_email,
        agency=school,
        sector=first.sector,
        price_band=first.price_band,
        price=first.price,
        payment_method=first.payment_method,
        status=BookingStatus.HELD,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    # A cancelled place does not count: the same person may book again.
    booking_cancel(booking=first, actor=practitioner, now=EARLY)
    again = only_booking(book(june_session, practitioner, agency=school, now=EARLY))
    assert again.status == BookingStatus.CONFIRMED


def test_one_booking_cannot_list_the_same_person_twice(
    june_session: Session, practitioner: Any, school: Agency
) -> None:
    with pytest.raises(BookingError, match="listed twice"):
        book(june_session, practitioner, spec(practitioner), agency=school, now=EARLY)
    assert not Order.objects.exists()


# --- when bookings close ----------------------------------------------------------------------


def test_bookings_close_two_working_days_before_skipping_the_bank_holiday(
    course: Course, venue: Venue, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=WEDNESDAY_AFTER_BANK_HOLIDAY)
    assert session.booking_closes_working_days == 2

    order = book(session, guest(1), agency=school, now=local(2030, 5, 24, 23, 59))
    assert only_booking(order).status == BookingStatus.CONFIRMED
    # Without the bank holiday Monday 27 May would still be open.
    with pytest.raises(BookingError, match="closed on Friday 24 May 2030"):
        book(session, guest(2), agency=school, now=local(2030, 5, 27, 9))
    assert session.bookings.count() == 1


def test_a_session_can_never_be_booked_once_it_has_started(
    course: Course, venue: Venue, school: Agency
) -> None:
    starts = WEDNESDAY_AFTER_BANK_HOLIDAY
    session = make_session(course, venue, starts_at=starts)
    Session.objects.filter(pk=session.pk).update(booking_closes_working_days=0)
    session.refresh_from_db()

    book(session, guest(1), agency=school, now=starts - dt.timedelta(minutes=1))
    for late in (starts, starts + dt.timedelta(hours=1)):
        with pytest.raises(BookingError, match="already started"):
            book(session, guest(2), agency=school, now=late)


def test_draft_and_cancelled_sessions_cannot_be_booked(
    course: Course, venue: Venue, school: Agency
) -> None:
    draft = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, status=SessionStatus.DRAFT)
    with pytest.raises(BookingError, match="not open for booking"):
        book(draft, guest(1), agency=school, now=EARLY)
    cancelled = make_session(
        course, venue, starts_at=JUNE_SESSION_STARTS, status=SessionStatus.CANCELLED
    )
    with pytest.raises(BookingError, match="has been cancelled"):
        book(cancelled, guest(1), agency=school, now=EARLY)


# --- free places and card holds ---------------------------------------------------------------


def test_a_mapig_is_free_and_confirms_at_once(
    venue: Venue, practitioner: Any, school: Agency
) -> None:
    mapig = Course.objects.create(title="Think Family", kind=CourseKind.MAPIG, duration_half_days=1)
    session = make_session(mapig, venue, starts_at=JUNE_SESSION_STARTS)

    # Even if the booker picked card, nothing is charged and nothing is held.
    order = book(session, practitioner, agency=school, method=PaymentMethod.CARD, now=EARLY)
    booking = only_booking(order)
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.confirmed_at == EARLY
    assert booking.hold_expires_at is None
    assert (booking.price, booking.payment_method) == (Decimal("0.00"), PaymentMethod.FREE)
    assert order.payment_method == PaymentMethod.FREE
    assert not order.invoices.exists()
    assert emails("booking_confirmed") == ["teacher@example.org"]


def test_a_card_booking_holds_the_place_for_the_hold_time_and_an_expired_hold_stops_counting(
    course: Course, venue: Venue, practitioner: Any, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    hold = dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES)

    held = only_booking(
        book(session, practitioner, agency=school, method=PaymentMethod.CARD, now=EARLY)
    )
    assert held.status == BookingStatus.HELD
    assert held.hold_expires_at == EARLY + hold
    assert held.confirmed_at is None
    assert not emails("booking_confirmed"), "a held place is confirmed only by payment"

    just_before = EARLY + hold - dt.timedelta(seconds=1)
    assert places_taken(session.pk, just_before) == 1
    with pytest.raises(SessionFull, match=FULL_MESSAGE):
        book(session, guest(1), agency=school, now=just_before)

    just_after = EARLY + hold
    assert places_taken(session.pk, just_after) == 0
    taken = only_booking(book(session, guest(1), agency=school, now=just_after))
    assert taken.status == BookingStatus.CONFIRMED


def test_someone_whose_own_hold_ran_out_can_book_again_at_once(
    course: Course, venue: Venue, practitioner: Any, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=5)
    first = only_booking(
        book(session, practitioner, agency=school, method=PaymentMethod.CARD, now=EARLY)
    )
    later = EARLY + dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES, seconds=1)

    again = only_booking(
        book(session, practitioner, agency=school, method=PaymentMethod.CARD, now=later)
    )

    first.refresh_from_db()
    assert first.status == BookingStatus.EXPIRED
    assert again.status == BookingStatus.HELD


def test_a_booking_for_more_people_than_places_left_is_refused_whole(
    course: Course, venue: Venue, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=3)
    book(session, guest(1), agency=school, now=EARLY)
    with pytest.raises(SessionFull, match="Only 2 places left on this session, not enough for 3"):
        book(session, guest(2), guest(3), guest(4), agency=school, now=EARLY)
    assert session.bookings.count() == 1


def test_holds_release_expired_releases_the_place_and_offers_it_to_the_waiting_list(
    course: Course,
    venue: Venue,
    agency_booker: Any,
    practitioner: Any,
    school: Agency,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # The waiting-list task reads the real clock, so this story runs on it.
    now = timezone.now()
    session = make_session(course, venue, starts_at=now + dt.timedelta(days=30), capacity=1)
    booked_at = now - dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES + 5)
    order = book(
        session,
        guest(1),
        agency=school,
        booked_by=agency_booker,
        method=PaymentMethod.CARD,
        now=booked_at,
    )
    payment = payment_start(order=order, success_url="/ok/", cancel_url="/no/", now=booked_at)
    entry = waitlist_join(
        session=session, person=practitioner, now=booked_at + dt.timedelta(minutes=1)
    )

    # Nothing is released before its time.
    assert holds_release_expired(now=booked_at + dt.timedelta(minutes=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        released = holds_release_expired(now=now)

    assert released == 1
    booking = only_booking(order)
    assert booking.status == BookingStatus.EXPIRED
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    assert entry.offer_expires_at is not None and entry.offer_expires_at > now
    assert emails("waitlist_offer") == ["teacher@example.org"]
    # Running it again finds nothing more to do.
    assert holds_release_expired(now=now) == 0


def test_a_hold_whose_payment_is_processing_is_not_released(
    course: Course, venue: Venue, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    order = book(session, guest(1), agency=school, method=PaymentMethod.CARD, now=EARLY)
    payment = payment_start(order=order, success_url="/", cancel_url="/", now=EARLY)
    payment_pending(payment=payment, now=EARLY + dt.timedelta(minutes=5))

    assert holds_release_expired(now=EARLY + dt.timedelta(hours=2)) == 0
    assert only_booking(order).status == BookingStatus.HELD
    assert places_taken(session.pk, EARLY + dt.timedelta(hours=2)) == 1


def test_no_checkout_opens_for_a_hold_that_ran_out(
    course: Course, venue: Venue, school: Agency
) -> None:
    """Its place stopped counting when it ran out and may be someone else's now."""
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    order = book(session, guest(1), agency=school, method=PaymentMethod.CARD, now=EARLY)
    expired = EARLY + dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES)
    with pytest.raises(BookingError, match="run out"):
        payment_start(order=order, success_url="/", cancel_url="/", now=expired)
    assert not Payment.objects.exists()


CHECKOUT_OPEN = dt.timedelta(minutes=45)


class SlowGateway(DevelopmentGateway):
    """A gateway that keeps its checkout open 45 minutes, longer than the hold, and answers
    after ``seconds``."""

    def __init__(self, seconds: float, clock: list[float]) -> None:
        self.seconds, self.clock = seconds, clock

    def create_checkout(self, **kwargs: Any) -> CheckoutResult:
        result = super().create_checkout(**kwargs)
        self.clock[0] += self.seconds
        return replace(result, expires_at=kwargs["now"] + CHECKOUT_OPEN)


@pytest.mark.parametrize(("gateway_seconds", "lengthened"), [(2.0, True), (31 * 60.0, False)])
def test_a_hold_follows_the_checkout_only_while_it_is_still_running(
    course: Course,
    venue: Venue,
    school: Agency,
    monkeypatch: pytest.MonkeyPatch,
    gateway_seconds: float,
    lengthened: bool,
) -> None:
    """Stripe keeps a checkout open for at least 30 minutes, which may outlast a hold: the
    hold follows it, unless it ran out while the gateway was answering (its place may have
    gone by then)."""
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    order = book(session, guest(1), agency=school, method=PaymentMethod.CARD, now=EARLY)
    held_until = only_booking(order).hold_expires_at
    assert held_until is not None and held_until < EARLY + CHECKOUT_OPEN
    clock = [1000.0]
    monkeypatch.setattr(payments_module, "monotonic", lambda: clock[0])
    monkeypatch.setattr(payments_module, "get_gateway", lambda: SlowGateway(gateway_seconds, clock))
    payment_start(order=order, success_url="/", cancel_url="/", now=EARLY)
    expected = EARLY + CHECKOUT_OPEN if lengthened else held_until
    assert only_booking(order).hold_expires_at == expected


def test_lengthening_holds_leaves_those_that_ran_out_and_takes_the_sessions_locks(
    course: Course, venue: Venue, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    order = book(session, guest(1), agency=school, method=PaymentMethod.CARD, now=EARLY)
    expired = EARLY + dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES, seconds=1)
    # The hold ran out before the tick came: the place is free, and someone takes it.
    book(session, guest(2), agency=school, now=expired)
    later = expired + dt.timedelta(minutes=30)
    with CaptureQueriesContext(connection) as queries:
        assert holds_lengthen(order, until=later, now=expired) == 0
    assert places_taken(session.pk, expired) == 1  # never two on a session of one
    if connection.features.has_select_for_update:
        assert any("FOR UPDATE" in query["sql"] for query in queries.captured_queries)

    other = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    running = book(other, guest(3), agency=school, method=PaymentMethod.CARD, now=EARLY)
    assert holds_lengthen(running, until=later, now=EARLY) == 1
    assert only_booking(running).hold_expires_at == later


def test_a_payment_processing_for_a_hold_that_ran_out_does_not_bring_it_back(
    course: Course, venue: Venue, school: Agency
) -> None:
    """The bank's "processing" comes after the hold ran out and its place went to someone
    else: the hold is not lengthened, and when the money comes it is refunded."""
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    order = book(session, guest(1), agency=school, method=PaymentMethod.CARD, now=EARLY)
    payment = payment_start(order=order, success_url="/", cancel_url="/", now=EARLY)
    expired = EARLY + dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES, seconds=1)
    book(session, guest(2), agency=school, now=expired)
    payment_pending(payment=payment, now=expired + dt.timedelta(minutes=1))
    assert places_taken(session.pk, expired + dt.timedelta(minutes=1)) == 1
    assert payment_succeeded(payment=payment, payment_intent_id="pi_1", now=expired) == []
    assert only_booking(order).status == BookingStatus.EXPIRED
    assert Refund.objects.get().booking == only_booking(order)


# --- subsidised places ------------------------------------------------------------------------


def test_a_subsidised_place_is_free_and_records_the_price_forgone_as_in_kind_value(
    june_session: Session, school: Agency
) -> None:
    school.subsidised_places_per_year = 2
    school.save()
    order = book(june_session, guest(1), agency=school, method=PaymentMethod.SUBSIDISED, now=EARLY)
    booking = only_booking(order)
    assert booking.status == BookingStatus.CONFIRMED
    assert (booking.price, booking.in_kind_value) == (Decimal("0.00"), Decimal("65.00"))
    assert booking.payment_method == PaymentMethod.SUBSIDISED
    assert not order.invoices.exists() and not order.payments.exists()
    assert subsidised_places_left(school, JUNE_SESSION_STARTS.date()) == 1


def test_the_subsidised_allowance_is_counted_per_financial_year(
    course: Course, venue: Venue, school: Agency
) -> None:
    school.subsidised_places_per_year = 1
    school.save()
    last_day = make_session(course, venue, starts_at=local(2031, 3, 31, 9, 30))
    # Half past midnight on 1 April is still 31 March in UTC: the year is the local date's.
    first_day = make_session(course, venue, starts_at=local(2031, 4, 1, 0, 30))
    same_year = make_session(course, venue, starts_at=local(2031, 3, 28, 9, 30))
    now = local(2031, 3, 1)

    book(last_day, guest(1), agency=school, method=PaymentMethod.SUBSIDISED, now=now)
    with pytest.raises(BookingError, match="0 subsidised places left this financial year"):
        book(same_year, guest(2), agency=school, method=PaymentMethod.SUBSIDISED, now=now)
    order = book(first_day, guest(3), agency=school, method=PaymentMethod.SUBSIDISED, now=now)
    assert only_booking(order).payment_method == PaymentMethod.SUBSIDISED
    assert subsidised_places_left(school, dt.date(2031, 3, 31)) == 0
    assert subsidised_places_left(school, dt.date(2031, 4, 1)) == 0
    assert subsidised_places_left(school, dt.date(2032, 4, 1)) == 1


@pytest.mark.parametrize("method", [PaymentMethod.SUBSIDISED, PaymentMethod.INVOICE])
def test_a_practitioner_cannot_spend_the_agencys_money_by_calling_the_service(
    june_session: Session, school: Agency, practitioner: Any, method: str
) -> None:
    # The booking page offers a practitioner only card; the service must refuse the rest too,
    # even with an approved agency that has subsidised places to give.
    school.subsidised_places_per_year = 5
    school.save()
    with pytest.raises(BookingError, match="Only your agency's booker"):
        book(
            june_session,
            practitioner,
            agency=school,
            booked_by=practitioner,
            method=method,
            now=EARLY,
        )
    assert not Booking.objects.filter(session=june_session).exists()


def test_a_booker_may_not_invoice_or_subsidise_another_agency(
    june_session: Session, school: Agency, other_agency_booker: Any
) -> None:
    school.subsidised_places_per_year = 5
    school.save()
    for method in (PaymentMethod.SUBSIDISED, PaymentMethod.INVOICE):
        with pytest.raises(BookingError, match="Only your agency's booker"):
            book(
                june_session,
                guest(1),
                agency=school,
                booked_by=other_agency_booker,
                method=method,
                now=EARLY,
            )


def test_the_agencys_booker_and_an_administrator_may_invoice_and_use_subsidised_places(
    june_session: Session, school: Agency, agency_booker: Any, training_admin: Any
) -> None:
    school.subsidised_places_per_year = 5
    school.save()
    invoiced = book(june_session, guest(1), agency=school, booked_by=agency_booker, now=EARLY)
    subsidised = book(
        june_session,
        guest(2),
        agency=school,
        booked_by=training_admin,
        method=PaymentMethod.SUBSIDISED,
        now=EARLY,
    )
    assert only_booking(invoiced).status == BookingStatus.CONFIRMED
    assert only_booking(subsidised).payment_method == PaymentMethod.SUBSIDISED


def test_the_subsidised_allowance_never_goes_below_zero(
    june_session: Session, course: Course, venue: Venue, school: Agency
) -> None:
    school.subsidised_places_per_year = 1
    school.save()
    # Asking for more places than are left takes none of them.
    with pytest.raises(BookingError, match="1 subsidised place left"):
        book(
            june_session,
            guest(1),
            guest(2),
            agency=school,
            method=PaymentMethod.SUBSIDISED,
            now=EARLY,
        )
    assert not Booking.objects.exists()

    book(june_session, guest(1), agency=school, method=PaymentMethod.SUBSIDISED, now=EARLY)
    other = make_session(course, venue, starts_at=JUNE_SESSION_STARTS + dt.timedelta(days=7))
    with pytest.raises(BookingError, match="0 subsidised places left"):
        book(other, guest(2), agency=school, method=PaymentMethod.SUBSIDISED, now=EARLY)
    # The administrator lowering the allowance below what was used leaves none, not minus one.
    school.subsidised_places_per_year = 0
    school.save()
    assert subsidised_places_left(school, JUNE_SESSION_STARTS.date()) == 0
    assert Booking.objects.filter(payment_method=PaymentMethod.SUBSIDISED).count() == 1


# --- the price shown is the price charged -----------------------------------------------------


def test_a_changed_price_is_reported_and_nothing_is_booked(
    june_session: Session, school: Agency
) -> None:
    with pytest.raises(PriceChanged) as raised:
        book(
            june_session,
            guest(1),
            guest(2),
            agency=school,
            quoted_total=Decimal("120.00"),
            now=EARLY,
        )
    assert raised.value.quote.total == Decimal("130.00")
    assert "£130.00" in str(raised.value)
    assert not Order.objects.exists()
    assert not Invoice.objects.exists()

    order = book(
        june_session,
        guest(1),
        guest(2),
        agency=school,
        quoted_total=raised.value.quote.total,
        now=EARLY,
    )
    assert order.total == Decimal("130.00")


def test_an_invoice_needs_a_purchase_order_when_the_agency_says_so(
    june_session: Session, school: Agency
) -> None:
    school.purchase_order_required = True
    school.save()
    with pytest.raises(BookingError, match="needs a purchase-order number"):
        book(june_session, guest(1), agency=school, purchase_order_number="  ", now=EARLY)
    assert not Order.objects.exists()

    order = book(
        june_session, guest(1), agency=school, purchase_order_number=" PO-4471 ", now=EARLY
    )
    invoice = order.invoices.get()
    assert order.purchase_order_number == invoice.purchase_order_number == "PO-4471"
    # Card payers are not asked for one.
    card = book(june_session, guest(2), agency=school, method=PaymentMethod.CARD, now=EARLY)
    assert only_booking(card).status == BookingStatus.HELD


def test_invoices_go_only_to_approved_agencies(june_session: Session, school: Agency) -> None:
    school.approved = False
    school.save()
    with pytest.raises(BookingError, match="approved"):
        book(june_session, guest(1), agency=school, now=EARLY)


# --- invoices ---------------------------------------------------------------------------------


def test_an_invoice_lists_each_place_with_the_agency_address_and_a_30_day_due_date(
    june_session: Session, school: Agency, agency_booker: Any
) -> None:
    order = book(
        june_session,
        guest(1),
        guest(2),
        agency=school,
        booked_by=agency_booker,
        purchase_order_number="PO-1",
        now=EARLY,
    )
    invoice = order.invoices.get()
    assert invoice.kind == InvoiceKind.INVOICE
    assert invoice.status == InvoiceStatus.ISSUED
    assert [line.amount for line in invoice.lines.all()] == [Decimal("65.00")] * 2
    assert invoice.total == Decimal("130.00")
    assert "Blackdown Primary School" in invoice.billing_address
    assert "1 School Lane" in invoice.billing_address
    assert invoice.issued_on == EARLY.date()
    assert invoice.due_on == EARLY.date() + dt.timedelta(days=30)
    assert emails("invoice_issued") == ["finance@blackdown.example.org"]
    assert all(b.status == BookingStatus.CONFIRMED for b in order.bookings.all())


def test_invoice_numbers_are_gapless_and_sequential_even_when_a_booking_fails(
    june_session: Session, school: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = book(june_session, guest(1), agency=school, now=EARLY).invoices.get()
    second = book(june_session, guest(2), agency=school, now=EARLY).invoices.get()
    assert (first.number, second.number) == ("INV-000001", "INV-000002")

    # A booking that fails after its invoice number was taken rolls the number back with it.
    def broken_outbox(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("mail outbox unavailable")

    monkeypatch.setattr(booking_module, "emails_queue", broken_outbox)
    with pytest.raises(RuntimeError):
        book(june_session, guest(3), agency=school, now=EARLY)
    monkeypatch.undo()
    assert not Booking.objects.filter(attendee_email=guest(3).email).exists()
    assert InvoiceNumberSequence.objects.get(prefix="INV").last_number == 2

    third = book(june_session, guest(3), agency=school, now=EARLY).invoices.get()
    assert third.number == "INV-000003"


def test_a_booking_refused_under_the_lock_gives_its_invoice_number_back(
    course: Course, venue: Venue, school: Agency
) -> None:
    """On PostgreSQL the number is taken with the count, before the booking knows it will be
    refused: a full session or a person already booked leaves the sequence where it was."""
    small = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    first = book(small, guest(1), agency=school, now=EARLY).invoices.get()
    with pytest.raises(SessionFull):
        book(small, guest(2), agency=school, now=EARLY)
    roomy = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=5)
    book(roomy, guest(3), agency=school, now=EARLY)
    with pytest.raises(BookingError, match="Already booked"):
        book(roomy, guest(3), agency=school, now=EARLY)
    assert InvoiceNumberSequence.objects.get(prefix="INV").last_number == 2
    third = book(roomy, guest(4), agency=school, now=EARLY).invoices.get()
    assert (first.number, third.number) == ("INV-000001", "INV-000003")


def test_the_administrator_marks_an_invoice_paid_once(
    june_session: Session, school: Agency, training_admin: Any
) -> None:
    invoice = book(june_session, guest(1), agency=school, now=EARLY).invoices.get()
    paid_on = dt.date(2030, 5, 20)
    assert invoice_mark_paid(invoice=invoice, paid_on=paid_on, actor=training_admin, now=EARLY)
    assert not invoice_mark_paid(invoice=invoice, paid_on=paid_on, actor=training_admin, now=EARLY)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_on) == (InvoiceStatus.PAID, paid_on)
    entry = AuditEntry.objects.get(object_type="bookings.invoice", action="status issued → paid")
    assert entry.actor == training_admin
    assert entry.changes == {"paid_on": "2030-05-20"}


# --- cancellation -----------------------------------------------------------------------------


def test_the_cancellation_cut_off_is_ten_working_days_before_skipping_the_bank_holiday(
    june_session: Session, school: Agency
) -> None:
    booking = only_booking(book(june_session, guest(1), agency=school, now=EARLY))
    assert settings.BOOKING_CANCELLATION_CUTOFF_WORKING_DAYS == 10
    assert booking.cancellation_cutoff() == dt.date(2030, 5, 24)
    assert booking.is_free_cancellation(CUTOFF_DAY)
    assert not booking.is_free_cancellation(local(2030, 5, 27, 9))


def test_cancelling_a_card_booking_before_the_cut_off_refunds_it_through_the_gateway(
    june_session: Session, practitioner: Any, school: Agency
) -> None:
    order = book(
        june_session,
        practitioner,
        agency=school,
        booked_by=practitioner,
        method=PaymentMethod.CARD,
        now=EARLY,
    )
    payment = pay(order, now=EARLY)
    booking = only_booking(order)
    assert booking.status == BookingStatus.CONFIRMED

    booking_cancel(booking=booking, actor=practitioner, now=CUTOFF_DAY)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert booking.cancelled_at == CUTOFF_DAY
    assert not booking.late_cancellation
    refund = Refund.objects.get()
    assert (refund.payment, refund.booking, refund.amount) == (payment, booking, Decimal("65.00"))
    assert refund.status == RefundStatus.PENDING

    # The background task sends it to the gateway (here the development gateway).
    refund_process(refund_id=refund.pk, now=CUTOFF_DAY)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.gateway_refund_id == f"re_dev_{refund.pk}"
    assert emails("refund_issued") == ["teacher@example.org"]
    assert emails("booking_cancelled") == ["teacher@example.org"]
    # A second run (a retried task) changes nothing.
    refund_process(refund_id=refund.pk, now=CUTOFF_DAY)
    assert Refund.objects.count() == 1
    assert emails("refund_issued") == ["teacher@example.org"]


def test_cancelling_invoice_places_before_the_cut_off_raises_credit_notes(
    june_session: Session, school: Agency, agency_booker: Any
) -> None:
    order = book(
        june_session, guest(1), guest(2), agency=school, booked_by=agency_booker, now=EARLY
    )
    invoice = order.invoices.get()
    first, second = order.bookings.order_by("pk")

    booking_cancel(booking=first, actor=agency_booker, now=CUTOFF_DAY)
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.number == "CN-000001"
    assert note.credits == invoice
    assert [(line.booking, line.amount) for line in note.lines.all()] == [
        (first, Decimal("-65.00"))
    ]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED, "half the invoice is still owed"

    booking_cancel(booking=second, actor=agency_booker, now=CUTOFF_DAY)
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 2
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CREDITED
    assert invoice.total + sum(n.total for n in invoice.credit_notes.all()) == Decimal("0.00")
    assert not Refund.objects.exists()


def test_cancelling_after_the_cut_off_keeps_the_fee(
    june_session: Session, school: Agency, agency_booker: Any
) -> None:
    card_order = book(
        june_session,
        guest(1),
        agency=school,
        booked_by=agency_booker,
        method=PaymentMethod.CARD,
        now=EARLY,
    )
    pay(card_order, now=EARLY)
    invoice_order = book(june_session, guest(2), agency=school, booked_by=agency_booker, now=EARLY)

    for order in (card_order, invoice_order):
        cancelled = booking_cancel(
            booking=only_booking(order), actor=agency_booker, now=AFTER_CUTOFF
        )
        assert cancelled.status == BookingStatus.CANCELLED
        assert cancelled.late_cancellation
    assert not Refund.objects.exists()
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    assert invoice_order.invoices.get().status == InvoiceStatus.ISSUED
    # The place itself is free again for someone else.
    assert places_taken(june_session.pk, AFTER_CUTOFF) == 0


def test_a_booking_cannot_be_cancelled_once_the_session_has_started(
    june_session: Session, school: Agency, practitioner: Any
) -> None:
    booking = only_booking(book(june_session, guest(1), agency=school, now=EARLY))
    with pytest.raises(BookingError, match="has started"):
        booking_cancel(
            booking=booking, actor=practitioner, now=JUNE_SESSION_STARTS + dt.timedelta(minutes=5)
        )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_a_cancelled_booking_cannot_be_cancelled_again(
    june_session: Session, school: Agency, practitioner: Any
) -> None:
    booking = only_booking(book(june_session, guest(1), agency=school, now=EARLY))
    booking_cancel(booking=booking, actor=practitioner, now=CUTOFF_DAY)
    with pytest.raises(BookingError, match="not active"):
        booking_cancel(booking=booking, actor=practitioner, now=CUTOFF_DAY)
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1


# --- transfer ---------------------------------------------------------------------------------


def test_a_place_can_be_transferred_to_a_colleague_and_the_reminder_follows_them(
    june_session: Session, school: Agency, practitioner: Any, agency_booker: Any
) -> None:
    booking = only_booking(book(june_session, practitioner, agency=school, now=EARLY))
    reminder = OutgoingEmail.objects.get(kind="booking_reminder", booking=booking)
    assert reminder.to == "teacher@example.org"

    # After the cancellation cut-off the fee stands, but the place can still be handed on.
    booking_transfer(
        booking=booking,
        to_name="Dee Lead",
        to_email=" DSL@example.org",
        actor=practitioner,
        now=AFTER_CUTOFF,
    )
    booking.refresh_from_db()
    assert (booking.attendee, booking.attendee_email, booking.attendee_name) == (
        agency_booker,
        "dsl@example.org",
        "Dee Lead",
    )
    assert booking.status == BookingStatus.CONFIRMED
    reminder.refresh_from_db()
    assert reminder.to == "dsl@example.org"
    assert emails("booking_transferred_in") == ["dsl@example.org"]
    assert emails("booking_transferred_out") == ["teacher@example.org"]
    assert booking.agency == school and booking.price == Decimal("65.00")


def test_a_place_cannot_be_transferred_to_someone_registered_with_another_agency(
    june_session: Session, school: Agency, practitioner: Any, other_agency_booker: Any
) -> None:
    booking = only_booking(book(june_session, practitioner, agency=school, now=EARLY))
    with pytest.raises(BookingError, match="not registered with Blackdown Primary School"):
        booking_transfer(
            booking=booking,
            to_name="Olly Other",
            to_email="manager@acorns.example.org",
            actor=practitioner,
            now=EARLY,
        )
    booking.refresh_from_db()
    assert booking.attendee == practitioner
    assert not emails("booking_transferred_in")


def test_a_place_cannot_be_transferred_after_the_session_starts(
    june_session: Session, school: Agency, practitioner: Any
) -> None:
    booking = only_booking(book(june_session, practitioner, agency=school, now=EARLY))
    with pytest.raises(BookingError, match="no longer be transferred"):
        booking_transfer(
            booking=booking,
            to_name="New Person",
            to_email="new@example.org",
            actor=practitioner,
            now=JUNE_SESSION_STARTS + dt.timedelta(minutes=1),
        )


# --- the unit cancels a session ---------------------------------------------------------------


def test_cancelling_a_session_cancels_and_refunds_everyone_even_after_the_cut_off(
    june_session: Session,
    school: Agency,
    agency_booker: Any,
    practitioner: Any,
    training_admin: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    card = book(
        june_session,
        practitioner,
        agency=school,
        booked_by=practitioner,
        method=PaymentMethod.CARD,
        now=EARLY,
    )
    pay(card, now=EARLY)
    invoiced = book(
        june_session, guest(1), guest(2), agency=school, booked_by=agency_booker, now=EARLY
    )
    still_paying = book(
        june_session,
        guest(3),
        agency=school,
        booked_by=agency_booker,
        method=PaymentMethod.CARD,
        now=AFTER_CUTOFF,
    )

    with pytest.raises(BookingError, match="reason"):
        session_cancel(session=june_session, actor=training_admin, now=AFTER_CUTOFF, reason=" ")
    mail.outbox.clear()
    # The mail and refund tasks run after commit, as they would after the admin's request.
    with django_capture_on_commit_callbacks(execute=True):
        count = session_cancel(
            session=june_session, actor=training_admin, now=AFTER_CUTOFF, reason="Trainer unwell"
        )

    assert count == 4
    june_session.refresh_from_db()
    assert june_session.status == SessionStatus.CANCELLED
    cancelled = Booking.objects.filter(status=BookingStatus.CANCELLED)
    assert cancelled.count() == 3
    assert not cancelled.filter(late_cancellation=True).exists()
    assert only_booking(still_paying).status == BookingStatus.EXPIRED
    refund = Refund.objects.get()
    assert (refund.amount, refund.status) == (Decimal("65.00"), RefundStatus.SUCCEEDED)
    notes = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE)
    assert sum(note.total for note in notes) == Decimal("-130.00")
    assert invoiced.invoices.get(kind=InvoiceKind.INVOICE).status == InvoiceStatus.CREDITED
    assert emails("booking_cancelled") == sorted(
        [
            "teacher@example.org",
            "colleague1@example.org",
            "colleague2@example.org",
            "colleague3@example.org",  # was still paying: told too
            "dsl@example.org",
            "dsl@example.org",
            "dsl@example.org",
        ]
    )
    told = sorted(
        address
        for message in mail.outbox
        if message.subject.startswith("Session cancelled: Working Together")
        for address in message.to
    )
    assert told == emails("booking_cancelled")
    assert not OutgoingEmail.objects.filter(kind="booking_reminder", claimed_at=None).exists()


def test_cancelling_a_session_tells_someone_who_is_paying_and_closes_their_checkout(
    june_session: Session, practitioner: Any, school: Agency, training_admin: Any
) -> None:
    order = book(
        june_session,
        practitioner,
        agency=school,
        method=PaymentMethod.CARD,
        now=EARLY,
        booked_by=practitioner,
    )
    payment = payment_start(order=order, success_url="/", cancel_url="/", now=EARLY)

    session_cancel(session=june_session, actor=training_admin, now=EARLY, reason="Trainer unwell")

    held = only_booking(order)
    payment.refresh_from_db()
    assert held.status == BookingStatus.EXPIRED
    assert payment.status == PaymentStatus.EXPIRED
    cancelled = OutgoingEmail.objects.get(kind="booking_cancelled", to=practitioner.email)
    assert cancelled.context["unpaid"] is True


def test_cancelling_a_session_closes_its_waiting_list(
    course: Course, venue: Venue, school: Agency, practitioner: Any, training_admin: Any
) -> None:
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    book(session, guest(1), agency=school, now=EARLY)
    entry = waitlist_join(session=session, person=practitioner, now=EARLY)
    session_cancel(session=session, actor=training_admin, now=EARLY, reason="Flood")
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.LEFT


# --- waiting list -----------------------------------------------------------------------------


@pytest.fixture
def full_session(course: Course, venue: Venue, school: Agency) -> Session:
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    book(session, guest(1), agency=school, now=EARLY)
    return session


@pytest.fixture
def nurse(nursery: Agency) -> Any:
    return make_person("nurse@example.org", agency=nursery, first_name="Nina", last_name="Nurse")


def test_a_person_joins_a_waiting_list_once(full_session: Session, practitioner: Any) -> None:
    entry = waitlist_join(session=full_session, person=practitioner, now=EARLY)
    assert (entry.status, entry.email, entry.name) == (
        WaitlistStatus.WAITING,
        "teacher@example.org",
        "Tess Teacher",
    )
    with pytest.raises(BookingError, match="already on the waiting list"):
        waitlist_join(session=full_session, person=practitioner, now=EARLY)
    assert WaitingListEntry.objects.count() == 1


def test_someone_already_booked_cannot_join_the_waiting_list(
    june_session: Session, practitioner: Any, school: Agency
) -> None:
    book(june_session, practitioner, agency=school, now=EARLY)
    with pytest.raises(BookingError, match="already have a place"):
        waitlist_join(session=june_session, person=practitioner, now=EARLY)


def test_a_freed_place_is_offered_to_the_first_in_line_and_held_for_them(
    full_session: Session, practitioner: Any, nurse: Any, school: Agency, agency_booker: Any
) -> None:
    first = waitlist_join(
        session=full_session, person=practitioner, now=EARLY + dt.timedelta(minutes=1)
    )
    second = waitlist_join(session=full_session, person=nurse, now=EARLY + dt.timedelta(minutes=2))
    assert waitlist_offer_next(session=full_session, now=EARLY) == []

    booking_cancel(booking=full_session.bookings.get(), actor=agency_booker, now=EARLY)
    offer_time = EARLY + dt.timedelta(minutes=10)
    assert waitlist_offer_next(session=full_session, now=offer_time) == [first]

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == WaitlistStatus.OFFERED
    assert first.offer_expires_at == offer_time + dt.timedelta(hours=settings.WAITLIST_OFFER_HOURS)
    assert second.status == WaitlistStatus.WAITING
    assert emails("waitlist_offer") == ["teacher@example.org"]
    # The open offer holds the place: nobody else can book it meanwhile.
    with pytest.raises(SessionFull, match=FULL_MESSAGE):
        book(full_session, guest(9), agency=school, now=offer_time + dt.timedelta(hours=1))
    # And offering again does not offer the same place twice.
    assert waitlist_offer_next(session=full_session, now=offer_time) == []


def test_a_lapsed_offer_passes_to_the_next_person_who_can_claim_the_place(
    full_session: Session,
    practitioner: Any,
    nurse: Any,
    school: Agency,
    nursery: Agency,
    agency_booker: Any,
) -> None:
    first = waitlist_join(session=full_session, person=practitioner, now=EARLY)
    second = waitlist_join(session=full_session, person=nurse, now=EARLY + dt.timedelta(minutes=1))
    booking_cancel(booking=full_session.bookings.get(), actor=agency_booker, now=EARLY)
    waitlist_offer_next(session=full_session, now=EARLY)

    lapse = EARLY + dt.timedelta(hours=settings.WAITLIST_OFFER_HOURS)
    assert waitlist_lapse_offers(now=lapse) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == WaitlistStatus.LAPSED
    assert second.status == WaitlistStatus.OFFERED
    assert emails("waitlist_offer") == ["nurse@example.org", "teacher@example.org"]

    # The lapsed offer cannot be used any more.
    with pytest.raises(BookingError, match="expired or been used"):
        book(full_session, practitioner, agency=school, waitlist_offer=first, now=lapse)
    # The place is held for the nurse: it counts as taken, yet her claim goes through.
    assert places_taken(full_session.pk, lapse) == full_session.capacity
    order = book(
        full_session,
        nurse,
        agency=nursery,
        waitlist_offer=second,  # claimed by phone: the unit invoices the nursery
        now=lapse + dt.timedelta(hours=1),
    )
    assert only_booking(order).status == BookingStatus.CONFIRMED
    second.refresh_from_db()
    assert second.status == WaitlistStatus.CLAIMED
    assert places_taken(full_session.pk, lapse + dt.timedelta(hours=1)) == 1
    # A claimed offer cannot be claimed twice.
    with pytest.raises(BookingError, match="expired or been used"):
        book(full_session, guest(5), agency=nursery, waitlist_offer=second, now=lapse)


# Bookings for the full session (Monday 10 June 2030) close two working days before: Thursday 6.
AFTER_BOOKING_CLOSED = local(2030, 6, 7, 9)


def test_no_waiting_list_offer_goes_out_once_booking_has_closed(
    full_session: Session, practitioner: Any, training_admin: Any, agency_booker: Any
) -> None:
    entry = waitlist_join(session=full_session, person=practitioner, now=EARLY)
    booking_cancel(booking=full_session.bookings.get(), actor=agency_booker, now=EARLY)
    assert not full_session.is_open_for_booking(AFTER_BOOKING_CLOSED)

    assert waitlist_offer_next(session=full_session, now=AFTER_BOOKING_CLOSED) == []
    with pytest.raises(BookingError, match="Booking for this session has closed"):
        waitlist_offer_by_hand(entry=entry, actor=training_admin, now=AFTER_BOOKING_CLOSED)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING
    assert emails("waitlist_offer") == []


def test_open_offers_lapse_when_booking_closes(
    full_session: Session, practitioner: Any, agency_booker: Any
) -> None:
    entry = waitlist_join(session=full_session, person=practitioner, now=EARLY)
    booking_cancel(booking=full_session.bookings.get(), actor=agency_booker, now=EARLY)
    offer_time = local(2030, 6, 6, 12)  # the last day of booking: the offer runs 48 hours
    assert waitlist_offer_next(session=full_session, now=offer_time) == [entry]
    assert places_taken(full_session.pk, AFTER_BOOKING_CLOSED) == 1

    # The tick, the morning after booking closed and well inside the offer's 48 hours.
    assert waitlist_lapse_offers(now=AFTER_BOOKING_CLOSED) == 1
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.LAPSED
    assert places_taken(full_session.pk, AFTER_BOOKING_CLOSED) == 0
    assert waitlist_lapse_offers(now=AFTER_BOOKING_CLOSED) == 0


def test_the_administrator_can_offer_a_place_by_hand_out_of_turn(
    full_session: Session, practitioner: Any, nurse: Any, training_admin: Any
) -> None:
    waitlist_join(session=full_session, person=practitioner, now=EARLY)
    later = waitlist_join(session=full_session, person=nurse, now=EARLY)
    with pytest.raises(BookingError, match="no free place"):
        waitlist_offer_by_hand(entry=later, actor=training_admin, now=EARLY)

    Session.objects.filter(pk=full_session.pk).update(capacity=2)
    waitlist_offer_by_hand(entry=later, actor=training_admin, now=EARLY)
    later.refresh_from_db()
    assert later.status == WaitlistStatus.OFFERED
    audit = AuditEntry.objects.get(
        object_type="bookings.waitinglistentry", object_id=str(later.pk), action="offered a place"
    )
    assert audit.actor == training_admin


def test_leaving_the_waiting_list(full_session: Session, practitioner: Any) -> None:
    entry = waitlist_join(session=full_session, person=practitioner, now=EARLY)
    waitlist_leave(entry=entry, actor=practitioner, now=EARLY)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.LEFT
    # Having left, the person may join again.
    waitlist_join(session=full_session, person=practitioner, now=EARLY)


# --- payments arriving late -------------------------------------------------------------------


def test_a_payment_for_a_hold_already_released_is_refunded_and_the_booker_told(
    course: Course, venue: Venue, school: Agency, agency_booker: Any
) -> None:
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    order = book(
        session,
        guest(1),
        agency=school,
        booked_by=agency_booker,
        method=PaymentMethod.CARD,
        now=EARLY,
    )
    payment = payment_start(order=order, success_url="/", cancel_url="/", now=EARLY)
    expired = EARLY + dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES, seconds=1)
    assert holds_release_expired(now=expired) == 1
    # Someone else takes the place meanwhile.
    book(session, guest(2), agency=school, now=expired)

    confirmed = payment_succeeded(
        payment=payment, payment_intent_id="pi_late", now=expired + dt.timedelta(minutes=2)
    )
    assert confirmed == []
    booking = only_booking(order)
    assert booking.status == BookingStatus.EXPIRED
    payment.refresh_from_db()
    assert (payment.status, payment.payment_intent_id) == (PaymentStatus.SUCCEEDED, "pi_late")
    refund = Refund.objects.get()
    assert (refund.payment, refund.booking, refund.amount) == (payment, booking, Decimal("65.00"))
    assert emails("payment_refunded_place_gone") == ["colleague1@example.org", "dsl@example.org"]
    assert not OutgoingEmail.objects.filter(kind="booking_confirmed", booking=booking).exists()
    # The same news twice does not refund twice.
    payment_succeeded(payment=payment, payment_intent_id="pi_late", now=expired)
    assert Refund.objects.count() == 1


def test_a_late_payment_still_confirms_a_hold_whose_place_nobody_took(
    course: Course, venue: Venue, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    order = book(session, guest(1), agency=school, method=PaymentMethod.CARD, now=EARLY)
    payment = payment_start(order=order, success_url="/", cancel_url="/", now=EARLY)
    # The hold ran out but the expiry task has not run yet, and the place is still free.
    late = EARLY + dt.timedelta(hours=1)
    assert payment_succeeded(payment=payment, payment_intent_id="pi_1", now=late) == [
        only_booking(order)
    ]
    assert only_booking(order).status == BookingStatus.CONFIRMED
    assert not Refund.objects.exists()


# --- audit trail ------------------------------------------------------------------------------


def test_every_state_change_writes_an_audit_entry_with_actor_and_changes(
    june_session: Session, school: Agency, practitioner: Any
) -> None:
    order = book(
        june_session,
        practitioner,
        agency=school,
        booked_by=practitioner,
        method=PaymentMethod.CARD,
        now=EARLY,
    )
    payment = pay(order, now=EARLY + dt.timedelta(minutes=5))
    booking = only_booking(order)
    booking_cancel(booking=booking, actor=practitioner, now=CUTOFF_DAY)
    refund = Refund.objects.get()
    refund_process(refund_id=refund.pk, now=CUTOFF_DAY)

    def trail(obj: Any) -> list[AuditEntry]:
        return list(
            AuditEntry.objects.filter(
                object_type=obj._meta.label_lower, object_id=str(obj.pk)
            ).order_by("at", "pk")
        )

    held, confirmed, cancelled = trail(booking)
    assert (held.action, held.actor, held.at) == ("held for payment", practitioner, EARLY)
    assert held.changes["status"] == "held"
    assert held.changes["price"] == "65.00"
    assert held.changes["order"] == order.reference
    assert (confirmed.actor, confirmed.actor_label) == (None, "stripe")
    assert confirmed.changes["status"] == ["held", "confirmed"]
    assert (cancelled.actor, cancelled.actor_label) == (practitioner, "teacher@example.org")
    assert cancelled.changes["status"] == ["confirmed", "cancelled"]
    assert cancelled.changes["late_cancellation"] is False

    created, succeeded = trail(payment)
    assert created.changes == {"amount": "65.00", "gateway": "development"}
    assert succeeded.action == "status created → succeeded"
    assert succeeded.changes == {"payment_intent": payment.payment_intent_id}

    refund_created, refund_succeeded = trail(refund)
    assert refund_created.actor == practitioner
    assert refund_created.changes["amount"] == "65.00"
    assert (refund_succeeded.actor_label, refund_succeeded.changes) == (
        "system",
        {"gateway_refund_id": f"re_dev_{refund.pk}"},
    )


def test_an_invoice_booking_audits_the_booking_and_the_invoice(
    june_session: Session, school: Agency, agency_booker: Any
) -> None:
    order = book(june_session, guest(1), agency=school, booked_by=agency_booker, now=EARLY)
    booking = only_booking(order)
    invoice = order.invoices.get()
    booked = AuditEntry.objects.get(object_type="bookings.booking", object_id=str(booking.pk))
    assert (booked.action, booked.actor) == ("booked", agency_booker)
    assert booked.changes["status"] == "confirmed"
    issued = AuditEntry.objects.get(object_type="bookings.invoice", object_id=str(invoice.pk))
    assert issued.changes == {"number": "INV-000001", "total": "65.00"}
    assert issued.actor == agency_booker


def test_a_payment_confirmed_while_the_tick_releases_its_hold_keeps_the_paid_place(
    course: Course, venue: Venue, school: Agency, agency_booker: Any, monkeypatch: Any
) -> None:
    """The lost-money race, one step at a time: the tick reads the expired hold, the late
    webhook confirms it, and only then does the tick write. The tick must not overwrite the
    paid place with its stale copy (which left the customer paid, placeless and unrefunded)."""
    session = make_session(course, venue, starts_at=JUNE_SESSION_STARTS, capacity=1)
    order = book(
        session,
        guest(1),
        agency=school,
        booked_by=agency_booker,
        method=PaymentMethod.CARD,
        now=EARLY,
    )
    payment = payment_start(order=order, success_url="/", cancel_url="/", now=EARLY)
    expired = EARLY + dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES, seconds=1)
    write_status = payments_module.booking_status_set
    webhook: list[list[Booking]] = []

    def tick_writes_after_the_webhook(*args: Any, **kwargs: Any) -> Any:
        if not webhook:
            webhook.append([])  # the webhook's own status change passes straight through
            webhook[0] = payment_succeeded(
                payment=payment, payment_intent_id="pi_late", now=expired
            )
        return write_status(*args, **kwargs)

    monkeypatch.setattr(payments_module, "booking_status_set", tick_writes_after_the_webhook)
    holds_release_expired(now=expired)

    booking = only_booking(order)
    assert webhook == [[booking]], "the webhook confirmed the place between the tick's steps"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert booking.status == BookingStatus.CONFIRMED
    assert not Refund.objects.exists()
    trail = list(
        AuditEntry.objects.filter(object_type="bookings.booking", object_id=str(booking.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert trail == ["held for payment", "status held → confirmed"]


def test_cancelling_a_session_starts_again_when_a_payment_opens_while_it_takes_its_locks(
    june_session: Session, practitioner: Any, school: Agency, training_admin: Any, monkeypatch: Any
) -> None:
    """Payments are locked before the session, so their ids are read first without a lock; one
    that appears by the time the session is locked cannot be locked out of order: start again."""
    order = book(
        june_session,
        practitioner,
        agency=school,
        method=PaymentMethod.CARD,
        now=EARLY,
        booked_by=practitioner,
    )
    payment = payment_start(order=order, success_url="/", cancel_url="/", now=EARLY)
    read_payments = sessions_module._session_payment_ids
    reads: list[int] = []

    def the_payment_opens_after_the_first_read(session_id: int) -> set[int]:
        reads.append(session_id)
        return set() if len(reads) == 1 else read_payments(session_id)

    monkeypatch.setattr(
        sessions_module, "_session_payment_ids", the_payment_opens_after_the_first_read
    )
    assert (
        session_cancel(session=june_session, actor=training_admin, now=EARLY, reason="Flood") == 1
    )

    assert len(reads) == 4, "read, check (a payment appeared), then read and check again"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    assert only_booking(order).status == BookingStatus.EXPIRED
    assert (
        AuditEntry.objects.filter(
            object_type="training.session", object_id=str(june_session.pk)
        ).count()
        == 1
    ), "the first attempt wrote nothing"
