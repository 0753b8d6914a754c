"""Reads of survey answers and impact that reports and pages share.

Each function returns a ``values()`` queryset the database counts with one ``GROUP BY``; rows
are plain dicts, ordered for display. Periods are inclusive dates compared with the session's
date (``Response.session_date``, Europe/London), so a report for 2016/17 covers the training
given in 2016/17, whenever its surveys were answered.

Follow-up evidence comes two ways: the online follow-up survey and the community members'
calls (the call script). Both ask ``used_learning``; functions about impact count both unless
``channel`` says otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Avg, Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from evaluation.models import (
    Answer,
    Invitation,
    Moment,
    Response,
    ResponseImpact,
    SurveyKind,
)

FOLLOW_UP_KINDS = (SurveyKind.FOLLOW_UP, SurveyKind.CALL_SCRIPT)


@dataclass(frozen=True)
class PairedConfidence:
    """One course's confidence paired per person: the pre-course rating (a true before) and
    the same person's evaluation rating after, averaged over the outcomes rated both times."""

    course_id: int
    course_title: str
    people: int
    pairs: int
    before: Decimal
    after: Decimal

    @property
    def change(self) -> Decimal:
        return self.after - self.before


def _group_columns(by: str, prefix: str = "") -> dict[str, Any]:
    """Columns of a "by course" or "by sector" row: <by>_id, <by>_name, <by>_order."""
    if by == "course":
        return {
            "course_id": F(f"{prefix}course_id"),
            "course_name": F(f"{prefix}course__title"),
            "course_order": Lower(f"{prefix}course__title"),
        }
    if by == "sector":
        return {
            "sector_id": F(f"{prefix}sector_id"),
            "sector_name": F(f"{prefix}sector__name"),
            "sector_order": F(f"{prefix}sector__order"),
        }
    raise ValueError(f"Group by course or sector, not {by!r}.")


def _period(prefix: str, date_from: dt.date | None, date_to: dt.date | None) -> Q:
    query = Q()
    if date_from is not None:
        query &= Q(**{f"{prefix}session_date__gte": date_from})
    if date_to is not None:
        query &= Q(**{f"{prefix}session_date__lte": date_to})
    return query


