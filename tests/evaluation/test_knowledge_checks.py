"""Knowledge checks: a question with one correct option, asked in one course's evaluation,
scored as it is answered; the impact report gives the average score with n."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from evaluation.errors import EvaluationError
from evaluation.models import Answer, Channel, Question, QuestionType, Survey, SurveyKind
from evaluation.reports.impact import FEW_RESPONSES, evaluation_and_impact
from evaluation.reports.periods import Period
from evaluation.surveys.services import AnswerData, response_write
from tests.conftest import make_session
from tests.evaluation.helpers import Clock, aware, place, sent_invitation
from training.models import Agency, Course, Session, Venue

pytestmark = pytest.mark.django_db

RIGHT = "Those who need it to protect the child"
OPTIONS = f"Nobody: consent is always needed\n{RIGHT}\nAnyone who asks"


def check_for(course: Course, **extra: Any) -> Question:
    question = Question(
        survey=Survey.objects.get(kind=SurveyKind.EVALUATION),
        order=90,
        text="Who can you share information with, without consent, to protect a child?",
        type=QuestionType.KNOWLEDGE_CHECK,
        choices=OPTIONS,
        correct_choice=RIGHT,
        course=course,
        required=False,
        **extra,
    )
    question.full_clean()
    question.save()
    return question


@pytest.fixture
def other_course() -> Course:
    return Course.objects.create(title="Neglect", duration_half_days=1)


def test_a_knowledge_check_needs_its_course_and_a_correct_option_among_its_options(
    course: Course,
) -> None:
    evaluation = Survey.objects.get(kind=SurveyKind.EVALUATION)
    no_course = Question(
        survey=evaluation,
        text="Q",
        type=QuestionType.KNOWLEDGE_CHECK,
        choices=OPTIONS,
        correct_choice="Somebody",
    )
    with pytest.raises(ValidationError) as refused:
        no_course.full_clean()
    assert set(refused.value.message_dict) == {"course", "correct_choice"}
    follow_up = Question(
        survey=Survey.objects.get(kind=SurveyKind.FOLLOW_UP),
        text="Q",
        type=QuestionType.KNOWLEDGE_CHECK,
        choices=OPTIONS,
        correct_choice=RIGHT,
        course=course,
    )
    with pytest.raises(ValidationError, match="course evaluation only"):
        follow_up.full_clean()
    scale = Question(survey=evaluation, text="Q", type=QuestionType.SCALE, course=course)
    with pytest.raises(ValidationError, match="Only a knowledge check"):
        scale.full_clean()


def test_it_is_asked_in_its_own_courses_evaluation_only(
    course: Course, other_course: Course
) -> None:
    check = check_for(course)
    evaluation = Survey.objects.get(kind=SurveyKind.EVALUATION)
    assert check in evaluation.asked_questions(course=course)
    assert check not in evaluation.asked_questions(course=other_course)
    assert check not in evaluation.asked_questions()


def test_answering_the_evaluation_page_scores_the_check(
    clock: Clock, client: Any, march_session: Session, school: Agency
) -> None:
    check = check_for(march_session.course)
    evaluation = Survey.objects.get(kind=SurveyKind.EVALUATION)
    booking = place(march_session, agency=school)
    invitation = sent_invitation(booking, sent_at=clock.now)
    url = reverse("evaluation:survey", args=[invitation.token])
    page = client.get(url).content.decode()
    assert check.text in page and RIGHT in page

    data = {f"q{check.pk}": "Anyone who asks"}
    for question in evaluation.asked_questions(course=march_session.course):
        if question.per_outcome:
            for outcome in march_session.course.outcomes.all():
                data[f"q{question.pk}-o{outcome.pk}-before"] = "2"
                data[f"q{question.pk}-o{outcome.pk}-after"] = "4"
        elif question.type == QuestionType.SCALE:
            data[f"q{question.pk}"] = "4"
    assert client.post(url, {**data, f"q{check.pk}": "Not an option"}).status_code == 200
    assert client.post(url, data).status_code == 302
    answer = Answer.objects.get(question=check)
    assert (answer.choice, answer.correct) == ("Anyone who asks", False)


def test_an_answer_to_another_courses_check_is_refused(
    march_session: Session, other_course: Course, school: Agency
) -> None:
    check = check_for(other_course)
    with pytest.raises(EvaluationError, match="another survey or course"):
        response_write(
            survey=check.survey,
            booking=place(march_session, agency=school),
            answers=[AnswerData(question_id=check.pk, choice=RIGHT)],
            channel=Channel.ONLINE,
            now=aware(2025, 3, 4),
            call=None,
            invitation=None,
        )


def answer(session: Session, agency: Agency, check: Question, choices: list[str]) -> None:
    for number, choice in enumerate(choices):
        booking = place(session, agency=agency, email=f"p{number}@example.org")
        response_write(
            survey=check.survey,
            booking=booking,
            answers=[AnswerData(question_id=check.pk, choice=choice)],
            channel=Channel.ONLINE,
            now=aware(2025, 3, 4),
            invitation=sent_invitation(booking, sent_at=aware(2025, 3, 3, 17)),
        )


def test_the_impact_report_gives_the_average_score_with_n(
    march_session: Session, school: Agency, venue: Venue, other_course: Course
) -> None:
    check = check_for(march_session.course)
    wrong = "Anyone who asks"
    answer(march_session, school, check, [RIGHT, RIGHT, RIGHT, wrong, RIGHT, wrong])
    few = check_for(other_course)
    answer(make_session(other_course, venue, starts_at=aware(2025, 3, 10)), school, few, [RIGHT])

    report = evaluation_and_impact(Period.financial_year(2024))

    assert report.knowledge.header_words() == [
        "Course title",
        "People (n)",
        "Checks answered",
        "Answered correctly",
        "Average score (%)",
        "Note",
    ]
    assert report.knowledge.rows == [
        ["Neglect", 1, 1, 1, None, FEW_RESPONSES],
        ["Working Together", 6, 6, 4, Decimal("66.7"), ""],
    ]
