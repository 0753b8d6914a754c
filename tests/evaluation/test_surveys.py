"""Surveys: the three defaults, every question type, before/after per learning outcome, and the
administrator's editing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.urls import reverse

from evaluation.models import (
    Answer,
    InvitationKind,
    Moment,
    Question,
    QuestionType,
    Survey,
    SurveyKind,
)
from evaluation.surveys.forms import SurveyForm
from evaluation.surveys.services import survey_submit
from tests.conftest import make_session
from tests.evaluation.helpers import Clock, aware, person, place, sent_invitation
from training.models import Course, Session, Venue

pytestmark = pytest.mark.django_db


def keys(kind: str) -> list[str]:
    return list(Survey.objects.get(kind=kind).asked_questions().values_list("key", flat=True))


def test_the_default_surveys_exist_with_the_keys_reports_use() -> None:
    assert keys(SurveyKind.EVALUATION) == ["usefulness", "delivery", "confidence", "do_differently"]
    assert keys(SurveyKind.FOLLOW_UP) == [
        "used_learning",
        "example",
        "voice_of_child",
        "barriers",
        "further_training",
        "manager_consent",
        "quote_consent",
    ]
    assert keys(SurveyKind.PRE_COURSE) == ["confidence", "hoping_to_learn"]
    assert keys(SurveyKind.MANAGER) == ["seen_applied", "example"]
    assert keys(SurveyKind.CALL_SCRIPT) == [
        "used_learning",
        "example",
        "voice_of_child",
        "barriers",
        "further_training",
        "quote_consent",
    ]
    confidence = Question.objects.get(survey__kind=SurveyKind.EVALUATION, key="confidence")
    assert confidence.type == QuestionType.SCALE and confidence.per_outcome
    used = Question.objects.get(survey__kind=SurveyKind.FOLLOW_UP, key="used_learning")
    assert used.type == QuestionType.YES_NO and used.required


def evaluation_form(course: Course, data: dict[str, str] | None = None) -> SurveyForm:
    survey = Survey.objects.get(kind=SurveyKind.EVALUATION)
    return SurveyForm(
        data, questions=list(survey.asked_questions()), outcomes=list(course.outcomes.all())
    )


def test_confidence_is_asked_before_and_after_for_each_learning_outcome(
    march_session: Session,
) -> None:
    course = march_session.course
    form = evaluation_form(course)
    [item] = [item for item in form.items if item.widget == "per_outcome"]
    assert [row.label for row in item.rows] == [o.text for o in course.outcomes.all()]
    assert [row.before.label for row in item.rows] == ["Before the course"] * 2
    assert [row.after.label for row in item.rows] == ["Now"] * 2


def answers_data(form: SurveyForm, **by_key: str) -> dict[str, str]:
    """Fill every scale with 3 and before/after with 2 → 4, then apply ``by_key``."""
    data: dict[str, str] = {}
    for item in form.items:
        if item.widget == "per_outcome":
            for row in item.rows:
                data[row.before.html_name] = "2"
                data[row.after.html_name] = "4"
        elif item.widget == "scale":
            data[item.field.html_name] = "3"
        if item.question.key in by_key:
            data[item.field.html_name] = by_key[item.question.key]
    return data


def test_answers_are_stored_one_row_each_with_the_outcome_they_rate(
    clock: Clock, march_session: Session, school: Any
) -> None:
    course = march_session.course
    booking = place(march_session, attendee=person("a@example.org", agency=school), agency=school)
    invitation = sent_invitation(booking, sent_at=clock.now)
    form = evaluation_form(course, None)
    form = evaluation_form(
        course, answers_data(form, usefulness="5", do_differently="Ask the child first")
    )
    assert form.is_valid(), form.errors

    response = survey_submit(invitation=invitation, answers=form.answers(), now=clock.now)

    outcome_ids = list(course.outcomes.values_list("pk", flat=True))
    ratings = sorted(
        response.answers.filter(question__key="confidence").values_list(
            "outcome_id", "moment", "scale"
        )
    )
    expected = [(pk, Moment.BEFORE, 2) for pk in outcome_ids]
    expected += [(pk, Moment.AFTER, 4) for pk in outcome_ids]
    assert ratings == sorted(expected)
    assert response.answers.get(question__key="usefulness").scale == 5
    assert response.answers.get(question__key="do_differently").text == "Ask the child first"
    assert (response.course_id, response.sector_id, response.session_date) == (
        course.pk,
        school.sector_id,
        march_session.starts_at.date(),
    )


def test_a_course_without_learning_outcomes_is_rated_as_a_whole(
    clock: Clock, venue: Venue, school: Any
) -> None:
    bare = Course.objects.create(title="Thresholds")
    session = make_session(bare, venue, starts_at=aware(2025, 5, 1, 9, 30))
    form = evaluation_form(bare)
    [item] = [item for item in form.items if item.widget == "per_outcome"]
    assert [row.label for row in item.rows] == ["The subject of the course as a whole"]
    form = evaluation_form(bare, answers_data(form))
    assert form.is_valid(), form.errors
    booking = place(session, attendee=person("b@example.org", agency=school), agency=school)
    response = survey_submit(
        invitation=sent_invitation(booking, sent_at=clock.now),
        answers=form.answers(),
        now=clock.now,
    )
    assert set(
        response.answers.filter(question__key="confidence").values_list("outcome_id", "moment")
    ) == {(None, Moment.BEFORE), (None, Moment.AFTER)}


def test_required_questions_must_be_answered_with_messages_that_name_them(
    march_session: Session,
) -> None:
    form = evaluation_form(march_session.course, {})
    assert not form.is_valid()
    messages = [error for errors in form.errors.values() for error in errors]
    assert "Choose a number from 1 to 5: How useful was the training for your work?" in messages
    assert (
        "Choose how confident you felt before the course: Recognise the signs of abuse and "
        "neglect" in messages
    )
    assert "Choose how confident you feel now: Share information safely and lawfully" in messages
    # The free-text question is optional.
    assert len(messages) == 2 + 2 * 2


def test_every_question_type_is_stored_in_its_own_column(
    clock: Clock, march_session: Session, school: Any
) -> None:
    survey = Survey.objects.get(kind=SurveyKind.FOLLOW_UP)
    role = survey.questions.create(
        order=100,
        text="Your role",
        type=QuestionType.SINGLE_CHOICE,
        required=True,
        choices="Teacher\nNurse\nSocial worker",
        key="role",
    )
    rating = survey.questions.create(
        order=110,
        text="How relevant was it?",
        type=QuestionType.SCALE,
        required=False,
    )
    form = SurveyForm(
        {
            f"q{survey.questions.get(key='used_learning').pk}": "yes",
            f"q{survey.questions.get(key='barriers').pk}": [
                "Time or workload",
                "Other agencies' processes",
            ],
            f"q{role.pk}": "Nurse",
            f"q{rating.pk}": "4",
            f"q{survey.questions.get(key='example').pk}": "  Shared a concern early.  ",
        },
        questions=list(survey.asked_questions()),
    )
    assert form.is_valid(), form.errors
    booking = place(march_session, attendee=person("c@example.org", agency=school), agency=school)
    invitation = sent_invitation(booking, kind=InvitationKind.FOLLOW_UP, sent_at=clock.now)
    response = survey_submit(invitation=invitation, answers=form.answers(), now=clock.now)

    values = {
        (a.question.key or a.question.text, a.scale, a.yes_no, a.choice, a.text)
        for a in response.answers.select_related("question")
    }
    assert values == {
        ("used_learning", None, True, "", ""),
        ("barriers", None, None, "Time or workload", ""),
        ("barriers", None, None, "Other agencies' processes", ""),
        ("role", None, None, "Nurse", ""),
        ("How relevant was it?", 4, None, "", ""),
        ("example", None, None, "", "Shared a concern early."),
    }


def test_a_choice_that_is_not_offered_is_refused(march_session: Session) -> None:
    survey = Survey.objects.get(kind=SurveyKind.FOLLOW_UP)
    barriers = survey.questions.get(key="barriers")
    form = SurveyForm(
        {f"q{survey.questions.get(key='used_learning').pk}": "yes", f"q{barriers.pk}": ["Aliens"]},
        questions=list(survey.asked_questions()),
    )
    assert not form.is_valid()
    assert f"q{barriers.pk}" in form.errors


def test_questions_the_administrator_stops_asking_are_left_out() -> None:
    survey = Survey.objects.get(kind=SurveyKind.FOLLOW_UP)
    survey.questions.filter(key="further_training").update(is_active=False)
    form = SurveyForm(None, questions=list(survey.asked_questions()))
    assert "further_training" not in [item.question.key for item in form.items]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": QuestionType.YES_NO, "per_outcome": True}, "per_outcome"),
        ({"type": QuestionType.SINGLE_CHOICE, "choices": "Only one"}, "choices"),
        ({"type": QuestionType.FREE_TEXT, "choices": "A\nB"}, "choices"),
    ],
)
def test_question_settings_that_make_no_sense_are_refused(
    changes: dict[str, Any], field: str
) -> None:
    question = Question(survey=Survey.objects.get(kind=SurveyKind.EVALUATION), text="Q", **changes)
    with pytest.raises(ValidationError) as error:
        question.full_clean()
    assert field in error.value.message_dict


def test_the_administrator_edits_questions_inline(
    client: Any, training_admin: Any, admin_permissions: None
) -> None:
    survey = Survey.objects.get(kind=SurveyKind.FOLLOW_UP)
    client.force_login(training_admin)
    url = reverse("admin:evaluation_survey_change", args=[survey.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Have you used what you learned on the course" in page.content.decode()

    questions = list(survey.questions.order_by("pk"))
    data: dict[str, Any] = {
        "title": "Impact survey",
        "kind": survey.kind,
        "introduction": survey.introduction,
        "closing_text": survey.closing_text,
        "questions-TOTAL_FORMS": str(len(questions) + 1),
        "questions-INITIAL_FORMS": str(len(questions)),
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
    }
    for index, question in enumerate(questions):
        prefix = f"questions-{index}-"
        data |= {
            prefix + "id": str(question.pk),
            prefix + "survey": str(survey.pk),
            prefix + "order": str(question.order),
            prefix + "type": question.type,
            prefix + "text": question.text + (" (reworded)" if index == 0 else ""),
            prefix + "hint": question.hint,
            prefix + "choices": question.choices,
            prefix + "key": question.key,
        }
        if question.required:
            data[prefix + "required"] = "on"
        data[prefix + "is_active"] = "on"
    new = f"questions-{len(questions)}-"
    data |= {
        new + "survey": str(survey.pk),
        new + "order": "200",
        new + "type": "scale",
        new + "text": "How well supported do you feel?",
        new + "hint": "",
        new + "choices": "",
        new + "key": "",
        new + "is_active": "on",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    survey.refresh_from_db()
    assert survey.title == "Impact survey"
    assert survey.questions.get(key="used_learning").text.endswith("(reworded)")
    assert survey.questions.filter(text="How well supported do you feel?").exists()


def test_a_question_with_answers_cannot_be_deleted(
    clock: Clock, march_session: Session, school: Any
) -> None:

    survey = Survey.objects.get(kind=SurveyKind.FOLLOW_UP)
    used = survey.questions.get(key="used_learning")
    booking = place(march_session, attendee=person("d@example.org", agency=school), agency=school)
    invitation = sent_invitation(booking, kind=InvitationKind.FOLLOW_UP, sent_at=clock.now)
    form = SurveyForm({f"q{used.pk}": "no"}, questions=list(survey.asked_questions()))
    assert form.is_valid()
    survey_submit(invitation=invitation, answers=form.answers(), now=clock.now)
    with pytest.raises(ProtectedError):
        used.delete()
    assert Answer.objects.filter(question=used).count() == 1
