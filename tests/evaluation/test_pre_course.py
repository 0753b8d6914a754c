"""The pre-course questionnaire: sent with the confirmation on the courses that ask for it,
answered by the personal link before the course (a true before), paired per person with the
evaluation's after, and reported apart from the retrospective (unpaired) ratings, with n."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.models import BookingStatus, PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from evaluation.models import (
    Answer,
    Channel,
    Invitation,
    InvitationKind,
    Moment,
    PreCourseQuestionnaire,
    Question,
    Survey,
    SurveyKind,
)
from evaluation.reports.impact import evaluation_and_impact
from evaluation.reports.periods import Period
from evaluation.surveys import selectors
from evaluation.surveys.services import AnswerData, invitation_queue, response_write
from tests.conftest import PASSWORD, make_session
from tests.evaluation.helpers import Clock, aware, place
from training.models import Agency, Course, Session, Venue

pytestmark = pytest.mark.django_db


@pytest.fixture
def june_session(outcomes_course: Course, venue: Venue) -> Session:
    """Working Together (two outcomes) on Monday 16 June 2025: two weeks after the clock."""
    return make_session(outcomes_course, venue, starts_at=aware(2025, 6, 16, 9, 30))


def book(session: Session, agency: Agency, email: str, capture: Any) -> Any:
    with capture(execute=True):
        order = booking_create(
            session=session,
            attendees=[AttendeeSpec(name="Tess Teacher", email=email)],
            agency=agency,
            booked_by=None,
            payment_method=PaymentMethod.INVOICE,
            now=aware(2025, 6, 2, 10),
        )
    return order.bookings.get()


def test_a_confirmed_place_on_a_course_that_asks_is_sent_the_questionnaire(
    clock: Clock, june_session: Session, school: Agency, django_capture_on_commit_callbacks: Any
) -> None:
    PreCourseQuestionnaire.objects.create(course=june_session.course)
    booking = book(june_session, school, "tess@example.org", django_capture_on_commit_callbacks)

    assert booking.status == BookingStatus.CONFIRMED
    invitation = Invitation.objects.get(booking=booking)
    assert invitation.kind == InvitationKind.PRE_COURSE
    assert invitation.survey.kind == SurveyKind.PRE_COURSE
    assert invitation.sent_at == clock.now
    # 30 days would run past the course: the link closes when it starts.
    assert invitation.expires_at == june_session.starts_at
    pre_course = [m for m in mail.outbox if m.subject.startswith("Before Working Together")]
    assert len(pre_course) == 1
    assert pre_course[0].to == ["tess@example.org"]
    assert invitation.token in pre_course[0].body
    assert "you have a place on Working Together" in pre_course[0].body


def test_a_course_that_does_not_ask_sends_no_questionnaire(
    clock: Clock, june_session: Session, school: Agency, django_capture_on_commit_callbacks: Any
) -> None:
    booking = book(june_session, school, "tess@example.org", django_capture_on_commit_callbacks)
    assert not Invitation.objects.filter(booking=booking).exists()
    assert not [m for m in mail.outbox if m.subject.startswith("Before")]


def test_a_place_cancelled_before_the_email_goes_is_not_sent_it(
    clock: Clock, june_session: Session, school: Agency
) -> None:
    PreCourseQuestionnaire.objects.create(course=june_session.course)
    booking = place(june_session, agency=school, attendance="")
    invitation = Invitation.objects.create(
        booking=booking,
        kind=InvitationKind.PRE_COURSE,
        survey=Survey.objects.get(kind=SurveyKind.PRE_COURSE),
        send_after=clock.now,
    )
    booking.status = BookingStatus.CANCELLED
    booking.save()
    assert invitation_queue(invitation_id=invitation.pk, now=clock.now) is False
    invitation.refresh_from_db()
    assert invitation.cancel_reason == "The place is no longer confirmed."


def test_the_questionnaire_asks_once_per_outcome_and_stores_a_before(
    clock: Clock,
    client: Any,
    june_session: Session,
    school: Agency,
    django_capture_on_commit_callbacks: Any,
) -> None:
    PreCourseQuestionnaire.objects.create(course=june_session.course)
    booking = book(june_session, school, "tess@example.org", django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(booking=booking)
    url = reverse("evaluation:survey", args=[invitation.token])

    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Now, before the course" in html
    assert "Before the course</legend>" not in html  # no retrospective pair is asked
    confidence = Question.objects.get(survey__kind=SurveyKind.PRE_COURSE, key="confidence")
    outcomes = list(june_session.course.outcomes.order_by("order", "pk"))
    ratings = zip(outcomes, (2, 3), strict=True)
    data = {f"q{confidence.pk}-o{o.pk}-before": str(n) for o, n in ratings}

    missing = client.post(url, {})
    assert missing.status_code == 200
    assert "Choose how confident you feel now" in missing.content.decode()

    done = client.post(url, data)
    assert done.status_code == 302
    answers = Answer.objects.filter(response__booking=booking).order_by("outcome__order")
    assert [(a.outcome_id, a.moment, a.scale) for a in answers] == [
        (outcomes[0].pk, Moment.BEFORE, 2),
        (outcomes[1].pk, Moment.BEFORE, 3),
    ]
    assert client.get(url).status_code == 410  # used once


def test_the_link_closes_when_the_course_starts(
    clock: Clock,
    client: Any,
    june_session: Session,
    school: Agency,
    django_capture_on_commit_callbacks: Any,
) -> None:
    PreCourseQuestionnaire.objects.create(course=june_session.course)
    booking = book(june_session, school, "tess@example.org", django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(booking=booking)
    clock.set(aware(2025, 6, 16, 9, 30))
    page = client.get(reverse("evaluation:survey", args=[invitation.token]))
    assert page.status_code == 410


# --- pairing and the report -------------------------------------------------------------------


def _confidence(kind: str) -> Question:
    return Question.objects.get(survey__kind=kind, key="confidence")


def answer_pre_course(booking: Any, befores: list[int]) -> None:
    outcomes = list(booking.session.course.outcomes.order_by("order", "pk"))
    question = _confidence(SurveyKind.PRE_COURSE)
    response_write(
        survey=question.survey,
        booking=booking,
        answers=[
            AnswerData(question_id=question.pk, outcome_id=o.pk, moment=Moment.BEFORE, scale=n)
            for o, n in zip(outcomes, befores, strict=True)
        ],
        channel=Channel.ONLINE,
        now=aware(2025, 6, 3),
        call=None,
        invitation=Invitation.objects.create(
            booking=booking,
            kind=InvitationKind.PRE_COURSE,
            survey=question.survey,
            send_after=aware(2025, 6, 2),
            sent_at=aware(2025, 6, 2),
        ),
    )


def evaluate(booking: Any, ratings: list[tuple[int, int]]) -> None:
    """The evaluation: (retrospective before, after) per outcome."""
    outcomes = list(booking.session.course.outcomes.order_by("order", "pk"))
    question = _confidence(SurveyKind.EVALUATION)
    answers = []
    for outcome, (before, after) in zip(outcomes, ratings, strict=True):
        answers += [
            AnswerData(question.pk, outcome.pk, Moment.BEFORE, scale=before),
            AnswerData(question.pk, outcome.pk, Moment.AFTER, scale=after),
        ]
    response_write(
        survey=question.survey,
        booking=booking,
        answers=answers,
        channel=Channel.ONLINE,
        now=aware(2025, 6, 17),
        invitation=Invitation.objects.create(
            booking=booking,
            kind=InvitationKind.EVALUATION,
            survey=question.survey,
            send_after=aware(2025, 6, 16, 17),
            sent_at=aware(2025, 6, 16, 17),
        ),
    )


@pytest.fixture
def answered(june_session: Session, school: Agency) -> None:
    """Two people answered before and after; one only after; one only before."""
    first, second, third, fourth = (
        place(june_session, agency=school, email=f"p{n}@example.org") for n in range(4)
    )
    answer_pre_course(first, [1, 2])
    evaluate(first, [(3, 4), (3, 5)])  # their remembered befores (3) are not used: 1 and 2 are
    answer_pre_course(second, [2, 3])
    evaluate(second, [(2, 4), (2, 4)])
    evaluate(third, [(1, 5), (3, 3)])
    answer_pre_course(fourth, [4, 4])  # no evaluation: nothing to pair, in neither table


def test_confidence_is_paired_per_person_and_outcome_with_the_true_before(
    answered: None,
) -> None:
    [row] = selectors.confidence_paired()
    assert (row.course_title, row.people, row.pairs) == ("Working Together", 2, 4)
    assert row.before == Decimal("2.00")  # (1 + 2 + 2 + 3) / 4
    assert row.after == Decimal("4.25")  # (4 + 5 + 4 + 4) / 4
    assert row.change == Decimal("2.25")


def test_the_impact_report_shows_paired_and_unpaired_confidence_apart_with_n(
    answered: None, client: Any, training_admin: Any
) -> None:
    report = evaluation_and_impact(Period.financial_year(2025))
    assert report.confidence_paired.header_words() == [
        "Course title",
        "People (n)",
        "Before (asked before the course)",
        "After",
        "Change",
    ]
    assert report.confidence_paired.rows == [
        ["Working Together", 2, Decimal("2.00"), Decimal("4.25"), Decimal("2.25")]
    ]
    # Only the third person, with the before they remembered afterwards.
    assert report.confidence.header_words()[2] == "Before (rated after the course)"
    assert report.confidence.rows == [
        ["Working Together", 1, Decimal("2.00"), Decimal("4.00"), Decimal("2.00")]
    ]
    client.force_login(training_admin)
    page = client.get(reverse("reports:impact"), {"year": "2025"})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="confidence-paired-table"' in html
    assert "People (n)" in html
    assert "paired per person" in html


def test_a_year_without_the_training_has_neither_paired_nor_unpaired_rows(
    answered: None,
) -> None:
    before = {"date_from": dt.date(2024, 4, 1), "date_to": dt.date(2025, 3, 31)}
    assert selectors.confidence_paired(**before) == []
    assert list(selectors.confidence_change(by_outcome=False, unpaired_only=True, **before)) == []


def _confirm_through_the_form(booker: Any, session: Session, capture: Any) -> list[str]:
    """Book a colleague on invoice through the booking form; the statements of the confirm."""
    client = Client()
    assert client.login(username=booker.username, password=PASSWORD)
    url = reverse("bookings:book", args=[session.pk])
    post = {
        "attendees-TOTAL_FORMS": "1",
        "attendees-INITIAL_FORMS": "0",
        "attendees-MIN_NUM_FORMS": "0",
        "attendees-MAX_NUM_FORMS": "30",
        "attendees-0-name": "Tess Teacher",
        "attendees-0-email": "tess@example.org",
        "payment_method": "invoice",
    }
    review = client.post(url, {**post, "action": "review"}).content.decode()
    quoted = re.search(r'name="quoted_total" value="([0-9.]+)"', review)
    assert quoted
    with CaptureQueriesContext(connection) as queries, capture(execute=True):
        response = client.post(url, {**post, "action": "confirm", "quoted_total": quoted[1]})
    assert response.status_code == 302
    return [query["sql"] for query in queries.captured_queries]


def test_a_place_booked_through_the_form_on_a_course_that_asks_is_sent_the_questionnaire(
    clock: Clock,
    june_session: Session,
    agency_booker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    PreCourseQuestionnaire.objects.create(course=june_session.course)
    _confirm_through_the_form(agency_booker, june_session, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(booking__attendee_email="tess@example.org")
    assert invitation.kind == InvitationKind.PRE_COURSE


def test_the_form_knows_from_its_session_read_that_a_course_does_not_ask(
    clock: Clock,
    june_session: Session,
    agency_booker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    statements = _confirm_through_the_form(
        agency_booker, june_session, django_capture_on_commit_callbacks
    )
    assert not Invitation.objects.exists()
    # Asked once, with the session, not again after the commit.
    asked = [sql for sql in statements if "precoursequestionnaire" in sql]
    assert len(asked) == 1 and "training_session" in asked[0]
    assert "bookings_booking" not in asked[0]
