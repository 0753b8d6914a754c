"""Operations on surveys: scheduling invitations (pre-course ones on confirmation), queueing
their emails, answering, opting out.

Every function reads no clock of its own: callers pass ``now`` (tasks and views read
``timezone.now()`` once). Invitation emails go through the one outbox (``bookings.outbox``):
an invitation is marked queued (``sent_at``, ``reminder_sent_at``) by a conditional UPDATE in
the same transaction as its outbox row is written, so two workers never queue it twice; the
outbox claims, sends, retries with back-off and shows failures to the administrator.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from bookings import jobs
from bookings.audit import audit_record
from bookings.models import Attendance, Booking, BookingStatus
from bookings.outbox import emails_queue
from evaluation.errors import EvaluationError
from evaluation.models import (
    Answer,
    CallStatus,
    Channel,
    FollowUpCall,
    FollowUpOptOut,
    Invitation,
    InvitationKind,
    Moment,
    PreCourseQuestionnaire,
    Question,
    QuestionType,
    Response,
    Survey,
    SurveyKind,
)
from evaluation.surveys.emails import invitation_email, link_closes_at
from evaluation.surveys.policy import link_end, link_lifetime, reminder_delay
from training.models import Course

logger = logging.getLogger(__name__)


# --- scheduling invitations -------------------------------------------------------------------


def _local_morning(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, 9, 0))


def follow_up_due_at(*, session_start: dt.datetime, follow_up_weeks: int) -> dt.datetime:
    """09:00 (local) on the session's date plus the course's follow-up weeks."""
    day = timezone.localdate(session_start) + dt.timedelta(weeks=follow_up_weeks)
    return _local_morning(day)


def invitations_schedule(*, booking: Booking, now: dt.datetime) -> list[Invitation]:
    """Schedule the evaluation (now) and the follow-up (session date + the course's follow-up
    weeks) for an attended place. Idempotent: one invitation of each kind per booking.

    An invitation whose link would already have expired, had it gone on time, is not
    scheduled: marking old registers (or importing them) must not email people about training
    they had years ago. A course with 0 follow-up weeks has no follow-up survey.
    """
    booking = Booking.objects.select_related("session__course").get(pk=booking.pk)
    if booking.attendance != Attendance.ATTENDED or booking.session.starts_at is None:
        return []
    course: Course = booking.session.course
    surveys = {survey.kind: survey for survey in Survey.objects.all()}
    wanted: list[tuple[str, dt.datetime]] = []
    if now - booking.session.starts_at < link_lifetime():
        wanted.append((InvitationKind.EVALUATION, now))
    if course.follow_up_weeks > 0:
        due = follow_up_due_at(
            session_start=booking.session.starts_at, follow_up_weeks=course.follow_up_weeks
        )
        if now - due < link_lifetime():
            wanted.append((InvitationKind.FOLLOW_UP, max(due, now)))
    created: list[Invitation] = []
    with transaction.atomic():
        for kind, send_after in wanted:
            survey = surveys.get(kind)
            if survey is None:
                logger.warning("No %s survey; no invitation for booking %s", kind, booking.pk)
                continue
            invitation, was_created = Invitation.objects.get_or_create(
                booking=booking,
                kind=kind,
                defaults={"survey": survey, "send_after": send_after, "created_at": now},
            )
            if was_created:
                created.append(invitation)
                if send_after <= now:
                    # A worker hands it to the outbox (checking it should still go); the tick
                    # would find it too, had the task been lost.
                    jobs.enqueue_on_commit("queue_invitation", invitation.pk)
    return created


# The annotation ``asks_pre_course`` makes, read with the session by the booking form
# (``bookings.events.booking_session_facts``).
ASKS_PRE_COURSE = "asks_pre_course_questionnaire"


def asks_pre_course() -> Exists:
    """For a Session queryset: whether the session's course sends the pre-course
    questionnaire with each confirmation."""
    return Exists(PreCourseQuestionnaire.objects.filter(course_id=OuterRef("course_id")))


def pre_course_invite(*, booking: Booking, now: dt.datetime) -> Invitation | None:
    """A place was confirmed: if its course asks for the pre-course questionnaire, invite the
    person now, with the confirmation; the link closes when the course starts. None if the
    course does not ask, the session has started (or has no date), or they were invited
    already (one per booking)."""
    # Most courses ask no questionnaire: that is settled first, from the session as the
    # booking form read it (see ``asks_pre_course``), else in one statement from the booking's
    # session id alone; only then is the booking read again.
    session = booking.session if Booking.session.is_cached(booking) else None
    asks = getattr(session, ASKS_PRE_COURSE, None)
    if asks is None:
        asks = PreCourseQuestionnaire.objects.filter(course__sessions=booking.session_id).exists()
    if not asks:
        return None
    booking = Booking.objects.select_related("session").get(pk=booking.pk)
    starts_at = booking.session.starts_at
    if booking.status != BookingStatus.CONFIRMED or starts_at is None or starts_at <= now:
        return None
    survey = Survey.objects.filter(kind=SurveyKind.PRE_COURSE).first()
    if survey is None:
        logger.warning("No pre-course survey; no invitation for booking %s", booking.pk)
        return None
    with transaction.atomic():
        invitation, created = Invitation.objects.get_or_create(
            booking=booking,
            kind=InvitationKind.PRE_COURSE,
            defaults={"survey": survey, "send_after": now, "created_at": now},
        )
        if not created:
            return None
        jobs.enqueue_on_commit("queue_invitation", invitation.pk)
    return invitation


def manager_invite(*, booking: Booking, now: dt.datetime) -> Invitation | None:
    """The attendee agreed, in the follow-up, that we may ask their line manager: invite the
    line manager recorded on the booking now. None if none was recorded, there is no such
    survey, or they were asked already (one per booking)."""
    if not booking.line_manager_email:
        return None
    survey = Survey.objects.filter(kind=SurveyKind.MANAGER).first()
    if survey is None:
        logger.warning("No line manager survey; no invitation for booking %s", booking.pk)
        return None
    invitation, created = Invitation.objects.get_or_create(
        booking=booking,
        kind=InvitationKind.MANAGER,
        defaults={"survey": survey, "send_after": now, "created_at": now},
    )
    if not created:
        return None
    jobs.enqueue_on_commit("queue_invitation", invitation.pk)
    return invitation


# --- handing the emails to the outbox ---------------------------------------------------------


def _is_opted_out(booking: Booking) -> bool:
    query = Q(email=booking.attendee_email.lower())
    if booking.attendee_id:
        query |= Q(user_id=booking.attendee_id)
    return FollowUpOptOut.objects.filter(query).exists()


def _why_not_send(invitation: Invitation, now: dt.datetime) -> str:
    booking = invitation.booking
    if invitation.kind == InvitationKind.PRE_COURSE:
        if booking.status != BookingStatus.CONFIRMED:
            return "The place is no longer confirmed."
        starts_at = booking.session.starts_at
        if starts_at is None or starts_at <= now:
            return "The course has started: an answer now would not be a before."
        return ""
    if booking.status != BookingStatus.CONFIRMED or booking.attendance != Attendance.ATTENDED:
        return "The place is no longer marked attended."
    if invitation.kind == InvitationKind.MANAGER and not booking.line_manager_email:
        return "No line manager is recorded on the booking."
    if invitation.kind == InvitationKind.FOLLOW_UP and _is_opted_out(booking):
        return "The person opted out of follow-ups."
    return ""


def _load_for_email(invitation_id: int) -> Invitation:
    return Invitation.objects.select_related("booking__session__course", "survey").get(
        pk=invitation_id
    )


def invitation_queue(*, invitation_id: int, now: dt.datetime) -> bool:
    """Hand the invitation's first email to the outbox, which sends it (and retries it); False
    if it was not due, another worker queued it, or it should no longer go (then it is
    cancelled with the reason)."""
    invitation = _load_for_email(invitation_id)
    reason = _why_not_send(invitation, now)
    if reason:
        Invitation.objects.filter(pk=invitation_id, sent_at=None, cancelled_at=None).update(
            cancelled_at=now, cancel_reason=reason
        )
        return False
    expires_at = link_end(sent_at=now, closes_at=link_closes_at(invitation))
    with transaction.atomic():
        # The claim: of two workers, only one UPDATE finds sent_at still empty, so only one
        # writes the outbox row; a rollback undoes both.
        claimed = (
            Invitation.objects.first_email_due(now)
            .filter(pk=invitation_id)
            .update(sent_at=now, expires_at=expires_at)
        )
        if not claimed:
            return False
        invitation.sent_at, invitation.expires_at = now, expires_at
        emails_queue([invitation_email(invitation, reminder=False, now=now)])
    return True


def invitation_reminder_queue(*, invitation_id: int, now: dt.datetime) -> bool:
    """Hand the one reminder to the outbox; at most two emails ever go per invitation."""
    invitation = _load_for_email(invitation_id)
    if _why_not_send(invitation, now):
        return False
    with transaction.atomic():
        # The claim, as for the first email: one outbox row, however many workers try.
        claimed = (
            Invitation.objects.reminder_due(now, reminder_delay())
            .filter(pk=invitation_id)
            .update(reminder_sent_at=now)
        )
        if not claimed:
            return False
        emails_queue([invitation_email(invitation, reminder=True, now=now)])
    return True


def invitations_due(*, now: dt.datetime, limit: int = 500) -> tuple[list[int], list[int]]:
    """Ids of invitations whose first email, and whose reminder, is due."""
    first = list(
        Invitation.objects.first_email_due(now)
        .order_by("send_after", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    reminders = list(
        Invitation.objects.reminder_due(now, reminder_delay())
        .order_by("sent_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return first, reminders


def invitations_queue_due(*, now: dt.datetime) -> dict[str, int]:
    """The tick: hand every due invitation and reminder to the outbox (which sends them)."""
    first, reminders = invitations_due(now=now)
    return {
        "invitations": sum(invitation_queue(invitation_id=pk, now=now) for pk in first),
        "reminders": sum(invitation_reminder_queue(invitation_id=pk, now=now) for pk in reminders),
    }


# --- answering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerData:
    """One answered item, as the form cleaned it."""

    question_id: int
    outcome_id: int | None = None
    moment: str = Moment.NONE
    scale: int | None = None
    yes_no: bool | None = None
    choice: str = ""
    text: str = ""


def answers_by_key(survey: Survey, answers: Sequence[AnswerData]) -> dict[str, AnswerData]:
    keys = dict(survey.questions.exclude(key="").values_list("pk", "key"))
    return {keys[a.question_id]: a for a in answers if a.question_id in keys}


def _check_answers(
    survey: Survey, booking: Booking, answers: Sequence[AnswerData]
) -> dict[int, Question]:
    """The knowledge checks answered, by id; refuses answers to another survey's questions
    or to another course's knowledge checks."""
    allowed = {
        question.pk: question
        for question in survey.questions.filter(
            Q(course__isnull=True) | Q(course_id=booking.session.course_id)
        )
    }
    if any(answer.question_id not in allowed for answer in answers):
        raise EvaluationError("Some answers are for questions of another survey or course.")
    return {
        pk: question
        for pk, question in allowed.items()
        if question.type == QuestionType.KNOWLEDGE_CHECK
    }


