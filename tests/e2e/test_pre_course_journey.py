"""An attendee answers the pre-course questionnaire from the link sent with the confirmation, on
a phone; a board member reads confidence paired per person beside the unpaired ratings; an
attendee answers a course's knowledge check in the evaluation."""

from __future__ import annotations

import importlib
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.apps import apps as django_apps
from django.core import mail
from playwright.sync_api import expect

from bookings.models import PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from evaluation.models import (
    Answer,
    Channel,
    Invitation,
    InvitationKind,
    Moment,
    PreCourseQuestionnaire,
    Question,
    QuestionType,
    Survey,
    SurveyKind,
)
from evaluation.surveys.services import AnswerData, response_write
from tests.conftest import PASSWORD, make_person, make_session
from tests.e2e.conftest import PHONE, assert_accessible, log_in, screenshot
from tests.evaluation.helpers import Clock, aware, place, sent_invitation
from training.models import Course, Session, Venue
from training.roles import Role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def reference_data(transactional_db: None) -> None:
    """Put back what data migrations made: sectors, bands, roles and the default surveys."""
    for migration, function in (
        ("training.migrations.0002_sectors_bands_roles", "seed"),
        ("evaluation.migrations.0002_default_surveys", "create_surveys"),
        ("evaluation.migrations.0006_pre_course_questionnaire", "create_pre_course_survey"),
    ):
        getattr(importlib.import_module(migration), function)(django_apps, None)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The live server runs in this process, so it reads the same frozen clock."""
    frozen = Clock(aware(2025, 6, 2, 10))
    monkeypatch.setattr("django.utils.timezone.now", frozen)
    return frozen


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    """Working Together on Monday 16 June 2025, with two learning outcomes; it asks."""
    course.outcomes.create(text="Share information safely and lawfully", order=1)
    PreCourseQuestionnaire.objects.create(course=course)
    return make_session(course, venue, starts_at=aware(2025, 6, 16, 9, 30))


def evaluate(booking: Any, before: int, after: int) -> None:
    question = Question.objects.get(survey__kind=SurveyKind.EVALUATION, key="confidence")
    answers = []
    for outcome in booking.session.course.outcomes.all():
        answers += [
            AnswerData(question.pk, outcome.pk, Moment.BEFORE, scale=before),
            AnswerData(question.pk, outcome.pk, Moment.AFTER, scale=after),
        ]
    invitation = Invitation.objects.create(
        booking=booking,
        kind=InvitationKind.EVALUATION,
        survey=question.survey,
        send_after=aware(2025, 6, 16, 17),
        sent_at=aware(2025, 6, 16, 17),
    )
    response_write(
        survey=question.survey,
        booking=booking,
        answers=answers,
        channel=Channel.ONLINE,
        now=aware(2025, 6, 17),
        invitation=invitation,
    )


def test_attendee_answers_before_the_course_and_the_board_sees_it_paired(
    page: Any, clock: Clock, session: Session, school: Any
) -> None:
    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Tess Teacher", email="tess@example.org")],
        agency=school,
        booked_by=None,
        payment_method=PaymentMethod.INVOICE,
        now=clock.now,
    )
    booking = order.bookings.get()
    [email] = [m for m in mail.outbox if m.subject.startswith("Before Working Together")]
    found = re.search(r"https?://\S+/survey/[\w-]+/(?=\s)", email.body)
    assert found, email.body
    outcomes = [o.text for o in session.course.outcomes.all()]

    page.set_viewport_size(PHONE)
    page.goto(urlsplit(found.group(0)).path)
    expect(page.get_by_role("heading", name="Before your course", level=1)).to_be_visible()
    expect(page.get_by_text("Working Together, 16 June 2025")).to_be_visible()
    assert_accessible(page, "pre-course questionnaire")
    screenshot(page, "pre-course-01-phone")

    page.get_by_role("button", name="Send your answers").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    screenshot(page, "pre-course-02-errors-phone")
    for outcome in outcomes:
        page.get_by_role(
            "group", name=re.compile(rf"^Now, before the course\W+{outcome}$")
        ).get_by_label("2", exact=True).check()
    page.get_by_role("button", name="Send your answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(page.get_by_text("See you on the day.")).to_be_visible()
    screenshot(page, "pre-course-03-thanks-phone")
    assert sorted(
        Answer.objects.filter(response__booking=booking).values_list("moment", "scale")
    ) == [(Moment.BEFORE, 2), (Moment.BEFORE, 2)]

    # After the course: Tess's evaluation pairs with her before; another person's does not.
    evaluate(booking, before=3, after=4)
    evaluate(place(session, agency=school, email="other@example.org"), before=1, after=5)
    clock.set(aware(2025, 7, 1, 10))
    board = make_person("chair@example.org", agency=None, roles=(Role.BOARD_VIEWER,))
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, board.email, PASSWORD)
    page.goto("/reports/evaluation-and-impact/?year=2025")
    paired = page.get_by_test_id("confidence-paired-table")
    expect(paired.get_by_role("row", name=re.compile("Working Together"))).to_have_text(
        re.compile(r"Working Together\s*1\s*2\.00\s*4\.00\s*2\.00")
    )
    unpaired = page.get_by_test_id("confidence-table")
    expect(unpaired.get_by_role("row", name=re.compile("Working Together"))).to_have_text(
        re.compile(r"Working Together\s*1\s*1\.00\s*5\.00\s*4\.00")
    )
    assert_accessible(page, "impact report with paired confidence")
    paired.scroll_into_view_if_needed()
    screenshot(page, "pre-course-04-impact-report")


def test_attendee_answers_a_knowledge_check_in_the_evaluation_on_a_phone(
    phone_page: Any, clock: Clock, session: Session, school: Any
) -> None:
    evaluation = Survey.objects.get(kind=SurveyKind.EVALUATION)
    check = Question.objects.create(
        survey=evaluation,
        order=35,
        text="A child tells you something worrying. What do you do first?",
        type=QuestionType.KNOWLEDGE_CHECK,
        choices="Promise to keep it secret\nListen, and tell them what you will do next",
        correct_choice="Listen, and tell them what you will do next",
        course=session.course,
        required=True,
    )
    booking = place(session, agency=school, email="tess@example.org")
    clock.set(aware(2025, 6, 16, 17))
    invitation = sent_invitation(booking, sent_at=clock.now)
    page = phone_page
    page.goto(f"/survey/{invitation.token}/")
    group = page.get_by_role("group", name=re.compile("What do you do first"))
    expect(group).to_be_visible()
    for question in evaluation.asked_questions(course=session.course):
        if question.per_outcome:
            for outcome in session.course.outcomes.all():
                for moment in ("Before the course", "Now"):
                    page.get_by_role(
                        "group", name=re.compile(rf"^{moment}\W+{outcome.text}$")
                    ).get_by_label("3", exact=True).check()
        elif question.type == QuestionType.SCALE:
            page.get_by_role("group", name=question.text).get_by_label("4", exact=True).check()
    page.get_by_role("button", name="Send your answers").click()
    expect(
        page.get_by_role("link", name=re.compile("Choose one option: A child tells"))
    ).to_be_visible()
    group.get_by_label("Listen, and tell them what you will do next").check()
    assert_accessible(page, "evaluation with a knowledge check")
    screenshot(page, "knowledge-check-01-phone")
    page.get_by_role("button", name="Send your answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert Answer.objects.get(question=check).correct is True
