"""Demo pre-course questionnaires: one course asks, and some of its evaluated places answered
before the course, so the impact report has paired before/after confidence beside the rest.

Run after ``surveys.load_demo_evaluation`` (it pairs with those evaluations); idempotent. No
email is sent: the invitations are written as sent two weeks before each session and
answered through the real service before the session started.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import cast

from django.db import transaction

from evaluation.models import (
    Answer,
    Invitation,
    InvitationKind,
    Moment,
    PreCourseQuestionnaire,
    Response,
    Survey,
    SurveyKind,
)
from evaluation.surveys.services import AnswerData, survey_submit

# Two in three evaluated places on the chosen course had answered the questionnaire.
ANSWERED_EVERY = (0, 1)
ASKED_DAYS_BEFORE = 14


def most_evaluated_course_id() -> int | None:
    """The course with the most online evaluations (ties: the lowest id): the most pairs."""
    counts = Counter(
        Response.objects.filter(survey__kind=SurveyKind.EVALUATION).values_list(
            "course_id", flat=True
        )
    )
    if not counts:
        return None
    return min(counts, key=lambda course_id: (-counts[course_id], course_id))


def load_demo_pre_course() -> int:
    """The chosen course asks for the questionnaire; returns how many new answers were added."""
    survey = Survey.objects.filter(kind=SurveyKind.PRE_COURSE).first()
    course_id = most_evaluated_course_id()
    if survey is None or course_id is None:
        return 0
    question = survey.asked_questions().filter(per_outcome=True).first()
    if question is None:
        return 0
    rng = random.Random(23)
    added = 0
    evaluations = (
        Response.objects.filter(survey__kind=SurveyKind.EVALUATION, course_id=course_id)
        .select_related("booking__session")
        .order_by("session_date", "pk")
    )
    with transaction.atomic():
        PreCourseQuestionnaire.objects.get_or_create(course_id=course_id)
        for index, evaluation in enumerate(evaluations):
            booking = evaluation.booking
            if index % 3 not in ANSWERED_EVERY:
                continue
            if Invitation.objects.filter(booking=booking, kind=InvitationKind.PRE_COURSE).exists():
                continue
            starts_at = cast(dt.datetime, booking.session.starts_at)
            sent_at = starts_at - dt.timedelta(days=ASKED_DAYS_BEFORE)
            invitation = Invitation.objects.create(
                booking=booking,
                kind=InvitationKind.PRE_COURSE,
                survey=survey,
                send_after=sent_at,
                sent_at=sent_at,
                expires_at=starts_at,
                created_at=sent_at,
            )
            # Rated before the day: often a little higher than the "before" people remember
            # afterwards, once the course has shown them what they did not know.
            remembered = Answer.objects.filter(
                response=evaluation, question__per_outcome=True, moment=Moment.BEFORE
            ).order_by("pk")
            answers = [
                AnswerData(
                    question_id=question.pk,
                    outcome_id=answer.outcome_id,
                    moment=Moment.BEFORE,
                    scale=min(5, cast(int, answer.scale) + rng.choice([0, 1, 1])),
                )
                for answer in remembered
            ]
            answered_at = sent_at + dt.timedelta(days=rng.randint(0, 6), hours=rng.randint(1, 8))
            survey_submit(invitation=invitation, answers=answers, now=answered_at)
            added += 1
    return added