def responses_in_period(
    *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> QuerySet[Response]:
    return Response.objects.filter(_period("", date_from, date_to))


def evaluation_scores(
    *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> QuerySet:
    """Per course and 1–5 question of the course evaluation: average score and responses.

    Rows: course_id, course_title, question_id, question_key, question_text, responses,
    average. The before/after confidence ratings are in ``confidence_change``.
    """
    return (
        Answer.objects.filter(
            _period("response__", date_from, date_to),
            response__survey__kind=SurveyKind.EVALUATION,
            scale__isnull=False,
            moment=Moment.NONE,
        )
        .values(
            "question_id",
            course_id=F("response__course_id"),
            course_title=F("response__course__title"),
            question_key=F("question__key"),
            question_text=F("question__text"),
            question_order=F("question__order"),
            course_order=Lower("response__course__title"),
        )
        .annotate(responses=Count("pk"), average=Avg("scale"))
        .order_by("course_order", "course_title", "question_order", "question_id")
    )


def confidence_change(
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    by_outcome: bool = True,
    unpaired_only: bool = False,
) -> QuerySet:
    """Average confidence before and after the course, and the change, per course and
    learning outcome (or per course, with ``by_outcome=False``), from the evaluation's
    ratings (its "before" is retrospective: rated after the course).

    With ``unpaired_only``, only evaluations of people who did not answer the pre-course
    questionnaire: those who did are in ``confidence_paired``.

    Rows: course_id, course_title, [outcome_id, outcome_text,] responses, before, after,
    change. ``outcome_id`` is None for a course without outcomes (rated as a whole).
    """
    fields: list[str] = []
    columns = {
        "course_id": F("response__course_id"),
        "course_title": F("response__course__title"),
        "course_order": Lower("response__course__title"),
    }
    order = ["course_order", "course_title"]
    if by_outcome:
        fields = ["outcome_id"]
        columns |= {"outcome_text": F("outcome__text"), "outcome_order": F("outcome__order")}
        order += ["outcome_order", "outcome_id"]
    answers = Answer.objects.filter(
        _period("response__", date_from, date_to),
        response__survey__kind=SurveyKind.EVALUATION,
        question__per_outcome=True,
        scale__isnull=False,
    )
    if unpaired_only:
        answers = answers.filter(~Exists(_pre_course_responses()))
    rows = (
        answers.values(*fields, **columns)
        .annotate(
            responses=Count("response", distinct=True),
            before=Avg("scale", filter=Q(moment=Moment.BEFORE)),
            after=Avg("scale", filter=Q(moment=Moment.AFTER)),
        )
        .annotate(change=F("after") - F("before"))
        .order_by(*order)
    )
    return rows


def _pre_course_responses() -> QuerySet[Response]:
    """The answered pre-course questionnaire of the answer's booking (for ``Exists``)."""
    return Response.objects.filter(
        booking_id=OuterRef("response__booking_id"), survey__kind=SurveyKind.PRE_COURSE
    )


def confidence_paired(
    *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> list[PairedConfidence]:
    """Confidence paired per person and outcome: the pre-course questionnaire's rating (asked
    before the course) with the same booking's evaluation rating after, for each learning
    outcome rated both times. Per course, by title; ``people`` is the number of people with at
    least one pair (the n), ``pairs`` the outcome ratings paired. One query."""
    answers = Answer.objects.filter(
        _period("response__", date_from, date_to),
        question__per_outcome=True,
        scale__isnull=False,
    )
    ratings = answers.filter(
        Q(response__survey__kind=SurveyKind.PRE_COURSE, moment=Moment.BEFORE)
        | Q(
            Exists(_pre_course_responses()),
            response__survey__kind=SurveyKind.EVALUATION,
            moment=Moment.AFTER,
        )
    ).values_list(
        "moment",
        "response__booking_id",
        "outcome_id",
        "scale",
        "response__course_id",
        "response__course__title",
    )
    befores: dict[tuple[int, int | None], int] = {}
    afters = []
    for moment, booking_id, outcome_id, scale, course_id, title in ratings:
        if scale is None:  # not selected (scale__isnull=False); for the type checker
            continue
        if moment == Moment.BEFORE:
            befores[(booking_id, outcome_id)] = scale
        else:
            afters.append((booking_id, outcome_id, scale, course_id, title))
    courses: dict[int, dict[str, Any]] = {}
    for booking_id, outcome_id, after, course_id, title in afters:
        before = befores.get((booking_id, outcome_id))
        if before is None:
            continue
        course = courses.setdefault(
            course_id, {"title": title, "people": set(), "before": [], "after": []}
        )
        course["people"].add(booking_id)
        course["before"].append(before)
        course["after"].append(after)

    def mean(values: list[int]) -> Decimal:
        return (Decimal(sum(values)) / len(values)).quantize(Decimal("0.01"))

    rows = [
        PairedConfidence(
            course_id=course_id,
            course_title=course["title"],
            people=len(course["people"]),
            pairs=len(course["before"]),
            before=mean(course["before"]),
            after=mean(course["after"]),
        )
        for course_id, course in courses.items()
    ]
    return sorted(rows, key=lambda row: (row.course_title.lower(), row.course_title))


def knowledge_scores(
    *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> QuerySet:
    """Per course: the knowledge checks answered in its evaluations, and how many correctly.

    Rows: course_id, course_title, people (evaluations with a scored answer: the n), answered,
    correct. The average score is correct / answered (each person answers the same checks).
    """
    return (
        Answer.objects.filter(
            _period("response__", date_from, date_to),
            response__survey__kind=SurveyKind.EVALUATION,
            correct__isnull=False,
        )
        .values(
            course_id=F("response__course_id"),
            course_title=F("response__course__title"),
            course_order=Lower("response__course__title"),
        )
        .annotate(
            people=Count("response", distinct=True),
            answered=Count("pk"),
            correct=Count("pk", filter=Q(correct=True)),
        )
        .order_by("course_order", "course_title")
    )


def applied_learning(
    *,
    by: Literal["course", "sector"] = "course",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    channel: str | None = None,
    sessions: QuerySet | None = None,
) -> QuerySet:
    """Who applied the learning: the follow-up's "have you used it" answers, grouped.

    Rows: <by>_id, <by>_name, <by>_order, responses (answered yes or no), applied (yes). The
    share is applied / responses; reports should show a share from few responses as such.
    """
    answers = Answer.objects.filter(
        _period("response__", date_from, date_to),
        response__survey__kind__in=FOLLOW_UP_KINDS,
        question__key="used_learning",
        yes_no__isnull=False,
    )
    if channel:
        answers = answers.filter(response__channel=channel)
    if sessions is not None:  # e.g. the sessions that carry a learning review
        answers = answers.filter(response__booking__session__in=sessions)
    return (
        answers.values(**_group_columns(by, "response__"))
        .annotate(responses=Count("pk"), applied=Count("pk", filter=Q(yes_no=True)))
        .order_by(f"{by}_order", f"{by}_name")
    )


def manager_corroboration(
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet:
    """What line managers said, per course: "have you seen the learning applied?".

    Rows: course_id, course_name, course_order, responses (answered yes or no), seen (yes).
    """
    return (
        Answer.objects.filter(
            _period("response__", date_from, date_to),
            response__survey__kind=SurveyKind.MANAGER,
            question__key="seen_applied",
            yes_no__isnull=False,
        )
        .values(**_group_columns("course", "response__"))
        .annotate(responses=Count("pk"), seen=Count("pk", filter=Q(yes_no=True)))
        .order_by(Lower("response__course__title"), "response__course__title")
    )


def response_counts(
    *,
    by: Literal["course", "sector"] = "course",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet:
    """Responses per course (or sector): evaluations, online follow-ups and completed calls.

    Rows: <by>_id, <by>_name, evaluations, follow_ups_online, calls.
    """
    # Response has course_id and sector_id columns of its own: select them by name (an alias
    # may not shadow a field), so the rows have the same keys as the other selectors'.
    columns = _group_columns(by)
    del columns[f"{by}_id"]
    return (
        responses_in_period(date_from=date_from, date_to=date_to)
        .values(f"{by}_id", **columns)
        .annotate(
            evaluations=Count("pk", filter=Q(survey__kind=SurveyKind.EVALUATION)),
            follow_ups_online=Count("pk", filter=Q(survey__kind=SurveyKind.FOLLOW_UP)),
            calls=Count("pk", filter=Q(survey__kind=SurveyKind.CALL_SCRIPT)),
        )
        .order_by(f"{by}_order", f"{by}_name")
    )


def invitation_response_rates(
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet:
    """Per course and kind (evaluation / follow-up): invitations sent and answered online.

    Rows: course_id, course_title, kind, sent, answered. The period is the session's date.
    """
    invitations = Invitation.objects.filter(sent_at__isnull=False)
    if date_from is not None:
        invitations = invitations.filter(booking__session__starts_at__date__gte=date_from)
    if date_to is not None:
        invitations = invitations.filter(booking__session__starts_at__date__lte=date_to)
    return (
        invitations.values(
            "kind",
            course_id=F("booking__session__course_id"),
            course_title=F("booking__session__course__title"),
            course_order=Lower("booking__session__course__title"),
        )
        .annotate(sent=Count("pk"), answered=Count("pk", filter=Q(responded_at__isnull=False)))
        .order_by("course_order", "course_title", "kind")
    )


def impact_code_counts(
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    by: Literal["course", "sector"] | None = None,
) -> QuerySet:
    """How many responses (calls and surveys) were given each impact code.

    Rows: code, responses (and <by>_id, <by>_name when grouped). Use
    ``ImpactCode(row["code"]).label`` for the code's name.
    """
    columns: dict[str, Any] = {}
    order: list[str] = []
    if by is not None:
        columns = _group_columns(by, "response__")
        order = [f"{by}_order", f"{by}_name"]
    return (
        ResponseImpact.objects.filter(_period("response__", date_from, date_to))
        .values("code", **columns)
        .annotate(responses=Count("response", distinct=True))
        .order_by(*order, "code")
    )


def quotable_examples(
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    sessions: QuerySet | None = None,
) -> QuerySet:
    """Good-practice examples the person agreed may be quoted, without who said them.

    Rows: quote, course_title, sector_name, session_date, channel. No names, agencies or
    contact details are selected.
    """
    responses = responses_in_period(date_from=date_from, date_to=date_to)
    if sessions is not None:
        responses = responses.filter(booking__session__in=sessions)
    return (
        responses.filter(good_practice=True, quote_consent=True)
        .exclude(quote="")
        .values(
            "quote",
            "session_date",
            "channel",
            course_title=F("course__title"),
            sector_name=F("sector__name"),
        )
        .order_by("-session_date", Lower("course__title"), "pk")
    )
