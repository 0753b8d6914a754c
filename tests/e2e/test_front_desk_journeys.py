"""The administrator's front desk on a phone: booking someone who rang, adding someone who
came to the register (and finding them in the attendance report), and downloading a
session's certificates; and no table of her pages is wider than the phone."""

from __future__ import annotations

import datetime as dt
import importlib
import re
import subprocess
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from bookings.models import Attendance, Booking, BookingStatus, OutgoingEmail, PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import PASSWORD, make_person, make_session, require_tool
from tests.e2e.conftest import PHONE, assert_accessible, log_in, screenshot
from training.apps import grant_administrator_permissions
from training.models import Agency, Course, Session, Trainer, Venue

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def reference_data(transactional_db: None) -> None:
    for module in (
        "training.migrations.0002_sectors_bands_roles",
        "bookings.migrations.0002_default_non_attendance_policy",
    ):
        importlib.import_module(module).seed(django_apps, None)
    grant_administrator_permissions(sender=None)
    cache.clear()


def day_at(hour: int, days: int = 0) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


def book(session: Session, agency: Agency, name: str, email: str) -> Booking:
    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name=name, email=email)],
        agency=agency,
        booked_by=None,
        payment_method=PaymentMethod.INVOICE,
        now=session.starts_at - dt.timedelta(days=30),
    )
    return order.bookings.get()


def tables_fit(page: Any, name: str) -> None:
    """No table (and nothing else) is wider than the phone's screen."""
    widest = page.evaluate(
        "() => Math.max(0, ...[...document.querySelectorAll('table')]"
        ".map(t => t.getBoundingClientRect().right))"
    )
    assert widest <= PHONE["width"], f"{name}: a table reaches {widest}px"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: the page scrolls sideways ({width}px wide)"


@pytest.fixture
def coming(course: Course, venue: Venue, school: Agency) -> Session:
    session = make_session(course, venue, starts_at=day_at(9, days=21), capacity=2)
    book(session, school, "Amy Adams", "amy@example.org")
    book(session, school, "Ben Baker-Montgomery-Smythe", "ben.baker.montgomery@example.org")
    return session


@pytest.fixture
def today(course: Course, venue: Venue, school: Agency) -> Session:
    return make_session(course, venue, starts_at=day_at(0), capacity=10)


