"""Moving a session and cancelling one: who is told, and the calendar file that replaces (or
removes) the entry they already have."""

from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.errors import BookingError
from bookings.models import AuditEntry, BookingStatus, OutgoingEmail, PaymentMethod
from bookings.outbox import render_email
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.changes import booking_cancel
from bookings.places.reschedule import session_reschedule
from bookings.places.sessions import session_cancel
from tests.conftest import make_session
from training.models import Agency, Course, Session, Trainer, Venue

pytestmark = pytest.mark.django_db


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


NOW = local(2030, 5, 1)
STARTS = local(2030, 6, 10, 10)
MOVED_TO = local(2030, 6, 17, 10)


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    session = make_session(course, venue, starts_at=STARTS, capacity=10)
    session.trainers.add(
        Trainer.objects.create(name="Trudy Trainer", email="trudy@trainers.example"),
        Trainer.objects.create(name="No Email"),
    )
    return session


@pytest.fixture
def booked(session: Session, school: Agency, agency_booker: Any) -> list[Any]:
    """Two colleagues booked by the agency booker (who is not attending), by invoice."""
    order = booking_create(
        session=session,
        attendees=[
            AttendeeSpec(name="Ann Attendee", email="ann@school.example"),
            AttendeeSpec(name="Bob Attendee", email="bob@school.example"),
        ],
        agency=school,
        booked_by=agency_booker,
        payment_method=PaymentMethod.INVOICE,
        now=NOW,
    )
    bookings = list(order.bookings.order_by("attendee_name"))
    assert {b.status for b in bookings} == {BookingStatus.CONFIRMED}
    OutgoingEmail.objects.all().delete()
    return bookings


def move(session: Session, *, tell: bool, starts_at: dt.datetime = MOVED_TO, **kw: Any) -> int:
    return session_reschedule(
        session=session,
        parts=[(starts_at, starts_at + dt.timedelta(hours=6))],
        venue=kw.get("venue", session.venue),
        tell_people=tell,
        actor=kw.get("actor"),
        now=NOW,
    )


def calendar_of(email: OutgoingEmail) -> icalendar.Calendar:
    ((filename, content, mimetype),) = render_email(email).attachments
    assert (filename, mimetype) == ("training.ics", "text/calendar")
    return icalendar.Calendar.from_ical(content)


def only_event(calendar: icalendar.Calendar) -> Any:
    (event,) = calendar.walk("VEVENT")
    return event


def test_moving_a_session_emails_each_attendee_their_booker_once_and_the_trainers(
    session: Session, booked: list[Any], agency_booker: Any, training_admin: Any
) -> None:
    told = move(session, tell=True, actor=training_admin)

    sent = sorted(OutgoingEmail.objects.values_list("kind", "to"))
    assert sent == [
        ("session_moved", "ann@school.example"),
        ("session_moved", "bob@school.example"),
        ("session_moved_booker", agency_booker.email),
        ("session_moved_trainer", "trudy@trainers.example"),
    ]
    assert told == 4
    to_booker = OutgoingEmail.objects.get(kind="session_moved_booker")
    body = render_email(to_booker).body
    assert "Ann Attendee, Bob Attendee" in body
    assert "Monday 17 June 2030" in body and "Monday 10 June 2030, 10:00 to 16:00" in body


def test_the_attendees_calendar_file_keeps_its_uid_with_a_higher_sequence(
    session: Session, booked: list[Any], training_admin: Any
) -> None:
    ann = booked[0]
    before = only_event(
        icalendar.Calendar.from_ical(
            render_email(
                OutgoingEmail(kind="booking_confirmed", to=ann.attendee_email, booking=ann)
            ).attachments[0][1]
        )
    )

    move(session, tell=True, actor=training_admin)

    email = OutgoingEmail.objects.get(kind="session_moved", to=ann.attendee_email)
    calendar = calendar_of(email)
    after = only_event(calendar)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert after.decoded("DTSTART") == MOVED_TO.astimezone(dt.UTC)
    assert "Monday 17 June 2030" in render_email(email).body


def test_every_move_raises_the_sequence_and_is_audited(
    session: Session, booked: list[Any], training_admin: Any, venue: Venue
) -> None:
    other = Venue.objects.create(name="Civic Centre", address="1 High Street", area=venue.area)
    move(session, tell=False, actor=training_admin)
    move(session, tell=True, actor=training_admin, venue=other)

    session.refresh_from_db()
    assert session.calendar_sequence == 2
    assert session.venue == other
    entries = AuditEntry.objects.filter(object_id=str(session.pk), action="moved").order_by("pk")
    assert [e.changes["people_told"] for e in entries] == [False, True]
    assert entries.last().changes["venue"] == [venue.name, "Civic Centre"]  # type: ignore[union-attr]
    moved = OutgoingEmail.objects.get(kind="session_moved", to="ann@school.example")
    assert "at " + venue.name in render_email(moved).body