def response_write(
    *,
    survey: Survey,
    booking: Booking,
    answers: Sequence[AnswerData],
    channel: str,
    now: dt.datetime,
    invitation: Invitation | None = None,
    call: FollowUpCall | None = None,
    recorded_by: Any = None,
    good_practice: bool = False,
) -> Response:
    checks = _check_answers(survey, booking, answers)
    session = booking.session
    by_key = answers_by_key(survey, answers)
    consent = by_key.get("quote_consent")
    example = by_key.get("example")
    quote_consent = bool(consent and consent.yes_no)
    response = Response.objects.create(
        survey=survey,
        booking=booking,
        invitation=invitation,
        call=call,
        channel=channel,
        course_id=session.course_id,
        sector_id=booking.sector_id,
        session_date=timezone.localdate(session.starts_at),
        submitted_at=now,
        recorded_by=recorded_by,
        good_practice=good_practice,
        quote_consent=quote_consent,
        # The example question asks for no names; the administrator can still edit the quote.
        quote=example.text.strip() if (example and good_practice and quote_consent) else "",
    )
    Answer.objects.bulk_create(
        Answer(
            response=response,
            question_id=a.question_id,
            outcome_id=a.outcome_id,
            moment=a.moment,
            scale=a.scale,
            yes_no=a.yes_no,
            choice=a.choice,
            text=a.text,
            # Scored as it is stored: rewording the check later does not rescore old answers.
            correct=checks[a.question_id].is_correct(a.choice) if a.question_id in checks else None,
        )
        for a in answers
    )
    return response


