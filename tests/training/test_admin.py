"""What the Django admin may change on a session, and what must go through its Manage bookings
page (cancelling refunds everyone; a capacity never drops below the places taken and new
places go to the waiting list): in the admin form and in the spreadsheet import alike."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
import tablib
from django.contrib import admin
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from bookings.models import PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import make_session
from training.admin import SessionResource
from training.models import Agency, Course, Session, SessionStatus, Venue

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=timezone.now() + dt.timedelta(days=30))


def admin_form(session: Session, training_admin: Any, **changes: Any) -> Any:
    model_admin = admin.site._registry[Session]
    request = RequestFactory().post("/")
    request.user = training_admin
    form_class = model_admin.get_form(request, session, change=True)
    data = {**model_to_dict(session), **changes}
    data["trainers"] = [t.pk for t in data.get("trainers", [])]
    return form_class(data=data, instance=session)


def test_the_admin_form_publishes_but_does_not_cancel_or_resize_a_session(
    session: Session, training_admin: Any
) -> None:
    Session.objects.filter(pk=session.pk).update(status=SessionStatus.DRAFT)
    session.refresh_from_db()
    assert admin_form(session, training_admin, status=SessionStatus.PUBLISHED).is_valid()

    cancel = admin_form(session, training_admin, status=SessionStatus.CANCELLED)
    assert not cancel.is_valid()
    assert "Manage bookings page" in cancel.errors["status"][0]

    resize = admin_form(session, training_admin, capacity=session.capacity + 5)
    assert not resize.is_valid()
    assert "never goes below the places taken" in resize.errors["capacity"][0]


def test_a_cancelled_session_stays_cancelled_in_the_admin(
    session: Session, training_admin: Any
) -> None:
    Session.objects.filter(pk=session.pk).update(status=SessionStatus.CANCELLED)
    session.refresh_from_db()
    reopen = admin_form(session, training_admin, status=SessionStatus.PUBLISHED)
    assert not reopen.is_valid()
    assert "stays cancelled" in reopen.errors["status"][0]


def test_the_import_creates_sessions_but_refuses_to_cancel_or_resize_one(
    session: Session, course: Course, venue: Venue
) -> None:
    rows = tablib.Dataset(headers=["id", "course", "venue", "capacity", "status"])
    rows.append([session.pk, course.title, venue.name, session.capacity + 10, "cancelled"])
    result = SessionResource().import_data(rows, dry_run=False)
    assert result.has_validation_errors()
    (invalid,) = result.invalid_rows
    assert set(invalid.error_dict) == {"capacity", "status"}
    session.refresh_from_db()
    assert (session.capacity, session.status) == (20, SessionStatus.PUBLISHED)

    new = tablib.Dataset(
        headers=["id", "course", "venue", "capacity", "status", "part1_date"]
        + ["part1_start", "part1_end"]
    )
    day = timezone.localdate() + dt.timedelta(days=30)
    new.append(["", course.title, venue.name, 12, "draft", day.isoformat(), "09:00", "16:00"])
    created = SessionResource().import_data(new, dry_run=False)
    assert not created.has_errors() and not created.has_validation_errors()
    assert Session.objects.filter(capacity=12, status=SessionStatus.DRAFT).exists()


# --- the admin's downloads -----------------------------------------------------------------

FORMULA = '=HYPERLINK("http://x","y")'


def admin_export(client: Any, model: str, file_format: str) -> Any:
    """Download ``model``'s changelist through the admin's export page, as the admin would."""
    url = reverse(f"admin:{model.replace('.', '_')}_export")
    form = client.get(url).context["form"]
    choice = next(value for value, label in form.fields["format"].choices if label == file_format)
    data = {"format": choice, "resource": "0"}
    data.update(
        {
            name: "on"
            for name, field in form.fields.items()
            if getattr(field, "is_selectable_field", False)
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200, response.content[:500]
    return response


@pytest.mark.parametrize("model", ["training.agency", "training.venue"])
def test_admin_exports_a_formula_name_as_text_in_xlsx_and_csv(
    client: Any, training_admin: Any, sectors: Any, model: str
) -> None:
    if model == "training.agency":
        Agency.objects.create(name=FORMULA, sector=sectors["Schools"])
    else:
        Venue.objects.create(name=FORMULA, area="taunton")
    client.force_login(training_admin)

    xlsx = admin_export(client, model, "xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    names = {row[0].value: row[0].data_type for row in sheet.iter_rows(min_row=2)}
    assert names["'" + FORMULA] == "s"  # text, not a formula
    assert FORMULA not in names
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)

    csv_response = admin_export(client, model, "csv")
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert "'" + FORMULA in [row["name"] for row in rows]
    assert FORMULA not in [row["name"] for row in rows]


# --- moving a session that people have booked -------------------------------------------------


def book_someone(session: Session, school: Agency, booker: Any) -> None:
    booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Ann Attendee", email="ann@school.example")],
        agency=school,
        booked_by=booker,
        payment_method=PaymentMethod.INVOICE,
        now=timezone.now(),
    )


def change_page_data(session: Session, **changes: Any) -> dict[str, Any]:
    """What the admin's change page posts for the session, its one part and no prices."""
    (part,) = session.parts.all()
    starts_at = timezone.localtime(changes.pop("starts_at", part.starts_at))
    ends_at = starts_at + (part.ends_at - part.starts_at)
    return {
        "course": session.course_id,
        "venue": session.venue_id,
        "capacity": session.capacity,
        "status": session.status,
        "booking_closes_working_days": session.booking_closes_working_days,
        "notes": "",
        "parts-TOTAL_FORMS": 1,
        "parts-INITIAL_FORMS": 1,
        "parts-MIN_NUM_FORMS": 1,
        "parts-MAX_NUM_FORMS": 1000,
        "parts-0-id": part.pk,
        "parts-0-session": session.pk,
        "parts-0-starts_at_0": starts_at.strftime("%d/%m/%Y"),
        "parts-0-starts_at_1": starts_at.strftime("%H:%M:%S"),
        "parts-0-ends_at_0": ends_at.strftime("%d/%m/%Y"),
        "parts-0-ends_at_1": ends_at.strftime("%H:%M:%S"),
        "price_overrides-TOTAL_FORMS": 0,
        "price_overrides-INITIAL_FORMS": 0,
        "price_overrides-MIN_NUM_FORMS": 0,
        "price_overrides-MAX_NUM_FORMS": 1000,
        **changes,
    }


