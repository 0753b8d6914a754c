"""Invitations: scheduled by attendance, handed once to the outbox, one reminder, opt-out; the
outbox sends them, retries failures with back-off and takes over a dead worker's claim."""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connections

from bookings.attendance.registers import attendance_record
from bookings.models import Attendance, OutgoingEmail
from bookings.outbox import (
    CLAIM_TIMEOUT,
    MAX_ATTEMPTS,
    emails_due,
    emails_retry,
    outgoing_email_send,
)
from evaluation.models import FollowUpOptOut, Invitation, InvitationKind
from evaluation.surveys.services import (
    follow_up_opt_out,
    invitation_queue,
    invitation_reminder_queue,
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


def deliver(now: dt.datetime) -> int:
    """What the outbox's workers do: send every email that is due (each claimed first)."""
    return sum(outgoing_email_send(email_id=pk, now=now) for pk in emails_due(now))


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
    deliver(clock.now)
    assert mail.outbox == []

    clock.set(aware(2025, 5, 26, 9, 0))
    call_command("send_survey_invitations", stdout=mock.MagicMock())
    deliver(clock.now)
    assert len(mail.outbox) == 1
    assert "Have you used what you learned on Working Together" in mail.outbox[0].subject
    call_command("send_survey_invitations", stdout=mock.MagicMock())
    deliver(clock.now)
    assert len(mail.outbox) == 1
    assert OutgoingEmail.objects.get().kind == "follow_up_invitation"


def test_the_email_is_a_trio_with_a_personal_link_and_an_opt_out_link(
    clock: Clock, march_session: Session, attendee: Any, school: Any, settings: Any
) -> None:
    settings.SITE_URL = "https://training.example.org"
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    invitation = booking.invitations.get(kind=InvitationKind.EVALUATION)
    clock.set(aware(2025, 3, 3, 16))
    assert invitation_queue(invitation_id=invitation.pk, now=clock.now)
    assert deliver(clock.now) == 1

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


def test_two_workers_queue_an_invitation_once(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    invitation = booking.invitations.get(kind=InvitationKind.EVALUATION)
    results = [invitation_queue(invitation_id=invitation.pk, now=clock.now) for _ in range(2)]
    assert results == [True, False]
    assert OutgoingEmail.objects.count() == 1
    assert deliver(clock.now) == 1 and deliver(clock.now) == 0
    assert len(mail.outbox) == 1


# serialized_rollback: the surveys and sectors come from data migrations and must survive the
# flush that ends a transactional test.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_racing_to_queue_a_due_invitation_write_one_outbox_row(
    march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    invitation = booking.invitations.get(kind=InvitationKind.FOLLOW_UP)
    now = aware(2025, 5, 26, 9)
    workers = 6
    barrier = threading.Barrier(workers)
    outcomes: list[Any] = [None] * workers

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            outcomes[index] = invitation_queue(invitation_id=invitation.pk, now=now)
        except BaseException as error:  # noqa: B036 - every outcome must reach the test
            outcomes[index] = error
        finally:
            connections.close_all()  # each thread opened its own connection

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes, key=str) == [False] * (workers - 1) + [True], outcomes
    (email,) = OutgoingEmail.objects.filter(kind="follow_up_invitation")
    assert email.to == "tess@example.org"
    assert email.context == {"invitation_id": invitation.pk, "reminder": False}


def test_a_failed_invitation_email_waits_longer_each_time_then_waits_for_the_administrator(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    invitation = booking.invitations.get(kind=InvitationKind.EVALUATION)
    now = clock.set(aware(2025, 3, 3, 16))
    assert invitation_queue(invitation_id=invitation.pk, now=now)
    email = OutgoingEmail.objects.get(kind="evaluation_invitation")
    waits = []
    with mock.patch(
        "django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("SMTP down")
    ):
        for _ in range(MAX_ATTEMPTS):
            email.refresh_from_db()
            assert email.pk in emails_due(email.send_after)
            assert not outgoing_email_send(email_id=email.pk, now=email.send_after)
            email.refresh_from_db()
            waits.append(email.send_after)
            # Handed to the outbox once: the tick never writes it a second time.
            assert not invitation_queue(invitation_id=invitation.pk, now=email.send_after)
    gaps = [(b - a).total_seconds() / 60 for a, b in zip([now, *waits], waits, strict=False)]
    assert gaps == [2, 4, 8, 16, 32]
    assert email.attempts == MAX_ATTEMPTS and "SMTP down" in email.error
    far = email.send_after + dt.timedelta(days=1)
    assert email.pk not in emails_due(far), "given up on: no tick sends it again"
    assert mail.outbox == []
    invitation.refresh_from_db()
    assert invitation.sent_at == now  # handed to the outbox, which keeps the error

    # It waits, unsent with its error, in the administrator's outbox list; the admin's "Try
    # sending the selected unsent emails again" action calls emails_retry.
    assert list(OutgoingEmail.objects.filter(sent_at=None).exclude(error="")) == [email]
    assert emails_retry([email.pk], now=far) == 1
    assert outgoing_email_send(email_id=email.pk, now=far)
    assert [m.to for m in mail.outbox] == [["tess@example.org"]]
    assert mail.outbox[0].subject == "How was Working Together? Two minutes of feedback"
    # The link works 30 days from the email the person actually got.
    invitation.refresh_from_db()
    assert invitation.expires_at == far + dt.timedelta(days=30)


def test_an_invitation_email_claimed_by_a_worker_that_died_is_taken_over_after_the_timeout(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    invitation = booking.invitations.get(kind=InvitationKind.EVALUATION)
    now = clock.set(aware(2025, 3, 3, 16))
    assert invitation_queue(invitation_id=invitation.pk, now=now)
    email = OutgoingEmail.objects.get(kind="evaluation_invitation")
    # A worker claimed it and died before sending.
    OutgoingEmail.objects.filter(pk=email.pk).update(claimed_at=now, attempts=1)
    soon = now + CLAIM_TIMEOUT - dt.timedelta(seconds=1)
    assert email.pk not in emails_due(soon), "a live worker's claim is respected"
    assert not outgoing_email_send(email_id=email.pk, now=soon)
    assert mail.outbox == []
    after = now + CLAIM_TIMEOUT + dt.timedelta(seconds=1)
    assert deliver(after) == 1
    assert deliver(after) == 0
    assert [m.to for m in mail.outbox] == [["tess@example.org"]]


def test_one_reminder_after_seven_days_if_unanswered_and_never_a_third_email(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitation = sent_invitation(booking, sent_at=clock.now)

    clock.advance(days=6, hours=23)
    assert invitations_due(now=clock.now) == ([], [])
    clock.advance(hours=1)
    assert invitations_due(now=clock.now) == ([], [invitation.pk])
    assert invitation_reminder_queue(invitation_id=invitation.pk, now=clock.now)
    assert deliver(clock.now) == 1
    assert mail.outbox[0].subject.startswith("Reminder: ")
    assert OutgoingEmail.objects.get().kind == "evaluation_invitation_reminder"

    for _ in range(3):
        clock.advance(days=7)
        call_command("send_survey_invitations", stdout=mock.MagicMock())
        assert not invitation_reminder_queue(invitation_id=invitation.pk, now=clock.now)
        deliver(clock.now)
    assert len(mail.outbox) == 1  # plus the first email = two in all


def test_no_reminder_once_answered(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitation = sent_invitation(booking, sent_at=clock.now)
    Invitation.objects.filter(pk=invitation.pk).update(responded_at=clock.advance(days=2))
    clock.advance(days=10)
    assert invitations_due(now=clock.now) == ([], [])
    assert not invitation_reminder_queue(invitation_id=invitation.pk, now=clock.now)
    assert not OutgoingEmail.objects.exists()


def test_the_link_lifetime_is_a_setting(
    clock: Clock, march_session: Session, attendee: Any, school: Any, settings: Any
) -> None:
    settings.SURVEY_LINK_DAYS = 10
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    invitation = booking.invitations.get(kind=InvitationKind.EVALUATION)
    invitation_queue(invitation_id=invitation.pk, now=aware(2025, 3, 3, 16))
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
    deliver(clock.now)
    assert [m.subject for m in mail.outbox] == ["How was Working Together? Two minutes of feedback"]


def test_an_opt_out_after_the_follow_up_was_sent_stops_its_reminder(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitation = sent_invitation(booking, kind=InvitationKind.FOLLOW_UP, sent_at=clock.now)
    follow_up_opt_out(email=attendee.email, user=attendee, now=clock.advance(days=1))
    clock.advance(days=7)
    assert not invitation_reminder_queue(invitation_id=invitation.pk, now=clock.now)
    deliver(clock.now)
    assert mail.outbox == []


def test_a_place_no_longer_marked_attended_is_not_surveyed(
    clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    invitations_schedule(booking=booking, now=aware(2025, 3, 3, 16))
    booking.attendance = Attendance.ABSENT
    booking.save()
    invitation = booking.invitations.get(kind=InvitationKind.EVALUATION)
    assert not invitation_queue(invitation_id=invitation.pk, now=clock.now)
    invitation.refresh_from_db()
    assert invitation.cancelled_at is not None and not OutgoingEmail.objects.exists()
    deliver(clock.now)
    assert mail.outbox == []


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
        invitation_queue(invitation_id=invitation.pk, now=clock.now)
        deliver(clock.now)
        tokens.add(re.search(r"/survey/([\w-]+)/", mail.outbox[-1].body).group(1))
    assert len(tokens) == 3
