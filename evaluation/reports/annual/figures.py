"""The annual pack's content for a year, each figure beside the year before's.

One structure (``AnnualPack``: sections of paragraphs, lists and tables) that the PDF and the
Word document both render, so the two documents always say the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bookings.templatetags.money import format_pounds
from evaluation.ledger.selectors import Ledger, ledger_for_year
from evaluation.models import AnnualNarrative, Answer, LearningReview, Response
from evaluation.reports.annual.messages import EventSummary, event_summaries
from evaluation.reports.attendance import attendance_by_sector
from evaluation.reports.impact import ImpactReport, evaluation_and_impact
from evaluation.reports.income import IncomeReport, income_and_cost_recovery
from evaluation.reports.periods import Period
from evaluation.reports.reviews.report import review_report
from evaluation.reports.summary import YearSummary, year_summary
from evaluation.reports.tables import Table, percent
from training.dates import financial_year_label
from training.models import CourseKind

# Years a pack may be asked for: a date library's range, not a policy.
MIN_YEAR, MAX_YEAR = 2000, 2999


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    # (heading, items): e.g. ("'Think Family' – practitioners told us that:", [...])
    lists: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class YearFigures:
    """Everything the pack compares for one financial year."""

    period: Period
    summary: YearSummary
    impact: ImpactReport
    income: IncomeReport
    ledger: Ledger

    @property
    def follow_up_responses(self) -> int:
        return sum(row[1] for row in self.impact.applied_by_course.rows)

    @property
    def applied(self) -> int:
        return sum(row[2] for row in self.impact.applied_by_course.rows)

    @property
    def applied_percent(self) -> Decimal | None:
        return percent(self.applied, self.follow_up_responses)

    @property
    def recovery_percent(self) -> Decimal | None:
        return self.income.recovery_percent

    @property
    def recovery_with_in_kind_percent(self) -> Decimal | None:
        if self.income.target is None:
            return None
        return percent(self.income.income + self.ledger.contributed, self.income.target.team_cost)


def year_figures(period: Period) -> YearFigures:
    return YearFigures(
        period=period,
        summary=year_summary(period),
        impact=evaluation_and_impact(period),
        income=income_and_cost_recovery(period),
        ledger=ledger_for_year(period.start),
    )


@dataclass
class AnnualPack:
    first_year: int
    year_label: str
    previous_label: str
    this: YearFigures
    previous: YearFigures
    appendix_e: Table
    events: list[EventSummary]
    narrative: AnnualNarrative | None
    sections: list[Section]

    @property
    def title(self) -> str:
        return f"Multi-agency training {self.year_label}"


def _number(value: Decimal) -> str:
    """17.00 as "17", 7.50 as "7.5"."""
    return f"{value.normalize():f}" if value else "0"


def _change(now: Any, before: Any) -> Any:
    if now is None or before is None:
        return None
    return now - before


def comparison_table(this: YearFigures, previous: YearFigures) -> Table:
    """The headline figures of the year beside the year before's, with the change."""
    money = [
        ("Income (£)", this.income.income, previous.income.income),
        (
            "In-kind saving: venues and trainers (£)",
            this.ledger.contributed,
            previous.ledger.contributed,
        ),
        (
            "Subsidised places given: value forgone (£)",
            this.ledger.value_forgone,
            previous.ledger.value_forgone,
        ),
    ]
    rows: list[list[Any]] = [
        ["Courses delivered", this.summary.courses_delivered, previous.summary.courses_delivered],
        [
            "Training places attended",
            this.summary.places_attended,
            previous.summary.places_attended,
        ],
        ["MAPIG sessions", this.summary.mapig_sessions, previous.summary.mapig_sessions],
        ["MAPIG attendees", this.summary.mapig_attendees, previous.summary.mapig_attendees],
        ["Conferences", this.summary.conferences, previous.summary.conferences],
        [
            "Conference attendees",
            this.summary.conference_attendees,
            previous.summary.conference_attendees,
        ],
        ["Follow-up responses (n)", this.follow_up_responses, previous.follow_up_responses],
        ["Applied the learning (%)", this.applied_percent, previous.applied_percent],
        *([label, format_pounds(now), format_pounds(before)] for label, now, before in money),
        ["Cost recovery (%)", this.recovery_percent, previous.recovery_percent],
        [
            "Cost recovery including in-kind (%)",
            this.recovery_with_in_kind_percent,
            previous.recovery_with_in_kind_percent,
        ],
    ]
    for row, (_label, now, before) in zip(rows[8:11], money, strict=True):
        row.append(format_pounds(_change(now, before)))
    for row in [*rows[:8], *rows[11:]]:
        row.append(_change(row[1], row[2]))
    return Table(
        title="The year in figures, compared with the year before",
        headers=[
            "Measure",
            this.period.label.removeprefix("Financial year "),
            previous.period.label.removeprefix("Financial year "),
            "Change",
        ],
        rows=rows,
    )


