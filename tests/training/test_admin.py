"""What the Django admin may change on a session, and what must go through its Manage bookings
page (cancelling refunds everyone; a capacity never drops below the places taken and new
places go to the waiting list): in the admin form and in the spreadsheet import alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import tablib
from django.contrib import admin
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.utils import timezone

from tests.conftest import make_session
from training.admin import SessionResource
from training.models import Course, Session, SessionStatus, Venue

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

    new = tablib.Dataset(headers=["id", "course", "venue", "capacity", "status"])
    new.append(["", course.title, venue.name, 12, "draft"])
    created = SessionResource().import_data(new, dry_run=False)
    assert not created.has_errors() and not created.has_validation_errors()
    assert Session.objects.filter(capacity=12, status=SessionStatus.DRAFT).exists()
