"""The reports: grouped queries that let the database do the counting, and their exports.

Every report is for a period: a financial year (April to March) or any range of dates, both
inclusive, in Europe/London. A session belongs to the period its first part starts in. Each
selector runs a fixed handful of grouped queries whatever the amount of data, and returns plain
tables (``Table``) that the pages, the CSV and Excel exports and the ``report`` command share.

Definitions (the annual report's, made precise):

- An *attended place* is a confirmed booking marked attended, on a session not cancelled.
- *number_of_courses* counts the sessions of a title with at least one attended place.
- *Fill rate* is confirmed places (attended, absent or not yet marked) over the capacity of the
  published sessions; a *no-show* is a confirmed place marked absent; a *late cancellation*
  was cancelled after the refund cut-off, so its fee stands.
- *Fees* are the prices of places that were confirmed; what was refunded (card refunds) or
  credited (credit notes on booking invoices) is shown and taken off; non-attendance charges
  that were not waived are added; the in-kind value of subsidised places is shown beside the
  income, not in it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Max, Min, Q, Sum
from django.utils import timezone

from bookings.models import (
    Attendance,
    Booking,
    BookingStatus,
    InvoiceKind,
    InvoiceLine,
    NonAttendanceCharge,
    PaymentMethod,
    Refund,
    RefundStatus,
)
from evaluation.models import TrainingCostTarget
from training.dates import financial_year_bounds, financial_year_label, financial_year_start
from training.models import CourseKind, Sector, Session, SessionStatus

ZERO = Decimal("0.00")
KIND_LABELS = {
    CourseKind.COURSE: "Courses",
    CourseKind.MAPIG: "MAPIG sessions",
    CourseKind.CONFERENCE: "Conferences",
}


# --- periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, both days included, in local (Europe/London) time."""

    start: dt.date
    end: dt.date

    @classmethod
    def financial_year(cls, first_year: int) -> Period:
        start, end = financial_year_bounds(dt.date(first_year, 4, 1))
        return cls(start, end)

    @property
    def is_financial_year(self) -> bool:
        return financial_year_bounds(self.start) == (self.start, self.end)

    @property
    def label(self) -> str:
        if self.is_financial_year:
            return f"Financial year {financial_year_label(self.start)}"
        return f"{self.start:%-d %B %Y} to {self.end:%-d %B %Y}"

    @property
    def slug(self) -> str:
        return f"{self.start:%Y-%m-%d}-to-{self.end:%Y-%m-%d}"

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Local midnight at the start, and local midnight after the last day (exclusive)."""
        after = self.end + dt.timedelta(days=1)
        return (
            timezone.make_aware(dt.datetime(self.start.year, self.start.month, self.start.day)),
            timezone.make_aware(dt.datetime(after.year, after.month, after.day)),
        )

    def sessions_q(self, prefix: str = "") -> Q:
        """Sessions (reached through ``prefix``) whose first part starts in the period."""
        start, end = self.bounds()
        return Q(**{f"{prefix}starts_at__gte": start, f"{prefix}starts_at__lt": end})


def financial_years_with_sessions(today: dt.date) -> list[int]:
    """First calendar years of the financial years from the first session to this year."""
    span = Session.objects.aggregate(first=Min("starts_at"), last=Max("starts_at"))
    this_year = financial_year_start(today).year
    first = this_year
    last = this_year
    if span["first"] is not None:
        first = min(first, financial_year_start(timezone.localdate(span["first"])).year)
        last = max(last, financial_year_start(timezone.localdate(span["last"])).year)
    return list(range(last, first - 1, -1))


# --- tables -----------------------------------------------------------------------------------


HEADER_LABELS = {
    "course_title": "Course title",
    "number_of_courses": "Number of courses",
    "places_booked": "Places booked",
    "no_shows": "No-shows",
    "late_cancellations": "Late cancellations",
    "fill_rate_percent": "Fill rate (%)",
    "no_show_percent": "No-shows (%)",
    "fees": "Fees (£)",
    "refunded_or_credited": "Refunded or credited (£)",
    "non_attendance_charges": "Non-attendance charges (£)",
    "income": "Income (£)",
    "in_kind_value": "In-kind value (£)",
    "amount": "Amount",
    "evaluations_sent": "Evaluations sent",
    "evaluations_answered": "Evaluations answered",
    "follow_ups_sent": "Follow-ups sent",
    "follow_ups_answered_online": "Follow-ups answered online",
    "follow_up_response_percent": "Follow-up response rate (%)",
    "calls_completed": "Calls completed",
    "average_score": "Average score",
    "applied_percent": "Applied (%)",
}


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool


def display(value: Any) -> Cell:
    """How a page shows one value: thousands separators, a dash for 'not applicable'."""
    if value is None:
        return Cell("–", True)
    if isinstance(value, bool):
        return Cell("Yes" if value else "No", False)
    if isinstance(value, int | Decimal):
        return Cell(f"{value:,}", True)
    return Cell(str(value), False)


@dataclass
class Table:
    """One table of a report: what a page shows, a CSV holds and an Excel sheet holds."""

    title: str
    headers: list[str]
    rows: list[list[Any]]
    footer: list[list[Any]] = field(default_factory=list)  # e.g. the Total row

    def all_rows(self) -> list[list[Any]]:
        return [*self.rows, *self.footer]

    def header_cells(self) -> list[Cell]:
        numeric = [
            any(display(row[index]).numeric for row in self.all_rows() if row[index] is not None)
            for index in range(len(self.headers))
        ]
        return [
            Cell(
                HEADER_LABELS.get(
                    header,
                    header.replace("_", " ").capitalize()
                    if "_" in header or header.islower()
                    else header,
                ),
                index > 0 and numeric[index],
            )
            for index, header in enumerate(self.headers)
        ]

    def display_rows(self) -> list[list[Cell]]:
        return [[display(value) for value in row] for row in self.rows]

    def display_footer(self) -> list[list[Cell]]:
        return [[display(value) for value in row] for row in self.footer]


def _attended_q(prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}attendance": Attendance.ATTENDED,
            f"{prefix}status": BookingStatus.CONFIRMED,
        }
    ) & ~Q(**{f"{prefix}session__status": SessionStatus.CANCELLED})


def _sorted_by_title(rows: Iterable[Any], key: Any) -> list[Any]:
    # Sorted here, not in SQL: databases' collations disagree on case and punctuation.
    return sorted(rows, key=lambda row: (key(row).casefold(), key(row)))


def _percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def sector_columns() -> list[tuple[int, str]]:
    """The sectors in their seeded order (the annual report's column order)."""
    return list(Sector.objects.order_by("order", "name").values_list("pk", "name"))


# --- attendance by sector (Appendix E) ----------------------------------------------------------


@dataclass
class AttendanceBySector:
    period: Period
    kind: str
    sectors: list[str]
    table: Table

    @property
    def totals_by_sector(self) -> list[int]:
        return self.table.footer[0][2:-1]


def attendance_by_sector(
    period: Period, kind: str = CourseKind.COURSE, *, sectors: list[tuple[int, str]] | None = None
) -> AttendanceBySector:
    """Appendix E: attended places per course title and sector, with the number of courses.

    One grouped query: a row per title, a conditional count per sector (the pivot is done by
    the database), the distinct sessions, and all places.
    """
    sectors = sectors if sectors is not None else sector_columns()
    per_sector = {f"sector_{pk}": Count("pk", filter=Q(sector_id=pk)) for pk, _name in sectors}
    grouped = (
        Booking.objects.filter(_attended_q(), period.sessions_q("session__"))
        .filter(session__course__kind=kind)
        .order_by()
        .values("session__course__title")
        .annotate(
            number_of_courses=Count("session", distinct=True), places=Count("pk"), **per_sector
        )
    )
    rows = [
        [
            row["session__course__title"],
            row["number_of_courses"],
            *(row[f"sector_{pk}"] for pk, _name in sectors),
            row["places"],
        ]
        for row in grouped
    ]
    rows = _sorted_by_title(rows, key=lambda row: row[0])
    total = ["Total", *(sum(row[index] for row in rows) for index in range(1, len(sectors) + 3))]
    headers = ["course_title", "number_of_courses", *(name for _pk, name in sectors), "All"]
    return AttendanceBySector(
        period=period,
        kind=kind,
        sectors=[name for _pk, name in sectors],
        table=Table(
            title=f"Attendance by sector – {KIND_LABELS.get(kind, kind)}",
            headers=headers,
            rows=rows,
            footer=[total],
        ),
    )


# --- year summary (§11.2) -----------------------------------------------------------------------


@dataclass
class YearSummary:
    period: Period
    courses_delivered: int
    places_attended: int
    mapig_sessions: int
    mapig_attendees: int
    conferences: int
    conference_attendees: int
    distinct_professionals: int
    themes: list[str]
    by_course: Table
    by_agency: Table

    def headline_table(self) -> Table:
        return Table(
            title="Summary",
            headers=["measure", "value"],
            rows=[
                ["Courses delivered", self.courses_delivered],
                ["Training places attended", self.places_attended],
                ["MAPIG sessions", self.mapig_sessions],
                ["MAPIG attendees", self.mapig_attendees],
                ["Conferences", self.conferences],
                ["Conference attendees", self.conference_attendees],
                ["Distinct professionals", self.distinct_professionals],
                ["Themes covered", "; ".join(self.themes)],
            ],
        )

    def tables(self) -> list[Table]:
        return [self.headline_table(), self.by_course, self.by_agency]


def year_summary(period: Period) -> YearSummary:
    """The figures of the annual report's §11.2, plus fill rates, no-shows and late
    cancellations by course and by agency. Five grouped queries."""
    in_period = period.sessions_q("session__")

    def of_kind(kind: str) -> Q:
        return Q(session__course__kind=kind)

    headline = Booking.objects.filter(_attended_q(), in_period).aggregate(
        courses_delivered=Count("session", distinct=True, filter=of_kind(CourseKind.COURSE)),
        places_attended=Count("pk", filter=of_kind(CourseKind.COURSE)),
        mapig_sessions=Count("session", distinct=True, filter=of_kind(CourseKind.MAPIG)),
        mapig_attendees=Count("pk", filter=of_kind(CourseKind.MAPIG)),
        conferences=Count("session", distinct=True, filter=of_kind(CourseKind.CONFERENCE)),
        conference_attendees=Count("pk", filter=of_kind(CourseKind.CONFERENCE)),
        distinct_professionals=Count("attendee_email", distinct=True),
    )
    themes = list(
        Booking.objects.filter(_attended_q(), in_period)
        .exclude(session__course__theme="")
        .order_by("session__course__theme")
        .values_list("session__course__theme", flat=True)
        .distinct()
    )

    # Capacity comes from the sessions, places from the bookings: two queries, so neither sum
    # is multiplied by the other's rows.
    capacity = {
        row["course__title"]: row
        for row in Session.objects.filter(period.sessions_q(), status=SessionStatus.PUBLISHED)
        .order_by()
        .values("course__title", "course__kind")
        .annotate(sessions=Count("pk"), capacity=Sum("capacity"))
    }
    place_counts = _place_counts()
    places = {
        row["session__course__title"]: row
        for row in Booking.objects.filter(in_period)
        .exclude(session__status=SessionStatus.CANCELLED)
        .order_by()
        .values("session__course__title")
        .annotate(**place_counts)
    }
    course_rows = []
    for title in set(capacity) | set(places):
        held = capacity.get(title, {})
        counts = places.get(title, {})
        booked = counts.get("booked", 0)
        course_rows.append(
            [
                title,
                str(KIND_LABELS.get(held.get("course__kind", ""), "")),
                held.get("sessions", 0),
                held.get("capacity", 0) or 0,
                booked,
                counts.get("attended", 0),
                counts.get("no_shows", 0),
                counts.get("late_cancellations", 0),
                _percent(booked, held.get("capacity", 0) or 0),
            ]
        )
    by_course = Table(
        title="Fill rate, no-shows and late cancellations by course",
        headers=[
            "course_title",
            "kind",
            "sessions",
            "capacity",
            "places_booked",
            "attended",
            "no_shows",
            "late_cancellations",
            "fill_rate_percent",
        ],
        rows=_sorted_by_title(course_rows, key=lambda row: row[0]),
    )
    agency_rows = [
        [
            row["agency__name"],
            row["sector__name"],
            row["booked"],
            row["attended"],
            row["no_shows"],
            row["late_cancellations"],
            _percent(row["no_shows"], row["booked"]),
        ]
        for row in Booking.objects.filter(in_period)
        .exclude(session__status=SessionStatus.CANCELLED)
        .order_by()
        .values("agency__name", "sector__name")
        .annotate(**place_counts)
    ]
    by_agency = Table(
        title="No-shows and late cancellations by agency",
        headers=[
            "agency",
            "sector",
            "places_booked",
            "attended",
            "no_shows",
            "late_cancellations",
            "no_show_percent",
        ],
        rows=_sorted_by_title(agency_rows, key=lambda row: f"{row[0]}\x00{row[1]}"),
    )
    return YearSummary(
        period=period, themes=themes, by_course=by_course, by_agency=by_agency, **headline
    )


def _place_counts() -> dict[str, Count]:
    confirmed = Q(status=BookingStatus.CONFIRMED)
    return {
        "booked": Count("pk", filter=confirmed),
        "attended": Count("pk", filter=confirmed & Q(attendance=Attendance.ATTENDED)),
        "no_shows": Count("pk", filter=confirmed & Q(attendance=Attendance.ABSENT)),
        "late_cancellations": Count(
            "pk", filter=Q(status=BookingStatus.CANCELLED, late_cancellation=True)
        ),
    }


# --- income and cost recovery -------------------------------------------------------------------


@dataclass
class IncomeReport:
    period: Period
    by_sector: Table
    by_method: Table
    fees: Decimal
    refunds: Decimal
    charges: Decimal
    income: Decimal
    in_kind: Decimal
    target: TrainingCostTarget | None

    @property
    def recovery_percent(self) -> Decimal | None:
        if self.target is None:
            return None
        return _percent(self.income, self.target.team_cost)

    @property
    def target_met(self) -> bool | None:
        if self.target is None or self.recovery_percent is None:
            return None
        return self.recovery_percent >= self.target.recovery_target_percent

    def recovery_table(self) -> Table:
        rows: list[list[Any]] = [
            ["Fees for places", self.fees],
            ["Refunded or credited (taken off)", self.refunds],
            ["Non-attendance charges", self.charges],
            ["Income", self.income],
            ["In-kind value of subsidised places (not in income)", self.in_kind],
        ]
        if self.target is not None:
            rows += [
                ["Training team's cost", self.target.team_cost],
                ["Income as a share of the team's cost (%)", self.recovery_percent],
                ["Cost recovery target (%)", self.target.recovery_target_percent],
            ]
        return Table(title="Cost recovery", headers=["measure", "amount"], rows=rows)

    def tables(self) -> list[Table]:
        return [self.recovery_table(), self.by_sector, self.by_method]


METHOD_ORDER = [
    PaymentMethod.CARD,
    PaymentMethod.INVOICE,
    PaymentMethod.FREE,
    PaymentMethod.SUBSIDISED,
]


def income_and_cost_recovery(
    period: Period, *, sectors: list[tuple[int, str]] | None = None
) -> IncomeReport:
    """Income by sector and by payment method for the sessions of the period, and the share
    of the year's training-team cost it covers. Five grouped queries and the target."""
    sectors = sectors if sectors is not None else sector_columns()
    in_period = period.sessions_q("session__")
    was_confirmed = Q(confirmed_at__isnull=False)
    still_a_place = Q(status=BookingStatus.CONFIRMED) | Q(late_cancellation=True)

    fees = list(
        Booking.objects.filter(in_period, was_confirmed)
        .order_by()
        .values("sector_id", "payment_method")
        .annotate(
            places=Count("pk", filter=still_a_place),
            fees=Sum("price"),
            in_kind=Sum("in_kind_value", filter=still_a_place),
        )
    )
    card_refunds = {
        row["booking__sector_id"]: row["amount"]
        for row in Refund.objects.exclude(status=RefundStatus.FAILED)
        .filter(period.sessions_q("booking__session__"), booking__confirmed_at__isnull=False)
        .order_by()
        .values("booking__sector_id")
        .annotate(amount=Sum("amount"))
    }
    # Credit notes on booking invoices (those with an order) give fees back; credit notes on
    # charge invoices cancel a waived charge, which the charges below leave out already.
    invoice_credits = {
        row["booking__sector_id"]: -row["amount"]
        for row in InvoiceLine.objects.filter(
            period.sessions_q("booking__session__"),
            invoice__kind=InvoiceKind.CREDIT_NOTE,
            invoice__credits__order__isnull=False,
            booking__confirmed_at__isnull=False,
        )
        .order_by()
        .values("booking__sector_id")
        .annotate(amount=Sum("amount"))
    }
    charges = {
        row["booking__sector_id"]: row
        for row in NonAttendanceCharge.objects.filter(
            period.sessions_q("booking__session__"), waived_at=None
        )
        .order_by()
        .values("booking__sector_id")
        .annotate(amount=Sum("amount"), count=Count("pk"))
    }
    target = (
        TrainingCostTarget.objects.filter(financial_year_start=period.start).first()
        if period.is_financial_year
        else None
    )

    sector_rows = []
    for pk, name in sectors:
        sector_fees = [row for row in fees if row["sector_id"] == pk]
        fee_total = sum((row["fees"] or ZERO for row in sector_fees), ZERO)
        refunded = card_refunds.get(pk, ZERO) + invoice_credits.get(pk, ZERO)
        charged = charges.get(pk, {}).get("amount") or ZERO
        sector_rows.append(
            [
                name,
                sum(row["places"] for row in sector_fees),
                fee_total,
                refunded,
                charged,
                fee_total - refunded + charged,
                sum((row["in_kind"] or ZERO for row in sector_fees), ZERO),
            ]
        )
    sector_footer = [["Total", *(sum(row[index] for row in sector_rows) for index in range(1, 7))]]
    method_rows = []
    for method in METHOD_ORDER:
        method_fees = [row for row in fees if row["payment_method"] == method]
        fee_total = sum((row["fees"] or ZERO for row in method_fees), ZERO)
        refunded = {
            PaymentMethod.CARD: sum(card_refunds.values(), ZERO),
            PaymentMethod.INVOICE: sum(invoice_credits.values(), ZERO),
        }.get(method, ZERO)
        method_rows.append(
            [
                str(method.label),
                sum(row["places"] for row in method_fees),
                fee_total,
                refunded,
                fee_total - refunded,
                sum((row["in_kind"] or ZERO for row in method_fees), ZERO),
            ]
        )
    charge_total = sum((row["amount"] or ZERO for row in charges.values()), ZERO)
    charge_count = sum(row["count"] for row in charges.values())
    method_rows.append(
        ["Non-attendance charges", charge_count, charge_total, ZERO, charge_total, ZERO]
    )
    method_footer = [["Total", *(sum(row[index] for row in method_rows) for index in range(1, 6))]]
    total = sector_footer[0]
    return IncomeReport(
        period=period,
        by_sector=Table(
            title="Income by sector",
            headers=[
                "sector",
                "places",
                "fees",
                "refunded_or_credited",
                "non_attendance_charges",
                "income",
                "in_kind_value",
            ],
            rows=sector_rows,
            footer=sector_footer,
        ),
        by_method=Table(
            title="Income by payment method",
            headers=["method", "places", "fees", "refunded_or_credited", "income", "in_kind_value"],
            rows=method_rows,
            footer=method_footer,
        ),
        fees=total[2],
        refunds=total[3],
        charges=total[4],
        income=total[5],
        in_kind=total[6],
        target=target,
    )


# --- evaluation and impact -----------------------------------------------------------------------

# A share of fewer responses than this is given as counts only: "2 of 3" is not "67%".
MIN_RESPONSES_FOR_SHARE = 5
FEW_RESPONSES = f"Fewer than {MIN_RESPONSES_FOR_SHARE} responses: no share given"


def _two_places(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _share(applied: int, responses: int) -> tuple[Decimal | None, str]:
    if responses < MIN_RESPONSES_FOR_SHARE:
        return None, FEW_RESPONSES
    return _percent(applied, responses), ""


@dataclass
class ImpactReport:
    period: Period
    responses: Table
    scores: Table
    confidence: Table
    applied_by_course: Table
    applied_by_sector: Table
    impact_codes: Table
    examples: Table

    def tables(self) -> list[Table]:
        return [
            self.responses,
            self.scores,
            self.confidence,
            self.applied_by_course,
            self.applied_by_sector,
            self.impact_codes,
            self.examples,
        ]


def evaluation_and_impact(period: Period) -> ImpactReport:
    """Evaluation scores, confidence before and after, follow-up response rates, who applied
    the learning (by course and by sector, with the counts behind each share), impact codes
    and the quotable good-practice examples. Aggregates only: no names, agencies or contacts.
    Built on the evaluation selectors: eight grouped queries."""
    from evaluation import selectors
    from evaluation.models import Channel, ImpactCode, InvitationKind, SurveyKind

    dates = {"date_from": period.start, "date_to": period.end}

    invitations: dict[int, dict[str, int]] = {}
    titles: dict[int, str] = {}
    for row in selectors.invitation_response_rates(**dates):
        titles[row["course_id"]] = row["course_title"]
        invitations.setdefault(row["course_id"], {})[row["kind"]] = row["sent"]
        invitations[row["course_id"]][f"{row['kind']}_answered"] = row["answered"]
    counts: dict[int, dict[str, int]] = {}
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
                _percent(sent.get(f"{InvitationKind.FOLLOW_UP}_answered", 0), follow_ups_sent),
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
        rows=_sorted_by_title(response_rows, key=lambda row: row[0]),
    )
    scores = Table(
        title="Evaluation scores (1 to 5)",
        headers=["course_title", "question", "responses", "average_score"],
        rows=_sorted_by_title(
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
    confidence = Table(
        title="Confidence before and after the course (1 to 5)",
        headers=["course_title", "responses", "before", "after", "change"],
        rows=_sorted_by_title(
            (
                [
                    row["course_title"],
                    row["responses"],
                    _two_places(row["before"]),
                    _two_places(row["after"]),
                    _two_places(row["change"]),
                ]
                for row in selectors.confidence_change(by_outcome=False, **dates)
            ),
            key=lambda row: row[0],
        ),
    )

    def applied_table(by: str, title: str, first: str) -> Table:
        rows = []
        for row in selectors.applied_learning(by=by, **dates):  # type: ignore[arg-type]
            share, note = _share(row["applied"], row["responses"])
            rows.append([row[f"{by}_name"], row["responses"], row["applied"], share, note])
        return Table(
            title=title,
            headers=[first, "responses", "applied", "applied_percent", "note"],
            rows=rows,
        )

    applied_by_course = applied_table("course", "Applied the learning, by course", "course_title")
    applied_by_course.rows = _sorted_by_title(applied_by_course.rows, key=lambda row: row[0])
    applied_by_sector = applied_table("sector", "Applied the learning, by sector", "sector")
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
        confidence=confidence,
        applied_by_course=applied_by_course,
        applied_by_sector=applied_by_sector,
        impact_codes=impact_codes,
        examples=examples,
    )


# --- exports ------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    from bookings.exports import safe_cell

    if value is None:
        return ""
    return safe_cell(value)


def table_csv(table: Table) -> str:
    """One table as CSV text: a header row, then the rows (``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([_cell(header) for header in table.headers])
    writer.writerows([_cell(value) for value in row] for row in table.all_rows())
    return buffer.getvalue()


def tables_csv(tables: Sequence[Table]) -> str:
    """Several tables in one CSV: each after a line with its title, a blank line between."""
    if len(tables) == 1:
        return table_csv(tables[0])
    parts = []
    for table in tables:
        title = io.StringIO()
        csv.writer(title, lineterminator="\n").writerow([_cell(table.title)])
        parts.append(title.getvalue() + table_csv(table))
    return "\n".join(parts)


def tables_xlsx(tables: Sequence[Table], *, heading: str) -> bytes:
    """An Excel workbook with a sheet per table; every text cell is stored as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(table.title, used))
        sheet.append([_cell(heading)])
        sheet.append([_cell(header) for header in table.headers])
        for cell in sheet[1] + sheet[2]:
            cell.font = Font(bold=True)
        for row in table.all_rows():
            sheet.append([_cell(value) for value in row])
        for row_cells in sheet.iter_rows():
            for cell in row_cells:
                if isinstance(cell.value, str):
                    # Text stays text: openpyxl would otherwise store "=…" as a formula.
                    cell.data_type = "s"
        for column in sheet.columns:
            width = max((len(str(cell.value or "")) for cell in column[1:]), default=8)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 50)
        sheet.freeze_panes = "B3"
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _sheet_title(title: str, used: set[str]) -> str:
    # Excel refuses []:*?/\ in sheet names, and more than 31 characters.
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in title).strip()[:31]
    candidate, number = cleaned or "Report", 2
    while candidate in used:
        candidate = f"{cleaned[:28]} {number}"
        number += 1
    used.add(candidate)
    return candidate


# --- demo ---------------------------------------------------------------------------------------


def load_demo_cost_targets(today: dt.date) -> list[TrainingCostTarget]:
    """The demo's training-team costs: income covered half of 2016/17's cost (as the annual
    report says), and this year aims for all of it. Existing rows are left alone."""
    demo_year = Period.financial_year(2016)
    income = income_and_cost_recovery(demo_year).income
    team_cost = max(Decimal("1000.00"), (income * 2 / 100).quantize(Decimal("1")) * 100)
    targets = []
    for year, percent in ((2016, 50), (financial_year_start(today).year, 100)):
        target, _ = TrainingCostTarget.objects.get_or_create(
            financial_year_start=dt.date(year, 4, 1),
            defaults={"team_cost": team_cost, "recovery_target_percent": percent},
        )
        targets.append(target)
    return targets