def voice_of_the_child(period: Period) -> Table:
    """What practitioners said about the child's voice, from follow-ups the administrator
    flagged as good practice and the person agreed may be quoted. No names."""
    answers = (
        Answer.objects.filter(
            question__key="voice_of_child",
            response__in=Response.objects.filter(
                good_practice=True,
                quote_consent=True,
                session_date__gte=period.start,
                session_date__lte=period.end,
            ),
        )
        .exclude(text="")
        .order_by("-response__session_date", "pk")
        .values_list("text", "response__course__title", "response__sector__name")
    )
    return Table(
        title="The voice of the child (quoted with consent)",
        headers=["Quote", "Course title", "Sector"],
        rows=[list(row) for row in answers],
    )


def reviews_section(period: Period) -> Section:
    """How the learning of each review published by the year's end reached practitioners."""
    section = Section("Learning from reviews in training")
    year_end = period.bounds()[1]
    for review in LearningReview.objects.filter(published_on__lte=period.end):
        report = review_report(review, now=year_end)
        sessions = len(report.sessions.rows)
        section.paragraphs.append(
            f"{review.title} ({review.get_kind_display().lower()}, "
            f"{review.published_on:%B %Y}): {sessions:,} session{'s' * (sessions != 1)} "
            f"carried its learning by the end of the year, reaching {report.practitioners:,} "
            f"practitioners; {report.applied_count:,} of {report.follow_up_responses:,} "
            f"follow-up responses (n = {report.follow_up_responses:,}) said they had applied it."
        )
        table = report.by_sector
        section.tables.append(
            Table(
                title=f"{review.title}: practitioners reached, by sector",
                headers=table.headers,
                rows=table.rows,
                footer=table.footer,
            )
        )
    if not section.paragraphs:
        section.paragraphs.append("No learning reviews recorded by the end of this year.")
    return section


