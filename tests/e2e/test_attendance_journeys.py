"""On the day and after it: the register on a phone at the venue door, the charge for an
absence, and a certificate whose public link proves it is genuine."""

from __future__ import annotations

import datetime as dt
import importlib
import re
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from bookings.attendance.certificates import add_months
from bookings.attendance.registers import attendance_record, register_close
from bookings.models import (
    Attendance,
    Booking,
    Invoice,
    InvoiceKind,
    NonAttendanceCharge,
    PaymentMethod,
    Register,
)
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import PASSWORD, make_session, require_tool
from tests.e2e.conftest import PHONE, assert_accessible, log_in, screenshot
from training.apps import grant_administrator_permissions
from training.models import Agency, Course, Session, Trainer, Venue

# serialized_rollback: sectors, bands, roles and the charging policy come from data migrations.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def reference_data(transactional_db: None) -> None:
    """Put back what data migrations made: sectors, bands, roles and the charging policy.

    serialized_rollback does not restore them once Playwright's event loop runs in this thread
    and ordinary database tests ran first (Django then hands the test a different connection
    from the one the serialized copy is stored on). Each seed is idempotent.
    """
    for module in (
        "training.migrations.0002_sectors_bands_roles",
        "bookings.migrations.0002_default_non_attendance_policy",
    ):
        importlib.import_module(module).seed(django_apps, None)
    grant_administrator_permissions(sender=None)


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


def today_at(hour: int, minute: int = 0, days: int = 0) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour, minute))


def book(session: Session, agency: Agency, *people: tuple[str, str]) -> list[Booking]:
    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name=name, email=email) for name, email in people],
        agency=agency,
        booked_by=None,
        payment_method=PaymentMethod.INVOICE,
        now=session.starts_at - dt.timedelta(days=30),
    )
    return list(order.bookings.order_by("pk"))


@pytest.fixture
def todays_register(
    course: Course,
    venue: Venue,
    school: Agency,
    nursery: Agency,
    practitioner: Any,
) -> Session:
    # From midnight: the register can be marked whatever time of day the suite runs.
    session = make_session(course, venue, starts_at=today_at(0, 5), capacity=30)
    session.trainers.add(Trainer.objects.create(name="Tom Trainer"))
    book(
        session,
        school,
        ("Amy Adams", "amy@example.org"),
        ("Ben Baker", "ben@example.org"),
        ("Tess Teacher", practitioner.email),
    )
    book(
        session,
        nursery,
        ("Nina Nursery", "nina@example.org"),
        ("Priya Patel-Montgomery-Smythe", "priya@example.org"),
    )
    return session


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width}px wide)"


def test_an_administrator_marks_the_register_on_a_phone_and_closing_charges_the_absence(
    phone_page: Any,
    todays_register: Session,
    training_admin: Any,
    school: Agency,
) -> None:
    page = phone_page
    log_in(page, training_admin.email, PASSWORD)
    page.goto("/registers/")
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    screenshot(page, "attendance-phone-register-list")
    page.get_by_role("link", name=re.compile("^Working Together")).first.click()

    expect(page.get_by_role("heading", name="Working Together")).to_be_visible()
    count = page.get_by_test_id("register-count")
    expect(count).to_contain_text("0 attended")
    expect(count).to_contain_text("5 not marked")
    assert_accessible(page, "register")
    no_sideways_scroll(page)
    screenshot(page, "attendance-phone-register-start")

    # One tap each, no page reload (the count changes in place).
    for name in ("Amy Adams", "Nina Nursery", "Priya Patel-Montgomery-Smythe", "Tess Teacher"):
        page.get_by_role("button", name=f"Attended: {name}").tap()
    page.get_by_role("button", name="Absent: Ben Baker").tap()
    expect(count).to_contain_text("4 attended")
    expect(count).to_contain_text("1 absent")
    expect(count).to_contain_text("0 not marked")
    expect(page.get_by_role("button", name="Absent: Ben Baker")).to_have_attribute(
        "aria-pressed", "true"
    )
    # A change of mind before closing is one more tap.
    page.get_by_role("button", name="Absent: Tess Teacher").tap()
    page.get_by_role("button", name="Attended: Tess Teacher").tap()
    tess = todays_register.bookings.get(attendee_name="Tess Teacher")
    expect(page.locator(f"#booking-{tess.pk}")).to_have_attribute("data-attendance", "attended")
    no_sideways_scroll(page)
    screenshot(page, "attendance-phone-register-marked")
    # Every tap went through the service (reloading shows the same).
    page.reload()
    expect(count).to_contain_text("4 attended")

    page.get_by_role("button", name="Close register").tap()
    expect(page.get_by_role("heading", name="Close the register")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Ben Baker")
    expect(page.locator("main")).to_contain_text("£90.00")
    assert_accessible(page, "close register")
    screenshot(page, "attendance-phone-close-confirm")
    page.get_by_role("button", name="Close register").tap()

    expect(page.locator(".govuk-notification-banner")).to_contain_text("Register closed")
    assert Register.objects.get(session=todays_register).closed_by == training_admin
    charge = NonAttendanceCharge.objects.get(booking__attendee_name="Ben Baker")
    invoice = charge.invoice_line.invoice
    assert invoice.agency == school and invoice.kind == InvoiceKind.INVOICE
    assert invoice.total == Decimal("90.00") and invoice.order is None
    expect(page.get_by_test_id("charge")).to_contain_text(f"£90.00 on invoice {invoice.number}")
    # After closing, a change needs a reason: the field is there, and the count stays right.
    page.get_by_text("Change the attendance of Amy Adams").tap()
    expect(page.get_by_label("Reason for the change").first).to_be_visible()
    no_sideways_scroll(page)
    screenshot(page, "attendance-phone-register-closed")

    # The charge can be waived with a reason, which credits the agency.
    page.get_by_role("link", name="Waive the charge for Ben Baker").tap()
    page.get_by_label("Why is the charge being waived?").fill("Phoned in sick at 8am")
    page.get_by_role("button", name="Waive the charge").tap()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("is waived")
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE, credits=invoice).exists()


