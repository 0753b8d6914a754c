"""The administrator writes the year's narrative and generates the 2016/17 training section;
a partner's booker reads their own agency's in-kind ledger."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.core.management import call_command
from playwright.sync_api import expect

from evaluation.models import ContributionKind, InKindContribution
from tests.conftest import PASSWORD, make_person, require_tool
from tests.e2e.conftest import assert_accessible, log_in, screenshot
from training.apps import grant_administrator_permissions
from training.models import Agency
from training.roles import Role

# serialized_rollback, as every browser module: a plain transactional flush re-creates the
# content types, which the next serialized test would then insert twice.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def reference_data(transactional_db: None) -> None:
    """Put back the sectors, price bands and role groups the flush after each test empties."""
    seed = importlib.import_module("training.migrations.0002_sectors_bands_roles").seed
    seed(django_apps, None)
    grant_administrator_permissions(sender=None)
    cache.clear()


def test_administrator_edits_the_narrative_and_generates_the_2016_17_pack(
    page: Any, tmp_path: Path
) -> None:
    require_tool("pdftotext")
    call_command("demo", "--quiet-logins", stdout=io.StringIO())
    admin = make_person("manager@example.org", agency=None, roles=(Role.TRAINING_ADMINISTRATOR,))
    log_in(page, admin.email, PASSWORD)
    page.goto("/reports/")
    page.get_by_role("link", name="Annual report: training section").click()
    page.get_by_label("Financial year", exact=True).select_option(label="2016/17")
    page.get_by_role("button", name="Show this year").click()
    expect(page.get_by_test_id("period")).to_have_text("Financial year 2016/17")
    field = page.get_by_label("What was done?")
    expect(field).to_contain_text("Working Together")  # the demo's narrative
    field.fill("Our partners lent us their rooms all year.")
    page.get_by_role("button", name="Save the narrative").click()
    expect(page.get_by_text("Narrative for 2016/17 saved.")).to_be_visible()
    assert_accessible(page, "Annual pack")
    screenshot(page, "annual-pack-page")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == "training-section-2016-17.pdf"
    text = " ".join(
        subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
        ).stdout.split()
    )
    assert "A total of 1,093 training places were provided" in text
    assert "328 attendees at 12" in text and "170 attendees at 2" in text
    assert "Our partners lent us their rooms all year." in text

    with page.expect_download() as word:
        page.get_by_role("link", name="Download Word document").click()
    assert word.value.suggested_filename == "training-section-2016-17.docx"

    page.goto("/reports/year-summary/?year=2016")
    expect(page.get_by_test_id("event-summary").first).to_contain_text(
        "Practitioners told us that:"
    )
    screenshot(page, "year-summary-messages")


def test_a_partners_booker_reads_their_agencys_ledger_on_a_phone(
    phone_page: Any, page: Any
) -> None:
    call_command("demo", "--quiet-logins", stdout=io.StringIO())
    trust = Agency.objects.get(name="Taunton and Somerset NHS Foundation Trust")
    other = Agency.objects.get(name="Yeovil District Hospital NHS Foundation Trust")
    InKindContribution.objects.create(
        agency=trust,
        financial_year_start=dt.date(2016, 4, 1),
        kind=ContributionKind.TRAINER_HOURS,
        quantity=Decimal("6"),
        rate=Decimal("40.00"),
        description="Named nurse for safeguarding on Working Together",
    )
    booker = make_person("lead@musgrove.example.org", agency=trust, roles=(Role.AGENCY_BOOKER,))
    log_in(phone_page, booker.email, PASSWORD)
    # They find it where they look after their agency: its bookings page.
    phone_page.goto("/agency/bookings/")
    screenshot(phone_page, "agency-bookings-ledger-link-phone")
    phone_page.get_by_role("link", name="Our in-kind contributions").click()
    expect(phone_page.get_by_role("link", name="Our agency's bookings")).to_be_visible()
    phone_page.get_by_label("Financial year", exact=True).select_option(label="2016/17")
    phone_page.get_by_role("button", name="Show this year").click()
    card = phone_page.get_by_test_id("ledger-agency")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(trust.name)
    expect(card).to_contain_text("10 at £200.00 = £2,000.00")
    expect(card).to_contain_text("6 at £40.00 = £240.00")
    expect(card).to_contain_text("£2,240.00")
    expect(phone_page.get_by_text(other.name)).to_have_count(0)
    assert_accessible(phone_page, "In-kind ledger (booker)")
    screenshot(phone_page, "in-kind-ledger-booker-phone")

    admin = make_person("manager@example.org", agency=None, roles=(Role.TRAINING_ADMINISTRATOR,))
    log_in(page, admin.email, PASSWORD)
    page.goto("/reports/in-kind/?year=2016")
    expect(page.get_by_test_id("in-kind-saving")).to_have_text("£3,640.00")
    expect(page.get_by_text(other.name)).to_be_visible()
    screenshot(page, "in-kind-ledger-admin")