def _call_withdraw(call: FollowUpCall, reason: str, *, now: dt.datetime) -> None:
    """Nobody needs to phone this person after all: the open call closes as cancelled."""
    call.close(status=CallStatus.CANCELLED, reason=reason, now=now)
    audit_record(
        obj=call,
        action=f"closed: {CallStatus.CANCELLED}",
        actor=None,
        now=now,
        changes={"reason": reason},
    )


def survey_submit(
    *, invitation: Invitation, answers: Sequence[AnswerData], now: dt.datetime
) -> Response:
    """Store the answers to an invitation's survey. The link works once: the first submission
    closes it, and a second (or one after expiry) is refused."""
    with transaction.atomic():
        # The claim: of two submissions racing, only one UPDATE finds responded_at empty.
        closed = Invitation.objects.filter(
            pk=invitation.pk,
            sent_at__isnull=False,
            responded_at=None,
            cancelled_at=None,
            expires_at__gt=now,
        ).update(responded_at=now)
        if not closed:
            raise EvaluationError("This survey link has already been used or has expired.")
        invitation = Invitation.objects.select_related("booking__session", "survey").get(
            pk=invitation.pk
        )
        response = response_write(
            survey=invitation.survey,
            booking=invitation.booking,
            answers=answers,
            channel=Channel.ONLINE,
            now=now,
            invitation=invitation,
        )
        if invitation.kind == InvitationKind.FOLLOW_UP:
            consent = answers_by_key(invitation.survey, answers).get("manager_consent")
            if consent is not None and consent.yes_no:
                manager_invite(booking=invitation.booking, now=now)
            # Answered online: nobody needs to phone them about this course now.
            for call in FollowUpCall.objects.filter(
                booking=invitation.booking, status=CallStatus.OPEN, attempts__isnull=True
            ):
                _call_withdraw(call, "Answered the follow-up online", now=now)
    return response