def test_the_register_works_without_javascript(
    browser: Any,
    live_server: Any,
    todays_register: Session,
    training_admin: Any,
) -> None:
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, training_admin.email, PASSWORD)
        page.goto(f"/registers/{todays_register.pk}/")
        page.get_by_role("button", name="Attended: Amy Adams").click()
        expect(page.get_by_test_id("register-count")).to_contain_text("1 attended")
        amy = todays_register.bookings.get(attendee_name="Amy Adams")
        assert page.url.endswith(f"#booking-{amy.pk}")
        screenshot(page, "attendance-phone-register-no-js")
    finally:
        context.close()


def pdf_text(path: Path) -> str:
    require_tool("pdftotext")
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
    )
    return result.stdout.decode()


def test_the_attendee_downloads_a_certificate_and_its_link_confirms_it(
    page: Any,
    course: Course,
    venue: Venue,
    school: Agency,
    practitioner: Any,
    training_admin: Any,
    tmp_path: Path,
) -> None:
    course.refresh_interval_months = 24
    course.save()
    yesterday = make_session(course, venue, starts_at=today_at(9, 30, days=-1))
    (tess, amy) = book(
        yesterday, school, ("Tess Teacher", practitioner.email), ("Amy Adams", "amy@example.org")
    )
    now = timezone.now()
    attendance_record(booking=tess, attendance=Attendance.ATTENDED, actor=training_admin, now=now)
    attendance_record(booking=amy, attendance=Attendance.ABSENT, actor=training_admin, now=now)
    register_close(session=yesterday, actor=training_admin, now=now)

    log_in(page, practitioner.email, PASSWORD)
    page.goto("/training-record/")
    expect(page.get_by_role("heading", name="Your training record")).to_be_visible()
    due = add_months(timezone.localdate(yesterday.starts_at), 24)
    expect(page.get_by_test_id("refresher-due")).to_have_text(due.strftime("%-d %B %Y"))
    assert_accessible(page, "training record")
    screenshot(page, "attendance-training-record")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("^Certificate")).click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    text = pdf_text(saved)
    assert "Tess Teacher" in text and "Working Together" in text
    match = re.search(r"https?://\S+(/certificates/([A-Z0-9]+)/)", text)
    assert match, text
    assert match.group(2) == Booking.objects.get(pk=tess.pk).certificate_code

    # Anyone holding the certificate can check it, signed in or not.
    page.context.clear_cookies()
    page.goto(match.group(1))
    expect(page.get_by_role("heading", name="This certificate is genuine")).to_be_visible()
    expect(page.get_by_test_id("certificate-name")).to_have_text("Tess Teacher")
    expect(page.get_by_test_id("certificate-course")).to_have_text("Working Together")
    assert_accessible(page, "certificate verification")
    screenshot(page, "attendance-certificate-genuine")

    page.goto(f"/certificates/{amy.certificate_code}/")  # absent: no certificate
    expect(page.get_by_role("heading", name="Certificate not found")).to_be_visible()
    assert_accessible(page, "certificate not found")


def test_register_list_and_record_read_well_on_a_tablet(
    browser: Any,
    live_server: Any,
    todays_register: Session,
    training_admin: Any,
) -> None:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 820, "height": 1180}, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, training_admin.email, PASSWORD)
        page.goto(f"/registers/{todays_register.pk}/")
        rows = page.locator(".att-row")
        expect(rows).to_have_count(5)
        # Two people side by side on a tablet.
        first, second = rows.nth(0).bounding_box(), rows.nth(1).bounding_box()
        assert abs(first["y"] - second["y"]) < 1 and second["x"] > first["x"]
        screenshot(page, "attendance-tablet-register")
    finally:
        context.close()
