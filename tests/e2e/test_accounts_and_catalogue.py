"""A person signs up, tells us where they work, and finds a course at their sector's price."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_session
from tests.e2e.conftest import PHONE, assert_accessible, screenshot
from training.models import (
    Agency,
    Course,
    CourseKind,
    CoursePrice,
    PriceBand,
    Profile,
    Sector,
    Session,
    Venue,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

NEW_PASSWORD = "a-new-nurse-password-91"


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


def future(days: int, hour: int = 9) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


@pytest.fixture
def programme(course: Course, venue: Venue, bands: dict[str, PriceBand]) -> dict[str, Session]:
    """A priced course in Taunton, and a free MAPIG and a conference in Yeovil."""
    yeovil = Venue.objects.create(
        name="Yeovil Library", address="King George Street", area="yeovil"
    )
    mapig = Course.objects.create(
        title="Think Family", kind=CourseKind.MAPIG, theme="Think Family", duration_half_days=1
    )
    conference = Course.objects.create(
        title="Working Together to Tackle CSE", kind=CourseKind.CONFERENCE
    )
    for slug, amount in (("statutory", "30.00"), ("voluntary", "20.00"), ("independent", "40.00")):
        CoursePrice.objects.create(course=conference, band=bands[slug], amount=Decimal(amount))
    return {
        "course": make_session(course, venue, starts_at=future(30)),
        "mapig": make_session(mapig, yeovil, starts_at=future(35), hours=3),
        "conference": make_session(conference, yeovil, starts_at=future(40)),
    }


@pytest.fixture
def health_trust(sectors: dict[str, Sector]) -> Agency:
    # Its staff's addresses are at its registered domain: a confirmed address there makes a
    # newcomer a verified member as soon as they choose it.
    return Agency.objects.create(
        name="Somerset Community Health",
        sector=sectors["Health"],
        email_domains="somersethealth.example.org",
    )


def session_titles(page: Any) -> list[str]:
    return page.locator("article.unit-card h3").all_inner_texts()


def sign_up_and_confirm(page: Any, email: str) -> None:
    """Sign up, open the link from the email and confirm: lands signed in on 'Your details'."""
    page.goto("/accounts/signup/")
    assert_accessible(page, "sign-up")
    screenshot(page, "accounts-01-sign-up")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    screenshot(page, "accounts-02-verification-sent")

    # The live server runs in this process, so its mail lands in the locmem outbox.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [email]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
    assert link, message.body

    page.goto(link.group(0))
    screenshot(page, "accounts-03-confirm-email")
    # ACCOUNT_CONFIRM_EMAIL_ON_GET is off: opening the link alone confirms nothing.
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/profile/$"))
    expect(page.get_by_role("heading", name="Your details", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Sign out")).to_be_visible()


def fill_name_and_job(page: Any) -> None:
    page.get_by_label("First name").fill("Nia")
    page.get_by_label("Last name").fill("Nurse")
    page.get_by_label("Job title").fill("Health visitor")


def test_new_nurse_signs_up_chooses_her_agency_and_sees_her_sectors_price(
    page: Any, programme: dict[str, Session], health_trust: Agency
) -> None:
    sign_up_and_confirm(page, "nia.nurse@somersethealth.example.org")
    assert_accessible(page, "profile (new)")
    screenshot(page, "accounts-04-profile-empty")

    # Saving without an agency says what to do, next to the field.
    fill_name_and_job(page)
    page.get_by_role("button", name="Save your details").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.locator("#id_agency-error")).to_contain_text("Choose your agency")
    assert_accessible(page, "profile (error)")
    screenshot(page, "accounts-05-profile-error")

    page.get_by_label("Your agency").select_option(label="Somerset Community Health (Health)")
    consent = page.get_by_label("I agree to be phoned about how I used the training")
    expect(consent).not_to_be_checked()
    page.get_by_role("button", name="Save your details").click()

    expect(page.get_by_text("Your details have been saved.")).to_be_visible()
    # Set up for the first time, she lands on the catalogue; her details show her sector.
    expect(
        page.get_by_role("heading", name="Safeguarding training courses and events")
    ).to_be_visible()
    screenshot(page, "accounts-first-setup-lands-on-catalogue")
    page.goto("/profile/")
    expect(page.get_by_test_id("sector")).to_have_text("Health")
    expect(page.get_by_test_id("membership")).to_contain_text("Verified")
    assert_accessible(page, "profile (saved)")
    screenshot(page, "accounts-06-profile-saved")
    profile = Profile.objects.select_related("user", "agency").get(
        user__email="nia.nurse@somersethealth.example.org"
    )
    assert profile.agency_verified and profile.agency_verified_how == "domain"
    assert profile.agency == health_trust
    assert (profile.user.first_name, profile.user.last_name) == ("Nia", "Nurse")
    assert profile.job_title == "Health visitor"
    assert profile.consent_to_calls is False

    # The catalogue now shows the statutory partner price for Health, not the whole table.
    page.get_by_role("link", name="Courses and events").first.click()
    expect(page.get_by_role("heading", name="3 sessions")).to_be_visible()
    page.get_by_label("Type").select_option(label="Course")
    page.get_by_label("Area").select_option(label="Taunton")
    page.get_by_role("button", name="Apply filters").click()

    expect(page.get_by_role("heading", name="1 session", exact=True)).to_be_visible()
    assert session_titles(page) == ["Working Together"]
    card = page.locator("article.unit-card")
    expect(card.locator(".unit-price")).to_have_text("£65.00 for statutory partner agencies")
    expect(card).not_to_contain_text("£45.00")
    expect(card).not_to_contain_text("£95.00")
    expect(card.get_by_role("table")).to_have_count(0)
    assert_accessible(page, "catalogue (signed in, filtered)")
    screenshot(page, "accounts-07-catalogue-filtered")

    # Filtering by area alone shows the Yeovil MAPIG (free) and conference (Health's price).
    page.get_by_label("Type").select_option(label="All types")
    page.get_by_label("Area").select_option(label="Yeovil")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("heading", name="2 sessions")).to_be_visible()
    assert session_titles(page) == ["Think Family", "Working Together to Tackle CSE"]
    cards = page.locator("article.unit-card")
    expect(cards.nth(0).locator(".unit-price")).to_have_text("Free")
    expect(cards.nth(1).locator(".unit-price")).to_contain_text("£30.00")

    page.get_by_role("link", name="Working Together to Tackle CSE").click()
    expect(page.get_by_role("heading", name="Working Together to Tackle CSE")).to_be_visible()
    expect(page.locator(".unit-price")).to_contain_text("£30.00")
    assert_accessible(page, "session (signed in)")
    screenshot(page, "accounts-08-session-signed-in")


def test_nurse_whose_agency_is_missing_proposes_it(
    page: Any, programme: dict[str, Session], health_trust: Agency
) -> None:
    sign_up_and_confirm(page, "new.midwife@example.org")

    fill_name_and_job(page)
    page.get_by_text("My agency is not in the list").click()
    page.get_by_label("Agency name").fill("Mendip Midwifery Team")
    page.get_by_label("Sector").select_option(label="Health")
    screenshot(page, "accounts-09-propose-agency")
    page.get_by_role("button", name="Save your details").click()

    expect(page.get_by_text("Your details have been saved.")).to_be_visible()
    page.goto("/profile/")
    expect(page.get_by_test_id("sector")).to_have_text("Health")
    expect(page.get_by_text("waiting for the training team to approve it")).to_be_visible()
    # The proposed agency is now this person's choice in the list.
    expect(page.get_by_label("Your agency")).to_have_value(
        str(Agency.objects.get(name="Mendip Midwifery Team").pk)
    )
    assert_accessible(page, "profile (agency proposed)")
    screenshot(page, "accounts-10-agency-proposed")

    agency = Agency.objects.select_related("proposed_by", "sector").get(
        name="Mendip Midwifery Team"
    )
    assert agency.approved is False
    assert agency.proposed_by.email == "new.midwife@example.org"
    assert agency.sector.name == "Health"
    assert Profile.objects.get(user=agency.proposed_by).agency == agency


def test_anonymous_visitor_sees_every_band_price(page: Any, programme: dict[str, Session]) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="3 sessions")).to_be_visible()
    card = page.locator("article.unit-card", has_text="Working Together").first
    table = card.get_by_role("table", name="Price per place")
    expect(table.get_by_role("row")).to_have_count(3)
    expect(table.get_by_role("row", name="Statutory partner")).to_contain_text("£65.00")
    expect(table.get_by_role("row", name="Voluntary and community")).to_contain_text("£45.00")
    expect(table.get_by_role("row", name="Independent and private")).to_contain_text("£95.00")
    expect(page.locator("article.unit-card", has_text="Think Family")).to_contain_text("Free")
    assert_accessible(page, "catalogue (anonymous)")
    screenshot(page, "catalogue-anonymous")

    page.get_by_role("link", name="Working Together", exact=True).click()
    expect(page.get_by_role("heading", name="Working Together", level=1)).to_be_visible()
    table = page.get_by_role("table", name="Price per place")
    expect(table.get_by_role("row", name="Statutory partner")).to_contain_text("£65.00")
    expect(table.get_by_role("row", name="Voluntary and community")).to_contain_text("£45.00")
    expect(table.get_by_role("row", name="Independent and private")).to_contain_text("£95.00")
    expect(page.get_by_test_id("places-left")).to_have_text("20 of 20")
    assert_accessible(page, "session (anonymous)")
    screenshot(page, "session-anonymous")


def test_login_page_is_accessible_and_signs_a_practitioner_in(
    page: Any, practitioner: Any, programme: dict[str, Session]
) -> None:
    page.goto("/accounts/login/")
    assert_accessible(page, "login")
    screenshot(page, "accounts-login")

    page.get_by_label("Email").fill(practitioner.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("alert")).to_contain_text("not correct")
    # The email is kept; the password is never echoed back into the page.
    expect(page.get_by_label("Email")).to_have_value(practitioner.email)
    expect(page.get_by_label("Password")).to_have_value("")
    assert "not-the-password" not in page.content()
    assert_accessible(page, "login (error)")
    screenshot(page, "accounts-login-error")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name="Sign out")).to_be_visible()
    # Signed in, the catalogue shows only the price for Schools (a statutory partner).
    page.get_by_role("link", name="Courses and events").first.click()
    expect(page.locator("article.unit-card", has_text="Working Together").first).to_contain_text(
        "£65.00 for statutory partner agencies"
    )


def test_catalogue_and_session_on_a_phone(phone_page: Any, programme: dict[str, Session]) -> None:
    page = phone_page
    page.goto("/")
    expect(page.get_by_role("heading", name="3 sessions")).to_be_visible()
    # Nothing is wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The filters sit two by two, so the first session's title shows without scrolling.
    first_title = page.get_by_role("link", name="Working Together", exact=True).bounding_box()
    assert first_title["y"] + first_title["height"] <= PHONE["height"]
    filters = page.locator("form.unit-filters")
    assert (
        filters.get_by_label("Type").bounding_box()["y"]
        == filters.get_by_label("Theme").bounding_box()["y"]
    )
    screenshot(page, "phone-catalogue")
    assert_accessible(page, "catalogue (phone)")

    page.get_by_role("link", name="Working Together", exact=True).click()
    expect(page.get_by_role("heading", name="Working Together", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The price comes straight after when and where, before the learning outcomes.
    price = page.get_by_role("heading", name="Price", exact=True).bounding_box()
    outcomes = page.get_by_role("heading", name="You will be able to").bounding_box()
    assert price["y"] < outcomes["y"]
    expect(page.get_by_role("table", name="Price per place")).to_contain_text("£95.00")
    screenshot(page, "phone-session")
    assert_accessible(page, "session (phone)")