def test_the_administrator_books_someone_who_rang_on_a_full_session_from_her_phone(
    phone_page: Any, coming: Session, training_admin: Any, nursery: Agency
) -> None:
    page = phone_page
    log_in(page, training_admin.email, PASSWORD)
    page.goto(f"/manage/sessions/{coming.pk}/")
    tables_fit(page, "session page")
    screenshot(page, "front-desk-phone-session-page")
    page.get_by_role("button", name="Book someone").click()
    expect(page.get_by_test_id("places-left")).to_contain_text("This session is full")
    page.get_by_label("Full name").fill("Nina Nursery")
    page.get_by_label("Email address").fill("nina@example.org")
    page.get_by_label("Agency", exact=True).select_option(label=nursery.name)
    page.get_by_label("How will they pay?").select_option(label="Card: email them a link to pay")
    page.get_by_role("button", name="Book the place").click()
    # Full: refused until she gives a reason.
    expect(page.locator(".govuk-error-summary")).to_contain_text("This session is full")
    page.get_by_label(re.compile("Reason for booking beyond")).fill("The room takes one more")
    assert_accessible(page, "book someone")
    screenshot(page, "front-desk-phone-book-someone")
    page.get_by_role("button", name="Book the place").click()
    expect(page.locator(".govuk-notification-banner, .govuk-body").first).to_be_visible()
    expect(page.get_by_text(re.compile("emailed them a link to pay by card"))).to_be_visible()
    expect(page.get_by_test_id("session-bookings")).to_contain_text("Nina Nursery")
    tables_fit(page, "session page with the new booking")
    screenshot(page, "front-desk-phone-booked")
    booking = Booking.objects.get(attendee_email="nina@example.org")
    assert booking.status == BookingStatus.HELD and booking.agency == nursery
    link = OutgoingEmail.objects.get(kind="payment_link", to="nina@example.org")

    # Nina pays by the link in her email, without an account.
    page.context.clear_cookies()
    page.goto(link.context["pay_url"].split("8000", 1)[-1])
    page.get_by_role("button", name=re.compile("^Pay .* by card")).click()
    page.get_by_role("button", name=re.compile(r"^Pay .*\(test\)")).click()
    expect(page.get_by_text("Your place is paid for")).to_be_visible()
    screenshot(page, "front-desk-phone-paid-by-link")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_a_walk_in_is_added_to_the_register_closed_and_counted_in_the_report(
    phone_page: Any, today: Session, training_admin: Any, school: Agency
) -> None:
    page = phone_page
    book(today, school, "Amy Adams", "amy@example.org")
    log_in(page, training_admin.email, PASSWORD)
    page.goto(f"/registers/{today.pk}/")
    page.get_by_role("button", name="Attended: Amy Adams").tap()
    page.get_by_role("button", name="Add someone who came").click()
    page.get_by_label("Full name").fill("Walter Walkin")
    page.get_by_label("Email address").fill("walter@example.org")
    page.get_by_text("The agency is not in the list", exact=True).click()
    page.get_by_label("New agency's name").fill("Quantock Police Station")
    page.get_by_label("New agency's sector").select_option(label="Police")
    assert_accessible(page, "add someone who came")
    screenshot(page, "front-desk-phone-walk-in")
    page.get_by_role("button", name="Add to the register").click()
    expect(
        page.get_by_text(re.compile("Walter Walkin is on the register as attended"))
    ).to_be_visible()
    expect(page.get_by_test_id("register-count")).to_contain_text("2 attended")
    screenshot(page, "front-desk-phone-register-with-walk-in")
    page.get_by_role("button", name="Close register").click()
    page.get_by_role("button", name=re.compile("Close (the )?register")).click()
    expect(page.get_by_text(re.compile("Register closed"))).to_be_visible()
    # Everyone who came is emailed their certificate.
    assert set(
        OutgoingEmail.objects.filter(kind="certificate_issued").values_list("to", flat=True)
    ) == {"amy@example.org", "walter@example.org"}

    page.goto("/reports/attendance-by-sector/")
    table = page.get_by_test_id("attendance-table")
    expect(table).to_contain_text("Working Together")
    expect(table).to_contain_text("Police")
    screenshot(page, "front-desk-phone-report")
    walter = Booking.objects.get(attendee_email="walter@example.org")
    assert walter.attendance == Attendance.ATTENDED and walter.sector.name == "Police"


def test_the_administrator_downloads_a_sessions_certificates_from_the_register(
    phone_page: Any, today: Session, training_admin: Any, school: Agency
) -> None:
    page = phone_page
    for name, email in (("Amy Adams", "amy@example.org"), ("Ben Baker", "ben@example.org")):
        book(today, school, name, email)
    log_in(page, training_admin.email, PASSWORD)
    page.goto(f"/registers/{today.pk}/")
    page.get_by_role("button", name="Attended: Amy Adams").tap()
    page.get_by_role("button", name="Attended: Ben Baker").tap()
    expect(page.get_by_test_id("register-count")).to_contain_text("2 attended")
    page.reload()
    screenshot(page, "front-desk-phone-register-certificates")
    with page.expect_download() as download:
        page.get_by_role("link", name="All certificates (PDF)").click()
    assert download.value.suggested_filename.startswith("certificates-")
    require_tool("pdftotext")
    text = subprocess.run(
        ["pdftotext", "-layout", str(download.value.path()), "-"], capture_output=True, check=True
    ).stdout.decode()
    # One certificate per page, for each person marked attended.
    assert [
        ("Amy Adams" in page_text, "Ben Baker" in page_text) for page_text in text.split("\f")[:2]
    ] == [
        (True, False),
        (False, True),
    ]
    # And from the session page.
    page.goto(f"/manage/sessions/{today.pk}/")
    expect(page.get_by_test_id("register-link")).to_be_visible()
    tables_fit(page, "session page on the day")
    with page.expect_download() as again:
        page.get_by_role("link", name="All certificates (PDF)").click()
    assert again.value.suggested_filename == download.value.suggested_filename


