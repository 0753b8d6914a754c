"""Privacy: survey links work once, cannot be guessed, and expire; a community member sees only
their own calls, and for each only what the call needs; nothing about bookings or payments."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.urls import NoReverseMatch, reverse

from bookings.models import Invoice, InvoiceKind, InvoiceLine, Payment
from evaluation.models import (
    CallDraw,
    FollowUpCall,
    FollowUpOptOut,
    Invitation,
    InvitationKind,
    Response,
    Survey,
    SurveyKind,
)
from tests.conftest import make_person
from tests.evaluation.helpers import Clock, aware, person, place, sent_invitation
from training.models import Session
from training.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def attendee(school: Any) -> Any:
    user = person("tess@example.org", agency=school, first_name="Tess", last_name="Teacher")
    user.profile.job_title = "Deputy head"
    user.profile.save()
    return user


@pytest.fixture
def follow_up(clock: Clock, march_session: Session, attendee: Any, school: Any) -> Invitation:
    booking = place(march_session, attendee=attendee, agency=school)
    return sent_invitation(booking, kind=InvitationKind.FOLLOW_UP, sent_at=clock.now)


def follow_up_answers() -> dict[str, str]:
    survey = Survey.objects.get(kind=SurveyKind.FOLLOW_UP)
    return {f"q{survey.questions.get(key='used_learning').pk}": "yes"}


def survey_url(invitation: Invitation) -> str:
    return reverse("evaluation:survey", args=[invitation.token])


def test_a_survey_link_works_once(client: Any, clock: Clock, follow_up: Invitation) -> None:
    assert client.get(survey_url(follow_up)).status_code == 200
    response = client.post(survey_url(follow_up), follow_up_answers())
    assert response.status_code == 302
    assert response["Location"] == reverse("evaluation:survey_thanks", args=[follow_up.token])
    assert "Thank you" in client.get(response["Location"]).content.decode()

    again = client.get(survey_url(follow_up))
    assert again.status_code == 410
    assert "You have already answered this survey" in again.content.decode()
    assert 'name="q' not in again.content.decode()
    resubmitted = client.post(survey_url(follow_up), follow_up_answers())
    assert resubmitted.status_code == 410
    assert Response.objects.count() == 1


def test_survey_pages_are_not_cached(client: Any, clock: Clock, follow_up: Invitation) -> None:
    response = client.get(survey_url(follow_up))
    assert "no-store" in response["Cache-Control"]


def test_a_guessed_link_finds_nothing(client: Any, clock: Clock, follow_up: Invitation) -> None:
    for token in (secrets.token_urlsafe(32), follow_up.token[:-1], follow_up.token.upper(), "1"):
        assert client.get(reverse("evaluation:survey", args=[token])).status_code == 404
        assert (
            client.post(reverse("evaluation:survey", args=[token]), follow_up_answers()).status_code
            == 404
        )
    assert Response.objects.count() == 0


def test_a_link_not_yet_emailed_finds_nothing(
    client: Any, clock: Clock, march_session: Session, attendee: Any, school: Any
) -> None:
    booking = place(march_session, attendee=attendee, agency=school)
    scheduled = Invitation.objects.create(
        booking=booking,
        kind=InvitationKind.FOLLOW_UP,
        survey=Survey.objects.get(kind=SurveyKind.FOLLOW_UP),
        send_after=aware(2025, 5, 26, 9),
    )
    assert client.get(survey_url(scheduled)).status_code == 404


def test_an_expired_link_is_refused(client: Any, clock: Clock, follow_up: Invitation) -> None:
    clock.advance(days=29, hours=23)
    assert client.get(survey_url(follow_up)).status_code == 200
    clock.advance(hours=1)
    page = client.get(survey_url(follow_up))
    assert page.status_code == 410
    assert "This survey link has expired" in page.content.decode()
    assert client.post(survey_url(follow_up), follow_up_answers()).status_code == 410
    assert Response.objects.count() == 0


def test_the_opt_out_link_still_works_after_the_survey_was_answered(
    client: Any, clock: Clock, follow_up: Invitation
) -> None:
    client.post(survey_url(follow_up), follow_up_answers())
    url = reverse("evaluation:opt_out", args=[follow_up.token])
    assert "Stop follow-ups" in client.get(url).content.decode()
    assert FollowUpOptOut.objects.count() == 0  # a GET changes nothing
    done = client.post(url)
    assert "Follow-ups stopped" in done.content.decode()
    opt_out = FollowUpOptOut.objects.get()
    assert (opt_out.email, opt_out.user) == ("tess@example.org", follow_up.booking.attendee)
    assert client.post(reverse("evaluation:opt_out", args=["guess"])).status_code == 404


# --- community members ------------------------------------------------------------------------


@pytest.fixture
def calls(
    clock: Clock, march_session: Session, attendee: Any, school: Any, community_member: Any
) -> dict[str, FollowUpCall]:
    """One call for our volunteer (to Tess) and one for another volunteer."""
    other_member = make_person(
        "other.volunteer@example.org", agency=None, roles=(Role.COMMUNITY_MEMBER,)
    )
    draw = CallDraw.objects.create(month=clock.now.date().replace(day=1), size=2)
    mine = FollowUpCall.objects.create(
        draw=draw,
        month=draw.month,
        booking=place(march_session, attendee=attendee, agency=school),
        person=attendee,
        sector=school.sector,
        phone="01632 960123",
        assigned_to=community_member,
    )
    someone = person("sam@example.org", agency=school, first_name="Sam", last_name="Secret")
    theirs = FollowUpCall.objects.create(
        draw=draw,
        month=draw.month,
        booking=place(march_session, attendee=someone, agency=school),
        person=someone,
        sector=school.sector,
        phone="01632 960999",
        assigned_to=other_member,
    )
    return {"mine": mine, "theirs": theirs}


def test_a_community_member_sees_only_their_own_calls(
    client: Any, calls: dict[str, FollowUpCall], community_member: Any
) -> None:
    client.force_login(community_member)
    listing = client.get(reverse("evaluation:call_list")).content.decode()
    assert "Tess Teacher" in listing and "Sam Secret" not in listing
    assert client.get(reverse("evaluation:call", args=[calls["mine"].pk])).status_code == 200
    theirs = calls["theirs"].pk
    for name in ("evaluation:call", "evaluation:call_script"):
        assert client.get(reverse(name, args=[theirs])).status_code == 404
        assert client.post(reverse(name, args=[theirs]), {"outcome": "declined"}).status_code == 404
    assert client.get(reverse("evaluation:call", args=[999999])).status_code == 404
    assert not calls["theirs"].attempts.exists()


def test_the_call_page_shows_only_name_phone_agency_course_and_date(
    client: Any, calls: dict[str, FollowUpCall], community_member: Any, attendee: Any
) -> None:
    client.force_login(community_member)
    page = client.get(reverse("evaluation:call", args=[calls["mine"].pk])).content.decode()
    for shown in (
        "Tess Teacher",
        "01632 960123",
        'href="tel:01632960123"',
        "Blackdown Primary School",
        "Working Together",
        "3 March 2025",
    ):
        assert shown in page
    booking = calls["mine"].booking
    for hidden in (
        attendee.email,
        "Deputy head",
        "Schools",
        booking.order.reference,
        "Invoice",
        "£",
        booking.certificate_code,
    ):
        assert hidden not in page, hidden


def test_people_without_the_community_member_role_cannot_open_calls(
    client: Any, calls: dict[str, FollowUpCall], practitioner: Any
) -> None:
    client.force_login(practitioner)
    assert client.get(reverse("evaluation:call_list")).status_code == 403
    assert client.get(reverse("evaluation:call", args=[calls["mine"].pk])).status_code == 403
    client.logout()
    login = client.get(reverse("evaluation:call_list"))
    assert login.status_code == 302 and "/accounts/login/" in login["Location"]


def test_a_community_member_gets_404_on_booking_payment_and_profile_pages(
    client: Any,
    calls: dict[str, FollowUpCall],
    community_member: Any,
    attendee: Any,
    march_session: Session,
) -> None:
    booking = calls["mine"].booking
    order = booking.order
    invoice = Invoice.objects.create(
        kind=InvoiceKind.INVOICE,
        number="INV-000123",
        order=order,
        agency=booking.agency,
        billing_name=booking.agency.name,
        issued_on=aware(2025, 3, 1).date(),
        due_on=aware(2025, 3, 31).date(),
    )
    InvoiceLine.objects.create(
        invoice=invoice, booking=booking, description="Place", amount="65.00"
    )
    payment = Payment.objects.create(
        order=order, gateway="development", amount="65.00", checkout_session_id="cs_test_123"
    )
    pages = {
        "bookings:booking": [booking.pk],
        "bookings:booking_ics": [booking.pk],
        "bookings:booking_cancel": [booking.pk],
        "bookings:booking_transfer": [booking.pk],
        "bookings:order": [order.reference],
        "bookings:order_status": [order.reference],
        "bookings:invoice_pdf": [invoice.number],
        "bookings:dev_checkout": [payment.checkout_session_id],
        "attendance:certificate_pdf": [booking.pk],
        "attendance:register": [march_session.pk],
        "attendance:sign_in_sheet": [march_session.pk],
        "attendance:person_training_record": [attendee.pk],
        "training:person": [attendee.pk],
    }
    # The administrator's and bookers' list pages are not found either.
    staff_pages = {
        "bookings:manage_bookings": [],
        "bookings:manage_session": [march_session.pk],
        "bookings:manage_invoices": [],
        "bookings:agency_bookings": [],
        "attendance:registers": [],
        "attendance:export": [],
    }
    client.force_login(community_member)
    checked = 0
    for name, args in (pages | staff_pages).items():
        try:
            url = reverse(name, args=args)
        except NoReverseMatch:
            continue  # a page the bookings app does not have (any more)
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"tess@example.org" not in response.content
        checked += 1
    assert checked >= 10
    # Nor through the administration site: a community member is not staff.
    admin_page = client.get(reverse("admin:index"))
    assert admin_page.status_code == 302
