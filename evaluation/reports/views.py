"""Report pages for training administrators and board viewers (and the aggregate impact report
for community members): each a table, a chart, and CSV and Excel downloads of the same data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from evaluation.reports.annual.messages import event_summaries
from evaluation.reports.attendance import attendance_by_sector
from evaluation.reports.exports import download, export_format
from evaluation.reports.impact import MIN_RESPONSES_FOR_SHARE, evaluation_and_impact
from evaluation.reports.income import income_and_cost_recovery
from evaluation.reports.periods import (
    EARLIEST_DAY,
    LATEST_DAY,
    Period,
    financial_years_with_sessions,
)
from evaluation.reports.summary import year_summary
from evaluation.reports.tables import KIND_LABELS, Table
from training.dates import financial_year_label, financial_year_start
from training.models import CourseKind
from training.roles import Role, has_role, role_required

REPORT_READERS = (Role.TRAINING_ADMINISTRATOR, Role.BOARD_VIEWER)
IMPACT_READERS = (*REPORT_READERS, Role.COMMUNITY_MEMBER)

# GOV.UK Frontend's palette, in an order that keeps neighbours distinguishable.
CHART_COLOURS = [
    "#1d70b8",
    "#00703c",
    "#d4351c",
    "#f47738",
    "#4c2c92",
    "#28a197",
    "#912b88",
    "#505a5f",
    "#85994b",
    "#b58840",
    "#5694ca",
    "#003078",
]


# --- the period ---------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def format_value(self, value: Any) -> str | None:
        # Browsers' date inputs want ISO dates whatever the site's locale.
        return value.isoformat() if isinstance(value, dt.date) else value


class YearForm(forms.Form):
    year = forms.TypedChoiceField(label="Financial year", coerce=int, required=False)

    def __init__(self, *args: Any, years: Sequence[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.TypedChoiceField, self.fields["year"]).choices = [
            (year, financial_year_label(dt.date(year, 4, 1))) for year in years
        ]


class DatesForm(forms.Form):
    start = forms.DateField(label="From", widget=DateInput, required=False)
    end = forms.DateField(label="To (included)", widget=DateInput, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        for name, day in (("start", start), ("end", end)):
            if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
                self.add_error(
                    name,
                    f"Enter a date from {EARLIEST_DAY:%-d %B %Y} to {LATEST_DAY:%-d %B %Y}.",
                )
        if self.errors:
            return data
        if (start is None) != (end is None):
            missing = "end" if end is None else "start"
            self.add_error(missing, "Enter both dates, or choose a financial year instead.")
        elif start and end and end < start:
            self.add_error("end", "The last day must be on or after the first day.")
        return data


@dataclass
class PeriodChoice:
    period: Period
    year_form: YearForm
    dates_form: DatesForm
    custom: bool  # the dates form chose the period

    @property
    def refused(self) -> bool:
        """Dates were given but cannot be used (the page says why beside the fields)."""
        return self.dates_form.is_bound and not self.dates_form.is_valid()

    def refusal(self) -> HttpResponse:
        """A download asked for with dates the form refuses: a 400 that says why."""
        problems = [
            f"{self.dates_form.fields[name].label}: {message}"
            for name, messages in self.dates_form.errors.items()
            for message in messages
        ]
        return HttpResponseBadRequest(
            "Nothing was downloaded, because the dates cannot be used. " + " ".join(problems),
            content_type="text/plain; charset=utf-8",
        )


def choose_period(request: HttpRequest) -> PeriodChoice:
    """Dates when both are given and valid; else the chosen financial year; else this one."""
    today = timezone.localdate()
    years = financial_years_with_sessions(today)
    this_year = financial_year_start(today).year
    dates_form = DatesForm(request.GET if "start" in request.GET else None)
    if dates_form.is_bound and dates_form.is_valid() and dates_form.cleaned_data.get("start"):
        period = Period(dates_form.cleaned_data["start"], dates_form.cleaned_data["end"])
        year_form = YearForm(initial={"year": financial_year_start(period.start).year}, years=years)
        return PeriodChoice(period, year_form, dates_form, custom=True)
    year_form = YearForm(
        request.GET if "year" in request.GET else None, years=years, initial={"year": this_year}
    )
    year = this_year
    if year_form.is_bound and year_form.is_valid() and year_form.cleaned_data["year"]:
        year = year_form.cleaned_data["year"]
    period = Period.financial_year(year)
    if not dates_form.is_bound:
        dates_form = DatesForm(initial={"start": period.start, "end": period.end})
    return PeriodChoice(period, year_form, dates_form, custom=False)


def chosen_kind(request: HttpRequest) -> str:
    kind = request.GET.get("kind", "")
    return kind if kind in CourseKind.values else CourseKind.COURSE


# --- downloads and charts -----------------------------------------------------------------------


def bar_chart(
    *,
    labels: Sequence[str],
    datasets: Sequence[tuple[str, Sequence[Any]]],
    horizontal: bool = False,
    stacked: bool = False,
    axis_title: str = "",
    whole_numbers: bool = False,
) -> dict[str, Any]:
    """A Chart.js configuration (passed to the page with json_script)."""
    axis: dict[str, Any] = {
        "stacked": stacked,
        "beginAtZero": True,
        "title": {"display": bool(axis_title), "text": axis_title},
    }
    if whole_numbers:
        axis["ticks"] = {"precision": 0}
    return {
        "type": "bar",
        "data": {
            "labels": list(labels),
            "datasets": [
                {
                    "label": label,
                    "data": [float(value or 0) for value in data],
                    "backgroundColor": CHART_COLOURS[index % len(CHART_COLOURS)],
                }
                for index, (label, data) in enumerate(datasets)
            ],
        },
        "options": {
            "indexAxis": "y" if horizontal else "x",
            "responsive": True,
            "maintainAspectRatio": False,
            "animation": False,
            "plugins": {"legend": {"display": len(datasets) > 1}},
            "scales": {
                "x" if not horizontal else "y": {"stacked": stacked},
                "y" if not horizontal else "x": axis,
            },
        },
    }


def page_context(
    request: HttpRequest, choice: PeriodChoice, *, report: str, title: str, **extra: Any
) -> dict[str, Any]:
    query = request.GET.copy()
    query.pop("format", None)

    def export_url(file_format: str) -> str:
        params: QueryDict = query.copy()
        params["format"] = file_format
        return "?" + params.urlencode()

    return {
        "report": report,
        "title": title,
        "period": choice.period,
        "year_form": choice.year_form,
        "dates_form": choice.dates_form,
        "custom_period": choice.custom,
        "csv_url": export_url("csv"),
        "xlsx_url": export_url("xlsx"),
        "can_read_all": has_role(request.user, *REPORT_READERS),
        **extra,
    }


# --- pages --------------------------------------------------------------------------------------


@role_required(*IMPACT_READERS)
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "evaluation/reports/index.html",
        {
            "can_read_all": has_role(request.user, *REPORT_READERS),
            "can_see_ledger": has_role(request.user, Role.TRAINING_ADMINISTRATOR),
            "impact_available": True,
        },
    )


def report_response(
    request: HttpRequest,
    choice: PeriodChoice,
    *,
    report: str,
    title: str,
    heading: str,
    tables: Sequence[Table],
    download_name: str,
    chart: Callable[[], dict[str, Any]],
    chart_label: str,
    **extra: Any,
) -> HttpResponse:
    """One report's answer: its tables as a download when a format is asked for, else its page
    (``evaluation/reports/<report>.html``) with the chart built from the same figures."""
    if file_format := export_format(request):
        return download(
            tables,
            name=download_name,
            period=choice.period,
            file_format=file_format,
            heading=heading,
        )
    return render(
        request,
        f"evaluation/reports/{report}.html",
        page_context(
            request,
            choice,
            report=report,
            title=title,
            chart=chart(),
            chart_label=chart_label,
            **extra,
        ),
    )


@role_required(*REPORT_READERS)
def attendance_by_sector_page(request: HttpRequest) -> HttpResponse:
    choice = choose_period(request)
    if export_format(request) and choice.refused:
        return choice.refusal()
    kind = chosen_kind(request)
    report = attendance_by_sector(choice.period, kind)
    return report_response(
        request,
        choice,
        report="attendance_by_sector",
        title="Attendance by sector",
        heading=f"Attendance by sector, {KIND_LABELS[kind].lower()}: {choice.period.label}",
        tables=[report.table],
        download_name=f"attendance-by-sector-{kind}",
        chart=lambda: bar_chart(
            labels=report.sectors,
            datasets=[("Places attended", report.totals_by_sector)],
            horizontal=True,
            axis_title="Places attended",
            whole_numbers=True,
        ),
        chart_label=f"Bar chart of places attended by sector, {choice.period.label}. "
        "The table below gives the same figures.",
        table=report.table,
        kind=kind,
        kind_links=_kind_links(request),
    )


def _kind_links(request: HttpRequest) -> list[tuple[str, str, str]]:
    links = []
    for kind, label in KIND_LABELS.items():
        query = request.GET.copy()
        query.pop("format", None)
        query["kind"] = kind
        links.append((kind, label, "?" + query.urlencode()))
    return links


@role_required(*REPORT_READERS)
def year_summary_page(request: HttpRequest) -> HttpResponse:
    choice = choose_period(request)
    if export_format(request) and choice.refused:
        return choice.refusal()
    summary = year_summary(choice.period)
    rows = summary.by_course.rows
    return report_response(
        request,
        choice,
        report="year_summary",
        title="Year summary",
        heading=f"Year summary: {choice.period.label}",
        tables=summary.tables(),
        download_name="year-summary",
        chart=lambda: bar_chart(
            labels=[row[0] for row in rows],
            datasets=[("Fill rate (%)", [row[8] for row in rows])],
            horizontal=True,
            axis_title="Places booked as a share of capacity (%)",
        ),
        chart_label=f"Bar chart of the fill rate of each course, {choice.period.label}. "
        "The table below gives the same figures.",
        summary=summary,
        events=event_summaries(choice.period),
    )


@role_required(*REPORT_READERS)
def income_page(request: HttpRequest) -> HttpResponse:
    choice = choose_period(request)
    if export_format(request) and choice.refused:
        return choice.refusal()
    income = income_and_cost_recovery(choice.period)
    rows = income.by_sector.rows
    return report_response(
        request,
        choice,
        report="income",
        title="Income and cost recovery",
        heading=f"Income and cost recovery: {choice.period.label}",
        tables=income.tables(),
        download_name="income",
        chart=lambda: bar_chart(
            labels=[row[0] for row in rows],
            datasets=[
                ("Income (£)", [row[5] for row in rows]),
                ("In-kind value (£)", [row[6] for row in rows]),
            ],
            horizontal=True,
            axis_title="Pounds",
        ),
        chart_label=f"Bar chart of income and in-kind value by sector, {choice.period.label}. "
        "The tables below give the same figures.",
        income=income,
        cost_target_url=_cost_target_admin_url(request),
    )


@role_required(*IMPACT_READERS)
def impact_page(request: HttpRequest) -> HttpResponse:
    """Aggregates only, so community members may read it too."""
    choice = choose_period(request)
    if export_format(request) and choice.refused:
        return choice.refusal()
    impact = evaluation_and_impact(choice.period)
    rows = impact.applied_by_course.rows
    return report_response(
        request,
        choice,
        report="impact",
        title="Evaluation and impact",
        heading=f"Evaluation and impact: {choice.period.label}",
        tables=impact.tables(),
        download_name="evaluation-and-impact",
        # Counts, not shares: a share from a handful of responses would mislead.
        chart=lambda: bar_chart(
            labels=[row[0] for row in rows],
            datasets=[
                ("Applied the learning", [row[2] for row in rows]),
                ("Not (yet)", [row[1] - row[2] for row in rows]),
            ],
            horizontal=True,
            stacked=True,
            axis_title="Follow-up responses",
            whole_numbers=True,
        ),
        chart_label="Stacked bar chart of follow-up responses by course: how many applied "
        f"the learning and how many had not, {choice.period.label}. "
        "The tables below give the same figures.",
        impact=impact,
        min_responses=MIN_RESPONSES_FOR_SHARE,
    )


def _cost_target_admin_url(request: HttpRequest) -> str:
    """Where an administrator sets the year's cost (empty if the admin is not there)."""
    if not has_role(request.user, Role.TRAINING_ADMINISTRATOR):
        return ""
    try:
        return reverse("admin:evaluation_trainingcosttarget_add")
    except NoReverseMatch:
        return ""