def test_the_admin_refuses_to_move_a_booked_session_and_points_to_the_move_page(
    client: Any, session: Session, school: Agency, agency_booker: Any, training_admin: Any
) -> None:
    book_someone(session, school, agency_booker)
    client.force_login(training_admin)
    url = reverse("admin:training_session_change", args=[session.pk])
    move_page = reverse("bookings:move_session", args=[session.pk])
    old_start = session.starts_at

    later = client.post(url, change_page_data(session, starts_at=old_start + dt.timedelta(days=7)))
    assert later.status_code == 200
    assert move_page in later.content.decode()

    elsewhere = Venue.objects.create(name="Civic Centre", address="1 High St", area="taunton")
    moved = client.post(url, change_page_data(session, venue=elsewhere.pk))
    assert moved.status_code == 200
    assert move_page in moved.content.decode()

    session.refresh_from_db()
    assert (session.starts_at, session.venue_id) == (old_start, session.venue_id)
    assert session.venue != elsewhere


def test_the_admin_still_moves_a_session_nobody_has_booked(
    client: Any, session: Session, training_admin: Any
) -> None:
    client.force_login(training_admin)
    url = reverse("admin:training_session_change", args=[session.pk])
    new_start = session.starts_at + dt.timedelta(days=7)  # type: ignore[operator]
    response = client.post(url, change_page_data(session, starts_at=new_start))
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.starts_at == new_start.replace(microsecond=0)


def test_the_import_refuses_to_move_a_booked_session_to_another_venue(
    session: Session, school: Agency, agency_booker: Any, course: Course
) -> None:
    book_someone(session, school, agency_booker)
    elsewhere = Venue.objects.create(name="Civic Centre", address="1 High St", area="taunton")
    rows = tablib.Dataset(headers=["id", "course", "venue", "capacity", "status"])
    rows.append([session.pk, course.title, elsewhere.name, session.capacity, session.status])
    result = SessionResource().import_data(rows, dry_run=False)
    (invalid,) = result.invalid_rows
    assert set(invalid.error_dict) == {"venue"}
