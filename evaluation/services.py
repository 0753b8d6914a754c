"""Operations on surveys, invitations and 'test and check' calls.

Every function reads no clock of its own: callers pass ``now`` (tasks and views read
``timezone.now()`` once). Emails are sent by background tasks after commit, each claimed once
with a conditional UPDATE so two workers never send the same email.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from bookings.audit import audit_record
from bookings.models import Attendance, Booking, BookingStatus
from evaluation.models import (
    MAX_CALL_ATTEMPTS,
    UNSUCCESSFUL_CALL_STATUSES,
    Answer,
    AttemptOutcome,
    CallAttempt,
    CallDraw,
    CallStatus,
    Channel,
    FollowUpCall,
    FollowUpOptOut,
    ImpactCode,
    Invitation,
    InvitationKind,
    Moment,
    Response,
    ResponseImpact,
    Survey,
    SurveyKind,
    first_of_month,
)
from training.models import Course, Sector
from training.roles import Role

logger = logging.getLogger(__name__)


class EvaluationError(Exception):
    """A survey or call could not be recorded; the message tells the person what to do."""


# --- policy (settings, with the defaults the unit agreed) -----------------------------------


def link_lifetime() -> dt.timedelta:
    """How long a survey link works after its first email: 30 days unless set."""
    return dt.timedelta(days=int(getattr(settings, "SURVEY_LINK_DAYS", 30)))


def reminder_delay() -> dt.timedelta:
    """One reminder this long after the first email, if still unanswered: 7 days unless set."""
    return dt.timedelta(days=int(getattr(settings, "SURVEY_REMINDER_DAYS", 7)))


def call_window_months() -> int:
    """A follow-up that fell due longer ago than this is too old to be drawn for a call."""
    return int(getattr(settings, "CALL_DRAW_WINDOW_MONTHS", 6))


# --- scheduling invitations -------------------------------------------------------------------


def _local_morning(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, 9, 0))


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day))


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
                    transaction.on_commit(lambda pk=invitation.pk: _enqueue_send(pk))
    return created


def _enqueue_send(invitation_id: int) -> None:
    from evaluation.tasks import send_invitation

    send_invitation.enqueue(invitation_id)


# --- sending ----------------------------------------------------------------------------------


def _is_opted_out(booking: Booking) -> bool:
    query = Q(email=booking.attendee_email.lower())
    if booking.attendee_id:
        query |= Q(user_id=booking.attendee_id)
    return FollowUpOptOut.objects.filter(query).exists()


def _why_not_send(invitation: Invitation) -> str:
    booking = invitation.booking
    if booking.status != BookingStatus.CONFIRMED or booking.attendance != Attendance.ATTENDED:
        return "The place is no longer marked attended."
    if invitation.kind == InvitationKind.FOLLOW_UP and _is_opted_out(booking):
        return "The person opted out of follow-ups."
    return ""


def render_invitation_email(invitation: Invitation, *, reminder: bool) -> EmailMultiAlternatives:
    """The email trio ``evaluation/email/<kind>_invitation{_subject.txt,.txt,.html}``."""
    booking = invitation.booking
    session = booking.session
    context = {
        "invitation": invitation,
        "booking": booking,
        "session": session,
        "course": session.course,
        "reminder": reminder,
        "survey_url": settings.SITE_URL + reverse("evaluation:survey", args=[invitation.token]),
        "opt_out_url": settings.SITE_URL + reverse("evaluation:opt_out", args=[invitation.token]),
        "expires_at": invitation.expires_at,
        "UNIT_NAME": settings.UNIT_NAME,
        "SITE_URL": settings.SITE_URL,
    }
    base = f"evaluation/email/{invitation.kind}_invitation"
    subject = " ".join(render_to_string(f"{base}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{base}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[booking.attendee_email],
    )
    message.attach_alternative(render_to_string(f"{base}.html", context), "text/html")
    return message


def _load_for_email(invitation_id: int) -> Invitation:
    return Invitation.objects.select_related(
        "booking__session__course", "booking__session__venue", "survey"
    ).get(pk=invitation_id)


def invitation_send(*, invitation_id: int, now: dt.datetime) -> bool:
    """Claim the invitation's first email and send it; False if it was not due, already
    claimed by another worker, or should no longer go (then it is cancelled with the reason)."""
    invitation = _load_for_email(invitation_id)
    reason = _why_not_send(invitation)
    if reason:
        Invitation.objects.filter(pk=invitation_id, sent_at=None, cancelled_at=None).update(
            cancelled_at=now, cancel_reason=reason
        )
        return False
    expires_at = now + link_lifetime()
    # The claim: only one worker's UPDATE matches a row whose sent_at is still empty.
    claimed = (
        Invitation.objects.first_email_due(now)
        .filter(pk=invitation_id)
        .update(sent_at=now, expires_at=expires_at)
    )
    if not claimed:
        return False
    invitation.sent_at, invitation.expires_at = now, expires_at
    try:
        render_invitation_email(invitation, reminder=False).send()
    except Exception as error:
        # Give the claim back so the next run tries again; keep the reason for the admin.
        logger.exception("Sending survey invitation %s failed", invitation_id)
        Invitation.objects.filter(pk=invitation_id).update(
            sent_at=None, expires_at=None, last_error=str(error)[:2000]
        )
        return False
    Invitation.objects.filter(pk=invitation_id).update(last_error="")
    return True


def invitation_remind(*, invitation_id: int, now: dt.datetime) -> bool:
    """Claim and send the one reminder; at most two emails ever go per invitation."""
    invitation = _load_for_email(invitation_id)
    if _why_not_send(invitation):
        return False
    claimed = (
        Invitation.objects.reminder_due(now, reminder_delay())
        .filter(pk=invitation_id)
        .update(reminder_sent_at=now)
    )
    if not claimed:
        return False
    try:
        render_invitation_email(invitation, reminder=True).send()
    except Exception as error:
        logger.exception("Sending survey reminder %s failed", invitation_id)
        Invitation.objects.filter(pk=invitation_id).update(
            reminder_sent_at=None, last_error=str(error)[:2000]
        )
        return False
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


def _answers_by_key(survey: Survey, answers: Sequence[AnswerData]) -> dict[str, AnswerData]:
    keys = dict(survey.questions.exclude(key="").values_list("pk", "key"))
    return {keys[a.question_id]: a for a in answers if a.question_id in keys}


def _check_answers(survey: Survey, answers: Sequence[AnswerData]) -> None:
    allowed = set(survey.questions.values_list("pk", flat=True))
    if any(answer.question_id not in allowed for answer in answers):
        raise EvaluationError("Some answers are for questions of another survey.")


def _write_response(
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
    _check_answers(survey, answers)
    session = booking.session
    by_key = _answers_by_key(survey, answers)
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
        )
        for a in answers
    )
    return response


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
        response = _write_response(
            survey=invitation.survey,
            booking=invitation.booking,
            answers=answers,
            channel=Channel.ONLINE,
            now=now,
            invitation=invitation,
        )
        if invitation.kind == InvitationKind.FOLLOW_UP:
            # Answered online: nobody needs to phone them about this course now.
            for call in FollowUpCall.objects.filter(
                booking=invitation.booking, status=CallStatus.OPEN, attempts__isnull=True
            ):
                _close_call(
                    call, CallStatus.CANCELLED, "Answered the follow-up online", actor=None, now=now
                )
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
            _close_call(call, CallStatus.CANCELLED, "The person opted out", actor=None, now=now)
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


# --- the monthly draw -------------------------------------------------------------------------


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    start = first_of_month(month)
    next_month = (start + dt.timedelta(days=32)).replace(day=1)
    return start, next_month - dt.timedelta(days=1)


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, 1)


def follow_up_due_q(*, due_from: dt.date, due_to: dt.date) -> Q:
    """Bookings whose follow-up fell due (session date + the course's weeks) in the range.

    Follow-up weeks vary by course; there are only a few distinct values, so one date range
    per value keeps the whole test in the database (and on an index) on every backend.
    """
    query = Q(pk__in=[])
    weeks_values = Course.objects.order_by().values_list("follow_up_weeks", flat=True).distinct()
    for weeks in weeks_values:
        if weeks <= 0:
            continue
        shift = dt.timedelta(weeks=weeks)
        start = _local_midnight(due_from - shift)
        end = _local_midnight(due_to - shift + dt.timedelta(days=1))
        query |= Q(
            session__course__follow_up_weeks=weeks,
            session__starts_at__gte=start,
            session__starts_at__lt=end,
        )
    return query


def draw_period(month: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """Follow-ups due from the start of the window up to the end of the month drawn (or today,
    if the month is not over): those are the people a call this month is about."""
    start, end = month_bounds(month)
    due_to = min(end, today)
    return _months_before(start, call_window_months() - 1), due_to


def attended_in_period(*, due_from: dt.date, due_to: dt.date) -> QuerySet[Booking]:
    return Booking.objects.filter(
        follow_up_due_q(due_from=due_from, due_to=due_to),
        status=BookingStatus.CONFIRMED,
        attendance=Attendance.ATTENDED,
    )


def eligible_for_calls(*, due_from: dt.date, due_to: dt.date) -> QuerySet[Booking]:
    """Attended places whose follow-up fell due in the range, where the attendee agreed to be
    phoned (and gave a number), has not answered the follow-up online, has not opted out, and
    has no call yet (about this place, or open about another)."""
    answered_online = Response.objects.filter(
        booking=OuterRef("pk"), survey__kind=SurveyKind.FOLLOW_UP
    )
    opted_out = FollowUpOptOut.objects.filter(
        Q(email=OuterRef("attendee_email")) | Q(user=OuterRef("attendee"))
    )
    called = FollowUpCall.objects.filter(booking=OuterRef("pk"))
    open_call = FollowUpCall.objects.filter(person=OuterRef("attendee"), status=CallStatus.OPEN)
    return (
        attended_in_period(due_from=due_from, due_to=due_to)
        .filter(attendee__isnull=False, attendee__profile__consent_to_calls=True)
        .exclude(attendee__profile__phone="")
        .exclude(Exists(answered_online))
        .exclude(Exists(opted_out))
        .exclude(Exists(called))
        .exclude(Exists(open_call))
    )


def allocate_by_sector(
    *,
    size: int,
    attendance: dict[int, int],
    eligible: dict[int, int],
    already: dict[int, int] | None = None,
    order: Sequence[int] = (),
) -> dict[int, int]:
    """How many calls each sector gets (including ``already`` drawn this month).

    The rounding rule, in words:

    1. Every sector with anyone eligible (or already called this month) gets at least one call.
    2. Each further call goes to the sector with the highest attendance per call so far,
       attendance ÷ (calls + ½) — the Sainte-Laguë rule, which rounds proportional shares to
       the nearest whole number without favouring big or small sectors. Ties go to the sector
       with more attendance, then to the one first in the sector list.
    3. A sector never gets more new calls than it has eligible people; its turn passes on.
    4. It stops at ``size`` calls — or above it only when rule 1 needs more: the floor wins.
    """
    allocation = dict(already or {})
    rank = {sector: index for index, sector in enumerate(order)}
    for sector, count in eligible.items():
        if count > 0 and allocation.get(sector, 0) == 0:
            allocation[sector] = 1

    def room(sector: int) -> bool:
        return allocation.get(sector, 0) - (already or {}).get(sector, 0) < eligible.get(sector, 0)

    while sum(allocation.values()) < size:
        candidates = [sector for sector in eligible if room(sector)]
        if not candidates:
            break
        best = max(
            candidates,
            key=lambda s: (
                attendance.get(s, 0) / (allocation.get(s, 0) + 0.5),
                attendance.get(s, 0),
                -rank.get(s, s),
            ),
        )
        allocation[best] = allocation.get(best, 0) + 1
    return {sector: count for sector, count in allocation.items() if count}


def community_members() -> QuerySet[Any]:
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.COMMUNITY_MEMBER)
        .distinct()
        .order_by("pk")
    )


def followup_calls_draw(
    *,
    month: dt.date,
    size: int,
    actor: Any,
    now: dt.datetime,
    rng: random.Random | None = None,
    assign: bool = True,
) -> CallDraw:
    """Draw the month's 'test and check' calls, stratified by sector (see ``allocate_by_sector``).

    ``size`` is the month's sample: calls already drawn for the month that are open or
    completed count towards it, so running the draw again only tops it up (replacing calls
    that closed unreached) and never draws anyone twice.
    """
    if size < 1:
        raise EvaluationError("The sample size must be at least 1.")
    month = first_of_month(month)
    rng = rng or random.SystemRandom()
    due_from, due_to = draw_period(month, timezone.localdate(now))
    sectors = list(Sector.objects.order_by("order", "name").values_list("pk", "name"))
    names = dict(sectors)
    attendance = dict(
        attended_in_period(due_from=due_from, due_to=due_to)
        .order_by()
        .values_list("sector")
        .annotate(n=Count("pk"))
    )
    candidates = list(
        eligible_for_calls(due_from=due_from, due_to=due_to)
        .order_by("pk")
        .values("pk", "sector_id", "attendee_id", "attendee__profile__phone")
    )
    # One place per person: someone eligible twice is drawn at most once.
    rng.shuffle(candidates)
    per_person: dict[int, dict[str, Any]] = {}
    for row in candidates:
        per_person.setdefault(row["attendee_id"], row)
    pool: dict[int, list[dict[str, Any]]] = {}
    for row in sorted(per_person.values(), key=lambda r: r["pk"]):
        pool.setdefault(row["sector_id"], []).append(row)
    already = Counter(
        FollowUpCall.objects.filter(month=month)
        .exclude(status__in=UNSUCCESSFUL_CALL_STATUSES)
        .values_list("sector_id", flat=True)
    )
    allocation = allocate_by_sector(
        size=size,
        attendance=attendance,
        eligible={sector: len(rows) for sector, rows in pool.items()},
        already=dict(already),
        order=[pk for pk, _ in sectors],
    )
    try:
        with transaction.atomic():
            draw = CallDraw.objects.create(
                month=month,
                size=size,
                drawn_at=now,
                drawn_by=actor if getattr(actor, "pk", None) else None,
                eligible=len(per_person),
            )
            new_calls: list[FollowUpCall] = []
            for sector_id in [pk for pk, _ in sectors]:
                wanted = allocation.get(sector_id, 0) - already.get(sector_id, 0)
                if wanted <= 0:
                    continue
                for row in rng.sample(pool[sector_id], wanted):
                    new_calls.append(
                        FollowUpCall.objects.create(
                            draw=draw,
                            month=month,
                            booking_id=row["pk"],
                            person_id=row["attendee_id"],
                            sector_id=sector_id,
                            phone=row["attendee__profile__phone"],
                            created_at=now,
                        )
                    )
            draw.drawn = len(new_calls)
            draw.allocation = {
                names[s]: n for s, n in sorted(allocation.items(), key=lambda i: names[i[0]])
            }
            draw.save(update_fields=["drawn", "allocation"])
            audit_record(
                obj=draw,
                action="calls drawn",
                actor=actor,
                now=now,
                changes={
                    "month": month,
                    "size": size,
                    "drawn": len(new_calls),
                    "allocation": draw.allocation,
                },
            )
            if assign and new_calls:
                calls_assign_evenly(calls=new_calls, actor=actor, now=now)
    except IntegrityError as error:
        # The unique constraints caught a draw running at the same moment.
        raise EvaluationError(
            "Another draw was running at the same time. Run the draw again."
        ) from error
    return draw


def calls_assign_evenly(*, calls: Iterable[FollowUpCall], actor: Any, now: dt.datetime) -> int:
    """Give each open, unassigned call to the community member with the fewest open calls."""
    members = list(community_members())
    if not members:
        return 0
    load = dict(
        FollowUpCall.objects.filter(status=CallStatus.OPEN, assigned_to__in=members)
        .order_by()
        .values_list("assigned_to")
        .annotate(n=Count("pk"))
    )
    assigned = 0
    with transaction.atomic():
        for call in sorted(calls, key=lambda c: c.pk):
            if call.assigned_to_id is not None or call.status != CallStatus.OPEN:
                continue
            member = min(members, key=lambda m: (load.get(m.pk, 0), m.pk))
            call_assign(call=call, member=member, actor=actor, now=now)
            load[member.pk] = load.get(member.pk, 0) + 1
            assigned += 1
    return assigned


def call_assign(*, call: FollowUpCall, member: Any, actor: Any, now: dt.datetime) -> None:
    """Give a call to a community member (by hand, or from ``calls_assign_evenly``)."""
    if member is not None and not community_members().filter(pk=member.pk).exists():
        raise EvaluationError("Calls can only be given to community members.")
    old = call.assigned_to_id
    call.assigned_to = member
    FollowUpCall.objects.filter(pk=call.pk).update(assigned_to=member)
    audit_record(
        obj=call,
        action="assigned",
        actor=actor,
        now=now,
        changes={"assigned_to": [old, getattr(member, "pk", None)]},
    )


# --- recording calls --------------------------------------------------------------------------


def _close_call(
    call: FollowUpCall, status: str, reason: str, *, actor: Any, now: dt.datetime
) -> None:
    call.status = status
    call.closed_at = now
    call.close_reason = reason
    call.call_back_at = None
    call.save(update_fields=["status", "closed_at", "close_reason", "call_back_at"])
    audit_record(
        obj=call, action=f"closed: {status}", actor=actor, now=now, changes={"reason": reason}
    )


def _lock_open_call(call: FollowUpCall, member: Any) -> FollowUpCall:
    # The call row lock serialises two taps (or two phones) recording on the same call.
    locked = (
        FollowUpCall.objects.select_for_update().select_related("booking__session").get(pk=call.pk)
    )
    if locked.assigned_to_id != member.pk:
        raise EvaluationError("This call is not on your list.")
    if locked.status != CallStatus.OPEN:
        raise EvaluationError("This call is closed; nothing more can be recorded on it.")
    return locked


def call_attempt_record(
    *,
    call: FollowUpCall,
    outcome: str,
    member: Any,
    now: dt.datetime,
    call_back_at: dt.datetime | None = None,
) -> CallAttempt:
    """Record one try at a call. Wrong number and declined close the call; a third try that
    does not reach the person closes it as unreachable. Reached opens the call script.

    If they were reached but have to stop (call back later) or change their mind (declined),
    that was still the same phone call: the reached attempt takes the new outcome instead of
    a new attempt being counted.
    """
    if outcome not in AttemptOutcome.values:
        raise EvaluationError("Choose what happened when you called.")
    if outcome == AttemptOutcome.CALL_BACK:
        if call_back_at is None:
            raise EvaluationError("Give the day and time they asked you to call back.")
        if call_back_at <= now:
            raise EvaluationError("The time to call back must be in the future.")
    else:
        call_back_at = None
    with transaction.atomic():
        call = _lock_open_call(call, member)
        attempts = list(call.attempts.order_by("number"))
        if attempts and attempts[-1].outcome == AttemptOutcome.REACHED:
            if outcome not in (AttemptOutcome.CALL_BACK, AttemptOutcome.DECLINED):
                raise EvaluationError("You have reached this person: fill in the call script.")
            attempt = attempts[-1]
            attempt.outcome, attempt.call_back_at = outcome, call_back_at
            attempt.save(update_fields=["outcome", "call_back_at"])
        elif len(attempts) >= MAX_CALL_ATTEMPTS:
            raise EvaluationError(f"A call can be tried at most {MAX_CALL_ATTEMPTS} times.")
        else:
            attempt = CallAttempt.objects.create(
                call=call,
                number=len(attempts) + 1,
                outcome=outcome,
                call_back_at=call_back_at,
                attempted_at=now,
                recorded_by=member,
            )
        if outcome == AttemptOutcome.WRONG_NUMBER:
            _close_call(call, CallStatus.WRONG_NUMBER, "Wrong number", actor=member, now=now)
        elif outcome == AttemptOutcome.DECLINED:
            _close_call(call, CallStatus.DECLINED, "Declined to take part", actor=member, now=now)
        elif outcome in (AttemptOutcome.NO_ANSWER, AttemptOutcome.CALL_BACK):
            if attempt.number >= MAX_CALL_ATTEMPTS:
                _close_call(
                    call,
                    CallStatus.UNREACHABLE,
                    f"Not reached in {MAX_CALL_ATTEMPTS} attempts",
                    actor=member,
                    now=now,
                )
            else:
                call.call_back_at = call_back_at
                call.save(update_fields=["call_back_at"])
        else:
            call.call_back_at = None
            call.save(update_fields=["call_back_at"])
    return attempt


def call_complete(
    *,
    call: FollowUpCall,
    answers: Sequence[AnswerData],
    impact_codes: Sequence[str],
    good_practice: bool,
    member: Any,
    now: dt.datetime,
) -> Response:
    """Store what the person said on the phone (the call script's answers), the impact codes
    and the good-practice flag; the call is then complete."""
    codes = list(dict.fromkeys(impact_codes))
    if not codes:
        raise EvaluationError("Choose at least one impact code (or 'No change').")
    if any(code not in ImpactCode.values for code in codes):
        raise EvaluationError("Choose impact codes from the list.")
    if ImpactCode.NO_CHANGE in codes and len(codes) > 1:
        raise EvaluationError("'No change' cannot go with other impact codes.")
    survey = Survey.objects.filter(kind=SurveyKind.CALL_SCRIPT).first()
    if survey is None:
        raise EvaluationError("There is no call script. Ask the training team to add one.")
    with transaction.atomic():
        call = _lock_open_call(call, member)
        last = call.attempts.order_by("-number").first()
        if last is None or last.outcome != AttemptOutcome.REACHED:
            raise EvaluationError("Record that you reached the person before the call script.")
        if good_practice:
            example = _answers_by_key(survey, answers).get("example")
            if example is None or not example.text.strip():
                raise EvaluationError("Write down the example before flagging it as good practice.")
        response = _write_response(
            survey=survey,
            booking=call.booking,
            answers=answers,
            channel=Channel.PHONE,
            now=now,
            call=call,
            recorded_by=member,
            good_practice=good_practice,
        )
        ResponseImpact.objects.bulk_create(
            ResponseImpact(response=response, code=code) for code in codes
        )
        _close_call(call, CallStatus.COMPLETED, "Completed", actor=member, now=now)
    return response


def call_cancel(*, call: FollowUpCall, reason: str, actor: Any, now: dt.datetime) -> None:
    if not reason.strip():
        raise EvaluationError("Give a reason for cancelling the call.")
    with transaction.atomic():
        call = FollowUpCall.objects.select_for_update().get(pk=call.pk)
        if call.status != CallStatus.OPEN:
            return
        _close_call(call, CallStatus.CANCELLED, reason.strip(), actor=actor, now=now)
