"""Who speaks for an agency: a profile's agency is a request until verified, booker rights are
a grant for one agency, and nobody lowers their price or reaches an agency's data by naming it
(issue 10, problems 1 and 2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import import_module
from typing import Any

import pytest
import tablib
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.errors import BookingError
from bookings.models import AuditEntry, Booking, Invoice, OutgoingEmail, PaymentMethod
from bookings.money.payments import payment_start, payment_succeeded
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.changes import booking_cancel
from bookings.places.membership import booker_grant
from tests.conftest import PASSWORD, make_person, make_session
from training.admin import AgencyResource
from training.membership import approval_token
from training.models import Agency, BookerGrant, Course, Profile, Sector, Session, Venue
from training.roles import Role

pytestmark = pytest.mark.django_db


def paid(order: Any) -> Booking:
    """A card order paid through the gateway: its place confirmed."""
    now = timezone.now()
    payment = payment_start(order=order, success_url="http://t/", cancel_url="http://t/", now=now)
    payment_succeeded(payment=payment, payment_intent_id=f"pi_{payment.pk}", now=now)
    return Booking.objects.get(order=order)


def future(days: int) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, 9))


def logged_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def profile_post(person: Any, **agency: Any) -> dict[str, Any]:
    return {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "job_title": "Nursery manager",
        "phone": "",
        **agency,
    }


def book(user: Any, session: Session, method: str = PaymentMethod.CARD, **kw: Any) -> Any:
    user = get_user_model().objects.get(pk=user.pk)  # as a request loads them: fresh
    return booking_create(
        session=session,
        attendees=[AttendeeSpec(name=user.get_full_name(), email=user.email)],
        agency=Profile.objects.get(user=user).agency,
        booked_by=user,
        payment_method=method,
        now=timezone.now(),
        **kw,
    )


@pytest.fixture
def session(course: Course, venue: Venue) -> Session:
    return make_session(course, venue, starts_at=future(40), capacity=10)


@pytest.fixture
def colleague(school: Agency) -> Any:
    return make_person(
        "colleague@blackdown.example.org", agency=school, first_name="Cal", last_name="Colleague"
    )


@pytest.fixture
def blackdown(session: Session, school: Agency, agency_booker: Any, colleague: Any) -> Any:
    """Blackdown's invoiced order for a colleague, and a subsidised allowance."""
    school.subsidised_places_per_year = 4
    school.save()
    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name="Cal Colleague", email=colleague.email)],
        agency=school,
        booked_by=agency_booker,
        payment_method=PaymentMethod.INVOICE,
        now=timezone.now(),
    )
    return order


def nursery_worker(nursery: Agency) -> Any:
    return make_person(
        "worker@acorns.example.org", agency=nursery, first_name="Nell", last_name="Nursery"
    )


# --- problem 1: a booker makes themselves booker of any agency -------------------------------


def test_booker_who_changes_their_profile_agency_to_blackdown_gets_no_blackdown_data(
    blackdown: Any, school: Agency, colleague: Any, other_agency_booker: Any, session: Session
) -> None:
    client = logged_in(other_agency_booker)
    response = client.post(
        reverse("training:profile"), profile_post(other_agency_booker, agency=school.pk)
    )
    assert response.status_code == 302
    profile = Profile.objects.get(user=other_agency_booker)
    assert profile.agency == school and not profile.agency_verified
    # Their Little Acorns grant ended with the move; no Blackdown grant came with it.
    assert not BookerGrant.objects.filter(user=other_agency_booker, revoked_at=None).exists()

    booking = blackdown.bookings.get()
    invoice = blackdown.invoices.get()
    pages = [
        reverse("bookings:agency_bookings"),
        reverse("bookings:invoice_pdf", args=[invoice.number]),
        reverse("training:person", args=[colleague.pk]),
        reverse("attendance:person_training_record", args=[colleague.pk]),
        reverse("bookings:booking", args=[booking.pk]),
        reverse("bookings:booking_transfer", args=[booking.pk]),
        reverse("bookings:order", args=[blackdown.reference]),
    ]
    for url in pages:
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert colleague.email not in answer.content.decode()
    transfer = client.post(
        reverse("bookings:booking_transfer", args=[booking.pk]),
        {"name": "Outsider", "email": "outsider@elsewhere.example.org"},
    )
    assert transfer.status_code == 404
    booking.refresh_from_db()
    assert booking.attendee_email == colleague.email

    # Invoicing Blackdown and drawing on its subsidised places are refused, however asked.
    with pytest.raises(BookingError):
        book(other_agency_booker, session, PaymentMethod.INVOICE)
    with pytest.raises(BookingError):
        book(other_agency_booker, session, PaymentMethod.SUBSIDISED)
    assert Invoice.objects.filter(agency=school).count() == 1
    page = client.get(reverse("bookings:book", args=[session.pk]))
    assert 'value="invoice"' not in page.content.decode()
    assert 'value="subsidised"' not in page.content.decode()


