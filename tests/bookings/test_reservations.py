"""Reserved places: an agency reserves unnamed places, invoiced now and counted against the
capacity; its booker names them by the deadline (5 working days before the session), is
reminded before it, and at the deadline the places still unnamed are given up, charged or
credited as the policy says."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from bookings.capacity import places_taken
from bookings.errors import BookingError, SessionFull
from bookings.housekeeping import housekeeping_run
from bookings.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    Invoice,
    InvoiceKind,
    OutgoingEmail,
    PaymentMethod,
    PlaceReservation,
    ReservationSettled,
)
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.reservations import places_reserve, reserved_place_name, unnamed_places
from bookings.places.sessions import session_cancel
from tests.bookings.test_attendance import SESSION_DAY, local, today_at
from tests.conftest import make_person, make_session
from training.models import Agency, Course, Session, Venue

pytestmark = pytest.mark.django_db

# The session is on Tuesday 10 March 2026: names are due by Tuesday 3 March (5 working days
# before), and the booker is reminded on Friday 27 February (2 working days before that).
A_MONTH_BEFORE = local(2026, 2, 10, 10)
REMINDER_DAY = local(2026, 2, 27, 8)
DEADLINE_DAY = local(2026, 3, 3, 16)
AFTER_DEADLINE = local(2026, 3, 4, 0, 5)


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=SESSION_DAY, capacity=4)


def reserve(session: Session, agency: Agency, booked_by: Any, places: int = 3) -> PlaceReservation:
    return places_reserve(
        session=session, agency=agency, places=places, booked_by=booked_by, now=A_MONTH_BEFORE
    )


def colleague(name: str = "Cara Colleague", email: str = "cara@blackdown.example") -> AttendeeSpec:
    return AttendeeSpec(name=name, email=email, job_title="Teacher")


def test_a_booker_reserves_unnamed_places_invoiced_now_and_counted_against_capacity(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    reservation = reserve(session, school, agency_booker)
    places = unnamed_places(reservation)
    assert [place.status for place in places] == [BookingStatus.RESERVED] * 3
    assert {place.attendee_name for place in places} == {"Unnamed place"}
    assert places_taken(session.pk, A_MONTH_BEFORE) == 3
    invoice = Invoice.objects.get(order=reservation.order, kind=InvoiceKind.INVOICE)
    assert invoice.total == 3 * session.price_for_band(school.sector.price_band_id)
    assert invoice.lines.count() == 3
    assert reservation.naming_deadline() == dt.date(2026, 3, 3)
    told = OutgoingEmail.objects.get(kind="places_reserved")
    assert told.to == agency_booker.email and told.context["deadline"] == "Tuesday 3 March 2026"
    assert AuditEntry.objects.filter(code="places_reserved", actor=agency_booker).count() == 1
    # Nobody is emailed a confirmation for a place without a name.
    assert not OutgoingEmail.objects.filter(kind="booking_confirmed").exists()


def test_reserving_never_goes_beyond_the_capacity_and_named_bookings_see_the_reserved_places(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    with pytest.raises(SessionFull, match="not enough to reserve 5"):
        reserve(session, school, agency_booker, places=5)
    reserve(session, school, agency_booker, places=4)
    with pytest.raises(SessionFull):
        booking_create(
            session=session,
            attendees=[AttendeeSpec(name="Late Comer", email="late@example.org")],
            agency=school,
            booked_by=None,
            payment_method=PaymentMethod.INVOICE,
            now=A_MONTH_BEFORE,
        )


def test_only_the_agencys_booker_or_the_administrator_may_reserve_for_it(
    session: Session,
    school: Agency,
    nursery: Agency,
    agency_booker: Any,
    other_agency_booker: Any,
    practitioner: Any,
    training_admin: Any,
) -> None:
    for outsider in (other_agency_booker, practitioner):
        with pytest.raises(BookingError, match="Only your agency's booker"):
            reserve(session, school, outsider)
    assert not Booking.objects.exists()
    # The administrator reserves for any agency; its bookers are the ones told.
    reservation = reserve(session, nursery, training_admin, places=2)
    assert reservation.agency == nursery and len(unnamed_places(reservation)) == 2
    told = OutgoingEmail.objects.get(kind="places_reserved")
    assert told.to == other_agency_booker.email


def test_naming_a_place_makes_it_an_ordinary_confirmed_place(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    reservation = reserve(session, school, agency_booker)
    place = unnamed_places(reservation)[0]
    named = reserved_place_name(
        booking=place, attendee=colleague(), actor=agency_booker, now=A_MONTH_BEFORE
    )
    assert named.status == BookingStatus.CONFIRMED
    assert (named.attendee_name, named.attendee_email) == (
        "Cara Colleague",
        "cara@blackdown.example",
    )
    assert named.sector == school.sector and named.confirmed_at == A_MONTH_BEFORE
    kinds = set(OutgoingEmail.objects.filter(booking=named).values_list("kind", flat=True))
    # One email for the colleague (their link inside it), as for any place booked for them.
    assert {"booking_confirmed", "booking_reminder"} <= kinds
    assert "claim_invitation" not in kinds
    assert AuditEntry.objects.filter(code="reserved_place_named").count() == 1
    assert len(unnamed_places(reservation)) == 2
    # Still three places taken: naming moves none.
    assert places_taken(session.pk, A_MONTH_BEFORE) == 3


def test_a_place_is_named_as_a_colleague_is_booked(
    session: Session,
    school: Agency,
    agency_booker: Any,
    other_agency_booker: Any,
    nursery: Agency,
) -> None:
    reservation = reserve(session, school, agency_booker)
    first, second, _ = unnamed_places(reservation)
    with pytest.raises(BookingError, match="Only your agency's booker"):
        reserved_place_name(
            booking=first, attendee=colleague(), actor=other_agency_booker, now=A_MONTH_BEFORE
        )
    with pytest.raises(BookingError, match="registered with another agency"):
        reserved_place_name(
            booking=first,
            attendee=colleague("Nat Nursery", other_agency_booker.email),
            actor=agency_booker,
            now=A_MONTH_BEFORE,
        )
    with pytest.raises(BookingError, match="Give the name"):
        reserved_place_name(
            booking=first,
            attendee=colleague(" ", "x@example.org"),
            actor=agency_booker,
            now=A_MONTH_BEFORE,
        )
    reserved_place_name(
        booking=first, attendee=colleague(), actor=agency_booker, now=A_MONTH_BEFORE
    )
    with pytest.raises(BookingError, match="already has a place"):
        reserved_place_name(
            booking=second, attendee=colleague(), actor=agency_booker, now=A_MONTH_BEFORE
        )
    with pytest.raises(BookingError, match="can no longer be named"):
        reserved_place_name(
            booking=first,
            attendee=colleague("Dan", "dan@blackdown.example"),
            actor=agency_booker,
            now=A_MONTH_BEFORE,
        )


def test_the_booker_is_reminded_once_before_the_deadline(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    reserve(session, school, agency_booker)
    assert housekeeping_run(now=REMINDER_DAY - dt.timedelta(days=1))["reservations_reminded"] == 0
    assert housekeeping_run(now=REMINDER_DAY)["reservations_reminded"] == 1
    assert housekeeping_run(now=REMINDER_DAY)["reservations_reminded"] == 0
    reminder = OutgoingEmail.objects.get(kind="reserved_places_reminder")
    assert reminder.to == agency_booker.email
    assert (
        reminder.context["unnamed"] == 3 and reminder.context["deadline"] == "Tuesday 3 March 2026"
    )


def test_places_are_named_up_to_the_deadline_day_and_not_after(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    reservation = reserve(session, school, agency_booker)
    first, second, _ = unnamed_places(reservation)
    reserved_place_name(booking=first, attendee=colleague(), actor=agency_booker, now=DEADLINE_DAY)
    with pytest.raises(BookingError, match="can no longer be named"):
        reserved_place_name(
            booking=second,
            attendee=colleague("Dan", "dan@blackdown.example"),
            actor=agency_booker,
            now=AFTER_DEADLINE,
        )


def test_by_default_unnamed_places_are_given_up_at_the_deadline_and_the_fee_stands(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    reservation = reserve(session, school, agency_booker)
    reserved_place_name(
        booking=unnamed_places(reservation)[0],
        attendee=colleague(),
        actor=agency_booker,
        now=A_MONTH_BEFORE,
    )
    assert housekeeping_run(now=DEADLINE_DAY)["reserved_places_given_up"] == 0
    assert housekeeping_run(now=AFTER_DEADLINE)["reserved_places_given_up"] == 2
    assert housekeeping_run(now=AFTER_DEADLINE)["reserved_places_given_up"] == 0
    reservation.refresh_from_db()
    assert reservation.settled_how == ReservationSettled.CHARGED
    statuses = sorted(reservation.order.bookings.values_list("status", "late_cancellation"))
    assert statuses == [("cancelled", True), ("cancelled", True), ("confirmed", False)]
    # The seats are free again for the waiting list; no credit note.
    assert places_taken(session.pk, AFTER_DEADLINE) == 1
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    settled = OutgoingEmail.objects.get(kind="reserved_places_settled")
    assert settled.context["credited"] is False and settled.context["unnamed"] == 2


def test_under_the_release_policy_unnamed_places_are_credited(
    settings: Any, session: Session, school: Agency, agency_booker: Any
) -> None:
    settings.RESERVED_PLACES_UNNAMED = "release"
    reservation = reserve(session, school, agency_booker, places=2)
    price = session.price_for_band(school.sector.price_band_id)
    assert housekeeping_run(now=AFTER_DEADLINE)["reserved_places_given_up"] == 2
    reservation.refresh_from_db()
    assert reservation.settled_how == ReservationSettled.RELEASED
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.total == -2 * price
    assert set(reservation.order.bookings.values_list("late_cancellation", flat=True)) == {False}


def test_reserving_after_the_naming_deadline_is_refused(
    session: Session, school: Agency, training_admin: Any
) -> None:
    with pytest.raises(BookingError, match="too late to reserve"):
        places_reserve(
            session=session, agency=school, places=1, booked_by=training_admin, now=AFTER_DEADLINE
        )


def test_cancelling_the_session_cancels_and_credits_the_unnamed_places(
    session: Session, school: Agency, agency_booker: Any, training_admin: Any
) -> None:
    reservation = reserve(session, school, agency_booker, places=2)
    session_cancel(session=session, reason="Trainer ill", actor=training_admin, now=A_MONTH_BEFORE)
    assert set(reservation.order.bookings.values_list("status", flat=True)) == {"cancelled"}
    assert Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE).total < Decimal("0")


# --- the pages ------------------------------------------------------------------------------


def test_the_register_and_sign_in_sheet_show_unnamed_places_with_the_agency(
    client: Any,
    course: Course,
    venue: Venue,
    school: Agency,
    agency_booker: Any,
    training_admin: Any,
) -> None:
    soon = make_session(course, venue, starts_at=today_at(9, days=30))
    places_reserve(session=soon, agency=school, places=2, booked_by=agency_booker, now=today_at(8))
    client.force_login(training_admin)
    page = client.get(reverse("attendance:register", args=[soon.pk])).content.decode()
    assert page.count(f"Unnamed place ({school.name})") == 2
    sheet = client.get(reverse("attendance:sign_in_sheet", args=[soon.pk]))
    assert sheet.status_code == 200


def test_a_booker_reserves_and_names_on_the_pages_and_another_agency_is_refused(
    client: Any,
    course: Course,
    venue: Venue,
    school: Agency,
    agency_booker: Any,
    other_agency_booker: Any,
) -> None:
    soon = make_session(course, venue, starts_at=today_at(9, days=30))
    client.force_login(agency_booker)
    response = client.post(reverse("bookings:reserve"), {"session": soon.pk, "places": 2})
    reservation = PlaceReservation.objects.get()
    assert response.status_code == 302 and reservation.agency == school
    detail = reverse("bookings:reservation", args=[reservation.order.reference])
    assert client.get(detail).status_code == 200
    assert detail in client.get(reverse("bookings:agency_bookings")).content.decode()
    place = unnamed_places(reservation)[0]
    name_url = reverse("bookings:name_place", args=[place.pk])
    bad = client.post(name_url, {"name": "Cara", "email": "not-an-email"})
    assert bad.status_code == 200
    done = client.post(name_url, {"name": "Cara Colleague", "email": "cara@blackdown.example"})
    assert done.status_code == 302
    place.refresh_from_db()
    assert place.status == BookingStatus.CONFIRMED

    client.force_login(other_agency_booker)
    assert client.get(detail).status_code == 404
    other_place = unnamed_places(reservation)[0]
    assert (
        client.post(
            reverse("bookings:name_place", args=[other_place.pk]),
            {"name": "Nat", "email": "nat@acorns.example.org"},
        ).status_code
        == 404
    )
    # And a practitioner has no reserve page at all.
    client.force_login(make_person("p2@example.org", agency=school))
    assert client.get(reverse("bookings:reserve")).status_code == 404


def test_the_demo_has_reserved_places_awaiting_names() -> None:
    call_command("demo", "--quiet-logins", stdout=io.StringIO())
    reservations = list(PlaceReservation.objects.select_related("agency", "session"))
    assert {r.agency.name for r in reservations} == {
        "Blackdown Primary School",
        "Little Acorns Day Nursery",
    }
    assert sum(len(unnamed_places(r)) for r in reservations) == 4  # one of five named
    assert all(r.is_open_for_naming(timezone.now()) for r in reservations)
    call_command("demo", "--quiet-logins", stdout=io.StringIO())  # idempotent
    assert PlaceReservation.objects.count() == 2


def test_the_administrators_pages_show_reserved_places_without_error(
    client: Any,
    course: Course,
    venue: Venue,
    school: Agency,
    agency_booker: Any,
    training_admin: Any,
) -> None:
    soon = make_session(course, venue, starts_at=today_at(9, days=30))
    reservation = places_reserve(
        session=soon, agency=school, places=2, booked_by=agency_booker, now=today_at(8)
    )
    client.force_login(training_admin)
    session_page = client.get(reverse("bookings:manage_session", args=[soon.pk])).content.decode()
    assert "2 reserved, 2 still to name" in session_page
    assert reverse("bookings:reservation", args=[reservation.order.reference]) in session_page
    place = unnamed_places(reservation)[0]
    assert client.get(reverse("bookings:booking", args=[place.pk])).status_code == 200
    assert client.get(reverse("bookings:manage_bookings")).status_code == 200
    assert (
        client.get(reverse("bookings:order", args=[reservation.order.reference])).status_code == 200
    )
