"""An attendee answers the evaluation and the follow-up from the emailed links; a community
member works through a call list on a phone."""

from __future__ import annotations

import datetime as dt
import importlib
import re
from io import StringIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from bookings.attendance.registers import attendance_record
from bookings.models import Attendance
from evaluation.calls.services import followup_calls_draw
from evaluation.models import CallStatus, FollowUpCall, Moment, Response, SurveyKind
from evaluation.surveys.selectors import applied_learning, quotable_examples
from tests.conftest import PASSWORD, make_session
from tests.e2e.conftest import PHONE, assert_accessible, log_in, screenshot
from tests.evaluation.helpers import Clock, aware, place
from training.models import Course, Profile, Session, Venue

# serialized_rollback: the sectors, roles and default surveys come from data migrations, and
# the flush after each transactional test would otherwise leave the next test without them.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

EXAMPLE = "I spoke to the child on their own first, and their words went into the referral."


@pytest.fixture(autouse=True)
def reference_data(transactional_db: None) -> None:
    """Put back what data migrations made (sectors, bands, roles, the three surveys).

    After another browser test module, serialized_rollback may restore nothing: Playwright's
    event loop makes Django hand this thread a different connection object from the one the
    serialized copy was stored on. Both seeds are idempotent.
    """
    for migration, function in (
        ("training.migrations.0002_sectors_bands_roles", "seed"),
        ("evaluation.migrations.0002_default_surveys", "create_surveys"),
    ):
        getattr(importlib.import_module(migration), function)(django_apps, None)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The live server runs in this process, so it reads the same frozen clock."""
    frozen = Clock(aware(2025, 3, 3, 16))
    monkeypatch.setattr("django.utils.timezone.now", frozen)
    return frozen


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    """Working Together on Monday 3 March 2025, with two learning outcomes."""
    course.outcomes.create(text="Share information safely and lawfully", order=1)
    return make_session(course, venue, starts_at=aware(2025, 3, 3, 9, 30))


def link_path(message: Any, kind: str = "survey") -> str:
    pattern = r"https?://\S+/survey/[\w-]+/" + ("opt-out/" if kind == "opt-out" else "")
    found = re.search(pattern + r"(?=\s)", message.body)
    assert found, message.body
    return urlsplit(found.group(0)).path


def rate(page: Any, group: str | re.Pattern[str], value: str) -> None:
    page.get_by_role("group", name=group, exact=True).get_by_label(value, exact=True).check()


def test_attendee_answers_the_evaluation_and_the_follow_up_from_the_emailed_links(
    page: Any,
    clock: Clock,
    session: Session,
    practitioner: Any,
    school: Any,
    training_admin: Any,
) -> None:
    booking = place(session, attendee=practitioner, agency=school, attendance="")
    outcomes = [o.text for o in session.course.outcomes.all()]

    # The administrator marks the register at the end of the day: the evaluation goes out.
    attendance_record(
        booking=booking, attendance=Attendance.ATTENDED, actor=training_admin, now=clock.now
    )
    assert len(mail.outbox) == 1
    invitation_email = mail.outbox[0]
    assert invitation_email.to == ["teacher@example.org"]
    assert invitation_email.subject == "How was Working Together? Two minutes of feedback"

    # The next morning Tess opens the link: no password needed.
    clock.set(aware(2025, 3, 4, 8, 15))
    page.goto(link_path(invitation_email))
    expect(page.get_by_role("heading", name="Course evaluation", level=1)).to_be_visible()
    expect(page.get_by_text("Working Together, 3 March 2025")).to_be_visible()
    assert_accessible(page, "evaluation survey")
    screenshot(page, "evaluation-01-survey")

    page.get_by_role("button", name="Send your answers").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(
        page.get_by_role("link", name=re.compile("Choose a number from 1 to 5: How useful"))
    ).to_be_visible()
    assert_accessible(page, "evaluation survey with errors")
    screenshot(page, "evaluation-02-errors")

    rate(page, "How useful was the training for your work?", "5")
    rate(page, "How well was the training delivered?", "4")
    for outcome in outcomes:
        rate(page, re.compile(rf"^Before the course\W+{outcome}$"), "2")
        rate(page, re.compile(rf"^Now\W+{outcome}$"), "4")
    page.get_by_label("What will you do differently as a result of the training? (optional)").fill(
        "Speak to the child on their own first."
    )
    page.get_by_role("button", name="Send your answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert_accessible(page, "evaluation thanks")
    screenshot(page, "evaluation-03-thanks")

    # The link worked once: opened again, it shows no survey.
    page.goto(link_path(invitation_email))
    expect(
        page.get_by_role("heading", name="You have already answered this survey")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Send your answers")).to_have_count(0)
    assert_accessible(page, "survey already answered")
    # The email's opt-out link opens a page that asks first (Tess keeps her follow-ups).
    page.goto(link_path(invitation_email, "opt-out"))
    expect(page.get_by_role("heading", name="Stop follow-up surveys and calls")).to_be_visible()
    assert_accessible(page, "opt-out")

    # Twelve weeks after the course the periodic command sends the follow-up survey.
    clock.set(aware(2025, 5, 26, 9, 5))
    call_command("send_survey_invitations", stdout=StringIO())
    assert len(mail.outbox) == 2
    follow_up_email = mail.outbox[1]
    assert follow_up_email.subject == "Have you used what you learned on Working Together?"

    clock.advance(days=2)
    page.set_viewport_size(PHONE)
    page.goto(link_path(follow_up_email))
    expect(page.get_by_role("heading", name="Follow-up impact survey", level=1)).to_be_visible()
    assert_accessible(page, "follow-up survey")
    screenshot(page, "evaluation-04-follow-up-phone")
    page.get_by_role(
        "group", name="Have you used what you learned on the course in your practice?"
    ).get_by_label("Yes").check()
    page.get_by_label("Please give an example of how you used it (optional)").fill(EXAMPLE)
    page.get_by_role("group", name=re.compile("What, if anything, got in the way")).get_by_label(
        "Time or workload"
    ).check()
    page.get_by_role("group", name=re.compile("May we quote your example")).get_by_label(
        "Yes"
    ).check()
    page.get_by_role("button", name="Send your answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    screenshot(page, "evaluation-05-follow-up-thanks")

    # A week on, both surveys are answered: no reminders.
    clock.advance(days=8)
    call_command("send_survey_invitations", stdout=StringIO())
    assert len(mail.outbox) == 2

    evaluation = Response.objects.get(survey__kind=SurveyKind.EVALUATION)
    ratings = evaluation.answers.filter(question__key="confidence")
    assert sorted(ratings.values_list("moment", "scale")) == sorted(
        [(Moment.BEFORE, 2)] * 2 + [(Moment.AFTER, 4)] * 2
    )
    assert set(ratings.values_list("outcome__text", flat=True)) == set(outcomes)
    follow_up = Response.objects.get(survey__kind=SurveyKind.FOLLOW_UP)
    assert follow_up.answers.get(question__key="used_learning").yes_no is True
    assert follow_up.quote_consent and follow_up.sector == school.sector
    assert [
        (row["course_name"], row["responses"], row["applied"]) for row in applied_learning()
    ] == [("Working Together", 1, 1)]


def test_community_member_records_a_no_answer_then_a_completed_call_on_a_phone(
    phone_page: Any,
    session: Session,
    practitioner: Any,
    school: Any,
    community_member: Any,
) -> None:
    Profile.objects.filter(user=practitioner).update(consent_to_calls=True, phone="01632 960 123")
    place(session, attendee=practitioner, agency=school)
    followup_calls_draw(month=dt.date(2025, 6, 1), size=1, actor="test", now=aware(2025, 6, 16, 10))
    call = FollowUpCall.objects.get()
    assert call.assigned_to == community_member
    page = phone_page

    log_in(page, community_member.email, PASSWORD)
    expect(page.get_by_text("Successfully signed in as volunteer@example.org.")).to_be_visible()
    # Signing in lands a community member on their calls.
    expect(page.get_by_role("heading", name="Your calls", level=1)).to_be_visible()
    expect(page.get_by_text("You have 1 call to make.")).to_be_visible()
    assert_accessible(page, "call list")
    screenshot(page, "calls-01-list-phone")

    page.get_by_role("link", name="Open call to Tess Teacher").click()
    expect(page.get_by_role("heading", name="Call Tess Teacher")).to_be_visible()
    expect(page.get_by_test_id("call-phone")).to_have_text("01632 960 123")
    expect(page.get_by_test_id("call-agency")).to_have_text("Blackdown Primary School")
    expect(page.get_by_test_id("call-course")).to_have_text("Working Together")
    expect(page.get_by_test_id("call-date")).to_have_text("3 March 2025")
    content = page.content()
    assert "teacher@example.org" not in content and "Schools" not in content
    assert_accessible(page, "call page")
    screenshot(page, "calls-02-call-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # First try: nobody answers.
    page.get_by_label("No answer").check()
    page.get_by_role("button", name="Record this attempt").click()
    expect(
        page.get_by_text("No answer from Tess Teacher recorded (2 attempts left).")
    ).to_be_visible()
    expect(page.get_by_text("1 of 3")).to_be_visible()
    screenshot(page, "calls-03-after-no-answer")

    # Second try: Tess answers and talks.
    page.get_by_role("link", name="Open call to Tess Teacher").click()
    expect(page.get_by_role("heading", name="Attempts so far")).to_be_visible()
    page.get_by_label("Call back at a time").check()
    expect(page.get_by_label("When to call back")).to_be_visible()
    screenshot(page, "calls-04-call-back-reveal")
    page.get_by_label("Reached").check()
    page.get_by_role("button", name="Record this attempt").click()
    expect(page.get_by_role("heading", name="Follow-up call script")).to_be_visible()
    assert_accessible(page, "call script")
    screenshot(page, "calls-05-script-phone")

    page.get_by_role(
        "group", name="Have you been able to use what you learned on the course in your work?"
    ).get_by_label("Yes").check()
    page.get_by_label("Can you tell me about a time you used it? (optional)").fill(EXAMPLE)
    page.get_by_role("group", name=re.compile("May we quote your example")).get_by_label(
        "Yes"
    ).check()
    page.get_by_label("Joint working").check()
    page.get_by_label("Voice of the child heard").check()
    page.get_by_label("This is a good-practice example").check()
    screenshot(page, "calls-06-script-filled")
    page.get_by_role("button", name="Save and finish the call").click()

    expect(page.get_by_text("Call to Tess Teacher completed. Thank you.")).to_be_visible()
    expect(page.get_by_text("You have no calls to make at the moment.")).to_be_visible()
    expect(page.get_by_text("Completed", exact=True)).to_be_visible()
    assert_accessible(page, "call list when done")
    screenshot(page, "calls-07-done")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    assert list(call.attempts.values_list("outcome", flat=True)) == ["no_answer", "reached"]
    assert set(call.response.impacts.values_list("code", flat=True)) == {
        "joint_working",
        "voice_of_child",
    }
    assert list(quotable_examples().values_list("quote", flat=True)) == [EXAMPLE]
