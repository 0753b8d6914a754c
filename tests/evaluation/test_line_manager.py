"""The line manager's view: asked at the follow-up, where a line manager is recorded and the
attendee agrees; answered by the manager's personal link; reported beside self-report."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from evaluation.models import Answer, Invitation, InvitationKind, Question, SurveyKind
from evaluation.reports.impact import FEW_RESPONSES, evaluation_and_impact
from evaluation.reports.periods import Period
from evaluation.surveys.services import AnswerData, survey_submit
from tests.evaluation.helpers import Clock, place, sent_invitation
from training.models import Agency, Session

pytestmark = pytest.mark.django_db


def key(kind: str, name: str) -> Question:
    return Question.objects.get(survey__kind=kind, key=name)


def follow_up(booking: Any, clock: Clock, *, used: bool, consent: bool | None) -> None:
    invitation = sent_invitation(booking, kind=InvitationKind.FOLLOW_UP, sent_at=clock.now)
    answers = [AnswerData(key(SurveyKind.FOLLOW_UP, "used_learning").pk, yes_no=used)]
    if consent is not None:
        answers.append(AnswerData(key(SurveyKind.FOLLOW_UP, "manager_consent").pk, yes_no=consent))
    survey_submit(invitation=invitation, answers=answers, now=clock.now)


def managed(
    session: Session, agency: Agency, number: int = 0, manager: str = "mo@example.org"
) -> Any:
    booking = place(session, agency=agency, name=f"Tess {number}", email=f"t{number}@example.org")
    booking.line_manager_name = "Mo Manager"
    booking.line_manager_email = manager
    booking.save()
    return booking


def test_with_the_attendees_agreement_the_line_manager_is_asked_once(
    clock: Clock, march_session: Session, school: Agency, django_capture_on_commit_callbacks: Any
) -> None:
    booking = managed(march_session, school)
    with django_capture_on_commit_callbacks(execute=True):
        follow_up(booking, clock, used=True, consent=True)

    invitation = Invitation.objects.get(booking=booking, kind=InvitationKind.MANAGER)
    assert invitation.sent_at == clock.now
    [email] = mail.outbox
    assert email.to == ["mo@example.org"]
    assert email.subject == "Have you seen Tess 0 use what they learned on Working Together?"
    assert "Dear Mo Manager" in email.body
    assert "Tess 0 gave you as their line manager" in email.body
    assert "Stop follow-ups" not in email.body  # that link would opt out the attendee


def test_without_agreement_or_without_a_manager_nobody_is_asked(
    clock: Clock, march_session: Session, school: Agency, django_capture_on_commit_callbacks: Any
) -> None:
    declined = managed(march_session, school, 1)
    nobody = place(march_session, agency=school, email="n@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        follow_up(declined, clock, used=True, consent=False)
        follow_up(nobody, clock, used=True, consent=True)
    assert not Invitation.objects.filter(kind=InvitationKind.MANAGER).exists()
    assert not mail.outbox


def test_the_follow_up_asks_for_agreement_only_where_a_manager_is_recorded(
    clock: Clock, client: Any, march_session: Session, school: Agency
) -> None:
    question = key(SurveyKind.FOLLOW_UP, "manager_consent").text
    with_manager = sent_invitation(
        managed(march_session, school, 2), kind=InvitationKind.FOLLOW_UP, sent_at=clock.now
    )
    without = sent_invitation(
        place(march_session, agency=school, email="w@example.org"),
        kind=InvitationKind.FOLLOW_UP,
        sent_at=clock.now,
    )
    assert (
        question
        in client.get(reverse("evaluation:survey", args=[with_manager.token])).content.decode()
    )
    assert (
        question
        not in client.get(reverse("evaluation:survey", args=[without.token])).content.decode()
    )


def test_the_line_manager_answers_by_their_link(
    clock: Clock,
    client: Any,
    march_session: Session,
    school: Agency,
    django_capture_on_commit_callbacks: Any,
) -> None:
    booking = managed(march_session, school, 3)
    with django_capture_on_commit_callbacks(execute=True):
        follow_up(booking, clock, used=True, consent=True)
    invitation = Invitation.objects.get(kind=InvitationKind.MANAGER)
    url = reverse("evaluation:survey", args=[invitation.token])
    page = client.get(url).content.decode()
    assert "Tess 3: Working Together, 3 March 2025" in page
    assert "Stop follow-ups" not in page
    seen = key(SurveyKind.MANAGER, "seen_applied")
    example = key(SurveyKind.MANAGER, "example")
    done = client.post(url, {f"q{seen.pk}": "yes", f"q{example.pk}": "Shared a plan early."})
    assert done.status_code == 302
    assert Answer.objects.get(question=seen, response__booking=booking).yes_no is True


def test_the_report_shows_line_managers_beside_self_report_with_n(
    clock: Clock, march_session: Session, school: Agency, django_capture_on_commit_callbacks: Any
) -> None:
    seen = key(SurveyKind.MANAGER, "seen_applied")
    for number, (used, saw) in enumerate(
        [(True, True), (True, True), (True, False), (False, None), (True, True), (True, None)]
    ):
        booking = managed(march_session, school, 10 + number, manager=f"m{number}@example.org")
        with django_capture_on_commit_callbacks(execute=True):
            follow_up(booking, clock, used=used, consent=saw is not None)
        if saw is not None:
            invitation = Invitation.objects.get(booking=booking, kind=InvitationKind.MANAGER)
            survey_submit(
                invitation=invitation,
                answers=[AnswerData(seen.pk, yes_no=saw)],
                now=clock.now,
            )

    report = evaluation_and_impact(Period.financial_year(2024))

    assert report.corroboration.header_words() == [
        "Course title",
        "Self-report: responses",
        "Self-report: applied (%)",
        "Line managers: answered",
        "Line managers: seen it applied",
        "Line managers: seen it applied (%)",
        "Note",
    ]
    # Six said whether they used it (5 yes); four managers answered (3 saw it): counts only.
    assert report.corroboration.rows == [
        ["Working Together", 6, Decimal("83.3"), 4, 3, None, FEW_RESPONSES]
    ]
