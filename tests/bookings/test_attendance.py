"""The day itself: registers, non-attendance charges, training records and refresher reminders.

Services get ``now`` passed in (fixed days in March 2026); pages read the real clock, so their
sessions are anchored on today.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from bookings.attendance.admin import HistoricalRegisterResource
from bookings.attendance.certificates import add_months, refresher_reminders_queue, training_record
from bookings.attendance.exports import EXPORT_COLUMNS
from bookings.attendance.importing import COLUMNS, register_table_read, registers_import
from bookings.attendance.registers import (
    attendance_record,
    charge_waive,
    non_attendance_amount,
    register_close,
    register_reopen,
)
from bookings.errors import BookingError
from bookings.files.spreadsheets import rows_to_csv, rows_to_xlsx, safe_cell
from bookings.models import (
    Attendance,
    AuditEntry,
    Booking,
    Invoice,
    InvoiceKind,
    NonAttendanceCharge,
    NonAttendancePolicy,
    OutgoingEmail,
    PaymentMethod,
    Register,
    SessionLength,
)
from bookings.outbox import render_email
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import PASSWORD, make_person, make_session
from training.models import Agency, Course, CourseKind, Session, Trainer, Venue

pytestmark = pytest.mark.django_db


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


SESSION_DAY = local(2026, 3, 10, 9, 30)
DURING = local(2026, 3, 10, 12)
AFTER = local(2026, 3, 10, 17)


def today_at(hour: int = 9, days: int = 0) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


def book_places(
    session: Session,
    agency: Agency,
    *names: str,
    booked_by: Any = None,
    payment_method: str = PaymentMethod.INVOICE,
) -> list[Booking]:
    """Confirmed places for named people of one agency, booked a month before the session."""
    order = booking_create(
        session=session,
        attendees=[
            AttendeeSpec(name=name, email=name.lower().replace(" ", ".") + "@example.org")
            for name in names
        ],
        agency=agency,
        booked_by=booked_by,
        payment_method=payment_method,
        now=session.starts_at - dt.timedelta(days=30),
    )
    return list(order.bookings.order_by("pk"))


def book_person(session: Session, person: Any, agency: Agency) -> Booking:
    """A confirmed place for ``person``, invoiced to ``agency`` by the training unit (only an
    agency's booker or an administrator may have an agency invoiced)."""
    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name=person.get_full_name(), email=person.email)],
        agency=agency,
        booked_by=None,
        payment_method=PaymentMethod.INVOICE,
        now=session.starts_at - dt.timedelta(days=30),
    )
    return order.bookings.get()


def mark(
    booking: Booking, attendance: str, actor: Any, now: dt.datetime = DURING, reason: str = ""
) -> Booking:
    return attendance_record(
        booking=booking, attendance=attendance, actor=actor, now=now, reason=reason
    )


def charge_invoices() -> list[Invoice]:
    return list(Invoice.objects.filter(kind=InvoiceKind.INVOICE, order__isnull=True).order_by("pk"))


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=SESSION_DAY)


@pytest.fixture
def trainer_user(db: Any) -> Any:
    user = make_person(
        "trainer@example.org", agency=None, roles=(), first_name="Tom", last_name="Trainer"
    )
    Trainer.objects.create(name="Tom Trainer", user=user)
    return user


# --- the policy ----------------------------------------------------------------------------------


def test_default_policy_charges_flat_amounts_and_full_price_for_independent_band(
    bands: dict[str, Any],
) -> None:
    policy = {
        (p.band.slug, p.session_length): p
        for p in NonAttendancePolicy.objects.select_related("band")
    }
    assert len(policy) == 6
    assert policy[("statutory", SessionLength.HALF_DAY)].amount == Decimal("50.00")
    assert policy[("statutory", SessionLength.FULL_DAY)].amount == Decimal("90.00")
    assert policy[("voluntary", SessionLength.FULL_DAY)].amount == Decimal("90.00")
    assert policy[("independent", SessionLength.FULL_DAY)].charge_full_price
    assert not policy[("statutory", SessionLength.FULL_DAY)].charge_full_price


