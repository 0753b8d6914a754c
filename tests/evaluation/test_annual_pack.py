"""The annual report's training section, generated from the demo's 2016/17, says what the
published report says; the in-kind ledger reproduces its £3,400 and shows each agency only
to its own bookers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from docx import Document

from evaluation.ledger.selectors import ledger_for_year
from evaluation.models import AnnualNarrative, ContributionKind, InKindContribution
from evaluation.reports.income import income_and_cost_recovery
from evaluation.reports.periods import Period
from tests.conftest import make_person, require_tool
from training.dates import financial_year_start
from training.models import Agency, BookerGrant
from training.roles import Role

APPENDIX_E = Path(settings.BASE_DIR) / "tests" / "data" / "appendix_e_2016_17.csv"

pytestmark = pytest.mark.django_db


def appendix_total_row() -> list[str]:
    with APPENDIX_E.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[-1]


def pdf_text(path: Path) -> str:
    require_tool("pdftotext")
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def docx_text(path: Path) -> str:
    document = Document(str(path))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def test_the_2016_17_pack_from_the_demo_gives_the_published_figures_in_pdf_and_word(
    tmp_path: Path,
) -> None:
    call_command("demo", "--quiet-logins", stdout=io.StringIO())
    pdf, docx = tmp_path / "pack.pdf", tmp_path / "pack.docx"
    for path, file_format in ((pdf, "pdf"), (docx, "docx")):
        call_command(
            "report",
            "annual-pack",
            "--year",
            "2016",
            "--format",
            file_format,
            "--output",
            str(path),
            stderr=io.StringIO(),
        )
    total = appendix_total_row()
    expected_total = [total[0], *(f"{int(value):,}" for value in total[1:])]
    for text in (pdf_text(pdf), docx_text(docx)):
        flat = " ".join(text.split())
        assert "a total of 50 courses were delivered across 2016/17" in flat
        assert "A total of 1,093 training places were provided" in flat
        assert (
            "328 attendees at 12 Multi-agency Practitioner Interest Group (MAPIG) sessions" in flat
        )
        assert "170 attendees at 2 multi-agency practitioner conferences" in flat
        # Appendix E's Total row, cell by cell, in the published column order.
        assert " ".join(expected_total) in " ".join(text.replace("|", " ").split())
        # The MAPIG messages of §11.2 and the in-kind saving of §5.11.
        assert "practitioners told us that:" in flat
        assert "Research should be publicised more prominently." in flat
        assert "In-kind arrangements with partners saved £3,400.00" in flat
        assert "17 venue-days lent (£3,400.00)" in flat
        # The narrative the administrator stored, and the year before beside the figures.
        assert "Obtain impact data to assess transfer of learning into practice" in flat
        assert "2015/16" in flat
        assert "follow-up responses (n = " in flat


def test_the_demo_ledger_gives_the_annual_reports_in_kind_saving_of_3400() -> None:
    call_command("demo", "--quiet-logins", stdout=io.StringIO())
    ledger = ledger_for_year(dt.date(2016, 4, 1))
    assert ledger.contributed == Decimal("3400.00")
    assert ledger.venue_days() == Decimal("17")
    income = income_and_cost_recovery(Period.financial_year(2016))
    assert income.contributed == Decimal("3400.00")
    assert income.target is not None
    with_in_kind = (income.income + Decimal("3400.00")) * 100 / income.target.team_cost
    assert income.recovery_with_in_kind_percent == with_in_kind.quantize(Decimal("0.1"))
    kinds = {row[0]: row[1] for row in income.in_kind_table().rows}
    assert kinds["Venue-days lent"] == Decimal("3400.00")
    assert kinds["Subsidised places given (value forgone)"] == income.in_kind


def test_the_pack_command_refuses_what_it_cannot_make(tmp_path: Path) -> None:
    for arguments, message in (
        (["--format", "pdf", "--output", "x.pdf"], "needs --year"),
        (["--year", "2016", "--format", "csv", "--output", "x"], "pdf or docx"),
        (["--year", "2016", "--format", "pdf"], "--output"),
        (["--year", "99999", "--format", "pdf", "--output", "x"], "between"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("report", "annual-pack", *arguments)


@pytest.fixture
def board_viewer(db: Any) -> Any:
    return make_person("chair@example.org", agency=None, roles=(Role.BOARD_VIEWER,))


@pytest.fixture
def lent_venue(school: Agency, nursery: Agency) -> None:
    for agency, days in ((school, 3), (nursery, 2)):
        InKindContribution.objects.create(
            agency=agency,
            financial_year_start=dt.date(2016, 4, 1),
            kind=ContributionKind.VENUE_DAYS,
            quantity=Decimal(days),
            rate=Decimal("150.00"),
            description=f"Hall at {agency.name}",
        )


def test_a_booker_sees_their_own_agencys_ledger_and_not_another_agencys(
    client: Any, agency_booker: Any, lent_venue: None
) -> None:
    client.force_login(agency_booker)
    page = client.get(reverse("reports:in_kind"), {"year": 2016}).content.decode()
    assert "Hall at Blackdown Primary School" in page and "£450.00" in page
    assert "Hall at" not in page.replace("Hall at Blackdown Primary School", "")


def test_the_administrator_sees_every_partner_and_the_total(
    client: Any, training_admin: Any, lent_venue: None
) -> None:
    client.force_login(training_admin)
    page = client.get(reverse("reports:in_kind"), {"year": 2016}).content.decode()
    assert page.count('data-testid="ledger-agency"') == 2
    assert "£750.00" in page


def test_a_practitioner_may_not_read_the_ledger(client: Any, practitioner: Any) -> None:
    client.force_login(practitioner)
    assert client.get(reverse("reports:in_kind")).status_code == 403


def test_an_agency_booker_finds_the_ledger_from_their_agencys_pages(
    client: Any, agency_booker: Any, lent_venue: None
) -> None:
    client.force_login(agency_booker)
    ledger_url = reverse("reports:in_kind")
    for page in ("bookings:agency_bookings", "bookings:agency_invoices"):
        assert ledger_url in client.get(reverse(page)).content.decode(), page


def test_a_booker_by_grant_alone_reads_their_ledger_and_the_role_alone_is_not_enough(
    client: Any, school: Agency, nursery: Agency, training_admin: Any, lent_venue: None
) -> None:
    # A booker made by another booker holds the grant, not the role.
    granted = make_person("granted@example.org", agency=school, roles=())
    BookerGrant.objects.create(
        user=granted, agency=school, granted_by=training_admin, granted_at=timezone.now()
    )
    client.force_login(granted)
    page = client.get(reverse("reports:in_kind"), {"year": 2016}).content.decode()
    assert "Hall at Blackdown Primary School" in page and "Hall at Little" not in page
    # The role without a grant (say, taken away) opens nothing.
    role_only = make_person("lapsed@example.org", agency=nursery, roles=(Role.AGENCY_BOOKER,))
    BookerGrant.objects.filter(user=role_only).delete()
    client.force_login(role_only)
    assert client.get(reverse("reports:in_kind")).status_code == 403


def test_a_board_viewer_downloads_the_pack_but_may_not_change_the_narrative(
    client: Any, board_viewer: Any
) -> None:
    client.force_login(board_viewer)
    year = financial_year_start(dt.date.today()).year
    response = client.get(reverse("reports:annual_pack"), {"year": year, "format": "docx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    refused = client.post(reverse("reports:annual_pack"), {"year": year, "what_was_done": "x"})
    assert refused.status_code == 403
    assert not AnnualNarrative.objects.exists()


def test_the_administrator_saves_the_years_narrative_and_the_pack_prints_it(
    client: Any, training_admin: Any, tmp_path: Path
) -> None:
    client.force_login(training_admin)
    year = financial_year_start(dt.date.today()).year
    response = client.post(
        reverse("reports:annual_pack"),
        {"year": year, "what_was_done": "We trained the county.\n\nAnd more.", "next_steps": ""},
    )
    assert response.status_code == 302
    narrative = AnnualNarrative.objects.get()
    assert narrative.financial_year_start == dt.date(year, 4, 1)
    assert narrative.updated_by == training_admin
    pdf = client.get(reverse("reports:annual_pack"), {"year": year, "format": "pdf"})
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf.content)
    assert "We trained the county." in pdf_text(path)
