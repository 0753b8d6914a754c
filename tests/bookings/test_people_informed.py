"""Keeping people informed (issue 12): the attendee's own signed link, access and dietary
needs, online sessions' joining links, and messaging everyone on a session."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.attendance.documents import sign_in_sheet_html
from bookings.attendance.exports import EXPORT_COLUMNS, export_cells
from bookings.models import (
    Approval,
    ApprovalStage,
    AuditEntry,
    Booking,
    BookingStatus,
    OutgoingEmail,
    PaymentMethod,
)
from bookings.outbox import emails_due, outgoing_email_send, render_email
from bookings.places.attendee_links import attendee_link_token, attendee_link_url
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.session_messages import session_message_recipients
from evaluation.privacy.anonymise import person_anonymise
from evaluation.privacy.people import person_of_email
from tests.conftest import PASSWORD, make_person, make_session
from training.models import Agency, Course, Session, Trainer, Venue, VenueMode

JOIN = "https://meet.example.org/j/123-456"


def future(days: int, hour: int = 9) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour, 30))


def logged_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


@pytest.fixture
def online_venue(db: Any) -> Venue:
    return Venue.objects.create(
        name="Online",
        mode=VenueMode.ONLINE,
        area="taunton",
        joining_link=JOIN,
        joining_instructions="Passcode 9911",
    )


@pytest.fixture
def session(course: Course, online_venue: Venue) -> Session:
    return make_session(course, online_venue, starts_at=future(40), capacity=10)


def booked_for_colleague(session: Session, school: Agency, booker: Any, email: str) -> Booking:
    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Cara Colleague", email=email, access_needs="Wheelchair")],
        agency=school,
        booked_by=booker,
        payment_method=PaymentMethod.INVOICE,
        purchase_order_number="PO-1",
        now=timezone.now(),
    )
    return order.bookings.get()


def link_path(booking: Booking) -> str:
    return attendee_link_url(booking, now=timezone.now()).removeprefix("http://127.0.0.1:8000")


def send_all() -> None:
    now = timezone.now()
    for pk in emails_due(now):
        outgoing_email_send(email_id=pk, now=now)


# --- the attendee's own link -------------------------------------------------------------


@pytest.mark.django_db
def test_colleague_gets_one_email_carrying_their_own_link_and_no_claim_invitation(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = booked_for_colleague(session, school, agency_booker, "cara@example.org")
    to_cara = OutgoingEmail.objects.filter(to="cara@example.org", send_after__lte=timezone.now())
    assert list(to_cara.values_list("kind", flat=True)) == ["booking_confirmed"]
    message = render_email(to_cara.get())
    assert attendee_link_url(booking, now=timezone.now()) in str(message.body)
    assert "/accounts/signup/" in str(message.body)


@pytest.mark.django_db
def test_link_shows_the_place_and_a_get_changes_nothing(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = booked_for_colleague(session, school, agency_booker, "cara@example.org")
    client = Client()
    for path in (link_path(booking), link_path(booking) + "cancel/"):
        response = client.get(path)
        assert response.status_code == 200
    assert "Cara Colleague" in client.get(link_path(booking)).content.decode()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


@pytest.mark.django_db
def test_attendee_cancels_from_the_link_without_an_account_and_it_is_audited(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = booked_for_colleague(session, school, agency_booker, "cara@example.org")
    response = Client().post(link_path(booking) + "cancel/", {"reason": "Off sick"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert not booking.late_cancellation, "before the cut-off: refunded as any cancellation"
    entry = AuditEntry.objects.filter(object_id=str(booking.pk), code="status_changed").last()
    assert entry is not None and entry.actor_label == "attendee by email link (cara@example.org)"


@pytest.mark.django_db
def test_hand_on_from_the_link_moves_the_place_and_the_old_link_stops_working(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = booked_for_colleague(session, school, agency_booker, "cara@example.org")
    old = link_path(booking)
    response = Client().post(
        old + "hand-on/", {"name": "Dan Deputy", "email": "dan@example.org", "job_title": ""}
    )
    assert response.status_code == 200 and "Dan Deputy" in response.content.decode()
    booking.refresh_from_db()
    assert booking.attendee_email == "dan@example.org"
    assert booking.access_needs == "", "Cara's needs were hers, not Dan's"
    assert Client().get(old).status_code == 404
    assert Client().get(link_path(booking)).status_code == 200
    to_dan = OutgoingEmail.objects.get(to="dan@example.org", kind="booking_transferred_in")
    assert link_path(booking) in str(render_email(to_dan).body)


@pytest.mark.django_db
def test_forged_altered_and_expired_links_get_a_clear_page_not_an_error(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = booked_for_colleague(session, school, agency_booker, "cara@example.org")
    token = attendee_link_token(booking, now=timezone.now())
    altered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    forged = signing.Signer(salt="another").sign_object(
        {"b": booking.pk, "f": "x", "x": 4102444800}
    )
    for bad in (altered, forged, "nonsense"):
        response = Client().get(reverse("bookings:place_link", args=[bad]))
        assert response.status_code == 404
        assert "not complete or has been changed" in response.content.decode()
        response = Client().post(reverse("bookings:place_link_cancel", args=[bad]))
        assert response.status_code == 404
    Session.objects.filter(pk=session.pk).update(starts_at=timezone.now() - dt.timedelta(days=40))
    booking.refresh_from_db()
    expired = attendee_link_token(booking, now=timezone.now() - dt.timedelta(days=60))
    response = Client().get(reverse("bookings:place_link", args=[expired]))
    assert response.status_code == 410
    assert "expired" in response.content.decode()


@pytest.mark.django_db
def test_the_link_of_one_booking_cannot_be_pointed_at_another(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    mine = booked_for_colleague(session, school, agency_booker, "cara@example.org")
    other = booked_for_colleague(session, school, agency_booker, "eve@example.org")
    signer = signing.Signer(salt="bookings.attendee-link")  # as if the secret key leaked
    data = signer.unsign_object(attendee_link_token(mine, now=timezone.now()))
    data["b"] = other.pk
    retargeted = signer.sign_object(data)
    assert Client().get(reverse("bookings:place_link", args=[retargeted])).status_code == 404


# --- access and dietary needs ------------------------------------------------------------


@pytest.mark.django_db
def test_attendee_changes_their_needs_from_the_link_and_from_their_booking_page(
    session: Session, school: Agency, agency_booker: Any, practitioner: Any
) -> None:
    booking = booked_for_colleague(session, school, agency_booker, "cara@example.org")
    Client().post(link_path(booking), {"access_needs": "Hearing loop"})
    booking.refresh_from_db()
    assert booking.access_needs == "Hearing loop"
    assert AuditEntry.objects.filter(object_id=str(booking.pk), code="access_needs_changed")
    mine = booked_for_colleague(session, school, agency_booker, practitioner.email)
    client = logged_in(practitioner)
    response = client.post(reverse("bookings:booking_needs", args=[mine.pk]), {"access_needs": ""})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.access_needs == ""


@pytest.mark.django_db
def test_needs_are_for_the_attendee_the_administrator_and_the_trainers_not_the_booker(
    session: Session,
    school: Agency,
    agency_booker: Any,
    training_admin: Any,
) -> None:
    booking = booked_for_colleague(session, school, agency_booker, "cara@example.org")
    page = reverse("bookings:booking", args=[booking.pk])
    booker = logged_in(agency_booker)
    assert "Wheelchair" not in booker.get(page).content.decode()
    assert booker.get(reverse("bookings:booking_needs", args=[booking.pk])).status_code == 404
    assert "Wheelchair" in logged_in(training_admin).get(page).content.decode()
    trainer_user = make_person("tom@example.org", agency=None)
    session.trainers.add(Trainer.objects.create(name="Tom Trainer", user=trainer_user))
    register = logged_in(trainer_user).get(reverse("attendance:register", args=[session.pk]))
    assert register.status_code == 200 and "Wheelchair" in register.content.decode()


@pytest.mark.django_db
def test_needs_are_on_the_sign_in_sheet_and_the_register_export(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = booked_for_colleague(session, school, agency_booker, "cara@example.org")
    assert "Needs: Wheelchair" in sign_in_sheet_html(session)
    assert "access_needs" in EXPORT_COLUMNS
    assert export_cells(booking)["access_needs"] == "Wheelchair"


@pytest.mark.django_db
def test_erasing_a_person_blanks_their_access_needs_and_line_manager(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = booked_for_colleague(session, school, agency_booker, "cara@example.org")
    Booking.objects.filter(pk=booking.pk).update(
        line_manager_name="Mo Manager", line_manager_email="mo@example.org"
    )
    approval = Approval.objects.create(
        booking=booking,
        stage=ApprovalStage.MANAGER,
        approver_name="Mo Manager",
        approver_email="mo@example.org",
        expires_at=timezone.now(),
    )
    person = person_of_email("cara@example.org")
    assert person is not None
    person_anonymise(person=person, reason="test", actor=None, now=timezone.now())
    booking.refresh_from_db()
    assert (booking.access_needs, booking.line_manager_name, booking.line_manager_email) == (
        "",
        "",
        "",
    )
    approval.refresh_from_db()
    assert (approval.approver_name, approval.approver_email) == ("", "")


# --- online sessions ---------------------------------------------------------------------


@pytest.mark.django_db
def test_joining_link_goes_to_confirmed_attendees_only_never_the_public_pages(
    session: Session, school: Agency, agency_booker: Any, practitioner: Any
) -> None:
    booking = booked_for_colleague(session, school, agency_booker, "cara@example.org")
    confirmation = OutgoingEmail.objects.get(to="cara@example.org", kind="booking_confirmed")
    assert JOIN in str(render_email(confirmation).body)
    reminder = OutgoingEmail.objects.get(to="cara@example.org", kind="booking_reminder")
    assert JOIN in str(render_email(reminder).body) and "Passcode 9911" in str(
        render_email(reminder).body
    )
    to_booker = OutgoingEmail.objects.filter(to=agency_booker.email)
    assert all(JOIN not in str(render_email(email).body) for email in to_booker)
    for client in (Client(), logged_in(practitioner), logged_in(agency_booker)):
        for page in (
            reverse("bookings:catalogue"),
            reverse("bookings:session", args=[session.pk]),
        ):
            html = client.get(page).content.decode()
            assert "Online" in html or page == reverse("bookings:catalogue")
            assert JOIN not in html and "Passcode" not in html
    assert JOIN not in logged_in(agency_booker).get(booking.get_absolute_url()).content.decode()
    assert JOIN in Client().get(link_path(booking)).content.decode()
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CANCELLED)
    assert JOIN not in Client().get(link_path(booking)).content.decode()
    reminder = OutgoingEmail.objects.get(pk=reminder.pk)
    assert JOIN not in str(render_email(reminder).body), "a cancelled place is not told"


@pytest.mark.django_db
def test_an_online_venue_needs_its_link_and_a_room_needs_its_address(db: Any) -> None:
    venue = Venue(name="Teams", mode=VenueMode.ONLINE, area="taunton")
    with pytest.raises(Exception, match="link people join by"):
        venue.full_clean()
    room = Venue(name="Room", mode=VenueMode.HYBRID, area="taunton", joining_link=JOIN)
    with pytest.raises(Exception, match="needs its address"):
        room.full_clean()


# --- messaging everyone on a session -------------------------------------------------------


@pytest.mark.django_db
def test_administrator_messages_attendees_bookers_and_trainers_once_each(
    session: Session, school: Agency, agency_booker: Any, training_admin: Any
) -> None:
    booked_for_colleague(session, school, agency_booker, "cara@example.org")
    booked_for_colleague(session, school, agency_booker, "eve@example.org")
    cancelled = booked_for_colleague(session, school, agency_booker, "gone@example.org")
    Booking.objects.filter(pk=cancelled.pk).update(status=BookingStatus.CANCELLED)
    session.trainers.add(Trainer.objects.create(name="Tom Trainer", email="tom@example.org"))
    client = logged_in(training_admin)
    page = reverse("bookings:message_session", args=[session.pk])
    shown = client.get(page).content.decode()
    assert "2 attendees" in shown and "1 booker " in shown and "1 trainer" in shown
    mail.outbox.clear()
    response = client.post(
        page,
        {"subject": "Room change", "body": "Join ten minutes early.", "include_trainers": "on"},
    )
    assert response.status_code == 302
    queued = OutgoingEmail.objects.filter(kind="session_message")
    assert sorted(queued.values_list("to", flat=True)) == sorted(
        ["cara@example.org", "eve@example.org", agency_booker.email, "tom@example.org"]
    )
    send_all()
    sent = [m for m in mail.outbox if m.subject.startswith("Room change")]
    assert len(sent) == 4 and all("Join ten minutes early." in str(m.body) for m in sent)
    entry = AuditEntry.objects.get(code="session_messaged")
    assert entry.changes["recipients"] == 4


@pytest.mark.django_db
def test_message_without_subject_or_body_is_refused_with_a_clear_error(
    session: Session, school: Agency, agency_booker: Any, training_admin: Any
) -> None:
    booked_for_colleague(session, school, agency_booker, "cara@example.org")
    page = reverse("bookings:message_session", args=[session.pk])
    response = logged_in(training_admin).post(page, {"subject": "  ", "body": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Write a subject for the message." in html and "Write the message." in html
    assert not OutgoingEmail.objects.filter(kind="session_message").exists()


@pytest.mark.django_db
def test_only_the_administrator_may_message_a_session(
    session: Session, school: Agency, agency_booker: Any, practitioner: Any
) -> None:
    booked_for_colleague(session, school, agency_booker, "cara@example.org")
    page = reverse("bookings:message_session", args=[session.pk])
    for client in (logged_in(practitioner), logged_in(agency_booker)):
        assert client.post(page, {"subject": "Hi", "body": "Spam"}).status_code in (403, 404)
    assert Client().post(page, {"subject": "Hi", "body": "Spam"}).status_code == 302
    assert not OutgoingEmail.objects.filter(kind="session_message").exists()


@pytest.mark.django_db
def test_message_form_needs_the_csrf_token(
    session: Session, school: Agency, agency_booker: Any, training_admin: Any
) -> None:
    booked_for_colleague(session, school, agency_booker, "cara@example.org")
    client = Client(enforce_csrf_checks=True)
    client.force_login(training_admin)
    page = reverse("bookings:message_session", args=[session.pk])
    assert client.post(page, {"subject": "Hi", "body": "There"}).status_code == 403
    assert len(session_message_recipients(session=session, include_trainers=False)) == 2