def test_lookalike_new_agency_name_offers_membership_and_gains_nothing_until_approved(
    blackdown: Any,
    school: Agency,
    nursery: Agency,
    sectors: dict[str, Sector],
    session: Session,
    agency_booker: Any,
    colleague: Any,
) -> None:
    person = nursery_worker(nursery)
    client = logged_in(person)
    proposal = profile_post(
        person,
        new_agency_name="  BLACKDOWN   primary-school. ",
        new_agency_sector=sectors["Schools"].pk,
    )
    response = client.post(reverse("training:profile"), proposal)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ask to join Blackdown Primary School" in page
    assert Profile.objects.get(user=person).agency == nursery  # nothing changed yet
    assert not Agency.objects.filter(name__iexact="blackdown primary-school.").exists()

    client.post(reverse("training:profile"), {**proposal, "join_agency": school.pk})
    profile = Profile.objects.get(user=person)
    assert profile.agency == school and not profile.agency_verified
    # The request went to Blackdown's booker, who can approve it.
    assert OutgoingEmail.objects.filter(
        kind="membership_requested", to=agency_booker.email
    ).exists()
    # Until then: none of Blackdown's data, and the individual's (independent) price.
    assert client.get(reverse("training:person", args=[colleague.pk])).status_code == 404
    assert client.get(reverse("bookings:agency_bookings")).status_code == 404
    assert book(person, session).bookings.get().price == Decimal("95.00")


def test_near_match_needs_a_confirmation_before_a_new_agency_is_proposed(
    school: Agency, nursery: Agency, sectors: dict[str, Sector]
) -> None:
    person = nursery_worker(nursery)
    client = logged_in(person)
    post = profile_post(
        person, new_agency_name="Blackdown Primary Schol", new_agency_sector=sectors["Schools"].pk
    )
    response = client.post(reverse("training:profile"), post)
    assert "Ask to join Blackdown Primary School" in response.content.decode()
    assert not Agency.objects.filter(name="Blackdown Primary Schol").exists()
    client.post(reverse("training:profile"), {**post, "new_agency_confirmed": "on"})
    proposed = Agency.objects.get(name="Blackdown Primary Schol")
    assert not proposed.approved and Profile.objects.get(user=person).agency == proposed


# --- problem 2: anyone chooses their own price -------------------------------------------------


def test_nursery_worker_proposing_a_charity_pays_the_independent_price_until_verified(
    nursery: Agency, sectors: dict[str, Sector], session: Session
) -> None:
    person = nursery_worker(nursery)
    client = logged_in(person)
    client.post(
        reverse("training:profile"),
        profile_post(
            person, new_agency_name="Tiny Steps Trust", new_agency_sector=sectors["Charities"].pk
        ),
    )
    assert Profile.objects.get(user=person).agency.name == "Tiny Steps Trust"
    assert book(person, session).bookings.get().price == Decimal("95.00")
    review = client.get(reverse("bookings:book", args=[session.pk])).content.decode()
    assert "£95.00" in review and "£45.00" not in review


