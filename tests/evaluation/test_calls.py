"""Recording 'test and check' calls: attempts (at most three), the call script, impact codes and
good-practice examples."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from evaluation.calls.services import call_attempt_record, call_complete
from evaluation.errors import EvaluationError
from evaluation.models import (
    CallDraw,
    CallStatus,
    FollowUpCall,
    ImpactCode,
    InvitationKind,
    Survey,
    SurveyKind,
)
from evaluation.surveys.selectors import impact_code_counts, quotable_examples
from evaluation.surveys.services import AnswerData, survey_submit
from tests.evaluation.helpers import Clock, person, place, sent_invitation
from training.models import Session

pytestmark = pytest.mark.django_db

EXAMPLE = "Shared a worry about a toddler's bruising with the health visitor the same day."


@pytest.fixture
def call(clock: Clock, march_session: Session, school: Any, community_member: Any) -> FollowUpCall:
    attendee = person("tess@example.org", agency=school, first_name="Tess", last_name="Teacher")
    draw = CallDraw.objects.create(month=dt.date(2025, 6, 1), size=1)
    return FollowUpCall.objects.create(
        draw=draw,
        month=draw.month,
        booking=place(march_session, attendee=attendee, agency=school),
        person=attendee,
        sector=school.sector,
        phone="01632 960123",
        assigned_to=community_member,
    )


def attempt(call: FollowUpCall, member: Any, clock: Clock, outcome: str, **kwargs: Any) -> Any:
    return call_attempt_record(
        call=call, outcome=outcome, member=member, now=clock.advance(hours=2), **kwargs
    )


def script_answers(
    *, used: bool = True, example: str = EXAMPLE, consent: bool = True
) -> list[AnswerData]:
    script = Survey.objects.get(kind=SurveyKind.CALL_SCRIPT)
    questions = {q.key: q.pk for q in script.questions.all()}
    answers = [
        AnswerData(question_id=questions["used_learning"], yes_no=used),
        AnswerData(question_id=questions["quote_consent"], yes_no=consent),
    ]
    if example:
        answers.append(AnswerData(question_id=questions["example"], text=example))
    return answers


def reload(call: FollowUpCall) -> FollowUpCall:
    return FollowUpCall.objects.get(pk=call.pk)


def test_three_tries_without_reaching_them_close_the_call(
    call: FollowUpCall, community_member: Any, clock: Clock
) -> None:
    attempt(call, community_member, clock, "no_answer")
    tomorrow = clock.now + dt.timedelta(days=1)
    attempt(call, community_member, clock, "call_back", call_back_at=tomorrow)
    assert reload(call).status == CallStatus.OPEN
    assert reload(call).call_back_at == tomorrow
    attempt(call, community_member, clock, "no_answer")
    assert reload(call).status == CallStatus.UNREACHABLE
    with pytest.raises(EvaluationError, match="closed"):
        attempt(call, community_member, clock, "reached")
    assert call.attempts.count() == 3


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("wrong_number", CallStatus.WRONG_NUMBER), ("declined", CallStatus.DECLINED)],
)
def test_a_wrong_number_or_a_refusal_closes_the_call_at_once(
    call: FollowUpCall, community_member: Any, clock: Clock, outcome: str, status: str
) -> None:
    attempt(call, community_member, clock, outcome)
    assert reload(call).status == status
    assert reload(call).closed_at == clock.now


def test_reached_but_unable_to_talk_is_the_same_attempt_with_a_call_back(
    call: FollowUpCall, community_member: Any, clock: Clock
) -> None:
    attempt(call, community_member, clock, "no_answer")
    attempt(call, community_member, clock, "reached")
    later = clock.now + dt.timedelta(days=2)
    attempt(call, community_member, clock, "call_back", call_back_at=later)
    assert list(call.attempts.values_list("number", "outcome")) == [
        (1, "no_answer"),
        (2, "call_back"),
    ]
    assert reload(call).status == CallStatus.OPEN and reload(call).call_back_at == later
    with pytest.raises(EvaluationError, match="reached"):
        call_complete(
            call=call,
            answers=script_answers(),
            impact_codes=["joint_working"],
            good_practice=False,
            member=community_member,
            now=clock.now,
        )


def test_reached_on_the_last_attempt_and_then_stopping_closes_the_call(
    call: FollowUpCall, community_member: Any, clock: Clock
) -> None:
    attempt(call, community_member, clock, "no_answer")
    attempt(call, community_member, clock, "no_answer")
    attempt(call, community_member, clock, "reached")
    with pytest.raises(EvaluationError, match="call script"):
        attempt(call, community_member, clock, "no_answer")
    attempt(
        call, community_member, clock, "call_back", call_back_at=clock.now + dt.timedelta(days=9)
    )
    assert reload(call).status == CallStatus.UNREACHABLE
    assert call.attempts.count() == 3


def test_a_call_back_needs_a_time_in_the_future(
    call: FollowUpCall, community_member: Any, clock: Clock
) -> None:
    with pytest.raises(EvaluationError, match="day and time"):
        attempt(call, community_member, clock, "call_back")
    with pytest.raises(EvaluationError, match="future"):
        attempt(
            call,
            community_member,
            clock,
            "call_back",
            call_back_at=clock.now - dt.timedelta(minutes=1),
        )
    assert not call.attempts.exists()


def test_a_completed_call_stores_the_answers_codes_and_a_quotable_example(
    call: FollowUpCall, community_member: Any, clock: Clock
) -> None:
    attempt(call, community_member, clock, "no_answer")
    attempt(call, community_member, clock, "reached")
    response = call_complete(
        call=call,
        answers=script_answers(),
        impact_codes=[ImpactCode.INFORMATION_SHARING, ImpactCode.VOICE_OF_CHILD],
        good_practice=True,
        member=community_member,
        now=clock.now,
    )
    assert reload(call).status == CallStatus.COMPLETED
    assert response.channel == "phone" and response.recorded_by == community_member
    assert response.answers.get(question__key="used_learning").yes_no is True
    assert response.is_quotable and response.quote == EXAMPLE
    assert list(quotable_examples().values_list("quote", flat=True)) == [EXAMPLE]
    assert {row["code"]: row["responses"] for row in impact_code_counts()} == {
        "information_sharing": 1,
        "voice_of_child": 1,
    }
    with pytest.raises(EvaluationError, match="closed"):
        call_complete(
            call=call,
            answers=script_answers(),
            impact_codes=["joint_working"],
            good_practice=False,
            member=community_member,
            now=clock.now,
        )


def test_good_practice_without_consent_is_kept_but_never_quoted(
    call: FollowUpCall, community_member: Any, clock: Clock
) -> None:
    attempt(call, community_member, clock, "reached")
    response = call_complete(
        call=call,
        answers=script_answers(consent=False),
        impact_codes=["specific_action"],
        good_practice=True,
        member=community_member,
        now=clock.now,
    )
    assert response.good_practice and not response.quote_consent and response.quote == ""
    assert not quotable_examples().exists()


@pytest.mark.parametrize(
    ("codes", "good_practice", "example", "message"),
    [
        ([], False, EXAMPLE, "at least one impact code"),
        (["no_change", "joint_working"], False, EXAMPLE, "cannot go with"),
        (["made_up"], False, EXAMPLE, "from the list"),
        (["joint_working"], True, "", "Write down the example"),
    ],
)
def test_what_cannot_be_recorded_on_a_completed_call(
    call: FollowUpCall,
    community_member: Any,
    clock: Clock,
    codes: list[str],
    good_practice: bool,
    example: str,
    message: str,
) -> None:
    attempt(call, community_member, clock, "reached")
    with pytest.raises(EvaluationError, match=message):
        call_complete(
            call=call,
            answers=script_answers(example=example),
            impact_codes=codes,
            good_practice=good_practice,
            member=community_member,
            now=clock.now,
        )
    assert reload(call).status == CallStatus.OPEN


def test_the_script_can_only_be_filled_in_once_the_person_is_reached(
    call: FollowUpCall, community_member: Any, clock: Clock
) -> None:
    with pytest.raises(EvaluationError, match="reached"):
        call_complete(
            call=call,
            answers=script_answers(),
            impact_codes=["joint_working"],
            good_practice=False,
            member=community_member,
            now=clock.now,
        )


def test_only_the_assigned_member_can_record_on_a_call(
    call: FollowUpCall, clock: Clock, practitioner: Any
) -> None:
    with pytest.raises(EvaluationError, match="not on your list"):
        attempt(call, practitioner, clock, "no_answer")


def test_answering_the_follow_up_online_withdraws_a_call_not_yet_started(
    call: FollowUpCall, clock: Clock
) -> None:
    invitation = sent_invitation(call.booking, kind=InvitationKind.FOLLOW_UP, sent_at=clock.now)
    survey_submit(invitation=invitation, answers=[], now=clock.advance(hours=1))
    assert reload(call).status == CallStatus.CANCELLED


# --- the pages ---------------------------------------------------------------------------------


def test_recording_attempts_and_the_script_through_the_pages(
    client: Any, call: FollowUpCall, community_member: Any, clock: Clock
) -> None:
    client.force_login(community_member)
    url = reverse("evaluation:call", args=[call.pk])
    # Nothing chosen: an error, not a 500.
    page = client.post(url, {})
    assert "Choose what happened when you called." in page.content.decode()
    page = client.post(url, {"outcome": "call_back", "call_back_at": ""})
    assert "Enter the day and time they asked you to call back." in page.content.decode()

    response = client.post(
        url, {"outcome": "call_back", "call_back_at": "2025-06-03T18:30"}, follow=True
    )
    assert "Call Tess Teacher back on Tuesday 3 June at 18:30 (2 attempts left)." in (
        response.content.decode()
    )
    assert reload(call).call_back_at == dt.datetime(2025, 6, 3, 17, 30, tzinfo=dt.UTC)

    script_url = reverse("evaluation:call_script", args=[call.pk])
    assert client.get(script_url)["Location"] == url  # not reached yet
    response = client.post(url, {"outcome": "reached"})
    assert response["Location"] == script_url
    assert client.get(url)["Location"] == script_url  # a reached call goes on to the script

    survey = Survey.objects.get(kind=SurveyKind.CALL_SCRIPT)
    keys = {q.key: f"q{q.pk}" for q in survey.questions.all()}
    page = client.post(script_url, {keys["used_learning"]: "yes"})
    content = page.content.decode()
    assert "Choose at least one impact code" in content
    assert "Choose yes or no: May we quote your example" in content

    response = client.post(
        script_url,
        {
            keys["used_learning"]: "yes",
            keys["example"]: EXAMPLE,
            keys["quote_consent"]: "yes",
            "impact_codes": ["information_sharing", "joint_working"],
            "good_practice": "on",
        },
        follow=True,
    )
    assert "Call to Tess Teacher completed" in response.content.decode()
    assert reload(call).status == CallStatus.COMPLETED
    assert quotable_examples().get()["quote"] == EXAMPLE
    assert client.post(url, {"outcome": "no_answer"}).status_code == 200  # closed: no change
    assert call.attempts.count() == 2


def test_a_member_who_reached_someone_can_still_record_that_they_declined(
    client: Any, call: FollowUpCall, community_member: Any, clock: Clock
) -> None:
    client.force_login(community_member)
    url = reverse("evaluation:call", args=[call.pk])
    client.post(url, {"outcome": "reached"})
    script = client.get(reverse("evaluation:call_script", args=[call.pk])).content.decode()
    assert f'href="{url}?stop=1"' in script
    stop_page = client.get(url + "?stop=1").content.decode()
    assert "They cannot talk now" in stop_page
    assert 'value="no_answer"' not in stop_page and 'value="declined"' in stop_page
    response = client.post(url, {"stop": "1", "outcome": "declined"}, follow=True)
    assert "they did not want to take part" in response.content.decode()
    assert reload(call).status == CallStatus.DECLINED
    assert list(call.attempts.values_list("outcome", flat=True)) == ["declined"]
