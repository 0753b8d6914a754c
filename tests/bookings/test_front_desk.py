"""The administrator's front desk: booking someone by phone, people who came on the day, and
the certificates handed out when the register closes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from bookings.attendance.certificates import certificate_link_url
from bookings.attendance.registers import attendance_record, register_close, register_reopen
from bookings.errors import BookingError, SessionFull
from bookings.models import (
    Attendance,
    AuditEntry,
    Booking,
    BookingStatus,
    Invoice,
    OutgoingEmail,
    PaymentMethod,
)
from bookings.places.booking import AttendeeSpec, FrontDesk, booking_create
from bookings.places.frontdesk import agency_find_or_create, booking_on_behalf_create, walk_in_add
from bookings.places.selectors import session_sector_mix
from bookings.places.sessions import session_cancel
from tests.bookings.test_attendance import AFTER, DURING, SESSION_DAY, local, today_at
from tests.conftest import make_person, make_session
from training.models import Agency, Course, Sector, Session, Trainer, Venue

pytestmark = pytest.mark.django_db

PHONE_CALL = local(2026, 3, 2, 11)  # a week before the session, after booking has closed


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=SESSION_DAY, capacity=2)


def person(name: str = "Paula Phone", email: str = "paula@example.org") -> AttendeeSpec:
    return AttendeeSpec(name=name, email=email)


def test_the_administrator_books_someone_by_phone_on_an_invoice_with_a_po(
    session: Session, school: Agency, training_admin: Any
) -> None:
    order = booking_on_behalf_create(
        session=session,
        attendee=person(),
        agency=school,
        payment_method=PaymentMethod.INVOICE,
        purchase_order_number="PO-77",
        actor=training_admin,
        now=PHONE_CALL,
    )
    booking = order.bookings.get()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.price == session.price_for_band(school.sector.price_band_id)
    invoice = Invoice.objects.get(order=order)
    assert invoice.purchase_order_number == "PO-77"
    # The attendee is told; the administrator is not sent the booker's copy.
    kinds = set(OutgoingEmail.objects.filter(order=order).values_list("kind", flat=True))
    assert "order_confirmed" not in kinds
    assert OutgoingEmail.objects.filter(booking=booking, kind="booking_confirmed").exists()
    assert AuditEntry.objects.filter(object_id=str(booking.pk), action="booked").exists()


def test_no_charge_needs_a_reason_and_records_it(
    session: Session, school: Agency, training_admin: Any
) -> None:
    with pytest.raises(BookingError, match="why there is no charge"):
        booking_on_behalf_create(
            session=session,
            attendee=person(),
            agency=school,
            payment_method=PaymentMethod.NO_CHARGE,
            actor=training_admin,
            now=PHONE_CALL,
        )
    order = booking_on_behalf_create(
        session=session,
        attendee=person(),
        agency=school,
        payment_method=PaymentMethod.NO_CHARGE,
        no_charge_reason="Guest speaker",
        actor=training_admin,
        now=PHONE_CALL,
    )
    booking = order.bookings.get()
    assert (booking.price, booking.payment_method) == (Decimal("0.00"), PaymentMethod.NO_CHARGE)
    assert order.no_charge_reason == "Guest speaker"
    assert not Invoice.objects.filter(order=order).exists()


def test_only_the_administrator_may_book_on_someones_behalf_or_waive_the_charge(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    with pytest.raises(BookingError, match="Only the training team"):
        booking_on_behalf_create(
            session=session,
            attendee=person(),
            agency=school,
            payment_method=PaymentMethod.INVOICE,
            actor=agency_booker,
            now=PHONE_CALL,
        )
    with pytest.raises(BookingError):
        booking_create(
            session=session,
            attendees=[person()],
            agency=school,
            booked_by=agency_booker,
            payment_method=PaymentMethod.NO_CHARGE,
            now=PHONE_CALL,
        )
    with pytest.raises(BookingError, match="Only the training team"):
        booking_create(
            session=session,
            attendees=[person()],
            agency=school,
            booked_by=agency_booker,
            payment_method=PaymentMethod.INVOICE,
            front_desk=FrontDesk(capacity_override_reason="I say so"),
            now=PHONE_CALL,
        )


def test_a_full_session_takes_one_more_only_with_a_reason_and_it_is_audited(
    session: Session, school: Agency, training_admin: Any
) -> None:
    for n in range(2):
        booking_on_behalf_create(
            session=session,
            attendee=person(f"P {n}", f"p{n}@example.org"),
            agency=school,
            payment_method=PaymentMethod.INVOICE,
            actor=training_admin,
            now=PHONE_CALL,
        )
    with pytest.raises(SessionFull):
        booking_on_behalf_create(
            session=session,
            attendee=person(),
            agency=school,
            payment_method=PaymentMethod.INVOICE,
            actor=training_admin,
            now=PHONE_CALL,
        )
    order = booking_on_behalf_create(
        session=session,
        attendee=person(),
        agency=school,
        payment_method=PaymentMethod.INVOICE,
        capacity_override_reason="Room takes 25",
        actor=training_admin,
        now=PHONE_CALL,
    )
    assert order.capacity_override_reason == "Room takes 25"
    audit = AuditEntry.objects.get(action="capacity overridden")
    assert audit.changes["reason"] == "Room takes 25"
    assert session.bookings.filter(status=BookingStatus.CONFIRMED).count() == 3


def test_a_card_booking_by_phone_is_held_and_the_person_is_emailed_a_link_to_pay(
    client: Any, session: Session, school: Agency, training_admin: Any, settings: Any
) -> None:
    order = booking_on_behalf_create(
        session=session,
        attendee=person(),
        agency=school,
        payment_method=PaymentMethod.CARD,
        actor=training_admin,
        now=PHONE_CALL,
    )
    booking = order.bookings.get()
    assert booking.status == BookingStatus.HELD
    assert booking.hold_expires_at == PHONE_CALL + dt.timedelta(
        hours=settings.FRONT_DESK_CARD_HOLD_HOURS
    )
    email = OutgoingEmail.objects.get(kind="payment_link")
    assert email.to == "paula@example.org"
    pay_url = email.context["pay_url"]
    assert pay_url.startswith(settings.SITE_URL)
    # A forged link is refused; the real one opens without an account (while the hold lasts).
    assert client.get(reverse("bookings:pay_link", args=["forged"])).status_code == 404


def test_a_new_agency_is_made_once_with_its_sector(
    sectors: dict[str, Sector], training_admin: Any
) -> None:
    made = agency_find_or_create(
        agency=None,
        new_name="  Hill  Farm Nursery ",
        sector=sectors["Early Years Providers"],
        actor=training_admin,
        now=PHONE_CALL,
    )
    again = agency_find_or_create(
        agency=None, new_name="hill farm nursery", sector=None, actor=training_admin, now=PHONE_CALL
    )
    assert made == again
    assert (made.name, made.sector.name) == ("Hill Farm Nursery", "Early Years Providers")
    with pytest.raises(BookingError, match="sector"):
        agency_find_or_create(
            agency=None, new_name="Brand New", sector=None, actor=training_admin, now=PHONE_CALL
        )


# --- walk-ins -----------------------------------------------------------------------------


def test_someone_who_came_is_an_attended_place_invoiced_at_their_sectors_price(
    session: Session, nursery: Agency, training_admin: Any
) -> None:
    booking = walk_in_add(
        session=session,
        attendee=person("Wally Walk", "wally@example.org"),
        agency=nursery,
        actor=training_admin,
        now=DURING,
    )
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.attendance == Attendance.ATTENDED
    assert booking.sector == nursery.sector
    assert booking.price == session.price_for_band(nursery.sector.price_band_id) == Decimal("95")
    assert Invoice.objects.get(agency=nursery).total == Decimal("95.00")
    # No confirmation for a session they are already at.
    assert not OutgoingEmail.objects.filter(booking=booking, kind="booking_confirmed").exists()


def test_a_walk_in_may_be_waived_and_may_go_beyond_the_capacity(
    session: Session, school: Agency, training_admin: Any
) -> None:
    for n in range(3):
        booking = walk_in_add(
            session=session,
            attendee=person(f"W {n}", f"w{n}@example.org"),
            agency=school,
            waive_reason="Partner's staff",
            actor=training_admin,
            now=DURING,
        )
    assert booking.payment_method == PaymentMethod.NO_CHARGE
    assert not Invoice.objects.exists()
    assert session.bookings.filter(attendance=Attendance.ATTENDED).count() == 3
    assert AuditEntry.objects.filter(action="capacity overridden").count() == 1


def test_walk_ins_are_added_on_the_day_and_not_to_a_closed_register(
    session: Session, school: Agency, training_admin: Any
) -> None:
    with pytest.raises(BookingError, match="from the day"):
        walk_in_add(
            session=session,
            attendee=person(),
            agency=school,
            actor=training_admin,
            now=PHONE_CALL,
        )
    register_close(session=session, actor=training_admin, now=AFTER)
    with pytest.raises(BookingError, match="register is closed"):
        walk_in_add(
            session=session, attendee=person(), agency=school, actor=training_admin, now=AFTER
        )


def test_walk_ins_count_in_the_sessions_sector_mix(
    session: Session, school: Agency, nursery: Agency, training_admin: Any
) -> None:
    for agency, n in ((school, 1), (school, 2), (nursery, 3)):
        walk_in_add(
            session=session,
            attendee=person(f"W {n}", f"w{n}@example.org"),
            agency=agency,
            waive_reason="Test",
            actor=training_admin,
            now=DURING,
        )
    mix = session_sector_mix(session)
    assert [(row["sector"], row["places"], row["percent"]) for row in mix] == [
        ("Schools", 2, 67),
        ("Early Years Providers", 1, 33),
    ]


# --- certificates handed out -----------------------------------------------------------------


def _two_marked(session: Session, school: Agency, admin: Any) -> tuple[Booking, Booking]:
    came = walk_in_add(
        session=session,
        attendee=person("Cara Came", "cara@example.org"),
        agency=school,
        waive_reason="Test",
        actor=admin,
        now=DURING,
    )
    order = booking_on_behalf_create(
        session=session,
        attendee=person("Abe Absent", "abe@example.org"),
        agency=school,
        payment_method=PaymentMethod.NO_CHARGE,
        no_charge_reason="Test",
        actor=admin,
        now=PHONE_CALL,
    )
    away = attendance_record(
        booking=order.bookings.get(), attendance=Attendance.ABSENT, actor=admin, now=DURING
    )
    return came, away


def test_closing_the_register_emails_each_attendee_their_certificate_once(
    session: Session,
    school: Agency,
    training_admin: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    came, away = _two_marked(session, school, training_admin)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        register_close(session=session, actor=training_admin, now=AFTER)
    sent = [m for m in mail.outbox if "certificate" in m.subject.lower()]
    assert [m.to for m in sent] == [["cara@example.org"]]
    (attachment,) = sent[0].attachments
    assert attachment[0].endswith(".pdf") and attachment[1][:4] == b"%PDF"
    assert "/certificates/download/" in sent[0].body
    # Reopened and closed again: no second copy.
    register_reopen(session=session, actor=training_admin, now=AFTER, reason="Check")
    register_close(session=session, actor=training_admin, now=AFTER)
    assert OutgoingEmail.objects.filter(kind="certificate_issued").count() == 1
    # Corrected to attended after closing: their certificate follows.
    attendance_record(
        booking=away,
        attendance=Attendance.ATTENDED,
        actor=training_admin,
        now=AFTER,
        reason="Signed in late",
    )
    assert OutgoingEmail.objects.filter(kind="certificate_issued", booking=away).count() == 1


def test_the_certificate_link_needs_no_account_and_cannot_be_forged(
    client: Any, session: Session, school: Agency, training_admin: Any
) -> None:
    came, away = _two_marked(session, school, training_admin)
    url = certificate_link_url(came).removeprefix("http://127.0.0.1:8000")
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    forged = url.replace(f"/{came.pk}:", f"/{away.pk}:")
    assert client.get(forged).status_code == 404
    # Corrected to absent: the link no longer gives a certificate.
    attendance_record(booking=came, attendance=Attendance.ABSENT, actor=training_admin, now=DURING)
    assert client.get(url).status_code == 404


def test_the_administrator_downloads_all_of_a_sessions_certificates_in_one_pdf(
    client: Any, session: Session, school: Agency, training_admin: Any, agency_booker: Any
) -> None:
    _two_marked(session, school, training_admin)
    url = reverse("attendance:session_certificates", args=[session.pk])
    client.force_login(agency_booker)
    assert client.get(url).status_code == 404
    client.force_login(training_admin)
    response = client.get(url)
    assert response.status_code == 200
    assert response.content[:4] == b"%PDF"


def test_a_session_that_has_started_cannot_be_cancelled_and_refunded(
    session: Session, training_admin: Any
) -> None:
    with pytest.raises(BookingError, match="already started"):
        session_cancel(session=session, actor=training_admin, now=DURING, reason="Too late")


# --- walk-ins added by the session's trainers -----------------------------------------------


@pytest.fixture
def session_trainer(session: Session) -> Any:
    user = make_person("tess@trainers.example", agency=None, roles=(), first_name="Tess")
    session.trainers.add(Trainer.objects.create(name="Tess Trainer", user=user))
    return user


@pytest.fixture
def other_trainer(course: Course, venue: Venue) -> Any:
    user = make_person("owen@trainers.example", agency=None, roles=(), first_name="Owen")
    elsewhere = make_session(course, venue, starts_at=SESSION_DAY + dt.timedelta(days=7))
    elsewhere.trainers.add(Trainer.objects.create(name="Owen Other", user=user))
    return user


def test_the_sessions_trainer_adds_someone_who_came_at_the_courses_price(
    session: Session, nursery: Agency, session_trainer: Any
) -> None:
    booking = walk_in_add(
        session=session,
        attendee=person("Wally Walk", "wally@example.org"),
        agency=nursery,
        actor=session_trainer,
        now=DURING,
    )
    assert booking.attendance == Attendance.ATTENDED
    assert booking.payment_method == PaymentMethod.INVOICE
    assert Invoice.objects.get(agency=nursery).total == Decimal("95.00")
    entry = AuditEntry.objects.get(object_id=str(booking.pk), action="booked")
    assert entry.actor == session_trainer and entry.changes["walk_in"] is True


def test_a_trainer_cannot_waive_the_charge_nor_book_by_phone(
    session: Session, school: Agency, session_trainer: Any
) -> None:
    with pytest.raises(BookingError, match="Only the training administrator can waive"):
        walk_in_add(
            session=session,
            attendee=person(),
            agency=school,
            waive_reason="Friend of the trainer",
            actor=session_trainer,
            now=DURING,
        )
    with pytest.raises(BookingError, match="Only the training team"):
        booking_on_behalf_create(
            session=session,
            attendee=person(),
            agency=school,
            payment_method=PaymentMethod.INVOICE,
            actor=session_trainer,
            now=PHONE_CALL,
        )
    assert not Booking.objects.exists()


def test_a_trainer_of_another_session_cannot_add_anyone_to_this_register(
    client: Any, session: Session, school: Agency, other_trainer: Any, practitioner: Any
) -> None:
    with pytest.raises(BookingError, match="this session's trainers"):
        walk_in_add(
            session=session, attendee=person(), agency=school, actor=other_trainer, now=DURING
        )
    url = reverse("bookings:walk_in", args=[session.pk])
    for outsider in (other_trainer, practitioner):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        posted = client.post(url, {"name": "X", "email": "x@example.org", "agency": school.pk})
        assert posted.status_code == 404
    assert not Booking.objects.exists()


def test_the_register_offers_the_sessions_trainer_the_walk_in_form_without_a_waiver(
    client: Any, course: Course, venue: Venue, school: Agency, session_trainer: Any
) -> None:
    session = make_session(course, venue, starts_at=today_at(0))
    session.trainers.add(*Trainer.objects.filter(user=session_trainer))
    client.force_login(session_trainer)
    register = client.get(reverse("attendance:register", args=[session.pk]))
    url = reverse("bookings:walk_in", args=[session.pk])
    assert url in register.content.decode()
    form = client.get(url)
    assert form.status_code == 200 and "waive_reason" not in form.content.decode()
    done = client.post(
        url, {"name": "Wendy Walk", "email": "wendy@example.org", "agency": school.pk}
    )
    assert done.status_code == 302
    assert Booking.objects.get(attendee_email="wendy@example.org").attendance == "attended"
