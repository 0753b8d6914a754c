"""The people in our stories, and the shared test set-up.

Under CI=true nothing may be skipped for want of a browser or a database: a missing one is a
failure, so a green CI always means every suite really ran.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import shutil
from decimal import Decimal
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils import timezone

from training.apps import grant_administrator_permissions
from training.models import (
    Agency,
    BookerGrant,
    Course,
    CourseKind,
    CoursePrice,
    MembershipVerification,
    PriceBand,
    Profile,
    Sector,
    Session,
    SessionPart,
    SessionStatus,
    Venue,
)
from training.roles import Role

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PASSWORD = "a-long-test-password-42"


def require_tool(name: str) -> None:
    """A command-line tool the test needs: missing is a failure under CI, a skip elsewhere."""

    if shutil.which(name) is None:
        message = f"{name} is not installed (`make test` installs it from Debian)."
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)  # outside CI only; under CI the line above fails the test


def pytest_report_header(config: Any) -> str:

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"database: {engine}; CI: {IN_CI}"


# Data migrations that seed reference data. A transactional test ends with a flush that empties
# every table, so the tests after it would lose these rows: they are put back (idempotently).
SEED_MIGRATIONS = (
    ("training.migrations.0002_sectors_bands_roles", "seed"),
    ("bookings.migrations.0002_default_non_attendance_policy", "seed"),
    ("evaluation.migrations.0002_default_surveys", "create_surveys"),
)


def seed_reference_data() -> None:

    for module_name, function in SEED_MIGRATIONS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        getattr(module, function)(apps, None)
    grant_administrator_permissions(sender=None)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Real hashing costs up to seconds per person under load; tests only need it to work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    # allauth's throttling and the page cache live in the cache: each test starts with none
    # (the project's own rate limits count in the database, rolled back with each test).
    cache.clear()


@pytest.fixture(autouse=True)
def _staff_second_factor_optional(request: Any, settings: Any) -> None:
    # Staff must set up a second factor before using the product (training.mfa); the tests
    # of other journeys sign staff in with a password only. Tests marked ``second_factor``
    # (tests/training/test_mfa.py, the MFA browser test) keep the requirement on, as
    # production always does.
    if request.node.get_closest_marker("second_factor") is None:
        settings.MFA_REQUIRED_FOR_STAFF = False


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request: Any) -> None:
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        seed_reference_data()


def make_person(
    email: str,
    *,
    agency: Agency | None,
    roles: tuple[str, ...] = (Role.PRACTITIONER,),
    first_name: str = "Test",
    last_name: str = "Person",
    is_staff: bool = False,
    consent_to_calls: bool = False,
    verified: bool = True,
) -> Any:
    user = get_user_model().objects.create_user(
        username=email,
        email=email,
        password=PASSWORD,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_staff,
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    now = timezone.now()
    # The people of our stories work where they say (verified unless ``verified`` is False);
    # an agency booker holds the grant for their agency.
    Profile.objects.create(
        user=user,
        agency=agency,
        job_title="Practitioner",
        consent_to_calls=consent_to_calls,
        agency_requested_at=now if agency else None,
        agency_verified_at=now if agency and verified and agency.approved else None,
        agency_verified_how=MembershipVerification.ADMINISTRATOR if agency and verified else "",
    )
    user.groups.add(*Group.objects.filter(name__in=roles))
    if agency is not None and Role.AGENCY_BOOKER in roles and verified:
        BookerGrant.objects.create(user=user, agency=agency, granted_at=now)
    return user


@pytest.fixture
def sectors(db: Any) -> dict[str, Sector]:
    return {sector.name: sector for sector in Sector.objects.select_related("price_band")}


@pytest.fixture
def bands(db: Any) -> dict[str, PriceBand]:
    return {band.slug: band for band in PriceBand.objects.all()}


@pytest.fixture
def school(sectors: dict[str, Sector]) -> Agency:
    return Agency.objects.create(
        name="Blackdown Primary School",
        sector=sectors["Schools"],
        address="1 School Lane\nTaunton",
        invoice_contact_email="finance@blackdown.example.org",
    )


@pytest.fixture
def nursery(sectors: dict[str, Sector]) -> Agency:
    return Agency.objects.create(
        name="Little Acorns Day Nursery",
        sector=sectors["Early Years Providers"],
        invoice_contact_email="finance@acorns.example.org",
    )


@pytest.fixture
def practitioner(school: Agency) -> Any:
    return make_person("teacher@example.org", agency=school, first_name="Tess", last_name="Teacher")


@pytest.fixture
def agency_booker(school: Agency) -> Any:
    return make_person(
        "dsl@example.org",
        agency=school,
        roles=(Role.PRACTITIONER, Role.AGENCY_BOOKER),
        first_name="Dee",
        last_name="Lead",
    )


@pytest.fixture
def training_admin(school: Agency) -> Any:
    return make_person(
        "admin@example.org",
        agency=None,
        roles=(Role.PRACTITIONER, Role.TRAINING_ADMINISTRATOR),
        first_name="Ada",
        last_name="Admin",
        is_staff=True,
    )


@pytest.fixture
def community_member(db: Any) -> Any:
    return make_person(
        "volunteer@example.org",
        agency=None,
        roles=(Role.COMMUNITY_MEMBER,),
        first_name="Val",
        last_name="Volunteer",
    )


@pytest.fixture
def other_agency_booker(nursery: Agency) -> Any:
    return make_person(
        "manager@acorns.example.org",
        agency=nursery,
        roles=(Role.PRACTITIONER, Role.AGENCY_BOOKER),
        first_name="Olly",
        last_name="Other",
    )


@pytest.fixture
def venue(db: Any) -> Venue:
    return Venue.objects.create(name="Taunton Training Centre", address="Taunton", area="taunton")


@pytest.fixture
def course(bands: dict[str, PriceBand]) -> Course:
    course = Course.objects.create(
        title="Working Together", kind=CourseKind.COURSE, duration_half_days=2, level="2"
    )
    for slug, amount in (("statutory", "65.00"), ("voluntary", "45.00"), ("independent", "95.00")):
        CoursePrice.objects.create(course=course, band=bands[slug], amount=Decimal(amount))
    course.outcomes.create(text="Recognise the signs of abuse and neglect", order=0)
    return course


def make_session(
    course: Course,
    venue: Venue,
    *,
    starts_at: dt.datetime,
    capacity: int = 20,
    hours: int = 6,
    status: str = SessionStatus.PUBLISHED,
) -> Session:
    session = Session.objects.create(course=course, venue=venue, capacity=capacity, status=status)
    SessionPart.objects.create(
        session=session, starts_at=starts_at, ends_at=starts_at + dt.timedelta(hours=hours)
    )
    session.refresh_from_db()
    return session
