"""Reports: numbers against hand-counted places, periods, access, exports and the command."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.models import (
    Attendance,
    Booking,
    BookingStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    NonAttendanceCharge,
    Order,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from bookings.places.booking import AttendeeSpec
from bookings.places.frontdesk import booking_on_behalf_create
from evaluation.models import (
    Answer,
    CallDraw,
    Channel,
    FollowUpCall,
    ImpactCode,
    Invitation,
    Moment,
    Question,
    Response,
    ResponseImpact,
    Survey,
    SurveyKind,
    TrainingCostTarget,
)
from evaluation.reports.attendance import attendance_by_sector
from evaluation.reports.impact import FEW_RESPONSES, evaluation_and_impact
from evaluation.reports.income import income_and_cost_recovery
from evaluation.reports.periods import Period
from evaluation.reports.summary import year_summary
from tests.conftest import make_person, make_session
from training.dates import financial_year_start
from training.models import Agency, Course, CourseKind, SessionStatus, Venue
from training.roles import Role

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
HEADER = (
    "Course title,Number of courses,Central Education,Charities,Children's Social Care,"
    "Children's Centres,District Councils,Early Years Providers,Health,Independent Schools,"
    "Other,Police,Probation,Schools,All"
)
FY_2016 = Period.financial_year(2016)
_emails = itertools.count(1)


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 30) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON)


def place(
    session: Any,
    agency: Agency,
    *,
    attendance: str = Attendance.ATTENDED,
    status: str = BookingStatus.CONFIRMED,
    late: bool = False,
    method: str = PaymentMethod.INVOICE,
    price: str = "0.00",
    in_kind: str = "0.00",
    email: str | None = None,
    confirmed: bool = True,
) -> Booking:
    """One place, written directly: the reports read rows, whichever service wrote them."""
    order = Order.objects.create(agency=agency, payment_method=method)
    return Booking.objects.create(
        order=order,
        session=session,
        attendee_name="Someone",
        attendee_email=email or f"person{next(_emails)}@example.org",
        agency=agency,
        sector=agency.sector,
        price_band=agency.sector.price_band,
        price=Decimal(price),
        in_kind_value=Decimal(in_kind),
        payment_method=method,
        status=status,
        late_cancellation=late,
        attendance=attendance,
        confirmed_at=session.starts_at - dt.timedelta(days=20) if confirmed else None,
    )


@pytest.fixture
def agencies(sectors: dict[str, Any], school: Agency, nursery: Agency) -> dict[str, Agency]:
    return {
        "school": school,
        "nursery": nursery,
        "health": Agency.objects.create(name="Health Visiting", sector=sectors["Health"]),
        "charity": Agency.objects.create(name="Family Trust", sector=sectors["Charities"]),
    }


@pytest.fixture
def story(course: Course, venue: Venue, agencies: dict[str, Agency]) -> dict[str, Any]:
    """Hand-counted places around the 2016/17 financial year (see the expected tables)."""
    school, nursery, health, charity = (
        agencies[k] for k in ("school", "nursery", "health", "charity")
    )
    alpha = Course.objects.create(
        title="alpha course", kind=CourseKind.COURSE, theme="Practice skills", duration_half_days=1
    )
    mapig = Course.objects.create(
        title="MAPIG: Think Family",
        kind=CourseKind.MAPIG,
        theme="Think Family",
        duration_half_days=1,
    )
    conference = Course.objects.create(
        title="Tackling CSE", kind=CourseKind.CONFERENCE, theme="Child sexual exploitation"
    )
    # 00:30 on 1 April (BST) is still 31 March in UTC; 00:15 on 1 April 2017 is 31 March in UTC.
    first_day = make_session(course, venue, starts_at=at(2016, 4, 1, 0, 30), hours=4)
    day_before = make_session(course, venue, starts_at=at(2016, 3, 31, 23, 30), hours=1)
    last_day = make_session(alpha, venue, starts_at=at(2017, 3, 31, 22, 0), hours=1)
    day_after = make_session(course, venue, starts_at=at(2017, 4, 1, 0, 15), hours=4)
    october = make_session(course, venue, starts_at=at(2016, 10, 10))
    all_absent = make_session(course, venue, starts_at=at(2016, 11, 11))
    cancelled = make_session(
        course, venue, starts_at=at(2016, 12, 12), status=SessionStatus.CANCELLED
    )
    mapig_1 = make_session(mapig, venue, starts_at=at(2016, 6, 6))
    mapig_2 = make_session(mapig, venue, starts_at=at(2016, 6, 13))
    conference_day = make_session(conference, venue, starts_at=at(2016, 7, 12), capacity=100)

    regular = "regular@blackdown.example.org"  # comes to a course and a MAPIG
    place(first_day, school, email=regular)
    place(first_day, school)
    place(first_day, nursery)
    place(first_day, school, attendance=Attendance.ABSENT)
    place(first_day, school, attendance="", status=BookingStatus.CANCELLED, late=True)
    place(first_day, health, attendance="", status=BookingStatus.CANCELLED)
    place(last_day, health)
    place(last_day, nursery)
    place(october, school)
    place(october, charity)
    place(october, nursery, attendance=Attendance.ABSENT)
    place(all_absent, school, attendance=Attendance.ABSENT)
    place(all_absent, school, attendance=Attendance.ABSENT)
    for _ in range(3):
        place(cancelled, school)
    for _ in range(5):
        place(day_before, school)
    for _ in range(4):
        place(day_after, school)
    place(mapig_1, school, email=regular)
    place(mapig_1, school)
    place(mapig_1, health)
    place(mapig_1, charity, attendance=Attendance.ABSENT)
    place(mapig_2, charity)
    for agency in (school, school, school, nursery, nursery):
        place(conference_day, agency)
    return {"alpha": alpha, "mapig": mapig, "conference": conference}


def sector_cells(table_row: list[Any], headers: list[str]) -> dict[str, int]:
    return {
        header: value
        for header, value in zip(headers, table_row, strict=True)
        if value and header not in ("Course title", "Number of courses", "All")
    }


# --- attendance by sector -----------------------------------------------------------------------


def test_attendance_by_sector_counts_attended_places_of_the_financial_year(story: Any) -> None:
    report = attendance_by_sector(FY_2016)
    headers = report.table.header_words()
    assert ",".join(headers) == HEADER
    rows = {row[0]: row for row in report.table.rows}
    # Sorted case-insensitively: "alpha course" before "Working Together".
    assert [row[0] for row in report.table.rows] == ["alpha course", "Working Together"]
    assert rows["alpha course"][1] == 1
    assert sector_cells(rows["alpha course"], headers) == {"Early Years Providers": 1, "Health": 1}
    assert rows["alpha course"][-1] == 2
    # 1 April (00:30) and 10 October; not the all-absent session, the cancelled one, or the
    # sessions a quarter of an hour either side of the year.
    assert rows["Working Together"][1] == 2
    assert sector_cells(rows["Working Together"], headers) == {
        "Schools": 3,
        "Early Years Providers": 1,
        "Charities": 1,
    }
    assert rows["Working Together"][-1] == 5
    total = report.table.footer[0]
    assert total[0] == "Total" and total[1] == 3 and total[-1] == 7
    assert sector_cells(total, headers) == {
        "Schools": 3,
        "Early Years Providers": 2,
        "Health": 1,
        "Charities": 1,
    }
    assert report.totals_by_sector == total[2:-1]


def test_attendance_by_sector_for_each_kind(story: Any) -> None:
    mapig = attendance_by_sector(FY_2016, CourseKind.MAPIG).table
    assert len(mapig.rows) == 1
    assert mapig.rows[0][:2] == ["MAPIG: Think Family", 2]
    assert sector_cells(mapig.rows[0], mapig.header_words()) == {
        "Schools": 2,
        "Health": 1,
        "Charities": 1,
    }
    conference = attendance_by_sector(FY_2016, CourseKind.CONFERENCE).table
    assert conference.rows == [["Tackling CSE", 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 5]]


def test_neighbouring_years_get_the_sessions_just_outside(story: Any) -> None:
    before = attendance_by_sector(Period.financial_year(2015)).table
    after = attendance_by_sector(Period.financial_year(2016 + 1)).table
    assert before.rows == [["Working Together", 1, *[0] * 11, 5, 5]]
    assert after.rows == [["Working Together", 1, *[0] * 11, 4, 4]]


def test_any_dates_include_both_days(story: Any) -> None:
    one_day = attendance_by_sector(Period(dt.date(2016, 4, 1), dt.date(2016, 4, 1))).table
    assert one_day.footer[0][1:2] == [1] and one_day.footer[0][-1] == 3
    nothing = attendance_by_sector(Period(dt.date(2016, 4, 2), dt.date(2016, 10, 9))).table
    assert nothing.rows == [] and nothing.footer[0][-1] == 0


# --- year summary ---------------------------------------------------------------------------------


def test_year_summary_gives_the_annual_report_figures(story: Any) -> None:
    summary = year_summary(FY_2016)
    assert summary.courses_delivered == 3
    assert summary.places_attended == 7
    assert (summary.mapig_sessions, summary.mapig_attendees) == (2, 4)
    assert (summary.conferences, summary.conference_attendees) == (1, 5)
    assert summary.distinct_professionals == 15  # 16 places, one person came twice
    assert summary.themes == ["Child sexual exploitation", "Practice skills", "Think Family"]


def test_year_summary_fill_rates_no_shows_and_late_cancellations(story: Any) -> None:
    summary = year_summary(FY_2016)
    by_course = {row[0]: row[1:] for row in summary.by_course.rows}
    # kind, sessions, capacity, booked, attended, no-shows, late cancellations, fill %
    assert by_course["Working Together"] == ["Courses", 3, 60, 9, 5, 4, 1, Decimal("15.0")]
    assert by_course["alpha course"] == ["Courses", 1, 20, 2, 2, 0, 0, Decimal("10.0")]
    assert by_course["MAPIG: Think Family"] == [
        "MAPIG sessions",
        2,
        40,
        5,
        4,
        1,
        0,
        Decimal("12.5"),
    ]
    assert by_course["Tackling CSE"] == ["Conferences", 1, 100, 5, 5, 0, 0, Decimal("5.0")]
    by_agency = {row[0]: row[1:] for row in summary.by_agency.rows}
    # sector, booked, attended, no-shows, late cancellations, no-show %
    assert by_agency["Blackdown Primary School"] == ["Schools", 11, 8, 3, 1, Decimal("27.3")]
    assert by_agency["Family Trust"] == ["Charities", 3, 2, 1, 0, Decimal("33.3")]


# --- income and cost recovery -------------------------------------------------------------------


@pytest.fixture
def money(course: Course, venue: Venue, agencies: dict[str, Agency]) -> None:
    school, nursery, charity = agencies["school"], agencies["nursery"], agencies["charity"]
    mapig = Course.objects.create(title="MAPIG: Transitions", kind=CourseKind.MAPIG)
    april = make_session(course, venue, starts_at=at(2016, 4, 1))
    may = make_session(course, venue, starts_at=at(2016, 5, 9))
    next_year = make_session(course, venue, starts_at=at(2017, 4, 3))
    free = make_session(mapig, venue, starts_at=at(2016, 6, 6))

    place(april, school, price="65.00")
    place(april, school, price="65.00")
    place(april, nursery, method=PaymentMethod.CARD, price="95.00")
    absent = place(april, school, price="65.00", attendance=Attendance.ABSENT)
    NonAttendanceCharge.objects.create(booking=absent, amount=Decimal("90.00"))
    place(april, school, price="65.00", attendance="", status=BookingStatus.CANCELLED, late=True)
    place(may, school, method=PaymentMethod.SUBSIDISED, in_kind="65.00")
    place(may, charity, method=PaymentMethod.CARD, price="45.00")
    refunded = place(
        may,
        charity,
        method=PaymentMethod.CARD,
        price="45.00",
        attendance="",
        status=BookingStatus.CANCELLED,
    )
    payment = Payment.objects.create(
        order=refunded.order,
        gateway="development",
        amount=Decimal("45.00"),
        status=PaymentStatus.SUCCEEDED,
    )
    Refund.objects.create(
        payment=payment,
        booking=refunded,
        amount=Decimal("45.00"),
        reason="Cancelled",
        status=RefundStatus.SUCCEEDED,
    )
    waived = place(
        may, nursery, method=PaymentMethod.CARD, price="95.00", attendance=Attendance.ABSENT
    )
    NonAttendanceCharge.objects.create(
        booking=waived, amount=Decimal("95.00"), waived_at=at(2016, 5, 20), waive_reason="Ill"
    )
    credited = place(may, school, price="65.00", attendance="", status=BookingStatus.CANCELLED)
    invoice = Invoice.objects.create(
        number="INV-1",
        order=credited.order,
        agency=school,
        billing_name="School",
        issued_on=dt.date(2016, 4, 1),
        due_on=dt.date(2016, 5, 1),
    )
    InvoiceLine.objects.create(
        invoice=invoice, booking=credited, description="Place", amount=Decimal("65.00")
    )
    note = Invoice.objects.create(
        kind=InvoiceKind.CREDIT_NOTE,
        number="CN-1",
        credits=invoice,
        order=credited.order,
        agency=school,
        billing_name="School",
        issued_on=dt.date(2016, 4, 5),
        due_on=dt.date(2016, 4, 5),
    )
    InvoiceLine.objects.create(
        invoice=note, booking=credited, description="Credit", amount=Decimal("-65.00")
    )
    # Never confirmed (a card hold that ran out), another year, and free places.
    place(
        may,
        nursery,
        method=PaymentMethod.CARD,
        price="95.00",
        attendance="",
        status=BookingStatus.EXPIRED,
        confirmed=False,
    )
    place(next_year, school, price="65.00")
    place(free, school, method=PaymentMethod.FREE)
    place(free, charity, method=PaymentMethod.FREE)


def test_income_by_sector_and_method_with_refunds_charges_and_in_kind(money: None) -> None:
    income = income_and_cost_recovery(FY_2016)
    by_sector = {row[0]: row[1:] for row in income.by_sector.rows}
    # places, fees, refunded or credited, charges, income, in-kind value
    assert by_sector["Schools"] == [
        6,
        Decimal("325.00"),
        Decimal("65.00"),
        Decimal("90.00"),
        Decimal("350.00"),
        Decimal("65.00"),
    ]
    assert by_sector["Early Years Providers"] == [
        2,
        Decimal("190.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("190.00"),
        Decimal("0.00"),
    ]
    assert by_sector["Charities"] == [
        2,
        Decimal("90.00"),
        Decimal("45.00"),
        Decimal("0.00"),
        Decimal("45.00"),
        Decimal("0.00"),
    ]
    assert by_sector["Police"][1:] == [Decimal("0.00")] * 5
    by_method = {row[0]: row[1:] for row in income.by_method.rows}
    # places, fees, refunded or credited, income, in-kind value
    assert by_method["Card"] == [
        3,
        Decimal("280.00"),
        Decimal("45.00"),
        Decimal("235.00"),
        Decimal("0.00"),
    ]
    assert by_method["Invoice"] == [
        4,
        Decimal("325.00"),
        Decimal("65.00"),
        Decimal("260.00"),
        Decimal("0.00"),
    ]
    assert by_method["Free"][:2] == [2, Decimal("0.00")]
    assert by_method["Subsidised (in kind)"] == [
        1,
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("65.00"),
    ]
    # The charge is for a no-show place counted above: money, not another place, so the two
    # tables' places totals agree.
    assert by_method["Non-attendance charges"][:2] == [None, Decimal("90.00")]
    assert income.by_method.footer[0][1] == income.by_sector.footer[0][1] == 10
    assert income.by_method.footer[0][4] == income.income == Decimal("585.00")
    assert (income.fees, income.refunds, income.charges, income.in_kind) == (
        Decimal("605.00"),
        Decimal("110.00"),
        Decimal("90.00"),
        Decimal("65.00"),
    )


def test_cost_recovery_against_the_years_target(money: None) -> None:
    assert income_and_cost_recovery(FY_2016).recovery_percent is None
    TrainingCostTarget.objects.create(
        financial_year_start=dt.date(2016, 4, 1),
        team_cost=Decimal("1170.00"),
        recovery_target_percent=50,
    )
    income = income_and_cost_recovery(FY_2016)
    assert income.recovery_percent == Decimal("50.0")
    assert income.target_met is True
    TrainingCostTarget.objects.filter().update(recovery_target_percent=100)
    assert income_and_cost_recovery(FY_2016).target_met is False
    # A range that is not a whole financial year is not compared with a yearly cost.
    part = income_and_cost_recovery(Period(dt.date(2016, 4, 1), dt.date(2016, 4, 30)))
    assert part.target is None and part.income == Decimal("445.00")


def test_cost_target_must_start_on_the_first_of_april() -> None:

    target = TrainingCostTarget(
        financial_year_start=dt.date(2016, 1, 1), team_cost=Decimal("1000.00")
    )
    with pytest.raises(ValidationError):
        target.full_clean()


# --- pages ----------------------------------------------------------------------------------------


@pytest.fixture
def board_viewer(db: Any) -> Any:
    return make_person("chair@example.org", agency=None, roles=(Role.BOARD_VIEWER,))


REPORT_PAGES = ("reports:attendance_by_sector", "reports:year_summary", "reports:income")
ALL_PAGES = (*REPORT_PAGES, "reports:impact")


@pytest.mark.parametrize("name", ALL_PAGES)
def test_board_viewers_and_administrators_read_every_report(
    client: Any, board_viewer: Any, training_admin: Any, story: Any, name: str
) -> None:
    for person in (board_viewer, training_admin):
        client.force_login(person)
        response = client.get(reverse(name), {"year": 2016})
        assert response.status_code == 200
        assert response.context["period"] == FY_2016
        assert b'id="report-chart"' in response.content
        assert b"chartjs/chart.umd.js" in response.content
        assert (Path(settings.BASE_DIR) / "node_modules/chart.js/dist/chart.umd.js").exists()


@pytest.mark.parametrize("name", REPORT_PAGES)
def test_community_members_and_practitioners_are_refused(
    client: Any, community_member: Any, practitioner: Any, name: str
) -> None:
    for person in (community_member, practitioner):
        client.force_login(person)
        assert client.get(reverse(name)).status_code == 403
        assert client.get(reverse(name), {"format": "csv"}).status_code == 403
    client.logout()
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_community_members_read_only_the_impact_report(
    client: Any, community_member: Any, practitioner: Any
) -> None:
    client.force_login(community_member)
    response = client.get(reverse("reports:index"))
    assert response.status_code == 200
    for name in REPORT_PAGES:
        assert reverse(name).encode() not in response.content
    assert reverse("reports:impact").encode() in response.content
    assert client.get(reverse("reports:impact")).status_code == 200
    assert client.get(reverse("reports:impact"), {"format": "xlsx"}).status_code == 200
    client.force_login(practitioner)
    assert client.get(reverse("reports:index")).status_code == 403
    assert client.get(reverse("reports:impact")).status_code == 403


def test_attendance_page_shows_the_table_and_chart_data(
    client: Any, board_viewer: Any, story: Any
) -> None:
    client.force_login(board_viewer)
    response = client.get(reverse("reports:attendance_by_sector"), {"year": 2016, "kind": "mapig"})
    assert response.context["kind"] == "mapig"
    chart = response.context["chart"]
    assert chart["data"]["labels"][-1] == "Schools"
    assert chart["data"]["datasets"][0]["data"][-1] == 2.0
    assert "MAPIG: Think Family" in response.content.decode()


def test_the_default_period_is_this_financial_year_and_dates_can_be_chosen(
    client: Any, board_viewer: Any, story: Any
) -> None:

    client.force_login(board_viewer)
    url = reverse("reports:attendance_by_sector")
    this_year = financial_year_start(timezone.localdate()).year
    assert client.get(url).context["period"] == Period.financial_year(this_year)
    chosen = client.get(url, {"start": "2016-04-01", "end": "2016-04-01"})
    assert chosen.context["period"] == Period(dt.date(2016, 4, 1), dt.date(2016, 4, 1))
    assert chosen.context["table"].footer[0][-1] == 3
    wrong = client.get(url, {"start": "2016-05-01", "end": "2016-04-01", "year": 2016})
    assert wrong.status_code == 200
    assert "The last day must be on or after the first day." in wrong.content.decode()
    assert wrong.context["period"] == FY_2016


def add_more_of_everything(course: Course, venue: Venue, agencies: dict[str, Agency]) -> None:
    for index in range(6):
        other = Course.objects.create(
            title=f"Extra course {index}", kind=CourseKind.COURSE, theme=f"Theme {index}"
        )
        agency = Agency.objects.create(
            name=f"Extra agency {index}", sector=agencies["health"].sector
        )
        session = make_session(other, venue, starts_at=at(2016, 9, 1 + index))
        for _ in range(4):
            place(session, agency, price="10.00")
        place(session, agency, attendance=Attendance.ABSENT, price="10.00")
        NonAttendanceCharge.objects.create(
            booking=place(session, agency, attendance=Attendance.ABSENT), amount=Decimal("50")
        )
        for used in (True, True, False, True, True):
            follow_up(
                place(session, agency),
                used=used,
                code=ImpactCode.SPECIFIC_ACTION,
                quote=f"Extra example {index}",
            )
        evaluate(place(session, agency), usefulness=5, delivery=4, before=1, after=5)


@pytest.mark.parametrize("name", ALL_PAGES)
def test_page_queries_do_not_grow_with_the_data(
    client: Any,
    board_viewer: Any,
    story: Any,
    money: None,
    impact: None,
    course: Course,
    venue: Venue,
    agencies: dict[str, Agency],
    name: str,
) -> None:
    TrainingCostTarget.objects.create(
        financial_year_start=dt.date(2016, 4, 1), team_cost=Decimal("1000.00")
    )
    client.force_login(board_viewer)
    client.get(reverse(name), {"year": 2016})  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as small:
        before = client.get(reverse(name), {"year": 2016})
    add_more_of_everything(course, venue, agencies)
    with CaptureQueriesContext(connection) as large:
        after = client.get(reverse(name), {"year": 2016})
    assert before.status_code == after.status_code == 200
    assert after.content != before.content  # the new places are in the report
    # 15: the impact report's paired confidence, knowledge checks and line managers' tables
    # added one query each (issue 14, part 4).
    assert len(large.captured_queries) == len(small.captured_queries) <= 15


# --- exports ------------------------------------------------------------------------------------

DANGEROUS = [
    '=HYPERLINK("http://evil.example")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\tTabbed",
    "\rReturned",
]


@pytest.fixture
def dangerous(venue: Venue, sectors: dict[str, Any]) -> None:
    for index, name in enumerate(DANGEROUS):
        course = Course.objects.create(title=name, kind=CourseKind.COURSE)
        agency = Agency.objects.create(name=f"{name} agency {index}", sector=sectors["Other"])
        place(make_session(course, venue, starts_at=at(2016, 5, 2 + index)), agency)


def first_cells(rows: list[list[Any]]) -> list[Any]:
    return [row[0] for row in rows if row]


@pytest.mark.parametrize("name", ALL_PAGES)
def test_csv_and_excel_downloads_neutralise_formulas(
    client: Any, board_viewer: Any, dangerous: None, name: str
) -> None:
    client.force_login(board_viewer)
    response = client.get(reverse(name), {"year": 2016, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    assert "2016-04-01-to-2017-03-31.csv" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]

    response = client.get(reverse(name), {"year": 2016, "format": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    values = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    texts = [cell.value for cell in values if isinstance(cell.value, str)]
    assert texts, "the workbook has text cells"
    assert not [cell for cell in values if cell.data_type == "f"]
    assert not [text for text in texts if text[:1] in ("=", "+", "-", "@", "\t", "\r")]
    if name in ("reports:attendance_by_sector", "reports:year_summary"):
        # Course titles or agency names: every dangerous name is there, made harmless.
        for dangerous_name in DANGEROUS:
            # The stdlib XML parser reads a stored carriage return back as a line feed; lxml
            # (which openpyxl uses when it is installed) keeps it.
            stored = ("'" + dangerous_name, "'" + dangerous_name.replace("\r", "\n"))
            assert any(text.startswith(stored) for text in texts), dangerous_name


# --- the command ----------------------------------------------------------------------------------


def run_report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", "attendance-by-sector", *args, stdout=out)
    return out.getvalue()


def test_command_prints_appendix_e_shape_for_any_dates(story: Any) -> None:
    output = run_report("--from", "2016-04-01", "--to", "2017-03-31")
    assert output == (
        f"{HEADER}\n"
        "alpha course,1,0,0,0,0,0,1,1,0,0,0,0,0,2\n"
        "Working Together,2,0,1,0,0,0,1,0,0,0,0,0,3,5\n"
        "Total,3,0,1,0,0,0,2,1,0,0,0,0,3,7\n"
    )
    mapig = run_report("--from", "2016-06-06", "--to", "2016-06-06", "--kind", "mapig")
    assert mapig.splitlines()[1:] == [
        "MAPIG: Think Family,1,0,0,0,0,0,0,1,0,0,0,0,2,3",
        "Total,1,0,0,0,0,0,0,1,0,0,0,0,2,3",
    ]


def test_command_writes_excel_and_refuses_bad_dates(story: Any, tmp_path: Path) -> None:
    path = tmp_path / "appendix-e.xlsx"
    run_report(
        "--from", "2016-04-01", "--to", "2017-03-31", "--format", "xlsx", "--output", str(path)
    )
    sheet = openpyxl.load_workbook(path).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert ",".join(rows[1]) == HEADER
    assert rows[2][:2] == ["alpha course", 1] and rows[-1][0] == "Total" and rows[-1][-1] == 7
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run_report("--from", "1/4/2016", "--to", "2017-03-31")
    with pytest.raises(CommandError, match="before"):
        run_report("--from", "2017-03-31", "--to", "2016-04-01")


# --- evaluation and impact ------------------------------------------------------------------------


def questions(kind: str) -> dict[str, Question]:
    return {q.key: q for q in Question.objects.filter(survey__kind=kind)}


def _response(booking: Booking, kind: str, *, channel: str = Channel.ONLINE) -> Response:
    survey = Survey.objects.get(kind=kind)
    invitation = call = None
    sent = booking.session.starts_at + dt.timedelta(days=1)
    if channel == Channel.ONLINE:
        invitation = Invitation.objects.create(
            booking=booking,
            kind=kind,
            survey=survey,
            send_after=sent,
            sent_at=sent,
            expires_at=sent + dt.timedelta(days=30),
            responded_at=sent + dt.timedelta(hours=2),
        )
    else:
        month = booking.session.starts_at.date().replace(day=1)
        draw = CallDraw.objects.create(month=month, size=1)
        call = FollowUpCall.objects.create(
            draw=draw,
            month=month,
            booking=booking,
            sector=booking.sector,
            phone="01823 000000",
            status="completed",
        )
    return Response.objects.create(
        survey=survey,
        booking=booking,
        invitation=invitation,
        call=call,
        channel=channel,
        course=booking.session.course,
        sector=booking.sector,
        session_date=booking.session.starts_at.astimezone(LONDON).date(),
    )


def follow_up(
    booking: Booking,
    *,
    used: bool,
    channel: str = Channel.ONLINE,
    code: str = "",
    quote: str = "",
    consent: bool = True,
    good: bool = True,
) -> Response:
    kind = SurveyKind.FOLLOW_UP if channel == Channel.ONLINE else SurveyKind.CALL_SCRIPT
    response = _response(booking, kind, channel=channel)
    Answer.objects.create(response=response, question=questions(kind)["used_learning"], yes_no=used)
    if code:
        ResponseImpact.objects.create(response=response, code=code)
    if quote:
        Response.objects.filter(pk=response.pk).update(
            quote=quote, quote_consent=consent, good_practice=good
        )
    return response


def evaluate(
    booking: Booking, *, usefulness: int, delivery: int, before: int, after: int
) -> Response:
    response = _response(booking, SurveyKind.EVALUATION)
    asked = questions(SurveyKind.EVALUATION)
    Answer.objects.create(response=response, question=asked["usefulness"], scale=usefulness)
    Answer.objects.create(response=response, question=asked["delivery"], scale=delivery)
    outcome = booking.session.course.outcomes.first()
    for moment, value in ((Moment.BEFORE, before), (Moment.AFTER, after)):
        Answer.objects.create(
            response=response,
            question=asked["confidence"],
            outcome=outcome,
            moment=moment,
            scale=value,
        )
    return response


@pytest.fixture
def impact(course: Course, venue: Venue, agencies: dict[str, Agency]) -> None:
    """Hand-counted evaluations and follow-ups for 2016/17 (and one just before it)."""
    school, nursery, health = agencies["school"], agencies["nursery"], agencies["health"]
    alpha = Course.objects.create(title="Alpha impact", kind=CourseKind.COURSE)
    april = make_session(course, venue, starts_at=at(2016, 4, 1, 0, 30), hours=4)
    march = make_session(alpha, venue, starts_at=at(2017, 3, 31))
    before = make_session(course, venue, starts_at=at(2016, 3, 31, 23, 30), hours=1)

    first = follow_up(
        place(april, school),
        used=True,
        code=ImpactCode.JOINT_WORKING,
        quote="We held a joint meeting the same week.",
    )
    ResponseImpact.objects.create(response=first, code=ImpactCode.VOICE_OF_CHILD)
    follow_up(
        place(april, school),
        used=True,
        code=ImpactCode.JOINT_WORKING,
        quote="Not for quoting.",
        consent=False,
    )
    follow_up(place(april, school), used=True, quote="Not flagged.", good=False)
    follow_up(place(april, school), used=False)
    follow_up(place(april, school), used=True)
    follow_up(
        place(april, school),
        used=True,
        channel=Channel.PHONE,
        quote="Phoned the social worker before the weekend.",
    )
    unanswered = place(april, school)
    Invitation.objects.create(
        booking=unanswered,
        kind="follow_up",
        survey=Survey.objects.get(kind="follow_up"),
        send_after=at(2016, 7, 1),
        sent_at=at(2016, 7, 1),
    )
    follow_up(place(march, health), used=True)
    follow_up(place(march, nursery), used=False)
    follow_up(
        place(before, school), used=False, code=ImpactCode.NO_CHANGE, quote="From the year before."
    )
    for usefulness, delivery, before_, after_ in ((4, 5, 2, 4), (5, 5, 3, 4), (3, 4, 2, 5)):
        evaluate(
            place(april, nursery),
            usefulness=usefulness,
            delivery=delivery,
            before=before_,
            after=after_,
        )
    Invitation.objects.create(
        booking=place(april, nursery),
        kind="evaluation",
        survey=Survey.objects.get(kind="evaluation"),
        send_after=at(2016, 4, 1, 18),
        sent_at=at(2016, 4, 1, 18),
    )


def test_applied_learning_by_course_and_sector_with_the_counts_behind_each_share(
    impact: None,
) -> None:
    report = evaluation_and_impact(FY_2016)
    by_course = {row[0]: row[1:] for row in report.applied_by_course.rows}
    # responses, applied, share, note: 5 online and 1 call for Working Together.
    assert by_course["Working Together"] == [6, 5, Decimal("83.3"), ""]
    assert by_course["Alpha impact"] == [2, 1, None, FEW_RESPONSES]
    by_sector = {row[0]: row[1:] for row in report.applied_by_sector.rows}
    assert by_sector == {
        "Early Years Providers": [1, 0, None, FEW_RESPONSES],
        "Health": [1, 1, None, FEW_RESPONSES],
        "Schools": [6, 5, Decimal("83.3"), ""],
    }


def test_evaluation_scores_confidence_response_rates_codes_and_examples(impact: None) -> None:
    report = evaluation_and_impact(FY_2016)
    assert report.scores.rows == [
        ["Working Together", "How useful was the training for your work?", 3, Decimal("4.00")],
        ["Working Together", "How well was the training delivered?", 3, Decimal("4.67")],
    ]
    assert report.confidence.rows == [
        ["Working Together", 3, Decimal("2.33"), Decimal("4.33"), Decimal("2.00")]
    ]
    responses = {row[0]: row[1:] for row in report.responses.rows}
    # evaluations sent and answered; follow-ups sent and answered online; rate; calls
    assert responses["Working Together"] == [4, 3, 6, 5, Decimal("83.3"), 1]
    assert responses["Alpha impact"] == [0, 0, 2, 2, Decimal("100.0"), 0]
    assert report.impact_codes.rows == [["Joint working", 2], ["Voice of the child heard", 1]]
    # Flagged and consented only; never the year before's.
    examples = {row[0]: row[1:] for row in report.examples.rows}
    assert examples == {
        "We held a joint meeting the same week.": [
            "Working Together",
            "Schools",
            "April 2016",
            "Online survey",
        ],
        "Phoned the social worker before the weekend.": [
            "Working Together",
            "Schools",
            "April 2016",
            "Phone call",
        ],
    }


def test_administrator_sets_a_years_cost_once_in_the_admin_form() -> None:
    from evaluation.reports.admin import TrainingCostTargetForm

    form = TrainingCostTargetForm(
        data={
            "financial_year_start": "2016-04-01",
            "team_cost": "52000.00",
            "recovery_target_percent": "50",
        }
    )
    assert form.is_valid(), form.errors
    target = form.save()
    assert target.financial_year_start == dt.date(2016, 4, 1)
    assert target.year_label == "2016/17" and target.target_income == Decimal("26000.00")
    again = TrainingCostTargetForm(
        data={
            "financial_year_start": "2016-04-01",
            "team_cost": "1.00",
            "recovery_target_percent": "100",
        }
    )
    assert not again.is_valid() and "financial_year_start" in again.errors
    assert not TrainingCostTargetForm(
        data={
            "financial_year_start": "2016-01-01",
            "team_cost": "1.00",
            "recovery_target_percent": "100",
        }
    ).is_valid()


def test_income_page_sends_an_administrator_to_set_a_missing_years_cost(
    client: Any, training_admin: Any, board_viewer: Any, admin_permissions: None
) -> None:
    client.force_login(training_admin)
    page = client.get(reverse("reports:income"), {"year": 2016}).content.decode()
    add_url = reverse("admin:evaluation_trainingcosttarget_add")
    assert "No training-team cost has been set" in page and add_url in page
    assert client.get(add_url).status_code == 200
    client.force_login(board_viewer)
    assert add_url not in client.get(reverse("reports:income"), {"year": 2016}).content.decode()


def test_places_the_administrator_booked_at_no_charge_have_their_own_method_row(
    course: Course, venue: Venue, school: Agency, training_admin: Any
) -> None:
    session = make_session(course, venue, starts_at=at(2016, 9, 12))
    booking_on_behalf_create(
        session=session,
        attendee=AttendeeSpec(name="Sam Speaker", email="sam@example.org"),
        agency=school,
        payment_method=PaymentMethod.NO_CHARGE,
        no_charge_reason="Speaker at the session",
        actor=training_admin,
        now=at(2016, 9, 1),
    )
    place(session, school, price="65.00")
    income = income_and_cost_recovery(FY_2016)
    by_method = {row[0]: row[1:] for row in income.by_method.rows}
    # places, fees, refunded or credited, income, in-kind value
    assert by_method["No charge"] == [1] + [Decimal("0.00")] * 4
    assert by_method["Invoice"][:2] == [1, Decimal("65.00")]
    assert income.by_method.footer[0][1] == income.by_sector.footer[0][1] == 2
    # Every way of paying has its row, so no place can go missing from this table.
    assert {str(method.label) for method in PaymentMethod} <= set(by_method)
