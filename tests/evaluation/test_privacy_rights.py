"""A person's rights: a copy of their data, erasure on request, and the privacy notice."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import AuditEntry, Booking, Invoice, InvoiceKind, InvoiceStatus
from evaluation.models import RetentionPolicy
from evaluation.privacy.people import email_token
from tests.conftest import make_session
from tests.evaluation.helpers import aware, place
from training.models import Agency, Course, Venue

pytestmark = pytest.mark.django_db


@pytest.fixture
def past_place(course: Course, venue: Venue, practitioner: Any, school: Agency) -> Booking:
    session = make_session(course, venue, starts_at=aware(2024, 3, 10, 9, 30))
    return place(session, attendee=practitioner, agency=school)


def zip_of(response: Any) -> zipfile.ZipFile:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(
        io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content)
    )


def test_a_practitioner_downloads_everything_held_about_them_as_json_and_csv(
    client: Any, practitioner: Any, past_place: Booking
) -> None:
    client.force_login(practitioner)

    archive = zip_of(client.get(reverse("privacy:my_data")))

    names = set(archive.namelist())
    assert {
        "data.json",
        "profile.csv",
        "bookings.csv",
        "certificates.csv",
        "emails_sent.csv",
    } <= names
    data = json.loads(archive.read("data.json"))
    assert data["profile"][0]["email"] == practitioner.email
    assert [row["id"] for row in data["bookings"]] == [past_place.pk]
    assert data["certificates"][0]["certificate_code"] == past_place.certificate_code
    assert practitioner.email in archive.read("profile.csv").decode("utf-8-sig")


def test_an_administrator_downloads_a_persons_data_and_nobody_else_may(
    client: Any,
    training_admin: Any,
    other_agency_booker: Any,
    practitioner: Any,
    past_place: Booking,
) -> None:
    url = reverse("privacy:person_data", args=[practitioner.pk])
    client.force_login(other_agency_booker)
    assert client.get(url).status_code == 404
    client.force_login(training_admin)

    data = json.loads(zip_of(client.get(url)).read("data.json"))

    assert data["bookings"][0]["attendee_email"] == practitioner.email


def test_the_persons_page_links_to_their_data_for_an_administrator(
    client: Any, training_admin: Any, practitioner: Any
) -> None:
    client.force_login(training_admin)
    page = client.get(reverse("training:person", args=[practitioner.pk])).content.decode()
    assert reverse("privacy:person_data", args=[practitioner.pk]) in page
    assert reverse("privacy:person_erase", args=[practitioner.pk]) in page


def test_erasure_asks_for_confirmation_then_anonymises_and_keeps_the_booking(
    client: Any, training_admin: Any, practitioner: Any, past_place: Booking
) -> None:
    url = reverse("privacy:person_erase", args=[practitioner.pk])
    client.force_login(training_admin)
    assert "This person asked for their data to be erased" in client.get(url).content.decode()

    unconfirmed = client.post(url, {})
    assert unconfirmed.status_code == 400
    assert "Tick the box" in unconfirmed.content.decode()
    assert Booking.objects.get().attendee_email == practitioner.email

    response = client.post(url, {"confirm": "yes"})

    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.pk == past_place.pk and booking.attendance == "attended"
    assert booking.attendee_name == "Anonymised person"
    assert booking.attendee_email == email_token(practitioner.email)
    practitioner.refresh_from_db()
    assert not practitioner.is_active and practitioner.first_name == "Anonymised"
    entry = AuditEntry.objects.get(action="personal data erased on request")
    assert entry.actor == training_admin and entry.code == "erased_on_request"
    assert entry.changes["bookings"] == 1


def test_erasure_is_refused_while_they_have_a_place_still_to_come(
    client: Any,
    training_admin: Any,
    practitioner: Any,
    course: Course,
    venue: Venue,
    school: Agency,
) -> None:
    future = make_session(course, venue, starts_at=timezone.now() + dt.timedelta(days=20))
    place(future, attendee=practitioner, agency=school)
    client.force_login(training_admin)

    response = client.post(
        reverse("privacy:person_erase", args=[practitioner.pk]), {"confirm": "yes"}
    )

    text = response.content.decode()
    assert "cannot be erased yet" in text and "session still to come" in text
    assert Booking.objects.get().attendee_email == practitioner.email


def test_erasure_is_refused_while_they_hold_an_unpaid_invoice(
    client: Any, training_admin: Any, practitioner: Any, past_place: Booking, school: Agency
) -> None:
    order = past_place.order
    order.booked_by = practitioner
    order.save()
    Invoice.objects.create(
        kind=InvoiceKind.INVOICE,
        number="INV-0042",
        order=order,
        agency=school,
        billing_name=school.name,
        issued_on=dt.date(2024, 3, 1),
        due_on=dt.date(2024, 3, 31),
        status=InvoiceStatus.ISSUED,
    )
    client.force_login(training_admin)

    text = client.get(reverse("privacy:person_erase", args=[practitioner.pk])).content.decode()

    assert "unpaid invoice (INV-0042)" in text
    assert "Erase their personal data</button>" not in text


def test_the_privacy_notice_reads_its_periods_from_the_policy_and_is_on_every_page(
    client: Any,
) -> None:
    policy = RetentionPolicy.current()
    policy.contact_years = 7
    policy.save()

    notice = client.get(reverse("privacy:notice")).content.decode()

    assert "7 years after your last booking" in notice
    assert "3 years, except an example" in notice
    assert "30 days" in notice
    for url in (reverse("bookings:catalogue"), reverse("account_signup")):
        assert reverse("privacy:notice") in client.get(url).content.decode()
