"""In a real browser: the privacy notice from the footer, a person's data, and erasure."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_session
from tests.e2e.conftest import assert_accessible, log_in, screenshot
from tests.evaluation.helpers import aware, place
from training.models import Agency, Course, Venue

pytestmark = [
    pytest.mark.browser,
    # Transactional like test_reports (the conftest re-seeds reference data after the flush):
    # a serialized rollback after a plain transactional test cannot restore content types.
    pytest.mark.django_db(transaction=True),
]


def test_the_privacy_notice_is_in_every_pages_footer_and_reads_on_a_phone(phone_page: Any) -> None:
    phone_page.goto("/accounts/signup/")
    phone_page.get_by_role("contentinfo").get_by_role("link", name="Privacy notice").click()

    expect(phone_page.get_by_role("heading", name="Privacy notice")).to_be_visible()
    expect(phone_page.get_by_text("6 years after your last booking")).to_be_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"
    screenshot(phone_page, "privacy-notice-phone")
    assert_accessible(phone_page, "privacy notice")


def test_an_administrator_downloads_a_persons_data_then_erases_it(
    page: Any, training_admin: Any, practitioner: Any, course: Course, venue: Venue, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=aware(2024, 3, 10, 9, 30))
    place(session, attendee=practitioner, agency=school)
    log_in(page, training_admin.email, PASSWORD)
    page.goto(f"/people/{practitioner.pk}/")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download everything held about them").click()
    assert download.value.suggested_filename.endswith(".zip")
    page.get_by_role("link", name="Erase their personal data on request").click()
    screenshot(page, "erase-confirm")
    assert_accessible(page, "erase personal data")
    page.get_by_role("button", name="Erase their personal data").click()
    expect(page.get_by_text("Tick the box")).to_be_visible()
    page.get_by_label("This person asked for their data to be erased").check()
    page.get_by_role("button", name="Erase their personal data").click()

    expect(page.get_by_text("Their personal data has been erased")).to_be_visible()
    expect(page.get_by_role("heading", name="Anonymised person")).to_be_visible()
    screenshot(page, "erased")
