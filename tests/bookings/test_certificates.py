"""Certificates of attendance: what they say, who may download them, and the public check."""

from __future__ import annotations

import datetime as dt
import subprocess
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.attendance.certificates import certificate_html, certificate_pdf, hours_label
from bookings.attendance.documents import sign_in_sheet_html, sign_in_sheet_pdf
from bookings.models import Attendance, Booking, PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from tests.bookings.test_attendance import (
    DURING,
    SESSION_DAY,
    book_person,
    book_places,
    local,
    mark,
)
from tests.conftest import PASSWORD, make_person, make_session, require_tool
from training.models import Agency, Course, Profile, Session, SessionPart, Trainer, Venue

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    """The text of a PDF as a reader sees it (poppler's pdftotext)."""
    require_tool("pdftotext")
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode().split())


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    course.outcomes.create(text="Share information safely between agencies", order=1)
    return make_session(course, venue, starts_at=SESSION_DAY)


@pytest.fixture
def attended(session: Session, practitioner: Any, school: Agency, training_admin: Any) -> Booking:
    return mark(book_person(session, practitioner, school), Attendance.ATTENDED, training_admin)


def test_certificate_names_the_attendee_course_level_date_hours_outcomes_and_check(
    attended: Booking,
) -> None:
    text = pdf_text(certificate_pdf(attended))
    assert "Certificate of attendance" in text.title() or "CERTIFICATE OF ATTENDANCE" in text
    for expected in (
        "Tess Teacher",
        "Working Together",
        "Level 2 – multi-agency working",
        "10 March 2026",
        "6 hours",
        "Recognise the signs of abuse and neglect",
        "Share information safely between agencies",
        "Somerset Safeguarding Training",
        attended.certificate_code,
        f"/certificates/{attended.certificate_code}/",
    ):
        assert expected in text, expected


def test_hours_are_the_sum_of_the_sessions_parts(
    course: Course,
    venue: Venue,
    school: Agency,
    training_admin: Any,
) -> None:
    session = make_session(course, venue, starts_at=SESSION_DAY, hours=3)
    second = local(2026, 3, 17, 13, 30)
    SessionPart.objects.create(
        session=session, starts_at=second, ends_at=second + dt.timedelta(hours=3, minutes=30)
    )
    (booking,) = book_places(session, school, "Amy Adams")
    mark(booking, Attendance.ATTENDED, training_admin)
    html = certificate_html(Booking.objects.get(pk=booking.pk))
    assert "6.5 hours" in html
    assert "10 March 2026, 17 March 2026" in html
    assert hours_label(1) == "1 hour" and hours_label(2.25) == "2.25 hours"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("practitioner", 200),
        ("agency_booker", 200),
        ("training_admin", 200),
        ("other_agency_booker", 404),
        ("colleague", 404),
        ("community_member", 404),
    ],
)
def test_certificate_is_for_the_attendee_their_agencys_bookers_and_administrators(
    client: Any,
    attended: Booking,
    who: str,
    status: int,
    request: Any,
    school: Agency,
) -> None:
    if who == "colleague":
        person = make_person("colleague@example.org", agency=school)
    else:
        person = request.getfixturevalue(who)
    client.login(username=person.username, password=PASSWORD)
    response = client.get(reverse("attendance:certificate_pdf", args=[attended.pk]))
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert attended.certificate_code in response["Content-Disposition"]


