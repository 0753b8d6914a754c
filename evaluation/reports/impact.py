"""Evaluation and impact: scores, confidence, response rates, applied learning and examples."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Count, F, Q

from evaluation.models import Channel, ImpactCode, InvitationKind, SurveyKind
from evaluation.reports.periods import Period
from evaluation.reports.tables import Table, percent, sorted_by_title
from evaluation.surveys import selectors

# A share of fewer responses than this is given as counts only: "2 of 3" is not "67%".
MIN_RESPONSES_FOR_SHARE = 5
BY: tuple[Literal["course"], Literal["sector"]] = ("course", "sector")
FEW_RESPONSES = f"Fewer than {MIN_RESPONSES_FOR_SHARE} responses: no share given"


def _two_places(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


def applied_share(applied: int, responses: int) -> tuple[Decimal | None, str]:
    if responses < MIN_RESPONSES_FOR_SHARE:
        return None, FEW_RESPONSES
    return percent(applied, responses), ""


@dataclass
class ImpactReport:
    period: Period
    responses: Table
    scores: Table
    confidence_paired: Table
    confidence: Table
    knowledge: Table
    applied_by_course: Table
    applied_by_sector: Table
    corroboration: Table
    impact_codes: Table
    examples: Table

    def tables(self) -> list[Table]:
        return [
            self.responses,
            self.scores,
            self.confidence_paired,
            self.confidence,
            self.knowledge,
            self.applied_by_course,
            self.applied_by_sector,
            self.corroboration,
            self.impact_codes,
            self.examples,
        ]


def evaluation_and_impact(period: Period) -> ImpactReport:
    """Evaluation scores, confidence before and after (paired per person where the pre-course
    questionnaire gave a true before, and the unpaired retrospective ratings apart), the
    knowledge checks' average score, who applied the learning as line managers saw it,
    follow-up response rates, who applied the learning (by course and by sector, with the
    counts behind each share), impact codes and the quotable good-practice examples.
    Aggregates only: no names, agencies or contacts.
    Built on the evaluation selectors: eleven queries."""
    dates: dict[str, Any] = {"date_from": period.start, "date_to": period.end}

    invitations: dict[int, dict[str, int]] = {}
    titles: dict[int, str] = {}
    for row in selectors.invitation_response_rates(**dates):
        titles[row["course_id"]] = row["course_title"]
        invitations.setdefault(row["course_id"], {})[row["kind"]] = row["sent"]
        invitations[row["course_id"]][f"{row['kind']}_answered"] = row["answered"]
    counts: dict[int, Mapping[str, Any]] = {}
    # What selectors.response_counts(by="course") gives, written out here because that
    # selector's values(course_id=…) clashes with Response.course_id on Django 6.1.
    for row in (
        selectors.responses_in_period(**dates)
        .order_by()
        .values("course_id", course_name=F("course__title"))
        .annotate(
            evaluations=Count("pk", filter=Q(survey__kind=SurveyKind.EVALUATION)),
            follow_ups_online=Count("pk", filter=Q(survey__kind=SurveyKind.FOLLOW_UP)),
            calls=Count("pk", filter=Q(survey__kind=SurveyKind.CALL_SCRIPT)),
        )
    ):
        titles[row["course_id"]] = row["course_name"]
        counts[row["course_id"]] = row
    response_rows = []
    for course_id, title in titles.items():
        sent = invitations.get(course_id, {})
        done = counts.get(course_id, {})
        follow_ups_sent = sent.get(InvitationKind.FOLLOW_UP, 0)
        response_rows.append(
            [
                title,
                sent.get(InvitationKind.EVALUATION, 0),
                done.get("evaluations", 0),
                follow_ups_sent,
                done.get("follow_ups_online", 0),
                percent(sent.get(f"{InvitationKind.FOLLOW_UP}_answered", 0), follow_ups_sent),
                done.get("calls", 0),
            ]
        )
    responses = Table(
        title="Responses by course",
        headers=[
            "course_title",
            "evaluations_sent",
            "evaluations_answered",
            "follow_ups_sent",
            "follow_ups_answered_online",
            "follow_up_response_percent",
            "calls_completed",
        ],
        rows=sorted_by_title(response_rows, key=lambda row: row[0]),
    )
    scores = Table(
        title="Evaluation scores (1 to 5)",
        headers=["course_title", "question", "responses", "average_score"],
        rows=sorted_by_title(
            (
                [
                    row["course_title"],
                    row["question_text"],
                    row["responses"],
                    _two_places(row["average"]),
                ]
                for row in selectors.evaluation_scores(**dates)
            ),
            key=lambda row: row[0],
        ),
    )
    paired_rows = [
        [row.course_title, row.people, row.before, row.after, row.change]
        for row in selectors.confidence_paired(**dates)
    ]
    confidence_paired = Table(
        title="Confidence before and after, paired per person (1 to 5)",
        headers=["course_title", "people_paired", "before_pre_course", "after", "change"],
        rows=paired_rows,
    )
    confidence = Table(
        title="Confidence before and after, unpaired: before rated afterwards (1 to 5)",
        headers=["course_title", "responses", "before_retrospective", "after", "change"],
        rows=sorted_by_title(
            (
                [
                    row["course_title"],
                    row["responses"],
                    _two_places(row["before"]),
                    _two_places(row["after"]),
                    _two_places(row["change"]),
                ]
                for row in selectors.confidence_change(
                    by_outcome=False, unpaired_only=True, **dates
                )
            ),
            key=lambda row: row[0],
        ),
    )

    knowledge_rows = []
    for row in selectors.knowledge_scores(**dates):
        # As for every share here: from fewer than five people, the counts only.
        few = row["people"] < MIN_RESPONSES_FOR_SHARE
        share = None if few else percent(row["correct"], row["answered"])
        note = FEW_RESPONSES if few else ""
        knowledge_rows.append(
            [row["course_title"], row["people"], row["answered"], row["correct"], share, note]
        )
    knowledge = Table(
        title="Knowledge checks in the evaluation",
        headers=[
            "course_title",
            "people_checked",
            "checks_answered",
            "answered_correctly",
            "average_score_percent",
            "note",
        ],
        rows=knowledge_rows,
    )

    applied_rows = {by: list(selectors.applied_learning(by=by, **dates)) for by in BY}

    def applied_table(by: Literal["course", "sector"], title: str, first: str) -> Table:
        rows = []
        for row in applied_rows[by]:
            share, note = applied_share(row["applied"], row["responses"])
            rows.append([row[f"{by}_name"], row["responses"], row["applied"], share, note])
        return Table(
            title=title,
            headers=[first, "responses", "applied", "applied_percent", "note"],
            rows=rows,
        )

    applied_by_course = applied_table("course", "Applied the learning, by course", "course_title")
    applied_by_course.rows = sorted_by_title(applied_by_course.rows, key=lambda row: row[0])
    applied_by_sector = applied_table("sector", "Applied the learning, by sector", "sector")
    self_report = {row["course_id"]: row for row in applied_rows["course"]}
    corroboration_rows = []
    for row in selectors.manager_corroboration(**dates):
        own = self_report.get(row["course_id"], {"responses": 0, "applied": 0})
        own_share, _ = applied_share(own["applied"], own["responses"])
        seen_share, note = applied_share(row["seen"], row["responses"])
        corroboration_rows.append(
            [
                row["course_name"],
                own["responses"],
                own_share,
                row["responses"],
                row["seen"],
                seen_share,
                note,
            ]
        )
    corroboration = Table(
        title="Applied the learning: self-report and line managers, by course",
        headers=[
            "course_title",
            "self_report_responses",
            "self_report_applied_percent",
            "line_managers_answered",
            "line_managers_seen_it_applied",
            "line_managers_seen_percent",
            "note",
        ],
        rows=sorted_by_title(corroboration_rows, key=lambda row: row[0]),
    )
    impact_codes = Table(
        title="Impact codes from calls and surveys",
        headers=["impact", "responses"],
        rows=[
            [str(ImpactCode(row["code"]).label), row["responses"]]
            for row in selectors.impact_code_counts(**dates)
        ],
    )
    examples = Table(
        title="Good-practice examples (anonymised, quoted with consent)",
        headers=["example", "course_title", "sector", "month", "how"],
        rows=[
            [
                row["quote"],
                row["course_title"],
                row["sector_name"],
                f"{row['session_date']:%B %Y}",
                str(Channel(row["channel"]).label),
            ]
            for row in selectors.quotable_examples(**dates)
        ],
    )
    return ImpactReport(
        period=period,
        responses=responses,
        scores=scores,
        confidence_paired=confidence_paired,
        confidence=confidence,
        knowledge=knowledge,
        applied_by_course=applied_by_course,
        applied_by_sector=applied_by_sector,
        corroboration=corroboration,
        impact_codes=impact_codes,
        examples=examples,
    )