def test_full_price_band_pays_the_course_price_and_the_flat_amount_for_a_free_place(
    session: Session,
    nursery: Agency,
    venue: Venue,
    training_admin: Any,
) -> None:
    (paid,) = book_places(session, nursery, "Nina Nursery")
    assert non_attendance_amount(paid) == Decimal("95.00")  # the independent band's price
    mapig = Course.objects.create(title="Think Family", kind=CourseKind.MAPIG, duration_half_days=1)
    free_session = make_session(mapig, venue, starts_at=SESSION_DAY, hours=3)
    (free,) = book_places(free_session, nursery, "Nina Nursery")
    assert free.price == Decimal("0.00")
    assert non_attendance_amount(free) == Decimal("50.00")  # half-day flat amount


# --- marking -----------------------------------------------------------------------------------


def test_attendance_cannot_be_marked_before_the_day_of_the_session(
    session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    (booking,) = book_places(session, school, "Amy Adams")
    with pytest.raises(BookingError, match="from the day of the session"):
        mark(booking, Attendance.ATTENDED, training_admin, now=local(2026, 3, 9, 18))


def test_marking_records_attendance_with_an_audit_entry(
    session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    (booking,) = book_places(session, school, "Amy Adams")
    mark(booking, Attendance.ATTENDED, training_admin)
    booking.refresh_from_db()
    assert booking.attendance == Attendance.ATTENDED
    entry = AuditEntry.objects.get(
        object_type="bookings.booking", object_id=str(booking.pk), action__startswith="attendance"
    )
    assert entry.actor == training_admin
    assert entry.changes["attendance"] == ["", "attended"]


def test_closing_needs_everyone_marked(
    session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    amy, ben = book_places(session, school, "Amy Adams", "Ben Baker")
    mark(amy, Attendance.ATTENDED, training_admin)
    with pytest.raises(BookingError, match="1 person has not been marked"):
        register_close(session=session, actor=training_admin, now=AFTER)
    assert not Register.objects.get(session=session).is_closed


def test_closing_charges_each_absence_on_an_invoice_to_its_agency(
    session: Session,
    school: Agency,
    nursery: Agency,
    training_admin: Any,
) -> None:
    amy, ben = book_places(session, school, "Amy Adams", "Ben Baker")
    (nina,) = book_places(session, nursery, "Nina Nursery")
    mark(amy, Attendance.ATTENDED, training_admin)
    mark(ben, Attendance.ABSENT, training_admin)
    mark(nina, Attendance.ABSENT, training_admin)

    charges = register_close(session=session, actor=training_admin, now=AFTER)

    assert {c.booking_id: c.amount for c in charges} == {
        ben.pk: Decimal("90.00"),
        nina.pk: Decimal("95.00"),
    }
    invoices = charge_invoices()
    assert [(i.agency, i.total) for i in invoices] == [
        (school, Decimal("90.00")),
        (nursery, Decimal("95.00")),
    ]
    ben_charge = NonAttendanceCharge.objects.get(booking=ben)
    assert ben_charge.invoice_line.invoice == invoices[0]
    assert "Ben Baker" in ben_charge.invoice_line.description
    assert (
        AuditEntry.objects.filter(
            object_type="bookings.nonattendancecharge", action="raised"
        ).count()
        == 2
    )
    assert Register.objects.get(session=session).closed_by == training_admin


def test_reopening_and_closing_again_charges_nothing_twice(
    session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    amy, ben = book_places(session, school, "Amy Adams", "Ben Baker")
    mark(amy, Attendance.ABSENT, training_admin)
    mark(ben, Attendance.ATTENDED, training_admin)
    register_close(session=session, actor=training_admin, now=AFTER)
    with pytest.raises(BookingError, match="reason"):
        register_reopen(session=session, actor=training_admin, now=AFTER, reason=" ")
    register_reopen(session=session, actor=training_admin, now=AFTER, reason="Ben left early")
    mark(ben, Attendance.ABSENT, training_admin, now=AFTER)

    again = register_close(session=session, actor=training_admin, now=AFTER)
    register_close(session=session, actor=training_admin, now=AFTER)  # a double tap

    assert [c.booking_id for c in again] == [ben.pk]
    assert NonAttendanceCharge.objects.filter(booking=amy).count() == 1
    assert len(charge_invoices()) == 2  # one per closing that found a new absence


def test_changing_attendance_after_closing_needs_a_reason(
    session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    (amy,) = book_places(session, school, "Amy Adams")
    mark(amy, Attendance.ATTENDED, training_admin)
    register_close(session=session, actor=training_admin, now=AFTER)
    with pytest.raises(BookingError, match="give a reason"):
        mark(amy, Attendance.ABSENT, training_admin, now=AFTER)
    mark(amy, Attendance.ABSENT, training_admin, now=AFTER, reason="Signed in for a colleague")
    entry = AuditEntry.objects.filter(object_id=str(amy.pk), action__contains="→ absent").get()
    assert entry.changes["reason"] == "Signed in for a colleague"


def test_absence_found_after_closing_is_charged_once(
    session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    (amy,) = book_places(session, school, "Amy Adams")
    mark(amy, Attendance.ATTENDED, training_admin)
    register_close(session=session, actor=training_admin, now=AFTER)
    mark(amy, Attendance.ABSENT, training_admin, now=AFTER, reason="Not here after all")
    charge = NonAttendanceCharge.objects.get(booking=amy)
    assert charge.amount == Decimal("90.00") and charge.invoice_line is not None
    register_reopen(session=session, actor=training_admin, now=AFTER, reason="Check")
    register_close(session=session, actor=training_admin, now=AFTER)
    assert NonAttendanceCharge.objects.filter(booking=amy).count() == 1


def test_marking_attended_after_closing_waives_the_charge_with_a_credit_note(
    session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    (amy,) = book_places(session, school, "Amy Adams")
    mark(amy, Attendance.ABSENT, training_admin)
    register_close(session=session, actor=training_admin, now=AFTER)
    mark(amy, Attendance.ATTENDED, training_admin, now=AFTER, reason="Signed in late")
    charge = NonAttendanceCharge.objects.get(booking=amy)
    assert charge.waived_at == AFTER and charge.waive_reason == "Signed in late"
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE, credits=charge.invoice_line.invoice)
    assert note.total == Decimal("-90.00")


def test_waiving_needs_a_reason_and_credits_the_invoice_once(
    session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    (amy,) = book_places(session, school, "Amy Adams")
    mark(amy, Attendance.ABSENT, training_admin)
    (charge,) = register_close(session=session, actor=training_admin, now=AFTER)
    with pytest.raises(BookingError, match="reason"):
        charge_waive(charge=charge, actor=training_admin, now=AFTER, reason="")
    charge_waive(charge=charge, actor=training_admin, now=AFTER, reason="Ill that morning")
    charge_waive(charge=charge, actor=training_admin, now=AFTER, reason="Twice")
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1
    charge.refresh_from_db()
    assert charge.waive_reason == "Ill that morning" and charge.waived_by == training_admin


# --- register pages and who may open them ---------------------------------------------------------


@pytest.fixture
def todays_session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=today_at(0, days=0) + dt.timedelta(minutes=5))


def test_trainers_see_only_their_own_sessions_registers(
    client: Any,
    course: Course,
    venue: Venue,
    school: Agency,
    trainer_user: Any,
) -> None:
    theirs = make_session(course, venue, starts_at=today_at(9))
    other = make_session(course, venue, starts_at=today_at(13))
    theirs.trainers.add(trainer_user.trainer)
    book_places(theirs, school, "Amy Adams")
    book_places(other, school, "Ben Baker")
    client.login(username=trainer_user.username, password=PASSWORD)

    assert client.get(reverse("attendance:register", args=[theirs.pk])).status_code == 200
    assert client.get(reverse("attendance:register", args=[other.pk])).status_code == 404
    assert client.get(reverse("attendance:sign_in_sheet", args=[other.pk])).status_code == 404
    assert (
        client.get(reverse("attendance:register_export", args=[other.pk, "csv"])).status_code == 404
    )
    (ben,) = other.bookings.all()
    response = client.post(
        reverse("attendance:mark", args=[other.pk, ben.pk]), {"attendance": "absent"}
    )
    assert response.status_code == 404
    listing = client.get(reverse("attendance:registers")).content.decode()
    assert reverse("attendance:register", args=[theirs.pk]) in listing
    assert reverse("attendance:register", args=[other.pk]) not in listing


@pytest.mark.parametrize(
    "who", ["practitioner", "agency_booker", "other_agency_booker", "community_member"]
)
def test_people_who_are_neither_administrators_nor_trainers_get_no_register(
    client: Any,
    todays_session: Session,
    school: Agency,
    who: str,
    request: Any,
) -> None:
    (amy,) = book_places(todays_session, school, "Amy Adams")
    person = request.getfixturevalue(who)
    client.login(username=person.username, password=PASSWORD)
    assert client.get(reverse("attendance:registers")).status_code == 404
    assert client.get(reverse("attendance:register", args=[todays_session.pk])).status_code == 404
    response = client.post(
        reverse("attendance:mark", args=[todays_session.pk, amy.pk]), {"attendance": "absent"}
    )
    assert response.status_code == 404
    amy.refresh_from_db()
    assert amy.attendance == Attendance.UNKNOWN


def test_a_booking_of_another_session_cannot_be_marked_through_this_register(
    client: Any,
    course: Course,
    venue: Venue,
    school: Agency,
    trainer_user: Any,
) -> None:
    theirs = make_session(course, venue, starts_at=today_at(9))
    theirs.trainers.add(trainer_user.trainer)
    other = make_session(course, venue, starts_at=today_at(13))
    (ben,) = book_places(other, school, "Ben Baker")
    client.login(username=trainer_user.username, password=PASSWORD)
    response = client.post(
        reverse("attendance:mark", args=[theirs.pk, ben.pk]), {"attendance": "absent"}
    )
    assert response.status_code == 404


def test_one_tap_marks_without_javascript_and_returns_counts_to_javascript(
    client: Any,
    todays_session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    amy, ben = book_places(todays_session, school, "Amy Adams", "Ben Baker")
    client.login(username=training_admin.username, password=PASSWORD)
    url = reverse("attendance:mark", args=[todays_session.pk, amy.pk])

    response = client.post(url, {"attendance": "attended"})
    assert response.status_code == 302
    assert response["Location"].endswith(
        reverse("attendance:register", args=[todays_session.pk]) + f"#booking-{amy.pk}"
    )
    response = client.post(
        reverse("attendance:mark", args=[todays_session.pk, ben.pk]),
        {"attendance": "absent"},
        HTTP_ACCEPT="application/json",
    )
    assert response.json() == {
        "ok": True,
        "error": "",
        "booking": ben.pk,
        "attendance": "absent",
        "label": "Absent",
        "counts": {"total": 2, "attended": 1, "absent": 1, "unmarked": 0},
    }
    page = client.get(reverse("attendance:register", args=[todays_session.pk])).content.decode()
    assert "Amy Adams" in page and "Blackdown Primary School" in page and "Schools" in page
    assert 'aria-pressed="true"' in page


def test_closing_from_the_page_asks_first_then_raises_the_charge(
    client: Any,
    todays_session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    amy, ben = book_places(todays_session, school, "Amy Adams", "Ben Baker")
    client.login(username=training_admin.username, password=PASSWORD)
    close_url = reverse("attendance:close", args=[todays_session.pk])
    client.post(
        reverse("attendance:mark", args=[todays_session.pk, amy.pk]), {"attendance": "attended"}
    )
    assert "1 person has not been marked" in client.get(close_url).content.decode()
    client.post(
        reverse("attendance:mark", args=[todays_session.pk, ben.pk]), {"attendance": "absent"}
    )
    confirm = client.get(close_url).content.decode()
    assert "Ben Baker" in confirm and "£90.00" in confirm
    assert not Register.objects.filter(session=todays_session, closed_at__isnull=False).exists()

    response = client.post(close_url, follow=True)
    page = response.content.decode()
    assert "Register closed" in page and "£90.00" in page
    invoice = charge_invoices()[0]
    assert invoice.number in page  # the charge shows its invoice on the register
    assert "Reason for the change" in page  # changes now need a reason


def test_after_closing_a_change_without_a_reason_is_refused_on_the_page(
    client: Any,
    todays_session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    (amy,) = book_places(todays_session, school, "Amy Adams")
    client.login(username=training_admin.username, password=PASSWORD)
    mark_url = reverse("attendance:mark", args=[todays_session.pk, amy.pk])
    client.post(mark_url, {"attendance": "attended"})
    client.post(reverse("attendance:close", args=[todays_session.pk]))
    response = client.post(mark_url, {"attendance": "absent"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "give a reason" in response.json()["error"]
    response = client.post(
        mark_url, {"attendance": "absent", "reason": "Left at 10"}, HTTP_ACCEPT="application/json"
    )
    assert response.json()["ok"] is True


def test_only_administrators_waive_charges_and_reopen_registers(
    client: Any,
    todays_session: Session,
    school: Agency,
    training_admin: Any,
    trainer_user: Any,
) -> None:
    todays_session.trainers.add(trainer_user.trainer)
    (amy,) = book_places(todays_session, school, "Amy Adams")
    mark(amy, Attendance.ABSENT, training_admin, now=timezone.now())
    (charge,) = register_close(session=todays_session, actor=training_admin, now=timezone.now())
    waive_url = reverse("attendance:charge_waive", args=[charge.pk])

    client.login(username=trainer_user.username, password=PASSWORD)
    assert client.get(waive_url).status_code == 404
    assert client.post(waive_url, {"reason": "Trainer says so"}).status_code == 404
    response = client.post(
        reverse("attendance:reopen", args=[todays_session.pk]), {"reason": "Trainer"}
    )
    assert response.status_code == 404

    client.login(username=training_admin.username, password=PASSWORD)
    response = client.post(waive_url, {"reason": ""})
    assert "Enter why the charge is being waived" in response.content.decode()
    response = client.post(waive_url, {"reason": "Ill that morning"}, follow=True)
    assert "is waived" in response.content.decode()
    charge.refresh_from_db()
    assert charge.waive_reason == "Ill that morning"
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1


def test_register_list_shows_todays_sessions_and_recent_ones(
    client: Any,
    course: Course,
    venue: Venue,
    school: Agency,
    training_admin: Any,
) -> None:
    today = make_session(course, venue, starts_at=today_at(10))
    last_week = make_session(course, venue, starts_at=today_at(10, days=-7))
    long_ago = make_session(course, venue, starts_at=today_at(10, days=-90))
    client.login(username=training_admin.username, password=PASSWORD)
    page = client.get(reverse("attendance:registers")).content.decode()
    assert page.index(reverse("attendance:register", args=[today.pk])) < page.index(
        reverse("attendance:register", args=[last_week.pk])
    )
    assert reverse("attendance:register", args=[long_ago.pk]) not in page


# --- exports ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+44 1823 000000", "'+44 1823 000000"),
        ("-1+1", "'-1+1"),
        ("-65.00", "-65.00"),  # the text of a plain number holds no formula
        ("+5", "+5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Amy Adams", "Amy Adams"),
        (Decimal("-90.00"), Decimal("-90.00")),
        (None, ""),
    ],
)
def test_safe_cell_neutralises_formula_starts_only(value: Any, expected: Any) -> None:
    assert safe_cell(value) == expected


def test_csv_and_xlsx_exports_store_dangerous_text_as_plain_text() -> None:
    from openpyxl import load_workbook

    rows = [["=1+2", "@cmd", Decimal("-5.00"), local(2026, 3, 10, 9, 30)]]
    text = rows_to_csv(["a", "b", "c", "d"], rows).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1] == ["'=1+2", "'@cmd", "-5.00", "2026-03-10 09:30"]
    sheet = load_workbook(io.BytesIO(rows_to_xlsx(["a", "b", "c", "d"], rows, title="T"))).active
    assert [cell.value for cell in sheet[2]][:3] == ["'=1+2", "'@cmd", -5]
    assert sheet["A2"].data_type == "s"
    assert sheet["D2"].value == dt.datetime(2026, 3, 10, 9, 30)


def test_register_export_neutralises_a_dangerous_attendee_name(
    client: Any,
    todays_session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    booking_create(
        session=todays_session,
        attendees=[AttendeeSpec(name="=cmd|' /C calc'!A0", email="evil@example.org")],
        agency=school,
        booked_by=None,
        payment_method=PaymentMethod.INVOICE,
        now=todays_session.starts_at - dt.timedelta(days=30),
    )
    client.login(username=training_admin.username, password=PASSWORD)
    response = client.get(reverse("attendance:register_export", args=[todays_session.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:8] == [
        "course_title",
        "session_start",
        "venue",
        "attendee_name",
        "attendee_email",
        "agency",
        "sector",
        "status",
    ]
    assert rows[1][3] == "'=cmd|' /C calc'!A0"
    response = client.get(reverse("attendance:register_export", args=[todays_session.pk, "xlsx"]))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert (
        client.get(
            reverse("attendance:register_export", args=[todays_session.pk, "exe"])
        ).status_code
        == 404
    )


def test_attendance_export_is_for_administrators_and_covers_the_dates(
    client: Any,
    course: Course,
    venue: Venue,
    school: Agency,
    training_admin: Any,
    trainer_user: Any,
) -> None:
    inside = make_session(course, venue, starts_at=today_at(10, days=-3))
    outside = make_session(course, venue, starts_at=today_at(10, days=-40))
    book_places(inside, school, "Amy Adams")
    book_places(outside, school, "Ben Baker")
    start = timezone.localdate() - dt.timedelta(days=10)
    query = {
        "date_from": start.isoformat(),
        "date_to": timezone.localdate().isoformat(),
        "file_format": "csv",
    }
    client.login(username=trainer_user.username, password=PASSWORD)
    assert client.get(reverse("attendance:export"), query).status_code == 404
    client.login(username=training_admin.username, password=PASSWORD)
    response = client.get(reverse("attendance:export"), query)
    text = response.content.decode("utf-8-sig")
    assert "Amy Adams" in text and "Ben Baker" not in text
    assert "not recorded" in text


# --- training records -------------------------------------------------------------------------


def test_practitioners_see_only_their_own_training_record(
    client: Any,
    practitioner: Any,
    agency_booker: Any,
    other_agency_booker: Any,
    training_admin: Any,
    school: Agency,
) -> None:
    colleague = make_person(
        "colleague@example.org", agency=school, first_name="Col", last_name="League"
    )
    own_url = reverse("attendance:person_training_record", args=[practitioner.pk])

    client.login(username=colleague.username, password=PASSWORD)
    assert client.get(own_url).status_code == 404
    client.login(username=other_agency_booker.username, password=PASSWORD)
    assert client.get(own_url).status_code == 404
    client.login(username=agency_booker.username, password=PASSWORD)
    assert client.get(own_url).status_code == 200
    client.login(username=training_admin.username, password=PASSWORD)
    assert client.get(own_url).status_code == 200
    client.login(username=practitioner.username, password=PASSWORD)
    assert client.get(own_url).status_code == 200
    assert client.get(reverse("attendance:training_record")).status_code == 200
    client.logout()
    assert client.get(reverse("attendance:training_record")).status_code == 302


def test_training_record_lists_attended_courses_and_when_the_refresher_is_due(
    client: Any,
    practitioner: Any,
    school: Agency,
    course: Course,
    venue: Venue,
    training_admin: Any,
) -> None:
    course.refresh_interval_months = 24
    course.save()
    session = make_session(course, venue, starts_at=SESSION_DAY)
    booking = book_person(session, practitioner, school)
    mark(booking, Attendance.ATTENDED, training_admin)
    absent_session = make_session(course, venue, starts_at=local(2026, 1, 5))
    mark(
        book_person(absent_session, practitioner, school),
        Attendance.ABSENT,
        training_admin,
        now=local(2026, 1, 5, 12),
    )

    entries, refreshers = training_record(practitioner, today=dt.date(2026, 4, 1))
    assert [entry.booking for entry in entries] == [booking]
    assert entries[0].hours == "6 hours"
    (refresher,) = refreshers
    assert refresher.due_on == dt.date(2028, 3, 10) and refresher.status == "not_due"
    assert training_record(practitioner, today=dt.date(2028, 2, 1))[1][0].status == "due_soon"
    assert training_record(practitioner, today=dt.date(2028, 4, 1))[1][0].status == "overdue"

    client.login(username=practitioner.username, password=PASSWORD)
    page = client.get(reverse("attendance:training_record")).content.decode()
    assert "Working Together" in page and "10 March 2028" in page
    assert reverse("attendance:certificate_pdf", args=[booking.pk]) in page


def test_add_months_keeps_the_day_or_takes_the_months_last_day() -> None:
    assert add_months(dt.date(2026, 3, 10), 24) == dt.date(2028, 3, 10)
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 11, 15), 3) == dt.date(2027, 2, 15)
    assert add_months(dt.date(2026, 3, 31), -1) == dt.date(2026, 2, 28)


# --- refresher reminders ----------------------------------------------------------------------


@pytest.fixture
def refreshed_course(course: Course) -> Course:
    course.refresh_interval_months = 24
    course.save()
    return course


def test_refresher_reminder_is_emailed_six_weeks_before_it_is_due_and_only_once(
    refreshed_course: Course,
    venue: Venue,
    school: Agency,
    training_admin: Any,
) -> None:
    session = make_session(refreshed_course, venue, starts_at=SESSION_DAY)
    amy, ben = book_places(session, school, "Amy Adams", "Ben Baker")
    mark(amy, Attendance.ATTENDED, training_admin)
    mark(ben, Attendance.ABSENT, training_admin)

    assert refresher_reminders_queue(now=local(2028, 1, 27)) == 0  # 43 days before: too early
    assert refresher_reminders_queue(now=local(2028, 1, 28)) == 1  # 42 days before
    assert refresher_reminders_queue(now=local(2028, 1, 28)) == 0
    assert refresher_reminders_queue(now=local(2028, 2, 20)) == 0
    (email,) = OutgoingEmail.objects.filter(kind="refresher_due")
    assert email.booking == amy and email.to == "amy.adams@example.org"
    assert email.context["due_on_display"] == "Friday 10 March 2028"


def test_refresher_reminder_is_not_sent_to_someone_already_refreshed_or_booked(
    refreshed_course: Course,
    venue: Venue,
    school: Agency,
    training_admin: Any,
) -> None:
    first = make_session(refreshed_course, venue, starts_at=SESSION_DAY)
    amy, ben = book_places(first, school, "Amy Adams", "Ben Baker")
    mark(amy, Attendance.ATTENDED, training_admin)
    mark(ben, Attendance.ATTENDED, training_admin)
    refresher = make_session(refreshed_course, venue, starts_at=local(2028, 3, 1))
    book_places(refresher, school, "Amy Adams")  # Amy has booked her refresher already
    assert refresher_reminders_queue(now=local(2028, 2, 1)) == 1
    assert OutgoingEmail.objects.get(kind="refresher_due").booking == ben


def test_refresher_reminders_are_rendered_and_sent_by_the_command(
    refreshed_course: Course,
    venue: Venue,
    school: Agency,
    training_admin: Any,
) -> None:

    # Attended 24 months minus a month ago: due in about a month.
    started = today_at(10) - dt.timedelta(days=700)
    session = make_session(refreshed_course, venue, starts_at=started)
    (amy,) = book_places(session, school, "Amy Adams")
    mark(amy, Attendance.ATTENDED, training_admin, now=started + dt.timedelta(hours=2))
    out = io.StringIO()
    call_command("send_refresher_reminders", stdout=out)
    assert "refresher reminders queued: 1" in out.getvalue()
    email = OutgoingEmail.objects.get(kind="refresher_due")
    message = render_email(email)
    assert message.subject.startswith("Refresher due: Working Together by ")
    assert "every 24 months" in message.body
    assert reverse("attendance:training_record") in message.body


# --- at the same moment ------------------------------------------------------------------------


def at_once(count: int, work: Any) -> list[Any]:
    """Run ``work()`` in ``count`` threads released together; each result or exception."""

    barrier = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            outcomes[index] = work()
        except BaseException as error:  # noqa: B036 - every outcome must reach the test
            outcomes[index] = error
        finally:
            connections.close_all()  # each thread's own connection; none left for the flush

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


@pytest.fixture
def reference_data(transactional_db: None) -> None:
    """Sectors, bands and the charging policy, whatever an earlier transactional test flushed."""

    for module in (
        "training.migrations.0002_sectors_bands_roles",
        "bookings.migrations.0002_default_non_attendance_policy",
    ):
        importlib.import_module(module).seed(django_apps, None)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_devices_closing_the_register_at_once_charge_once(
    reference_data: None,
    course: Course,
    venue: Venue,
    school: Agency,
    training_admin: Any,
) -> None:
    session = make_session(course, venue, starts_at=SESSION_DAY)
    amy, ben = book_places(session, school, "Amy Adams", "Ben Baker")
    mark(amy, Attendance.ATTENDED, training_admin)
    mark(ben, Attendance.ABSENT, training_admin)
    outcomes = at_once(4, lambda: register_close(session=session, actor=training_admin, now=AFTER))
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert sorted(len(charges) for charges in outcomes) == [0, 0, 0, 1]
    assert NonAttendanceCharge.objects.count() == 1
    assert len(charge_invoices()) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_sending_refresher_reminders_at_once_send_each_once(
    reference_data: None,
    course: Course,
    venue: Venue,
    school: Agency,
    training_admin: Any,
) -> None:
    course.refresh_interval_months = 24
    course.save()
    session = make_session(course, venue, starts_at=SESSION_DAY)
    people = book_places(session, school, "Amy Adams", "Ben Baker", "Cara Clarke")
    for booking in people:
        mark(booking, Attendance.ATTENDED, training_admin)
    outcomes = at_once(6, lambda: refresher_reminders_queue(now=local(2028, 2, 1)))
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert sum(outcomes) == 3
    assert OutgoingEmail.objects.filter(kind="refresher_due").count() == 3


# --- the admin ------------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client: Any, db: Any) -> Any:

    user = get_user_model().objects.create_superuser(
        username="root@example.org", email="root@example.org", password=PASSWORD
    )
    client.force_login(user)
    return client


def test_administrator_edits_the_policy_and_waives_charges_with_a_reason_in_the_admin(
    superuser_client: Any,
    session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    client = superuser_client
    amy, ben = book_places(session, school, "Amy Adams", "Ben Baker")
    mark(amy, Attendance.ABSENT, training_admin)
    mark(ben, Attendance.ABSENT, training_admin)
    charges = register_close(session=session, actor=training_admin, now=AFTER)

    assert client.get(reverse("admin:bookings_nonattendancepolicy_changelist")).status_code == 200
    policy = NonAttendancePolicy.objects.get(
        band__slug="statutory", session_length=SessionLength.FULL_DAY
    )
    response = client.post(
        reverse("admin:bookings_nonattendancepolicy_change", args=[policy.pk]),
        {"session_length": policy.session_length, "band": policy.band_id, "amount": "75.00"},
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.amount == Decimal("75.00")
    assert AuditEntry.objects.filter(object_type="bookings.nonattendancepolicy").exists()

    changelist = reverse("admin:bookings_nonattendancecharge_changelist")
    assert "Amy Adams" in client.get(changelist).content.decode()
    selected = [str(charge.pk) for charge in charges]
    asked = client.post(changelist, {"action": "waive", "_selected_action": selected})
    assert "Waive 2 charges" in asked.content.decode()
    assert not NonAttendanceCharge.objects.filter(waived_at__isnull=False).exists()
    client.post(
        changelist,
        {
            "action": "waive",
            "_selected_action": selected,
            "apply": "1",
            "reason": "Snow closed the roads",
        },
    )
    assert NonAttendanceCharge.objects.filter(waive_reason="Snow closed the roads").count() == 2
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 2  # one per charge
    assert client.get(reverse("admin:bookings_register_changelist")).status_code == 200


def test_an_exported_register_reads_back_through_the_import_in_the_same_columns(
    client: Any, todays_session: Session, school: Agency, training_admin: Any
) -> None:
    (booking,) = book_places(todays_session, school, "Amy Adams")
    mark(booking, Attendance.ATTENDED, training_admin, now=timezone.now())
    client.force_login(training_admin)
    response = client.get(reverse("attendance:register_export", args=[todays_session.pk, "csv"]))
    table = register_table_read(response.content, name="register.csv")
    assert tuple(table.headers) == EXPORT_COLUMNS
    assert EXPORT_COLUMNS[: len(COLUMNS)] == COLUMNS
    assert list(HistoricalRegisterResource().fields) == list(COLUMNS)
    report = registers_import(table=table, actor=training_admin, now=timezone.now(), dry_run=True)
    assert (report.problems, report.places_created, report.places_unchanged) == ([], 0, 1)
