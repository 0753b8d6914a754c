"""A board member reads the reports in a browser; a community member is kept out of them."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.core.management import call_command
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_person, make_session
from tests.e2e.conftest import assert_accessible, log_in, screenshot
from tests.evaluation.test_reports import HEADER, place
from training.apps import grant_administrator_permissions
from training.models import Agency, Course, CourseKind, Venue
from training.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONDON = ZoneInfo("Europe/London")
REPORTS = (
    ("/reports/attendance-by-sector/", "Attendance by sector", "attendance-table"),
    ("/reports/year-summary/", "Year summary", "by-course-table"),
    ("/reports/income/", "Income and cost recovery", "income-by-sector-table"),
)
IMPACT = ("/reports/evaluation-and-impact/", "Evaluation and impact", "applied-by-course-table")


@pytest.fixture(autouse=True)
def reference_data(transactional_db: None) -> None:
    """Put back the sectors, price bands and role groups (the flush after each browser test
    empties every table, and serialized_rollback cannot restore them under Playwright)."""
    seed = importlib.import_module("training.migrations.0002_sectors_bands_roles").seed
    seed(django_apps, None)
    grant_administrator_permissions(sender=None)
    cache.clear()


@pytest.fixture
def year_2016(course: Course, venue: Venue, school: Agency, nursery: Agency) -> None:
    mapig = Course.objects.create(
        title="MAPIG: Think Family", kind=CourseKind.MAPIG, theme="Think Family"
    )
    april = make_session(course, venue, starts_at=dt.datetime(2016, 4, 12, 9, 30, tzinfo=LONDON))
    june = make_session(mapig, venue, starts_at=dt.datetime(2016, 6, 6, 9, 30, tzinfo=LONDON))
    for agency in (school, school, nursery):
        place(april, agency, price="65.00")
    place(april, school, attendance="absent", price="65.00")
    place(june, school)


@pytest.fixture
def board_member(db: Any) -> Any:
    return make_person(
        "chair@example.org",
        agency=None,
        roles=(Role.BOARD_VIEWER,),
        first_name="Ruth",
        last_name="Calder",
    )


def chart_is_drawn(page: Any) -> bool:
    return page.evaluate(
        "() => { const chart = window.Chart && Chart.getChart('report-chart');"
        " return !!chart && chart.data.datasets.length > 0; }"
    )


def test_board_member_reads_each_report_for_a_chosen_year_and_downloads_it(
    page: Any, board_member: Any, year_2016: None, tmp_path: Path
) -> None:
    log_in(page, board_member.email, PASSWORD)
    page.goto("/reports/")
    for _url, title, _table in (*REPORTS, IMPACT):
        expect(page.get_by_role("link", name=title)).to_be_visible()
    for url, title, table in (*REPORTS, IMPACT):
        page.goto(url)
        expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
        page.get_by_label("Financial year", exact=True).select_option(label="2016/17")
        page.get_by_role("button", name="Show this year").click()
        expect(page.get_by_test_id("period")).to_have_text("Financial year 2016/17")
        expect(page.get_by_test_id(table)).to_be_visible()
        expect(page.get_by_test_id("report-chart")).to_be_visible()
        assert chart_is_drawn(page), f"{title}: Chart.js did not draw the chart"
        assert_accessible(page, title)
        screenshot(page, f"report-{table}")

        with page.expect_download() as csv_download:
            page.get_by_role("link", name=re.compile(r"^CSV")).click()
        csv_path = tmp_path / csv_download.value.suggested_filename
        csv_download.value.save_as(csv_path)
        assert csv_path.name.endswith("2016-04-01-to-2017-03-31.csv")
        rows = list(csv.reader(csv_path.read_text(encoding="utf-8-sig").splitlines()))
        assert rows, f"{title}: empty CSV"

        with page.expect_download() as xlsx_download:
            page.get_by_role("link", name=re.compile(r"^Excel")).click()
        xlsx_path = tmp_path / xlsx_download.value.suggested_filename
        xlsx_download.value.save_as(xlsx_path)
        workbook = openpyxl.load_workbook(xlsx_path)
        assert workbook.worksheets[0]["A1"].value.endswith("2016/17")

        if table == "attendance-table":
            assert ",".join(rows[0]) == HEADER
            assert rows[1][:2] == ["Working Together", "1"] and rows[1][-1] == "3"
            expect(page.get_by_test_id(table)).to_contain_text("Working Together")
            page.get_by_role("link", name="MAPIG sessions").click()
            expect(page.get_by_test_id(table)).to_contain_text("MAPIG: Think Family")
            assert chart_is_drawn(page)


def test_community_member_reads_only_the_impact_report(page: Any, year_2016: None) -> None:
    member = make_person("volunteer@example.org", agency=None, roles=(Role.COMMUNITY_MEMBER,))
    log_in(page, member.email, PASSWORD)
    for url, _title, _table in REPORTS:
        response = page.goto(url)
        assert response is not None and response.status == 403, url
        response = page.goto(url + "?year=2016&format=csv")
        assert response is not None and response.status == 403, url
    response = page.goto("/reports/")
    assert response is not None and response.status == 200
    for _url, title, _table in REPORTS:
        expect(page.get_by_role("link", name=title)).to_have_count(0)
    page.get_by_role("link", name="Evaluation and impact").click()
    expect(page.get_by_role("heading", level=1, name="Evaluation and impact")).to_be_visible()
    page.get_by_label("Financial year", exact=True).select_option(label="2016/17")
    page.get_by_role("button", name="Show this year").click()
    expect(page.get_by_test_id("period")).to_have_text("Financial year 2016/17")
    assert chart_is_drawn(page)
    assert_accessible(page, "Evaluation and impact (community member)")


def test_appendix_e_shows_every_sector_on_a_1280_px_screen_without_scrolling_sideways(
    page: Any, board_member: Any
) -> None:
    call_command("demo", "--quiet-logins", stdout=io.StringIO())
    log_in(page, board_member.email, PASSWORD)
    page.goto("/reports/attendance-by-sector/?year=2016")
    table = page.get_by_test_id("attendance-table")
    expect(table).to_contain_text("Total")
    widths = table.evaluate(
        "t => ({table: t.scrollWidth, box: t.parentElement.clientWidth,"
        " page: document.documentElement.scrollWidth, screen: window.innerWidth})"
    )
    assert widths["table"] <= widths["box"], widths
    assert widths["page"] <= widths["screen"], widths
    # Schools and All are on screen; short headings carry their full names.
    box = table.locator("xpath=..").bounding_box()
    for heading in ("Schools", "All"):
        cell = table.get_by_role("columnheader", name=heading, exact=True)
        cell.scroll_into_view_if_needed()
        expect(cell).to_be_in_viewport()
        edge = cell.bounding_box()
        assert box is not None and edge is not None
        assert edge["x"] + edge["width"] <= box["x"] + box["width"] <= 1280, heading
    expect(table.locator('abbr[title="Children\'s Social Care"]')).to_have_text("CSC")
    expect(
        table.get_by_role("columnheader", name="Children's Social Care", exact=True)
    ).to_have_count(1)
    expect(page.get_by_test_id("attendance-table-key")).to_contain_text("EYP Early Years Providers")
    assert_accessible(page, "Appendix E at 1280 px")
    screenshot(page, "appendix-e-1280")


def test_board_member_reads_the_child_l_review_report_and_downloads_it_for_the_action_plan(
    page: Any, board_member: Any, tmp_path: Path
) -> None:
    call_command("demo", "--quiet-logins", stdout=io.StringIO())
    log_in(page, board_member.email, PASSWORD)
    page.goto("/reports/")
    page.get_by_role("link", name="Learning reviews traced into training").click()
    page.get_by_role("link", name="Child L and Child J").click()
    expect(page.get_by_role("heading", level=1, name="Child L and Child J")).to_be_visible()
    expect(page.get_by_test_id("themes")).to_contain_text("Over reliance on the word")
    expect(page.get_by_test_id("reach")).to_contain_text("practitioners")
    expect(page.get_by_test_id("review-sector-table")).to_contain_text("Schools")
    expect(page.get_by_test_id("review-sessions-table")).to_contain_text("Working Together")
    assert_accessible(page, "Learning review report")
    screenshot(page, "learning-review-child-l")
    with page.expect_download() as csv_download:
        page.get_by_role("link", name=re.compile(r"^CSV")).click()
    path = tmp_path / csv_download.value.suggested_filename
    csv_download.value.save_as(path)
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert ["Sector", "Practitioners attended"] in rows