def test_picking_an_approved_charity_from_the_list_is_a_request_at_the_independent_price(
    nursery: Agency, sectors: dict[str, Sector], session: Session
) -> None:
    charity = Agency.objects.create(name="Levels Family Support Trust", sector=sectors["Charities"])
    person = nursery_worker(nursery)
    logged_in(person).post(reverse("training:profile"), profile_post(person, agency=charity.pk))
    assert not Profile.objects.get(user=person).agency_verified
    assert book(person, session).bookings.get().price == Decimal("95.00")


def test_highest_band_setting_charges_the_sessions_dearest_price(
    settings: Any, nursery: Agency, sectors: dict[str, Sector], session: Session
) -> None:
    settings.UNVERIFIED_PRICE_BAND = "highest"
    session.course.prices.filter(band__slug="voluntary").update(amount=Decimal("120.00"))
    charity = Agency.objects.create(name="Levels Family Support Trust", sector=sectors["Charities"])
    person = make_person("claimer@example.org", agency=charity, verified=False)
    assert book(person, session).bookings.get().price == Decimal("120.00")


# --- verification ------------------------------------------------------------------------------


def test_a_verified_address_at_the_agencys_domain_verifies_membership_at_once(
    school: Agency, nursery: Agency, session: Session
) -> None:
    school.email_domains = "blackdown.example.org\nBlackdownMAT.example.org"
    school.save()
    person = make_person("new.teacher@blackdownmat.example.org", agency=nursery)
    logged_in(person).post(reverse("training:profile"), profile_post(person, agency=school.pk))
    profile = Profile.objects.get(user=person)
    assert profile.agency_verified and profile.agency_verified_how == "domain"
    assert book(person, session).bookings.get().price == Decimal("65.00")


def test_an_unverified_address_at_the_domain_verifies_nothing_until_confirmed(
    school: Agency, nursery: Agency
) -> None:
    school.email_domains = "blackdown.example.org"
    school.save()
    person = make_person("claims@blackdown.example.org", agency=nursery)
    EmailAddress.objects.filter(user=person).update(verified=False)
    logged_in(person).post(reverse("training:profile"), profile_post(person, agency=school.pk))
    assert not Profile.objects.get(user=person).agency_verified
    # A look-alike domain is not the agency's either.
    other = make_person("x@evil-blackdown.example.org", agency=nursery)
    logged_in(other).post(reverse("training:profile"), profile_post(other, agency=school.pk))
    assert not Profile.objects.get(user=other).agency_verified


def test_confirming_an_address_at_the_domain_later_verifies_the_waiting_request(
    school: Agency, nursery: Agency
) -> None:
    school.email_domains = "blackdown.example.org"
    school.save()
    person = make_person("late@blackdown.example.org", agency=nursery)
    address = EmailAddress.objects.get(user=person)
    address.verified = False
    address.save()
    logged_in(person).post(reverse("training:profile"), profile_post(person, agency=school.pk))
    assert not Profile.objects.get(user=person).agency_verified
    address.verified = True
    address.save()
    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)
    assert Profile.objects.get(user=person).agency_verified_how == "domain"


def test_booker_approves_a_request_from_the_emailed_link_and_a_get_changes_nothing(
    school: Agency, nursery: Agency, agency_booker: Any
) -> None:
    person = nursery_worker(nursery)
    logged_in(person).post(reverse("training:profile"), profile_post(person, agency=school.pk))
    email = OutgoingEmail.objects.get(kind="membership_requested", to=agency_booker.email)
    token = email.context["token"]
    link = reverse("bookings:membership_approve", args=[token])

    booker = logged_in(agency_booker)
    page = booker.get(link)
    assert page.status_code == 200 and person.email in page.content.decode()
    assert not Profile.objects.get(user=person).agency_verified  # a scanner's GET did nothing
    assert booker.post(link).status_code == 302
    profile = Profile.objects.get(user=person)
    assert profile.agency_verified and profile.agency_verified_by == agency_booker
    assert profile.agency_verified_how == "booker"
    assert AuditEntry.objects.filter(
        action="membership verified", object_id=str(profile.pk)
    ).exists()


