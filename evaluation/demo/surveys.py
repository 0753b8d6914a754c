"""Demo surveys and calls: answered evaluations and follow-ups, and 'test and check' calls.

Called by ``manage.py demo``; idempotent, and does nothing without attended places.

No email is sent: the invitations are written as already sent (when the survey would have
gone) and answered through the real service, at the time they would have been answered.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bookings.models import Attendance, Booking, BookingStatus
from evaluation.calls.services import call_attempt_record, call_complete
from evaluation.models import (
    AttemptOutcome,
    CallDraw,
    FollowUpCall,
    ImpactCode,
    Invitation,
    InvitationKind,
    Moment,
    Question,
    QuestionType,
    Response,
    Survey,
    SurveyKind,
    first_of_month,
)
from evaluation.surveys.policy import link_lifetime
from evaluation.surveys.services import (
    AnswerData,
    follow_up_due_at,
    response_flag_good_practice,
    survey_submit,
)
from training.models import LearningOutcome

COMMUNITY_EMAIL = "community@example.org"
EVALUATIONS = 80
FOLLOW_UPS = 40
OPEN_CALLS = 5
COMPLETED_CALLS = 3

# Fictional and anonymised, as the survey asks: no names of people, agencies or places.
EXAMPLES = [
    "I noticed a pupil's attendance dropping and spoke to our designated lead the same day; "
    "we shared what we knew with the family's health visitor and agreed a plan together.",
    "I used the three houses tool with a mother and her two children, which helped the "
    "younger child say what worried her at home.",
    "After the course I checked our safer recruitment steps and found two references had not "
    "been verified; we now follow them up before anyone starts.",
    "A young person told me about an older 'boyfriend'. I recognised the signs of "
    "exploitation from the course and made a referral instead of waiting.",
    "I asked a dad directly about his mental health, which I would not have done before. He "
    "accepted support and the children's routine is more settled.",
    "We now invite the school nurse to our team meetings, so concerns are shared early.",
]
VOICE = [
    "The child drew a picture of who helps her, and that went into the plan.",
    "The family said they felt listened to rather than judged.",
    "The young person's own words are now in the referral.",
]
FURTHER = ["Thresholds refresher", "More on working with parents", "Nothing at the moment"]
DIFFERENTLY = [
    "Record the child's own words in my notes.",
    "Ask about parental mental health at the first visit.",
    "Check the thresholds document before I make a referral.",
]


def _answers(survey: Survey, booking: Booking, rng: random.Random) -> list[AnswerData]:
    outcomes = list(booking.session.course.outcomes.all())
    used = rng.random() < 0.78
    answers: list[AnswerData] = []
    question: Question
    for question in survey.asked_questions():
        if question.per_outcome:
            whole: list[LearningOutcome | None] = [None]  # no outcomes: the course as a whole
            for outcome in outcomes or whole:
                before = rng.randint(1, 3)
                after = min(5, before + rng.randint(1, 3))
                for moment, value in ((Moment.BEFORE, before), (Moment.AFTER, after)):
                    answers.append(
                        AnswerData(
                            question_id=question.pk,
                            outcome_id=outcome.pk if outcome else None,
                            moment=moment,
                            scale=value,
                        )
                    )
        elif question.type == QuestionType.SCALE:
            answers.append(AnswerData(question_id=question.pk, scale=rng.choice([3, 4, 4, 5, 5])))
        elif question.key == "manager_consent":
            # Not answered: a yes would email the demo's line managers about 2016 training.
            continue
        elif question.type == QuestionType.YES_NO:
            value = used if question.key == "used_learning" else rng.random() < 0.6
            answers.append(AnswerData(question_id=question.pk, yes_no=value))
        elif question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
            options = question.choice_list()
            if options:
                answers.append(AnswerData(question_id=question.pk, choice=rng.choice(options)))
        else:
            text = {
                "example": rng.choice(EXAMPLES) if used else "",
                "voice_of_child": rng.choice(VOICE) if used else "",
                "further_training": rng.choice(FURTHER),
                "do_differently": rng.choice(DIFFERENTLY),
            }.get(question.key, "")
            if text:
                answers.append(AnswerData(question_id=question.pk, text=text))
    return answers


def _answer_online(
    booking: Booking, survey: Survey, kind: str, sent_at: dt.datetime, rng: random.Random
) -> bool:
    if Invitation.objects.filter(booking=booking, kind=kind).exists():
        return False
    invitation = Invitation.objects.create(
        booking=booking,
        kind=kind,
        survey=survey,
        send_after=sent_at,
        sent_at=sent_at,
        expires_at=sent_at + link_lifetime(),
        created_at=sent_at,
    )
    answered_at = sent_at + dt.timedelta(days=rng.randint(0, 6), hours=rng.randint(1, 8))
    survey_submit(invitation=invitation, answers=_answers(survey, booking, rng), now=answered_at)
    return True


def load_demo_evaluation(today: dt.date) -> dict[str, int]:
    """Answered evaluations and follow-ups for some attended places, and calls for the demo
    community member (a few open, a few completed with impact codes and a quotable example)."""
    rng = random.Random(17)
    counts = {"evaluations": 0, "follow_ups": 0, "calls": 0}
    bookings = list(
        Booking.objects.filter(
            status=BookingStatus.CONFIRMED,
            attendance=Attendance.ATTENDED,
            session__starts_at__isnull=False,
            session__starts_at__date__lte=today,
        )
        .select_related("session__course", "sector")
        .order_by("session__starts_at", "pk")
    )
    surveys = {survey.kind: survey for survey in Survey.objects.all()}
    if not bookings or len(surveys) < 3:
        return counts
    step = max(1, len(bookings) // EVALUATIONS)
    with transaction.atomic():
        for booking in bookings[::step][:EVALUATIONS]:
            # The query above keeps only sessions with starts_at set.
            sent_at = cast(dt.datetime, booking.session.starts_at) + dt.timedelta(hours=8)
            if _answer_online(
                booking, surveys[SurveyKind.EVALUATION], InvitationKind.EVALUATION, sent_at, rng
            ):
                counts["evaluations"] += 1
        # Every other evaluated place answers the follow-up too; the rest may still be called.
        for booking in bookings[::step][:EVALUATIONS][::2][:FOLLOW_UPS]:
            sent_at = follow_up_due_at(
                session_start=cast(dt.datetime, booking.session.starts_at),
                follow_up_weeks=booking.session.course.follow_up_weeks or 12,
            )
            if sent_at.date() > today:
                continue
            if _answer_online(
                booking, surveys[SurveyKind.FOLLOW_UP], InvitationKind.FOLLOW_UP, sent_at, rng
            ):
                counts["follow_ups"] += 1
        if counts["follow_ups"]:
            _flag_some_good_practice()
        counts["calls"] = _load_calls(bookings, rng)
    return counts


def _flag_some_good_practice() -> None:
    """The administrator has read the online follow-ups and flagged a few examples."""
    consented = (
        Response.objects.filter(
            survey__kind=SurveyKind.FOLLOW_UP,
            quote_consent=True,
            good_practice=False,
            answers__question__key="example",
            answers__text__gt="",
        )
        .order_by("pk")
        .distinct()
    )
    for response in list(consented)[::3][:4]:
        response_flag_good_practice(response=response, actor="demo", now=response.submitted_at)


def _load_calls(bookings: list[Booking], rng: random.Random) -> int:
    member: Any = get_user_model().objects.filter(email__iexact=COMMUNITY_EMAIL).first()
    if member is None or FollowUpCall.objects.filter(assigned_to=member).exists():
        return 0
    follow_ups = Invitation.objects.filter(kind=InvitationKind.FOLLOW_UP)
    answered = set(follow_ups.values_list("booking_id", flat=True))
    called = set(FollowUpCall.objects.values_list("booking_id", flat=True))
    candidates = [b for b in reversed(bookings) if b.pk not in answered and b.pk not in called]
    chosen, people = [], set()
    for booking in candidates:
        if booking.attendee_id and booking.attendee_id in people:
            continue
        people.add(booking.attendee_id)
        chosen.append(booking)
        if len(chosen) == OPEN_CALLS + COMPLETED_CALLS:
            break
    if not chosen:
        return 0
    latest = max(cast(dt.datetime, b.session.starts_at) for b in chosen)  # all set, as above
    month_start = first_of_month(timezone.localdate(latest) + dt.timedelta(weeks=13))
    drawn_at = timezone.make_aware(dt.datetime(month_start.year, month_start.month, 1, 10))
    draw = CallDraw.objects.create(
        month=month_start,
        size=len(chosen),
        drawn_at=drawn_at,
        eligible=len(chosen),
        drawn=len(chosen),
    )
    calls = []
    for number, booking in enumerate(chosen):
        calls.append(
            FollowUpCall.objects.create(
                draw=draw,
                month=month_start,
                booking=booking,
                person_id=booking.attendee_id,
                sector_id=booking.sector_id,
                # Ofcom's range for drama: numbers that never ring anyone.
                phone=f"01632 960{number + 100:03d}",
                assigned_to=member,
                created_at=drawn_at,
            )
        )
    draw.allocation = {}
    for call in calls:
        draw.allocation[call.sector.name] = draw.allocation.get(call.sector.name, 0) + 1
    draw.save(update_fields=["allocation"])
    script = Survey.objects.get(kind=SurveyKind.CALL_SCRIPT)
    codes = [
        [ImpactCode.JOINT_WORKING, ImpactCode.VOICE_OF_CHILD],
        [ImpactCode.INFORMATION_SHARING, ImpactCode.SPECIFIC_ACTION],
        [ImpactCode.INCREASED_AWARENESS],
    ]
    for index, call in enumerate(calls[:COMPLETED_CALLS]):
        when = drawn_at + dt.timedelta(days=3 + index, hours=index)
        if index == 1:
            call_attempt_record(
                call=call, outcome=AttemptOutcome.NO_ANSWER, member=member, now=when
            )
            when += dt.timedelta(days=1)
        call_attempt_record(call=call, outcome=AttemptOutcome.REACHED, member=member, now=when)
        overrides: dict[int, AnswerData] = {}
        for question in script.asked_questions():
            if question.key == "used_learning":
                overrides[question.pk] = AnswerData(question_id=question.pk, yes_no=True)
            elif question.key == "example":
                overrides[question.pk] = AnswerData(question_id=question.pk, text=EXAMPLES[index])
            elif question.key == "quote_consent":
                overrides[question.pk] = AnswerData(question_id=question.pk, yes_no=index != 2)
        answers = [
            answer
            for answer in _answers(script, call.booking, rng)
            if answer.question_id not in overrides
        ] + list(overrides.values())
        call_complete(
            call=call,
            answers=answers,
            impact_codes=codes[index],
            good_practice=index < 2,
            member=member,
            now=when + dt.timedelta(minutes=10),
        )
    return len(calls)