def follow_up_opt_out(
    *, email: str, user: Any = None, now: dt.datetime, source: str = ""
) -> FollowUpOptOut:
    """No more follow-up emails or calls for this person: unsent follow-ups are cancelled and
    calls not yet started are withdrawn."""
    email = email.strip().lower()
    if not email:
        raise EvaluationError("Give an email address to opt out.")
    with transaction.atomic():
        opt_out, created = FollowUpOptOut.objects.get_or_create(
            email=email, defaults={"user": user, "created_at": now, "source": source}
        )
        bookings = Booking.objects.filter(attendee_email=email)
        if user is not None:
            bookings = Booking.objects.filter(Q(attendee_email=email) | Q(attendee=user))
        Invitation.objects.filter(
            booking__in=bookings, kind=InvitationKind.FOLLOW_UP, sent_at=None, cancelled_at=None
        ).update(cancelled_at=now, cancel_reason="The person opted out of follow-ups.")
        for call in FollowUpCall.objects.filter(booking__in=bookings, status=CallStatus.OPEN):
            _call_withdraw(call, "The person opted out", now=now)
        if created:
            audit_record(
                obj=opt_out,
                action="opted out of follow-ups",
                actor=user,
                now=now,
                changes={"source": source},
            )
    return opt_out


def response_flag_good_practice(*, response: Response, actor: Any, now: dt.datetime) -> None:
    """The administrator marks an online answer as a good-practice example."""
    with transaction.atomic():
        response = Response.objects.select_for_update().get(pk=response.pk)
        if response.good_practice:
            return
        response.good_practice = True
        if not response.quote and response.quote_consent:
            example = response.answers.filter(question__key="example").first()
            response.quote = example.text.strip() if example else ""
        response.save(update_fields=["good_practice", "quote"])
        audit_record(obj=response, action="flagged as good practice", actor=actor, now=now)