def test_an_absent_or_unmarked_place_has_no_certificate(
    client: Any,
    session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    absent, unmarked = book_places(session, school, "Amy Adams", "Ben Baker")
    mark(absent, Attendance.ABSENT, training_admin)
    client.login(username=training_admin.username, password=PASSWORD)
    for booking in (absent, unmarked):
        assert (
            client.get(reverse("attendance:certificate_pdf", args=[booking.pk])).status_code == 404
        )
        assert (
            client.get(
                reverse("attendance:certificate_verify", args=[booking.certificate_code])
            ).status_code
            == 404
        )


def test_a_signed_out_visitor_must_sign_in_to_download(client: Any, attended: Booking) -> None:
    response = client.get(reverse("attendance:certificate_pdf", args=[attended.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_verification_page_confirms_a_genuine_certificate_without_signing_in(
    client: Any,
    attended: Booking,
) -> None:
    response = client.get(
        reverse("attendance:certificate_verify", args=[attended.certificate_code])
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "This certificate is genuine" in page
    assert "Tess Teacher" in page and "Working Together" in page and "10 March 2026" in page
    assert "teacher@example.org" not in page  # nothing beyond name, course and date
    # A code typed by hand: lower case, spaces and dashes are forgiven.
    typed = attended.certificate_code.lower()
    typed = typed[:5] + "-" + typed[5:]
    response = client.get(reverse("attendance:certificate_lookup"), {"code": typed}, follow=True)
    assert "This certificate is genuine" in response.content.decode()


def test_verification_page_says_clearly_when_a_certificate_is_not_found(client: Any) -> None:
    response = client.get(reverse("attendance:certificate_verify", args=["NOTAREALCODE"]))
    assert response.status_code == 404
    page = response.content.decode()
    assert "Certificate not found" in page and "NOTAREALCODE" in page
    assert "genuine" not in page


def test_correcting_attendance_to_absent_withdraws_the_certificate(
    client: Any,
    attended: Booking,
    training_admin: Any,
) -> None:
    url = reverse("attendance:certificate_verify", args=[attended.certificate_code])
    assert client.get(url).status_code == 200
    mark(attended, Attendance.ABSENT, training_admin, now=DURING)
    assert client.get(url).status_code == 404


def test_sign_in_sheet_has_course_date_venue_trainers_and_a_row_per_attendee(
    client: Any,
    session: Session,
    school: Agency,
    nursery: Agency,
    training_admin: Any,
) -> None:
    session.trainers.add(
        Trainer.objects.create(name="Tom Trainer"), Trainer.objects.create(name="Rita Rhodes")
    )
    book_places(session, school, "Ben Baker", "Amy Adams")
    book_places(session, nursery, "Nina Nursery")
    cancelled = book_places(session, nursery, "Cara Cancelled")[0]
    cancelled.status = "cancelled"
    cancelled.save()
    html = sign_in_sheet_html(session)
    assert html.index("Amy Adams") < html.index("Ben Baker") < html.index("Nina Nursery")
    assert "Cara Cancelled" not in html
    text = pdf_text(sign_in_sheet_pdf(session))
    for expected in (
        "Working Together",
        "Tuesday 10 March 2026",
        "09:30–15:30",
        "Taunton Training Centre",
        "Tom Trainer",
        "Rita Rhodes",
        "Signature",
        "Blackdown Primary School",
        "Little Acorns Day Nursery",
    ):
        assert expected in text, expected
    client.login(username=training_admin.username, password=PASSWORD)
    response = client.get(reverse("attendance:sign_in_sheet", args=[session.pk]))
    assert response["Content-Type"] == "application/pdf"


def test_a_person_sees_certificates_of_places_booked_for_their_verified_address(
    client: Any,
    session: Session,
    school: Agency,
    training_admin: Any,
) -> None:
    (booking,) = book_places(session, school, "Amy Adams")
    mark(booking, Attendance.ATTENDED, training_admin)
    amy = make_person("amy.adams@example.org", agency=school)  # signs up after the session
    assert Booking.objects.get(pk=booking.pk).attendee is None
    client.login(username=amy.username, password=PASSWORD)
    # Signing in links the place (bookings' signal); the certificate is theirs either way.
    response = client.get(reverse("attendance:certificate_pdf", args=[booking.pk]))
    assert response.status_code == 200
    page = client.get(reverse("attendance:training_record")).content.decode()
    assert "Working Together" in page
    assert timezone.localdate(session.starts_at).strftime("%-d %B %Y") in page


def _booked_by_the_booker_for(
    session: Session, person: Any, booker: Any, agency: Agency, admin: Any
) -> Booking:
    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name=person.get_full_name(), email=person.email)],
        agency=agency,
        booked_by=booker,
        payment_method=PaymentMethod.INVOICE,
        now=session.starts_at - dt.timedelta(days=30),
    )
    return mark(order.bookings.get(), Attendance.ATTENDED, admin)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("agency_booker", 200),
        ("booker_who_moved_agency", 200),  # booked it, so sees it: the certificate too
        ("attendee", 200),
        ("other_agency_booker", 404),
        ("community_member", 404),
    ],
)
def test_whoever_may_open_a_booking_may_download_its_certificate_and_nobody_else(
    client: Any,
    session: Session,
    practitioner: Any,
    agency_booker: Any,
    school: Agency,
    nursery: Agency,
    training_admin: Any,
    who: str,
    status: int,
    request: Any,
) -> None:
    booking = _booked_by_the_booker_for(
        session, practitioner, agency_booker, school, training_admin
    )
    if who == "booker_who_moved_agency":
        Profile.objects.filter(user=agency_booker).update(agency=nursery)
        person = agency_booker
    elif who == "attendee":
        person = practitioner
    else:
        person = request.getfixturevalue(who)
    client.force_login(person)
    page = client.get(reverse("bookings:booking", args=[booking.pk]))
    certificate = client.get(reverse("attendance:certificate_pdf", args=[booking.pk]))
    assert (page.status_code, certificate.status_code) == (status, status)


def test_a_place_booked_for_someones_verified_address_is_theirs_before_it_is_linked(
    client: Any, session: Session, school: Agency, training_admin: Any
) -> None:
    (booking,) = book_places(session, school, "Amy Adams")
    mark(booking, Attendance.ATTENDED, training_admin)
    amy = make_person("amy.adams@example.org", agency=school)
    Booking.objects.filter(pk=booking.pk).update(attendee=None)  # not linked to her account
    client.force_login(amy)
    assert client.get(reverse("bookings:booking", args=[booking.pk])).status_code == 200
    assert client.get(reverse("attendance:certificate_pdf", args=[booking.pk])).status_code == 200