def annual_pack(first_year: int) -> AnnualPack:
    """The training section for the financial year starting 1 April ``first_year``."""
    period = Period.financial_year(first_year)
    before = Period.financial_year(first_year - 1)
    this, previous = year_figures(period), year_figures(before)
    appendix = attendance_by_sector(period).table
    previous_appendix = attendance_by_sector(before).table
    events = event_summaries(period)
    narrative = AnnualNarrative.objects.filter(financial_year_start=period.start).first()
    label = financial_year_label(period.start)
    previous_label = financial_year_label(before.start)
    s = this.summary

    def narrative_text(attribute: str) -> list[str]:
        text = getattr(narrative, attribute, "") if narrative else ""
        return [part.strip() for part in text.split("\n\n") if part.strip()]

    done = Section(
        "What was done?",
        paragraphs=[
            f"This year, a total of {s.courses_delivered:,} courses were delivered across {label}.",
            f"A total of {s.places_attended:,} training places were provided, in addition to "
            f"{s.mapig_attendees:,} attendees at {s.mapig_sessions:,} Multi-agency Practitioner "
            f"Interest Group (MAPIG) sessions and {s.conference_attendees:,} attendees at "
            f"{s.conferences:,} multi-agency practitioner conference"
            f"{'s' if s.conferences != 1 else ''}.",
            f"In {previous_label}: {previous.summary.courses_delivered:,} courses, "
            f"{previous.summary.places_attended:,} training places, "
            f"{previous.summary.mapig_attendees:,} attendees at "
            f"{previous.summary.mapig_sessions:,} MAPIG sessions and "
            f"{previous.summary.conference_attendees:,} attendees at "
            f"{previous.summary.conferences:,} conferences.",
            *narrative_text("what_was_done"),
        ],
        tables=[comparison_table(this, previous)],
    )
    appendix_section = Section(
        "Appendix E: multi-agency training attendance",
        paragraphs=[
            "Places attended by course title and the agency sector recorded on each booking. "
            f"Total in {previous_label}: "
            f"{previous_appendix.footer[0][-1]:,} places on "
            f"{previous_appendix.footer[0][1]:,} courses.",
        ],
        tables=[appendix],
    )
    event_sections = []
    for kind, heading in (
        (CourseKind.MAPIG, "MAPIG sessions"),
        (CourseKind.CONFERENCE, "Conferences"),
    ):
        of_kind = [event for event in events if event.kind == kind]
        section = Section(heading)
        for event in of_kind:
            where = ", ".join(event.areas)
            section.paragraphs.append(
                f"{event.title}: {len(event.sessions)} session"
                f"{'s' if len(event.sessions) != 1 else ''} ({where}), "
                f"{event.attendees:,} attendees."
            )
            if event.messages:
                section.lists.append(
                    (f"{event.title} – practitioners told us that:", event.messages)
                )
        if not of_kind:
            section.paragraphs.append("None in this year.")
        event_sections.append(section)
    how_well = Section(
        "How well was it done?",
        paragraphs=[
            *narrative_text("how_well"),
            "Fill rates, no-shows and late cancellations by course are in the year summary report.",
        ],
        tables=[this.impact.scores] if this.impact.scores.rows else [],
    )
    applied_n = this.follow_up_responses
    difference = Section(
        "What difference has been made?",
        paragraphs=[
            f"{this.applied:,} of {applied_n:,} follow-up responses (n = {applied_n:,}) said "
            "the learning had been applied in practice"
            + (f" ({this.applied_percent}%)." if this.applied_percent is not None else ".")
            + f" In {previous_label}: {previous.applied:,} of {previous.follow_up_responses:,}.",
            *narrative_text("difference_made"),
        ],
        tables=[
            this.impact.applied_by_course,
            this.impact.applied_by_sector,
            this.impact.examples,
            voice_of_the_child(period),
        ],
    )
    money = Section(
        "Cost recovery and in-kind value",
        paragraphs=[
            f"Income from training: {format_pounds(this.income.income)} "
            f"({previous_label}: {format_pounds(previous.income.income)}).",
            f"In-kind arrangements with partners saved {format_pounds(this.ledger.contributed)}"
            f" ({previous_label}: {format_pounds(previous.ledger.contributed)}): "
            f"{_number(this.ledger.venue_days())} venue-days lent "
            f"({format_pounds(this.ledger.venue_value)}) and "
            f"{_number(this.ledger.trainer_hours())} partner trainer hours "
            f"({format_pounds(this.ledger.trainer_value)}), in exchange for subsidised places "
            f"worth {format_pounds(this.ledger.value_forgone)}.",
        ],
        tables=[this.income.recovery_table()],
    )
    if this.recovery_with_in_kind_percent is not None:
        money.paragraphs.append(
            f"Income covered {this.recovery_percent}% of the training team's cost; with the "
            f"in-kind saving, {this.recovery_with_in_kind_percent}%."
        )
    next_steps = Section("What next steps will be taken?", paragraphs=narrative_text("next_steps"))
    sections = [
        done,
        appendix_section,
        *event_sections,
        how_well,
        difference,
        reviews_section(period),
        money,
    ]
    if next_steps.paragraphs:
        sections.append(next_steps)
    return AnnualPack(
        first_year=first_year,
        year_label=label,
        previous_label=previous_label,
        this=this,
        previous=previous,
        appendix_e=appendix,
        events=events,
        narrative=narrative,
        sections=sections,
    )
