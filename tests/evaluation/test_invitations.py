"""Invitations: scheduled by attendance, sent once by background tasks, one reminder, opt-out."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command

from bookings.attendance import attendance_record
from bookings.models import Attendance
from evaluation.models import FollowUpOptOut, Invitation, InvitationKind
from evaluation.surveys.services import (
    follow_up_opt_out,
    invitation_remind,
    invitation_send,
    invitations_due,
    invitations_schedule,
)
from tests.conftest import make_session
from tests.evaluation.helpers import Clock, agency_in, aware, person, place, sent_invitation
from training.models import Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def attendee(school: Any) -> Any:
    return person("tess@example.org", agency=school, first_name="Tess", last_name="Teacher")


def mark_attended(booking: Any, actor: Any, now: dt.datetime, capture: Any) -> None:
    with capture(execute=True):
        attendance_record(booking=booking, attendance=Attendance.ATTENDED, actor=actor, now=now)


def test_marking_attended_emails_the_evaluation_and_schedules_the_follow_up(
    clock: Clock,
    march_session: Session,
    attendee: Any,
    school: Any,
    training_admin: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    booking = place(march_session, attendee=attendee, agency=school, attendance="")
    clock.set(aware(2025, 3, 3, 16))
    mark_attended(booking, training_admin, clock.now, django_capture_on_commit_callbacks)

    evaluation = Invitation.objects.get(booking=booking, kind=InvitationKind.EVALUATION)
    follow_up = Invitation.objects.get(booking=booking, kind=InvitationKind.FOLLOW_UP)
    assert evaluation.sent_at == clock.now
    assert evaluation.expires_at == clock.now + dt.timedelta(days=30)
    # 3 March + 12 weeks = Monday 26 May, 09:00 London.
    assert follow_up.send_after == aware(2025, 5, 26, 9)
    assert follow_up.sent_at is None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["tess@example.org"]


def test_follow_up_uses_the_courses_own_number_of_weeks(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    march_session.course.follow_up_weeks = 8
    march_session.course.save()
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    follow_up = Invitation.objects.get(booking=booking, kind=InvitationKind.FOLLOW_UP)
    assert follow_up.send_after == aware(2025, 4, 28, 9)


def test_a_course_with_no_follow_up_weeks_gets_no_follow_up(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    march_session.course.follow_up_weeks = 0
    march_session.course.save()
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    assert list(booking.invitations.values_list("kind", flat=True)) == ["evaluation"]


def test_marking_attended_again_schedules_nothing_new(
    clock: Clock,
    march_session: Session,
    attendee: Any,
    school: Any,
    training_admin: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    booking = place(march_session, attendee=attendee, agency=school, attendance="")
    clock.set(aware(2025, 3, 3, 16))
    mark_attended(booking, training_admin, clock.now, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        attendance_record(
            booking=booking, attendance=Attendance.ABSENT, actor=training_admin, now=clock.now
        )
    mark_attended(booking, training_admin, clock.now, django_capture_on_commit_callbacks)
    assert booking.invitations.count() == 2
    assert len(mail.outbox) == 1


def test_registers_marked_long_after_the_course_send_no_surveys(
    clock: Clock, venue: Any, outcomes_course: Any, attendee: Any, school: Any
) -> None:
    old = make_session(outcomes_course, venue, starts_at=aware(2016, 10, 4, 9, 30))
    booking = place(old, attendee=attendee, agency=school)
    assert invitations_schedule(booking=booking, now=clock.now) == []
    assert not booking.invitations.exists()


def test_a_due_follow_up_is_sent_by_the_periodic_command_and_not_before(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    Invitation.objects.filter(kind=InvitationKind.EVALUATION).update(responded_at=aware(2025, 3, 4))
    clock.set(aware(2025, 5, 26, 8, 59))
    call_command("send_survey_invitations", stdout=mock.MagicMock())
    assert mail.outbox == []

    clock.set(aware(2025, 5, 26, 9, 0))
    call_command("send_survey_invitations", stdout=mock.MagicMock())
    assert len(mail.outbox) == 1
    assert "Have you used what you learned on Working Together" in mail.outbox[0].subject
    call_command("send_survey_invitations", stdout=mock.MagicMock())
    assert len(mail.outbox) == 1


def test_the_email_is_a_trio_with_a_personal_link_and_an_opt_out_link(
    clock: Clock, march_session: Session, attendee: Any, school: Any, settings: Any
) -> None:
    settings.SITE_URL = "https://training.example.org"
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    invitation = booking.invitations.get(kind=InvitationKind.EVALUATION)
    clock.set(aware(2025, 3, 3, 16))
    assert invitation_send(invitation_id=invitation.pk, now=clock.now)

    message = mail.outbox[0]
    survey_link = f"https://training.example.org/survey/{invitation.token}/"
    opt_out_link = f"https://training.example.org/survey/{invitation.token}/opt-out/"
    assert message.subject == "How was Working Together? Two minutes of feedback"
    assert survey_link in message.body and opt_out_link in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{survey_link}"' in html and f'href="{opt_out_link}"' in html
    assert "2 April 2025" in message.body  # the link's last day
    assert len(invitation.token) >= 43


def test_two_workers_send_an_invitation_once(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    invitation = booking.invitations.get(kind=InvitationKind.EVALUATION)
    results = [invitation_send(invitation_id=invitation.pk, now=clock.now) for _ in range(2)]
    assert results == [True, False]
    assert len(mail.outbox) == 1


def test_a_failed_send_gives_the_claim_back_for_the_next_run(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    invitation = booking.invitations.get(kind=InvitationKind.EVALUATION)
    with mock.patch(
        "django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("SMTP down")
    ):
        assert not invitation_send(invitation_id=invitation.pk, now=clock.now)
    invitation.refresh_from_db()
    assert invitation.sent_at is None and "SMTP down" in invitation.last_error
    assert invitation_send(invitation_id=invitation.pk, now=clock.now)
    assert len(mail.outbox) == 1


def test_one_reminder_after_seven_days_if_unanswered_and_never_a_third_email(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitation = sent_invitation(booking, sent_at=clock.now)

    clock.advance(days=6, hours=23)
    assert invitations_due(now=clock.now) == ([], [])
    clock.advance(hours=1)
    assert invitations_due(now=clock.now) == ([], [invitation.pk])
    assert invitation_remind(invitation_id=invitation.pk, now=clock.now)
    assert mail.outbox[0].subject.startswith("Reminder: ")

    for _ in range(3):
        clock.advance(days=7)
        call_command("send_survey_invitations", stdout=mock.MagicMock())
        assert not invitation_remind(invitation_id=invitation.pk, now=clock.now)
    assert len(mail.outbox) == 1  # plus the first email = two in all


def test_no_reminder_once_answered(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitation = sent_invitation(booking, sent_at=clock.now)
    Invitation.objects.filter(pk=invitation.pk).update(responded_at=clock.advance(days=2))
    clock.advance(days=10)
    assert invitations_due(now=clock.now) == ([], [])
    assert not invitation_remind(invitation_id=invitation.pk, now=clock.now)


def test_the_link_lifetime_is_a_setting(
    clock: Clock, march_session: Session, attendee: Any, school: Any, settings: Any
) -> None:
    settings.SURVEY_LINK_DAYS = 10
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    invitation = booking.invitations.get(kind=InvitationKind.EVALUATION)
    invitation_send(invitation_id=invitation.pk, now=aware(2025, 3, 3, 16))
    invitation.refresh_from_db()
    assert invitation.expires_at == aware(2025, 3, 13, 16)


def test_someone_who_opted_out_gets_no_follow_up_but_keeps_the_evaluation(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    follow_up_opt_out(email="TESS@example.org", now=aware(2025, 3, 5), source="test")
    assert FollowUpOptOut.objects.get().email == "tess@example.org"

    follow_up = booking.invitations.get(kind=InvitationKind.FOLLOW_UP)
    assert follow_up.cancelled_at == aware(2025, 3, 5)
    clock.set(aware(2025, 6, 1))
    call_command("send_survey_invitations", stdout=mock.MagicMock())
    assert [m.subject for m in mail.outbox] == ["How was Working Together? Two minutes of feedback"]


def test_an_opt_out_after_the_follow_up_was_sent_stops_its_reminder(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitation = sent_invitation(booking, kind=InvitationKind.FOLLOW_UP, sent_at=clock.now)
    follow_up_opt_out(email=attendee.email, user=attendee, now=clock.advance(days=1))
    clock.advance(days=7)
    assert not invitation_remind(invitation_id=invitation.pk, now=clock.now)
    assert mail.outbox == []


def test_a_place_no_longer_marked_attended_is_not_surveyed(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    booking.attendance = Attendance.ABSENT
    booking.save()
    invitation = booking.invitations.get(kind=InvitationKind.EVALUATION)
    assert not invitation_send(invitation_id=invitation.pk, now=clock.now)
    invitation.refresh_from_db()
    assert invitation.cancelled_at is not None and mail.outbox == []


def test_survey_links_in_emails_are_unique_per_person(
    clock: Clock, march_session: Session, school: Any, sectors: Any
) -> None:
    tokens = set()
    for number in range(3):
        booking = place(
            march_session,
            name=f"Person {number}",
            email=f"p{number}@example.org",
            agency=agency_in(sectors["Health"]),
        )
        invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
        invitation = booking.invitations.get(kind=InvitationKind.EVALUATION)
        invitation_send(invitation_id=invitation.pk, now=clock.now)
        tokens.add(re.search(r"/survey/([\w-]+)/", mail.outbox[-1].body).group(1))
    assert len(tokens) == 3
