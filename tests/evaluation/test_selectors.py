"""The reads issue 6's reports build on: hand-counted answers, one grouped query each."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from evaluation.calls.services import call_attempt_record, call_complete
from evaluation.models import CallDraw, FollowUpCall, InvitationKind, Moment, Survey, SurveyKind
from evaluation.surveys import selectors
from evaluation.surveys.services import AnswerData, response_flag_good_practice, survey_submit
from tests.conftest import make_session
from tests.evaluation.helpers import Clock, agency_in, aware, person, place, sent_invitation
from training.models import Course, Sector, Session, Venue

pytestmark = pytest.mark.django_db

counter = itertools.count(1)


def answers(kind: str, booking: Any, **values: Any) -> list[AnswerData]:
    """Answers by question key; ``confidence`` is {outcome: (before, after)}."""
    questions = {q.key: q.pk for q in Survey.objects.get(kind=kind).questions.all()}
    result = []
    for key, value in values.items():
        if key == "confidence":
            for outcome, (before, after) in value.items():
                result += [
                    AnswerData(
                        question_id=questions[key],
                        outcome_id=outcome.pk,
                        moment=Moment.BEFORE,
                        scale=before,
                    ),
                    AnswerData(
                        question_id=questions[key],
                        outcome_id=outcome.pk,
                        moment=Moment.AFTER,
                        scale=after,
                    ),
                ]
        elif isinstance(value, bool):
            result.append(AnswerData(question_id=questions[key], yes_no=value))
        elif isinstance(value, int):
            result.append(AnswerData(question_id=questions[key], scale=value))
        else:
            result.append(AnswerData(question_id=questions[key], text=value))
    return result


def attendee_place(session: Session, sector: Sector) -> Any:
    number = next(counter)
    agency = agency_in(sector)
    return place(session, attendee=person(f"p{number}@example.org", agency=agency), agency=agency)


def online(kind: str, session: Session, sector: Sector, clock: Clock, **values: Any) -> Any:
    booking = attendee_place(session, sector)
    invitation = sent_invitation(booking, kind=kind, sent_at=clock.now)
    return survey_submit(
        invitation=invitation, answers=answers(kind, booking, **values), now=clock.now
    )


def by_phone(
    session: Session,
    sector: Sector,
    clock: Clock,
    member: Any,
    codes: list[str],
    good_practice: bool,
    **values: Any,
) -> Any:
    booking = attendee_place(session, sector)
    draw = CallDraw.objects.create(month=dt.date(2025, 6, 1), size=1)
    call = FollowUpCall.objects.create(
        draw=draw,
        month=draw.month,
        booking=booking,
        person=booking.attendee,
        sector=booking.sector,
        phone="01632 960000",
        assigned_to=member,
    )
    call_attempt_record(call=call, outcome="reached", member=member, now=clock.now)
    return call_complete(
        call=call,
        answers=answers(SurveyKind.CALL_SCRIPT, booking, **values),
        impact_codes=codes,
        good_practice=good_practice,
        member=member,
        now=clock.now,
    )


@pytest.fixture
def data(
    clock: Clock,
    march_session: Session,
    venue: Venue,
    sectors: dict[str, Sector],
    community_member: Any,
    training_admin: Any,
) -> dict[str, Any]:
    schools, health = sectors["Schools"], sectors["Health"]
    working_together = march_session.course
    first, second = list(working_together.outcomes.all())
    thresholds = Course.objects.create(title="thresholds")  # lower case: sorts case-blind
    thresholds_session = make_session(thresholds, venue, starts_at=aware(2025, 3, 10, 9, 30))
    last_year = make_session(working_together, venue, starts_at=aware(2024, 3, 4, 9, 30))
    ev, fu = InvitationKind.EVALUATION, InvitationKind.FOLLOW_UP

    online(
        ev,
        march_session,
        schools,
        clock,
        usefulness=5,
        delivery=4,
        confidence={first: (2, 4), second: (1, 3)},
    )
    online(
        ev,
        march_session,
        schools,
        clock,
        usefulness=4,
        delivery=4,
        confidence={first: (1, 4), second: (2, 5)},
    )
    online(
        ev,
        march_session,
        health,
        clock,
        usefulness=3,
        delivery=5,
        confidence={first: (3, 5), second: (3, 4)},
    )
    online(
        ev,
        last_year,
        health,
        clock,
        usefulness=1,
        delivery=1,
        confidence={first: (5, 1), second: (5, 1)},
    )

    online(
        fu,
        march_session,
        schools,
        clock,
        used_learning=True,
        example="Rang the DSL",
        quote_consent=True,
    )
    flagged_online = online(
        fu,
        march_session,
        health,
        clock,
        used_learning=True,
        example="Asked the child first",
        quote_consent=True,
    )
    online(fu, march_session, schools, clock, used_learning=False, quote_consent=True)
    online(fu, thresholds_session, schools, clock, used_learning=False)
    online(fu, last_year, health, clock, used_learning=False)
    by_phone(
        march_session,
        health,
        clock,
        community_member,
        ["joint_working", "voice_of_child"],
        True,
        used_learning=True,
        example="Joint visit with the police",
        quote_consent=True,
    )
    by_phone(
        thresholds_session,
        health,
        clock,
        community_member,
        ["joint_working"],
        True,
        used_learning=True,
        example="Names a family",
        quote_consent=False,
    )
    response_flag_good_practice(response=flagged_online, actor=training_admin, now=clock.now)
    flagged_online.impacts.create(code="specific_action")
    return {
        "wt": working_together,
        "thresholds": thresholds,
        "first": first,
        "second": second,
        "schools": schools,
        "health": health,
    }


PERIOD = {"date_from": dt.date(2025, 1, 1), "date_to": dt.date(2025, 12, 31)}


def test_evaluation_scores_per_course_and_question(
    data: dict[str, Any], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        rows = list(selectors.evaluation_scores(**PERIOD))
    assert [(r["course_title"], r["question_key"], r["responses"], r["average"]) for r in rows] == [
        ("Working Together", "usefulness", 3, 4.0),
        ("Working Together", "delivery", 3, pytest.approx(13 / 3)),
    ]
    everything = {r["question_key"]: r["average"] for r in selectors.evaluation_scores()}
    assert everything["usefulness"] == pytest.approx(13 / 4)  # last year's 1 counts too


def test_confidence_change_per_outcome_and_per_course(
    data: dict[str, Any], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        rows = list(selectors.confidence_change(**PERIOD))
    assert [(r["outcome_id"], r["responses"], r["before"], r["after"]) for r in rows] == [
        (data["first"].pk, 3, 2.0, pytest.approx(13 / 3)),
        (data["second"].pk, 3, 2.0, 4.0),
    ]
    assert rows[0]["change"] == pytest.approx(7 / 3)
    [course] = selectors.confidence_change(by_outcome=False, **PERIOD)
    assert (course["course_title"], course["responses"]) == ("Working Together", 3)
    assert course["change"] == pytest.approx(25 / 6 - 2)


def test_share_who_applied_the_learning_by_course_and_by_sector_with_counts(
    data: dict[str, Any], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        by_course = list(selectors.applied_learning(by="course", **PERIOD))
    assert [(r["course_name"], r["responses"], r["applied"]) for r in by_course] == [
        ("thresholds", 2, 1),
        ("Working Together", 4, 3),
    ]
    by_sector = list(selectors.applied_learning(by="sector", **PERIOD))
    assert [(r["sector_name"], r["responses"], r["applied"]) for r in by_sector] == [
        ("Health", 3, 3),
        ("Schools", 3, 1),
    ]
    phone_only = list(selectors.applied_learning(by="sector", channel="phone", **PERIOD))
    assert [(r["sector_name"], r["responses"], r["applied"]) for r in phone_only] == [
        ("Health", 2, 2)
    ]


def test_response_counts_and_rates(data: dict[str, Any], django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        rows = list(selectors.response_counts(by="course", **PERIOD))
    assert [
        (r["course_name"], r["evaluations"], r["follow_ups_online"], r["calls"]) for r in rows
    ] == [("thresholds", 0, 1, 1), ("Working Together", 3, 3, 1)]
    with django_assert_num_queries(1):
        rates = list(selectors.invitation_response_rates(**PERIOD))
    assert [(r["course_title"], r["kind"], r["sent"], r["answered"]) for r in rates] == [
        ("thresholds", "follow_up", 1, 1),
        ("Working Together", "evaluation", 3, 3),
        ("Working Together", "follow_up", 3, 3),
    ]


def test_impact_codes_from_calls_and_coded_surveys(
    data: dict[str, Any], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        rows = {r["code"]: r["responses"] for r in selectors.impact_code_counts(**PERIOD)}
    assert rows == {"joint_working": 2, "specific_action": 1, "voice_of_child": 1}
    by_sector = list(selectors.impact_code_counts(by="sector", **PERIOD))
    assert {(r["sector_name"], r["code"], r["responses"]) for r in by_sector} == {
        ("Health", "joint_working", 2),
        ("Health", "specific_action", 1),
        ("Health", "voice_of_child", 1),
    }


def test_only_flagged_and_consented_examples_are_quotable_and_without_names(
    data: dict[str, Any], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        rows = list(selectors.quotable_examples(**PERIOD))
    assert sorted(r["quote"] for r in rows) == [
        "Asked the child first",
        "Joint visit with the police",
    ]
    assert set(rows[0]) == {"quote", "session_date", "channel", "course_title", "sector_name"}


def test_a_period_ending_before_the_training_finds_nothing(data: dict[str, Any]) -> None:
    early = {"date_from": dt.date(2025, 1, 1), "date_to": dt.date(2025, 3, 2)}
    assert not selectors.evaluation_scores(**early).exists()
    assert not selectors.applied_learning(**early).exists()
    assert selectors.response_counts(
        date_from=dt.date(2025, 3, 10), date_to=dt.date(2025, 3, 10)
    ).get()["course_name"] == ("thresholds")