def test_nobody_is_told_when_the_administrator_says_no(
    session: Session, booked: list[Any], training_admin: Any
) -> None:
    assert move(session, tell=False, actor=training_admin) == 0

    assert not OutgoingEmail.objects.filter(kind__startswith="session_moved").exists()
    session.refresh_from_db()
    assert session.starts_at == MOVED_TO
    assert session.calendar_sequence == 1


def test_a_move_to_the_past_or_to_the_same_time_is_refused(
    session: Session, booked: list[Any]
) -> None:
    with pytest.raises(BookingError, match="still to come"):
        move(session, tell=True, starts_at=NOW - dt.timedelta(days=1))
    with pytest.raises(BookingError, match="Nothing has changed"):
        move(session, tell=True, starts_at=STARTS)
    session.refresh_from_db()
    assert (session.starts_at, session.calendar_sequence) == (STARTS, 0)
    assert not OutgoingEmail.objects.exists()


def test_the_reminder_follows_the_session_to_its_new_date(
    session: Session, booked: list[Any], agency_booker: Any, school: Agency
) -> None:
    booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Pat", email="pat@school.example")],
        agency=school,
        booked_by=agency_booker,
        payment_method=PaymentMethod.INVOICE,
        now=NOW,
    )
    reminder = OutgoingEmail.objects.get(kind="booking_reminder")
    old_send_after = reminder.send_after

    move(session, tell=False)

    reminder.refresh_from_db()
    assert reminder.send_after - old_send_after == dt.timedelta(days=7)


def test_cancelling_a_session_sends_a_calendar_cancel_with_the_same_uid(
    session: Session, booked: list[Any], training_admin: Any
) -> None:
    ann = booked[0]
    confirmed = only_event(
        icalendar.Calendar.from_ical(
            render_email(
                OutgoingEmail(kind="booking_confirmed", to=ann.attendee_email, booking=ann)
            ).attachments[0][1]
        )
    )

    session_cancel(session=session, actor=training_admin, now=NOW, reason="The trainer is ill")

    email = OutgoingEmail.objects.get(kind="booking_cancelled", to=ann.attendee_email)
    calendar = calendar_of(email)
    event = only_event(calendar)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == str(confirmed["UID"])
    assert int(event["SEQUENCE"]) == int(confirmed["SEQUENCE"]) + 1
    to_trainer = OutgoingEmail.objects.get(kind="session_cancelled_trainer")
    assert to_trainer.to == "trudy@trainers.example"
    assert str(calendar_of(to_trainer)["METHOD"]) == "CANCEL"


def test_a_person_cancelling_their_own_place_gets_no_calendar_file(
    session: Session, booked: list[Any], agency_booker: Any
) -> None:
    booking_cancel(booking=booked[0], actor=agency_booker, now=NOW)
    email = OutgoingEmail.objects.get(kind="booking_cancelled", to="ann@school.example")
    assert render_email(email).attachments == []


# --- the page --------------------------------------------------------------------------------


def test_the_administrator_moves_a_session_on_its_page_and_chooses_to_tell_people(
    client: Any, session: Session, booked: list[Any], training_admin: Any
) -> None:
    client.force_login(training_admin)
    url = reverse("bookings:move_session", args=[session.pk])
    page = client.get(url).content.decode()
    assert "Tell the 4 people booked?" in page
    assert "2 attendees, 1 booker who booked colleagues, and 1 trainer" in page

    unanswered = client.post(
        url,
        {
            "part_1_date": "2030-06-17",
            "part_1_start": "10:00",
            "part_1_end": "16:00",
            "venue": session.venue_id,
        },
    )
    assert "Say whether to tell the people booked." in unanswered.content.decode()
    session.refresh_from_db()
    assert session.starts_at == STARTS

    done = client.post(
        url,
        {
            "part_1_date": "2030-06-17",
            "part_1_start": "10:00",
            "part_1_end": "16:00",
            "venue": session.venue_id,
            "tell": "yes",
        },
    )
    assert done.status_code == 302
    session.refresh_from_db()
    assert session.starts_at == MOVED_TO
    assert OutgoingEmail.objects.filter(kind="session_moved").count() == 2


def test_the_move_page_is_for_the_administrator_only(
    client: Any, session: Session, agency_booker: Any
) -> None:
    client.force_login(agency_booker)
    url = reverse("bookings:move_session", args=[session.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"tell": "yes"}).status_code == 404


def test_a_cancelled_session_cannot_be_moved_from_its_page(
    client: Any, session: Session, booked: list[Any], training_admin: Any
) -> None:
    session_cancel(session=session, actor=training_admin, now=NOW, reason="Flood")
    client.force_login(training_admin)
    url = reverse("bookings:move_session", args=[session.pk])
    assert "it cannot be moved" in client.get(url).content.decode()
    refused = client.post(
        url,
        {
            "part_1_date": "2030-06-17",
            "part_1_start": "10:00",
            "part_1_end": "16:00",
            "venue": session.venue_id,
            "tell": "yes",
        },
    )
    assert refused.status_code == 200
    assert "This session is cancelled, so it cannot be moved." in refused.content.decode()
    session.refresh_from_db()
    assert session.starts_at == STARTS
