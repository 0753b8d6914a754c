"""Reports a board member can read: page words in downloads, pence shown alike, places totals
that agree, short headings with their full names, and no year that has not begun."""

# The hand-counted stories are test_reports' fixtures, imported here: tests name them as
# arguments, which ruff reads as redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from evaluation.models import TrainingCostTarget
from evaluation.reports.attendance import attendance_by_sector, sector_abbreviation
from evaluation.reports.income import income_and_cost_recovery
from evaluation.reports.periods import financial_years_with_sessions
from tests.conftest import make_session
from tests.evaluation.test_reports import (  # noqa: F401 (fixtures)
    FY_2016,
    REPORT_PAGES,
    agencies,
    at,
    board_viewer,
    impact,
    money,
    story,
)
from training.models import Course, Venue

pytestmark = pytest.mark.django_db

ALL_PAGES = (*REPORT_PAGES, "reports:impact")
FIELD_NAME = re.compile(r"^[a-z]+(_[a-z]+)+$")


@pytest.mark.parametrize("name", ALL_PAGES)
def test_every_downloads_headings_are_the_words_on_the_page(
    client: Any, board_viewer: Any, story: Any, money: None, impact: None, name: str
) -> None:
    client.force_login(board_viewer)
    page = client.get(reverse(name), {"year": 2016}).content.decode()
    text = client.get(reverse(name), {"year": 2016, "format": "csv"}).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    # Several tables: each a title line, then its headings. One table: headings first.
    titled = [(row[0], rows[index + 1]) for index, row in enumerate(rows[:-1]) if len(row) == 1]
    headings = [heading for _title, heading in titled] or [rows[0]]
    assert headings
    workbook = openpyxl.load_workbook(
        io.BytesIO(client.get(reverse(name), {"year": 2016, "format": "xlsx"}).content)
    )
    for header_row in headings:
        for heading in header_row:
            assert not FIELD_NAME.match(heading), heading
    # Tables the page shows as tables: the same headings there (abbreviated ones in full for
    # screen readers, so the words are in the page either way).
    shown = [heading for title, heading in titled if f">{title}</caption>" in page]
    if not titled:
        shown = headings
    assert shown
    for header_row in shown:
        for heading in header_row:
            assert heading.replace("'", "&#x27;") in page, heading
    for sheet, header_row in zip(workbook.worksheets, headings, strict=True):
        values = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert header_row in [[str(v) for v in row if v is not None] for row in values]


def test_money_reads_as_the_pounds_filter_writes_it_with_pence(
    client: Any, board_viewer: Any, money: None
) -> None:
    client.force_login(board_viewer)
    response = client.get(reverse("reports:income"), {"year": 2016})
    by_sector = response.context["income"].by_sector
    total = by_sector.display_footer()[0]
    assert [cell.text for cell in total[2:]] == [
        "£605.00",
        "£110.00",
        "£90.00",
        "£585.00",
        "£65.00",
    ]
    assert total[1].text == "10"  # places are a count, not money
    page = response.content.decode()
    assert "£585.00" in page
    assert "585.00<" not in page.replace("£585.00<", "")


def test_income_reports_two_places_totals_agree_and_the_page_says_why_charges_add_none(
    client: Any, board_viewer: Any, money: None
) -> None:
    client.force_login(board_viewer)
    response = client.get(reverse("reports:income"), {"year": 2016})
    income = response.context["income"]
    assert income.by_sector.footer[0][1] == income.by_method.footer[0][1]
    assert "its row adds money but no places" in response.content.decode()


def test_cost_recovery_keeps_amounts_in_pounds_and_shares_in_their_own_column(
    money: None,
) -> None:
    TrainingCostTarget.objects.create(
        financial_year_start=dt.date(2016, 4, 1),
        team_cost=Decimal("1170.00"),
        recovery_target_percent=50,
    )
    table = income_and_cost_recovery(FY_2016).recovery_table()
    assert table.header_words() == ["Measure", "Amount (£)", "Share (%)"]
    shown = {row[0].text: (row[1].text, row[2].text) for row in table.display_rows()}
    assert shown["Income"] == ("£585.00", "–")
    assert shown["Training team's cost"] == ("£1,170.00", "–")
    assert shown["Income as a share of the team's cost"] == ("–", "50.0")


def test_appendix_e_abbreviates_long_sector_names_and_keeps_the_full_words(story: Any) -> None:
    table = attendance_by_sector(FY_2016).table
    cells = {cell.full or cell.text: cell for cell in table.header_cells()}
    assert cells["Children's Social Care"].text == "CSC"
    assert cells["Early Years Providers"].text == "EYP"
    assert cells["Schools"].text == "Schools" and not cells["Schools"].full
    assert cells["Number of courses"].text == "Courses"
    assert sector_abbreviation("Health") == "Health"
    # Downloads and printed documents use the full words.
    assert "Children's Social Care" in table.header_words()


def test_the_year_menu_offers_no_year_that_has_not_begun(
    client: Any, training_admin: Any, course: Course, venue: Venue, clock: Any
) -> None:
    # Frozen on 2 June 2025: 2025/26 has begun; a session booked for 2027 adds no year.
    make_session(course, venue, starts_at=at(2015, 6, 1))
    make_session(course, venue, starts_at=at(2027, 6, 1))
    assert financial_years_with_sessions(timezone.localdate()) == list(range(2025, 2014, -1))
    client.force_login(training_admin)
    for name in (*ALL_PAGES, "reports:annual_pack", "reports:in_kind"):
        page = client.get(reverse(name)).content.decode()
        assert "2025/26" in page, name
        assert "2026/27" not in page and "2027/28" not in page, name