def test_no_table_of_the_administrators_or_bookers_pages_is_wider_than_a_phone(
    phone_page: Any,
    coming: Session,
    today: Session,
    training_admin: Any,
    agency_booker: Any,
    school: Agency,
) -> None:
    page = phone_page
    book(today, school, "Priya Patel-Montgomery-Smythe", "priya.patel.montgomery@example.org")
    log_in(page, training_admin.email, PASSWORD)
    for url in (
        "/manage/bookings/",
        "/manage/invoices/",
        f"/manage/sessions/{coming.pk}/",
        f"/manage/sessions/{today.pk}/",
        "/registers/",
        f"/registers/{today.pk}/",
    ):
        page.goto(url)
        tables_fit(page, url)
        screenshot(page, "phone-width" + url.replace("/", "-"))
    page.context.clear_cookies()
    log_in(page, agency_booker.email, PASSWORD)
    for url in ("/agency/bookings/", "/agency/invoices/", "/my-bookings/"):
        page.goto(url)
        tables_fit(page, url)
        screenshot(page, "phone-width" + url.replace("/", "-"))


def test_an_agency_booker_sees_the_agencys_invoices_and_credit_notes_on_a_phone(
    phone_page: Any,
    coming: Session,
    agency_booker: Any,
    other_agency_booker: Any,
    school: Agency,
    nursery: Agency,
) -> None:
    page = phone_page
    log_in(page, agency_booker.email, PASSWORD)
    page.goto("/agency/bookings/")
    page.get_by_role("link", name="Our invoices and credit notes").click()
    table = page.get_by_test_id("agency-invoices")
    expect(table).to_contain_text("INV-")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("money-summary")).to_contain_text("£130.00")
    expect(page.get_by_test_id("bank-details")).to_contain_text("sort code")
    tables_fit(page, "agency invoices")
    assert_accessible(page, "agency invoices")
    screenshot(page, "front-desk-phone-agency-invoices")
    href = table.get_by_role("link").first.get_attribute("href")
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    # Another agency's booker sees none of them, and cannot open them.
    page.context.clear_cookies()
    log_in(page, other_agency_booker.email, PASSWORD)
    page.goto("/agency/invoices/")
    expect(page.get_by_text("Your agency has no invoices yet.")).to_be_visible()
    assert page.request.get(href).status == 404


def test_the_sessions_trainer_adds_someone_who_came_from_her_phone(
    phone_page: Any, today: Session, school: Agency, course: Course, venue: Venue
) -> None:
    page = phone_page
    trainer = make_person("tess@trainers.example", agency=None, roles=(), first_name="Tess")
    today.trainers.add(Trainer.objects.create(name="Tess Trainer", user=trainer))
    book(today, school, "Amy Adams", "amy@example.org")
    log_in(page, trainer.email, PASSWORD)
    page.goto(f"/registers/{today.pk}/")
    page.get_by_role("button", name="Add someone who came").click()
    expect(page.get_by_text("Only the training administrator can waive it")).to_be_visible()
    expect(page.get_by_label("Reason for not charging")).to_have_count(0)
    page.get_by_label("Full name").fill("Wendy Walkin")
    page.get_by_label("Email address").fill("wendy@example.org")
    page.get_by_label("Agency", exact=True).select_option(label=school.name)
    assert_accessible(page, "trainer adds someone who came")
    screenshot(page, "front-desk-phone-trainer-walk-in")
    page.get_by_role("button", name="Add to the register").click()
    expect(
        page.get_by_text(re.compile("Wendy Walkin is on the register as attended"))
    ).to_be_visible()
    expect(page.get_by_test_id("register-count")).to_contain_text("1 attended")
    tables_fit(page, "register after a trainer's walk-in")
    screenshot(page, "front-desk-phone-trainer-register")
    wendy = Booking.objects.get(attendee_email="wendy@example.org")
    assert wendy.attendance == Attendance.ATTENDED and wendy.payment_method == PaymentMethod.INVOICE

    # A trainer of another session finds no register and no form.
    elsewhere = make_session(course, venue, starts_at=day_at(0, days=1))
    other = make_person("owen@trainers.example", agency=None, roles=())
    elsewhere.trainers.add(Trainer.objects.create(name="Owen Other", user=other))
    page.context.clear_cookies()
    log_in(page, other.email, PASSWORD)
    assert page.request.get(f"/registers/{today.pk}/add-someone/").status == 404
