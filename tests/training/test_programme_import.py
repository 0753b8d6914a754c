"""The programme spreadsheet import: sessions with dated parts, venue, capacity and trainers,
previewed in the admin with every bad row's reason, then confirmed into the catalogue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bookings.models import PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import PASSWORD, make_session
from training import demo as training_demo
from training.demo.programme import COURSES, TRAINERS, VENUES
from training.models import Agency, Course, PriceBand, Session, SessionStatus, Trainer, Venue
from training.programme_import import SessionResource

LONDON = ZoneInfo("Europe/London")
EXAMPLE = Path(__file__).resolve().parents[2] / "training" / "demo" / "programme_example.csv"
HEADER = "course,venue,capacity,status,trainers,part1_date,part1_start,part1_end"


@pytest.fixture
def programme(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's courses, venues and trainers, on 1 June 2027 (before the example's dates)."""
    for name, address, postcode, area in VENUES:
        Venue.objects.create(name=name, address=address, postcode=postcode, area=area)
    for spec in COURSES:
        Course.objects.create(title=spec.title, duration_half_days=spec.half_days)
    for name in TRAINERS:
        Trainer.objects.create(name=name)
    frozen = dt.datetime(2027, 6, 1, 10, tzinfo=LONDON)
    monkeypatch.setattr("django.utils.timezone.now", lambda: frozen)


@pytest.fixture
def admin_client(client: Any, training_admin: Any) -> Any:
    client.login(username=training_admin.username, password=PASSWORD)
    return client


def upload(client: Any, name: str, content: bytes) -> Any:
    return client.post(
        reverse("admin:training_session_import"),
        {"import_file": SimpleUploadedFile(name, content), "format": 0, "resource": 0},
    )


def confirm(client: Any, preview: Any) -> Any:
    form = preview.context["confirm_form"]
    return client.post(
        reverse("admin:training_session_process_import"),
        {
            name: form.initial[name]
            for name in ("import_file_name", "original_file_name", "format", "resource")
        },
    )


def rows(text: str) -> tablib.Dataset:
    return tablib.Dataset().load(text, format="csv")


def test_the_demo_example_previews_then_imports_into_the_catalogue(
    programme: None, admin_client: Any
) -> None:
    preview = upload(admin_client, "programme_example.csv", EXAMPLE.read_bytes())
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "Confirm import" in page and "CSE Train the trainer" in page
    assert "Priya Natarajan; Mark Ellison" in page  # the preview shows the trainers it found
    assert not Session.objects.filter(starts_at__year=2027).exists()  # a preview writes nothing

    response = confirm(admin_client, preview)
    assert response.status_code == 302
    imported = Session.objects.filter(starts_at__year=2027)
    assert imported.count() == 4
    two_days = imported.get(course__title="CSE Train the trainer")
    assert [(p.starts_at, p.ends_at) for p in two_days.ordered_parts] == [
        (dt.datetime(2027, 10, 5, 9, tzinfo=LONDON), dt.datetime(2027, 10, 5, 16, tzinfo=LONDON)),
        (
            dt.datetime(2027, 10, 12, 9, tzinfo=LONDON),
            dt.datetime(2027, 10, 12, 16, tzinfo=LONDON),
        ),
    ]
    assert two_days.starts_at == dt.datetime(2027, 10, 5, 9, tzinfo=LONDON)
    assert two_days.venue.name == "Bridgwater Community Hall" and two_days.capacity == 12
    assert sorted(two_days.trainers.values_list("name", flat=True)) == [
        "Mark Ellison",
        "Priya Natarajan",
    ]

    catalogue = admin_client.get(reverse("bookings:catalogue"))
    listed = {row["pk"] for row in catalogue.context["rows"]}
    published = set(imported.filter(status=SessionStatus.PUBLISHED).values_list("pk", flat=True))
    assert len(published) == 3 and published <= listed
    assert imported.get(course__title="Safer Recruitment").pk not in listed  # a draft


def test_importing_the_same_file_again_creates_nothing_twice(programme: None) -> None:
    for _ in range(2):
        result = SessionResource().import_data(rows(EXAMPLE.read_text()), dry_run=False)
        assert not result.has_errors() and not result.has_validation_errors()
    assert Session.objects.filter(starts_at__year=2027).count() == 4


def test_the_preview_lists_every_bad_row_with_its_reason_and_offers_no_import(
    programme: None, admin_client: Any
) -> None:
    bad = (
        f"{HEADER}\n"
        "Working Together,Taunton Training Centre,20,published,Jo Harding,2027-09-14,09:00,16:00\n"
        "Working Together,Nowhere Hall,20,published,Jo Harding,2027-09-15,09:00,16:00\n"
        "Update,Taunton Training Centre,20,published,Nobody Known,2027-09-16,09:00,16:00\n"
        "Update,Taunton Training Centre,20,published,Jo Harding,31/02/2027,09:00,16:00\n"
        "Update,Taunton Training Centre,20,published,Jo Harding,2027-09-17,13:00,09:00\n"
        "Update,Taunton Training Centre,20,published,Jo Harding,2016-09-17,09:00,13:00\n"
        "Update,Taunton Training Centre,0,published,Jo Harding,2027-09-18,09:00,13:00\n"
        "Update,Taunton Training Centre,20,published,Jo Harding,,,\n"
    )
    preview = upload(admin_client, "programme.csv", bad.encode())
    page = preview.content.decode()
    assert "Confirm import" not in page
    for reason in (
        "There is no venue called &#x27;Nowhere Hall&#x27;",
        "There is no trainer called &#x27;Nobody Known&#x27;",
        "&#x27;31/02/2027&#x27; is not a date",
        "Part 1 ends before it starts.",
        "A new session cannot start in the past",
        "Ensure this value is greater than or equal to 1.",
        "A new session needs its first part",
    ):
        assert reason in page, reason
    assert not Session.objects.filter(course__title__in=["Working Together", "Update"]).exists()


