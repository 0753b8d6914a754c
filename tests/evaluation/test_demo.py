"""The evaluation demo: answered surveys and calls for the demo community member, loaded once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail

from evaluation.demo.knowledge import load_demo_knowledge_checks
from evaluation.demo.pre_course import load_demo_pre_course
from evaluation.demo.surveys import load_demo_evaluation
from evaluation.models import (
    CallStatus,
    FollowUpCall,
    Invitation,
    InvitationKind,
    PreCourseQuestionnaire,
    Response,
    ResponseImpact,
    SurveyKind,
)
from evaluation.surveys.selectors import (
    confidence_change,
    confidence_paired,
    knowledge_scores,
    quotable_examples,
)
from tests.conftest import make_person, make_session
from tests.evaluation.helpers import agency_in, aware, place
from training.models import Course, Sector, Venue
from training.roles import Role

pytestmark = pytest.mark.django_db

TODAY = dt.date(2025, 6, 2)


@pytest.fixture
def year_2016(course: Course, venue: Venue, sectors: dict[str, Sector]) -> None:
    """Three past sessions with attended places booked by agencies (no logins)."""
    for month in (5, 9, 11):
        session = make_session(course, venue, starts_at=aware(2016, month, 10, 9, 30))
        for number in range(12):
            sector = list(sectors.values())[number % 4]
            place(
                session,
                name=f"Person {month}-{number}",
                email=f"p{month}.{number}@example.org",
                agency=agency_in(sector),
            )


def test_without_attended_places_the_demo_adds_nothing(community_member: Any) -> None:
    assert load_demo_evaluation(TODAY) == {"evaluations": 0, "follow_ups": 0, "calls": 0}
    assert not Response.objects.exists()


def test_the_demo_gives_the_community_member_calls_and_answers_some_surveys_once(
    year_2016: None,
) -> None:
    member = make_person("community@example.org", agency=None, roles=(Role.COMMUNITY_MEMBER,))

    counts = load_demo_evaluation(TODAY)

    assert counts["evaluations"] > 10 and counts["follow_ups"] > 5 and counts["calls"] == 8
    calls = FollowUpCall.objects.filter(assigned_to=member)
    assert calls.filter(status=CallStatus.OPEN).count() == 5
    assert calls.filter(status=CallStatus.COMPLETED).count() == 3
    assert ResponseImpact.objects.exists()
    channels = sorted(quotable_examples().values_list("channel", flat=True))
    assert channels.count("phone") == 2 and "online" in channels
    assert mail.outbox == []
    before = (Invitation.objects.count(), Response.objects.count(), FollowUpCall.objects.count())
    assert load_demo_evaluation(TODAY) == {"evaluations": 0, "follow_ups": 0, "calls": 0}
    assert (
        Invitation.objects.count(),
        Response.objects.count(),
        FollowUpCall.objects.count(),
    ) == before


def test_the_demo_pairs_some_evaluations_with_a_pre_course_before_once(year_2016: None) -> None:
    load_demo_evaluation(TODAY)

    added = load_demo_pre_course()

    [asking] = PreCourseQuestionnaire.objects.all()
    [row] = confidence_paired()
    assert row.course_id == asking.course_id
    assert row.people == added >= 3
    # Everyone else evaluated is reported as unpaired, never in both.
    evaluated = Response.objects.filter(survey__kind=SurveyKind.EVALUATION).count()
    [unpaired] = confidence_change(by_outcome=False, unpaired_only=True)
    assert unpaired["responses"] == evaluated - added
    for answered in Invitation.objects.filter(kind=InvitationKind.PRE_COURSE):
        assert answered.responded_at < answered.booking.session.starts_at
    assert load_demo_pre_course() == 0


def test_the_demo_scores_knowledge_checks_in_one_courses_evaluations_once(
    year_2016: None,
) -> None:
    load_demo_evaluation(TODAY)

    added = load_demo_knowledge_checks()

    [row] = knowledge_scores()
    evaluated = Response.objects.filter(survey__kind=SurveyKind.EVALUATION).count()
    assert row["people"] == evaluated and row["answered"] == added == 2 * evaluated
    assert 0 < row["correct"] < row["answered"]
    assert load_demo_knowledge_checks() == 0