def test_another_agencys_booker_cannot_approve_and_a_forged_link_is_refused(
    school: Agency, nursery: Agency, other_agency_booker: Any
) -> None:
    person = make_person("claimer@example.org", agency=nursery)
    logged_in(person).post(reverse("training:profile"), profile_post(person, agency=school.pk))
    profile = Profile.objects.get(user=person)
    link = reverse("bookings:membership_approve", args=[approval_token(profile)])
    other = logged_in(other_agency_booker)
    assert other.get(link).status_code == 404
    assert other.post(link).status_code == 404
    assert (
        other.post(reverse("bookings:membership_approve_request", args=[profile.pk])).status_code
        == 404
    )
    assert logged_in(person).post(link).status_code == 404  # nor the person themselves
    forged = reverse("bookings:membership_approve", args=[approval_token(profile)[:-2] + "xx"])
    assert logged_in(other_agency_booker).get(forged).status_code == 404
    assert not Profile.objects.get(user=person).agency_verified


def test_an_old_link_does_not_approve_a_later_request(
    school: Agency, nursery: Agency, sectors: dict[str, Sector], agency_booker: Any
) -> None:
    person = make_person("mover@example.org", agency=nursery)
    client = logged_in(person)
    client.post(reverse("training:profile"), profile_post(person, agency=school.pk))
    old_link = reverse(
        "bookings:membership_approve", args=[approval_token(Profile.objects.get(user=person))]
    )
    holway = Agency.objects.create(name="Holway Park Academy", sector=sectors["Schools"])
    client.post(reverse("training:profile"), profile_post(person, agency=holway.pk))
    client.post(reverse("training:profile"), profile_post(person, agency=school.pk))
    assert logged_in(agency_booker).post(old_link).status_code == 404
    assert not Profile.objects.get(user=person).agency_verified


def test_the_administrator_approves_a_request_from_the_requests_page(
    school: Agency, nursery: Agency, training_admin: Any
) -> None:
    person = make_person("claimer@example.org", agency=nursery)
    logged_in(person).post(reverse("training:profile"), profile_post(person, agency=school.pk))
    profile = Profile.objects.get(user=person)
    admin = logged_in(training_admin)
    assert person.email in admin.get(reverse("bookings:members")).content.decode()
    admin.post(reverse("bookings:membership_approve_request", args=[profile.pk]))
    profile.refresh_from_db()
    assert profile.agency_verified and profile.agency_verified_how == "administrator"


def test_with_no_booker_the_request_goes_to_the_training_team(
    sectors: dict[str, Sector], training_admin: Any, nursery: Agency
) -> None:
    lonely = Agency.objects.create(
        name="Rainbow Pre-school", sector=sectors["Early Years Providers"]
    )
    person = make_person("claimer@example.org", agency=nursery)
    logged_in(person).post(reverse("training:profile"), profile_post(person, agency=lonely.pk))
    assert OutgoingEmail.objects.filter(
        kind="membership_requested", to=training_admin.email
    ).exists()


# --- booker grants -----------------------------------------------------------------------------


def test_a_booker_grants_rights_to_a_member_and_a_revocation_takes_effect_at_once(
    blackdown: Any, school: Agency, agency_booker: Any, colleague: Any
) -> None:
    booker = logged_in(agency_booker)
    member = logged_in(colleague)
    assert member.get(reverse("bookings:agency_bookings")).status_code == 404
    booker.post(reverse("bookings:booker_grant", args=[colleague.profile.pk]))
    grant = BookerGrant.objects.get(user=colleague, agency=school, revoked_at=None)
    assert grant.granted_by == agency_booker
    assert AuditEntry.objects.filter(action="booker granted", object_id=str(grant.pk)).exists()
    assert member.get(reverse("bookings:agency_bookings")).status_code == 200

    booker.post(reverse("bookings:booker_revoke", args=[grant.pk]))
    assert member.get(reverse("bookings:agency_bookings")).status_code == 404
    assert (
        member.get(
            reverse("bookings:invoice_pdf", args=[blackdown.invoices.get().number])
        ).status_code
        == 404
    )
    assert AuditEntry.objects.filter(action="booker revoked", object_id=str(grant.pk)).exists()