def test_a_part_needs_its_date_start_and_end_and_parts_must_not_overlap(programme: None) -> None:
    data = rows(
        "course,venue,capacity,part1_date,part1_start,part1_end,part2_date,part2_start,part2_end\n"
        "Update,Taunton Training Centre,20,2027-09-14,09:00,13:00,2027-09-14,12:00,15:00\n"
        "Update,Taunton Training Centre,20,2027-09-15,09:00,13:00,2027-09-16,,15:00\n"
    )
    result = SessionResource().import_data(data, dry_run=True)
    overlap, missing = result.invalid_rows
    assert "Two of the session's parts overlap." in str(overlap.error_dict)
    assert "Part 2 needs a date, a start and an end time." in str(missing.error_dict)
    assert not Session.objects.exists()


def test_an_existing_session_keeps_its_capacity_rule_and_its_booked_dates(
    programme: None, school: Agency, bands: dict[str, PriceBand]
) -> None:
    course = Course.objects.get(title="Working Together")
    course.prices.create(band=bands["statutory"], amount=Decimal("65.00"))
    session = make_session(
        course,
        Venue.objects.get(name="Taunton Training Centre"),
        starts_at=dt.datetime(2027, 9, 1, 9, tzinfo=LONDON),
    )
    resized = rows(f"id,capacity\n{session.pk},{session.capacity + 5}\n")
    (invalid,) = SessionResource().import_data(resized, dry_run=False).invalid_rows
    assert "Manage bookings page" in str(invalid.error_dict["capacity"])

    retimed = (
        "id,course,venue,capacity,trainers,part1_date,part1_start,part1_end\n"
        f"{session.pk},Working Together,Taunton Training Centre,{session.capacity},"
        "Sam Okafor,{day},09:00,16:00\n"
    )
    result = SessionResource().import_data(rows(retimed.format(day="2027-09-02")), dry_run=False)
    assert not result.has_validation_errors() and not result.has_errors()
    session.refresh_from_db()
    assert session.starts_at == dt.datetime(2027, 9, 2, 9, tzinfo=LONDON)  # no one booked yet
    assert list(session.trainers.values_list("name", flat=True)) == ["Sam Okafor"]

    booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Amy Adams", email="amy@example.org")],
        agency=school,
        booked_by=None,
        payment_method=PaymentMethod.INVOICE,
        now=dt.datetime(2027, 6, 1, 10, tzinfo=LONDON),
    )
    result = SessionResource().import_data(rows(retimed.format(day="2027-09-03")), dry_run=False)
    (invalid,) = result.invalid_rows
    assert "has places booked" in str(invalid.error_dict)
    session.refresh_from_db()
    assert session.starts_at == dt.datetime(2027, 9, 2, 9, tzinfo=LONDON)


def test_two_trainers_with_one_name_are_refused_as_ambiguous(programme: None) -> None:
    Trainer.objects.create(name="jo harding")
    data = rows(
        f"{HEADER}\nUpdate,Taunton Training Centre,20,draft,Jo Harding,2027-09-14,09:00,13:00\n"
    )
    (invalid,) = SessionResource().import_data(data, dry_run=True).invalid_rows
    assert "Two trainers are called" in str(invalid.error_dict["trainers"])


def test_the_demo_loads_its_example_programme_once(db: Any) -> None:
    training_demo.load_reference_data()
    before_autumn = dt.datetime(2027, 6, 1, 10, tzinfo=LONDON)
    assert training_demo.load_programme_example(before_autumn) == 4
    assert training_demo.load_programme_example(before_autumn) == 0
    assert Session.objects.filter(starts_at__year=2027, trainers__name="Jo Harding").exists()


def test_an_export_gives_back_the_columns_the_import_reads(programme: None) -> None:
    SessionResource().import_data(rows(EXAMPLE.read_text()), dry_run=False)
    exported = SessionResource().export(
        Session.objects.filter(course__title="CSE Train the trainer")
    )
    (row,) = exported.dict
    assert (row["part2_date"], row["part2_start"], row["part2_end"]) == (
        "2027-10-12",
        "09:00",
        "16:00",
    )
    assert row["trainers"] == "Mark Ellison; Priya Natarajan"
    assert row["venue"] == "Bridgwater Community Hall"
    again = SessionResource().import_data(exported, dry_run=False)
    assert not again.has_errors() and not again.has_validation_errors()
    assert Session.objects.filter(starts_at__year=2027).count() == 4
