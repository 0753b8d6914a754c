"""The audit trail page: the administrator filters, pages and exports who changed what."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from bookings.audit import action_code, action_label, audit_record
from bookings.models import AuditEntry, Booking
from tests.conftest import make_session
from tests.evaluation.helpers import aware, place
from training.models import Agency, Course, Venue

pytestmark = pytest.mark.django_db

URL = reverse("records:audit")


@pytest.fixture
def booking(course: Course, venue: Venue, practitioner: Any, school: Agency) -> Booking:
    session = make_session(course, venue, starts_at=aware(2025, 3, 10, 9, 30))
    return place(session, attendee=practitioner, agency=school)


def test_actions_have_stable_codes_and_labels() -> None:
    assert action_code("status issued → paid") == "status_changed"
    assert action_code("attendance absent → attended") == "attendance_recorded"
    assert action_code("joined waiting list") == "waitlist_joined"
    assert action_code("something new") == "other"
    assert action_label("status_changed") == "Status changed"


def test_an_entry_is_written_with_its_code(booking: Booking, training_admin: Any) -> None:
    entry = audit_record(
        obj=booking,
        action="status confirmed → cancelled",
        actor=training_admin,
        now=aware(2025, 1, 2),
    )
    assert AuditEntry.objects.get(pk=entry.pk).code == "status_changed"


def test_only_an_administrator_sees_the_audit_trail(
    client: Any, practitioner: Any, training_admin: Any
) -> None:
    client.force_login(practitioner)
    assert client.get(URL).status_code == 404
    client.force_login(training_admin)
    assert client.get(URL).status_code == 200


def test_the_administrator_filters_by_record_action_who_and_dates(
    client: Any, booking: Booking, training_admin: Any
) -> None:
    audit_record(obj=booking, action="created", actor=training_admin, now=aware(2025, 1, 2))
    audit_record(
        obj=booking, action="status confirmed → cancelled", actor=None, now=aware(2025, 2, 2)
    )
    audit_record(obj=booking.order, action="created", actor=training_admin, now=aware(2025, 3, 2))
    client.force_login(training_admin)

    def shown(**query: str) -> int:
        response = client.get(URL, query)
        assert response.status_code == 200
        return response.context["page"].paginator.count

    assert shown() == 3
    assert shown(object_type="bookings.booking", object_id=str(booking.pk)) == 2
    assert shown(code="status_changed") == 1
    assert shown(who="system") == 1
    assert shown(date_from="2025-02-01", date_to="2025-02-28") == 1
    assert shown(person=str(booking.attendee_id)) == 2
    bad = client.get(URL, {"date_from": "2025-03-01", "date_to": "2025-01-01"})
    assert bad.status_code == 400 and "before the start date" in bad.content.decode()


def test_the_entries_page_by_fifty_and_export_as_csv(
    client: Any, booking: Booking, training_admin: Any
) -> None:
    for minute in range(55):
        audit_record(
            obj=booking,
            action="created",
            actor=None,
            now=aware(2025, 1, 2) + dt.timedelta(minutes=minute),
        )
    client.force_login(training_admin)

    assert len(client.get(URL).context["rows"]) == 50
    assert len(client.get(URL, {"page": "2"}).context["rows"]) == 5
    export = client.get(URL, {"format": "csv", "code": "created"})

    assert export["Content-Type"].startswith("text/csv")
    lines = export.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "at,record,record_number,code,action,details,who"
    assert len(lines) == 56


def test_a_booking_links_to_its_history_for_an_administrator(
    client: Any, booking: Booking, training_admin: Any
) -> None:
    client.force_login(training_admin)
    page = client.get(reverse("bookings:booking", args=[booking.pk])).content.decode()
    assert f"{URL}?object_type=bookings.booking&amp;object_id={booking.pk}" in page