def test_another_agencys_booker_cannot_grant_or_revoke_and_nobody_unverified_is_granted(
    school: Agency, agency_booker: Any, other_agency_booker: Any, colleague: Any
) -> None:
    other = logged_in(other_agency_booker)
    assert (
        other.post(reverse("bookings:booker_grant", args=[colleague.profile.pk])).status_code == 404
    )
    grant = BookerGrant.objects.get(user=agency_booker)
    assert other.post(reverse("bookings:booker_revoke", args=[grant.pk])).status_code == 404
    assert BookerGrant.objects.get(pk=grant.pk).revoked_at is None
    claimer = make_person("claimer@example.org", agency=school, verified=False)
    with pytest.raises(BookingError):
        booker_grant(person=claimer, agency=school, actor=agency_booker, now=timezone.now())


def test_the_administrator_grants_and_revokes_on_the_agencys_admin_page(
    school: Agency, training_admin: Any, colleague: Any
) -> None:
    admin = logged_in(training_admin)
    url = reverse("admin:training_agency_change", args=[school.pk])
    page = admin.get(url)
    assert page.status_code == 200
    form = {
        "name": school.name,
        "sector": school.sector_id,
        "address": school.address,
        "invoice_contact_name": "",
        "invoice_contact_email": school.invoice_contact_email,
        "subsidised_places_per_year": 0,
        "approved": "on",
        "email_domains": "",
        "booker_grants-TOTAL_FORMS": "1",
        "booker_grants-INITIAL_FORMS": "0",
        "booker_grants-MIN_NUM_FORMS": "0",
        "booker_grants-MAX_NUM_FORMS": "1000",
        "booker_grants-0-user": colleague.pk,
        "booker_grants-0-agency": school.pk,
    }
    response = admin.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    grant = BookerGrant.objects.get(user=colleague, agency=school)
    assert grant.granted_by == training_admin and grant.revoked_at is None
    assert logged_in(colleague).get(reverse("bookings:agency_bookings")).status_code == 200
    assert colleague.email in admin.get(url).content.decode()  # listed on the agency's page

    revoke = {
        **form,
        "booker_grants-INITIAL_FORMS": "1",
        "booker_grants-0-id": grant.pk,
        "booker_grants-0-revoked_at_0": timezone.localdate().isoformat(),
        "booker_grants-0-revoked_at_1": "00:00:00",
    }
    assert admin.post(url, revoke).status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_by == training_admin
    assert logged_in(colleague).get(reverse("bookings:agency_bookings")).status_code == 404


# --- proposed agencies --------------------------------------------------------------------------


def test_approving_a_proposed_agency_invoices_the_difference_upward_only(
    settings: Any,
    sectors: dict[str, Sector],
    nursery: Agency,
    session: Session,
    training_admin: Any,
) -> None:
    settings.UNVERIFIED_PRICE_BAND = "voluntary"  # a cheap individual price, to see the rise
    person = nursery_worker(nursery)
    client = logged_in(person)
    client.post(
        reverse("training:profile"),
        profile_post(
            person, new_agency_name="Sedgemoor Academy", new_agency_sector=sectors["Charities"].pk
        ),
    )
    proposed = Agency.objects.get(name="Sedgemoor Academy")
    cheap = paid(book(person, session))
    assert cheap.price == Decimal("45.00")
    # The administrator checks the sector (a school, not a charity) and approves it.
    proposed.sector = sectors["Independent Schools"]
    proposed.save()
    admin = logged_in(training_admin)
    admin.post(
        reverse("admin:training_agency_changelist"),
        {"action": "approve", "_selected_action": [proposed.pk]},
    )
    proposed.refresh_from_db()
    assert proposed.approved
    assert Profile.objects.get(user=person).agency_verified  # the proposer, vouched for
    invoice = Invoice.objects.get(agency=proposed)
    assert [line.amount for line in invoice.lines.all()] == [Decimal("50.00")]
    assert invoice.billing_email == person.email
    assert AuditEntry.objects.filter(action="repriced", object_id=str(cheap.pk)).exists()
    cheap.refresh_from_db()
    assert cheap.price == Decimal("45.00")  # what was paid; the difference is the invoice's
    # Cancelled before the cut-off: the card payment is refunded and the difference credited.
    booking_cancel(booking=cheap, actor=person, reason="Plans changed", now=timezone.now())
    note = Invoice.objects.get(credits=invoice)
    assert [line.amount for line in note.lines.all()] == [Decimal("-50.00")]


def test_approving_a_proposed_agency_in_a_cheaper_sector_changes_nothing(
    sectors: dict[str, Sector], nursery: Agency, session: Session, training_admin: Any
) -> None:
    person = nursery_worker(nursery)
    logged_in(person).post(
        reverse("training:profile"),
        profile_post(
            person, new_agency_name="Tiny Steps Trust", new_agency_sector=sectors["Charities"].pk
        ),
    )
    proposed = Agency.objects.get(name="Tiny Steps Trust")
    booking = paid(book(person, session))
    assert booking.price == Decimal("95.00")
    logged_in(training_admin).post(
        reverse("admin:training_agency_changelist"),
        {"action": "approve", "_selected_action": [proposed.pk]},
    )
    assert Agency.objects.get(pk=proposed.pk).approved
    assert not Invoice.objects.filter(agency=proposed).exists()
    assert Booking.objects.get(pk=booking.pk).price == Decimal("95.00")


# --- existing data ------------------------------------------------------------------------------


def test_the_data_migration_keeps_existing_members_and_bookers_working(
    school: Agency, sectors: dict[str, Sector]
) -> None:
    migration = import_module("training.migrations.0007_existing_members_verified_bookers_granted")
    waiting = Agency.objects.create(name="Proposed Place", sector=sectors["Other"], approved=False)
    booker = make_person(
        "old.booker@example.org", agency=school, roles=(Role.AGENCY_BOOKER,), verified=False
    )
    member = make_person("old.member@example.org", agency=school, verified=False)
    proposer = make_person("proposer@example.org", agency=waiting, verified=False)
    assert not BookerGrant.objects.filter(user=booker).exists()
    migration.forwards(apps, None)
    assert Profile.objects.get(user=member).agency_verified
    assert not Profile.objects.get(user=proposer).agency_verified
    assert BookerGrant.objects.filter(user=booker, agency=school, revoked_at=None).exists()
    assert Group.objects.filter(name=Role.AGENCY_BOOKER).exists()


def test_an_import_cannot_approve_a_proposed_agency_behind_the_approve_action(
    sectors: dict[str, Sector],
) -> None:
    waiting = Agency.objects.create(name="Proposed Place", sector=sectors["Other"], approved=False)
    rows = tablib.Dataset(headers=["name", "sector", "approved"])
    rows.append([waiting.name, "Charities", "1"])
    result = AgencyResource().import_data(rows, dry_run=False)
    assert result.has_validation_errors()
    assert not Agency.objects.get(pk=waiting.pk).approved
    fresh = tablib.Dataset(headers=["name", "sector", "approved"])
    fresh.append(["Mendip Sports Club", "Other", "1"])
    assert not AgencyResource().import_data(fresh, dry_run=False).has_validation_errors()
    assert Agency.objects.get(name="Mendip Sports Club").approved
