"""The line manager's approval: held places, signed one-click links, expiry and races."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.capacity import places_taken
from bookings.errors import BookingError
from bookings.housekeeping import housekeeping_run
from bookings.models import (
    Approval,
    ApprovalStage,
    ApprovalStatus,
    AuditEntry,
    Booking,
    BookingStatus,
    OutgoingEmail,
    PaymentMethod,
    WaitingListEntry,
    WaitlistStatus,
)
from bookings.places.approvals import (
    Decision,
    ManagerSpec,
    approval_decide,
    approval_from_token,
    approval_token,
)
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.sessions import session_cancel
from tests.bookings.test_concurrency import at_once
from tests.conftest import make_person, make_session
from training.models import Agency, ApprovalRule, Course, Session, Venue
from training.roles import Role

# A Monday morning, so "three working days" is Thursday.
NOW = timezone.make_aware(dt.datetime(2031, 3, 3, 10, 0))
MANAGER = ManagerSpec(name="Morag Manager", email="Morag@School.example.org")


@pytest.fixture
def approval_course(course: Course) -> Course:
    course.approval = ApprovalRule.MANAGER
    course.save()
    return course


@pytest.fixture
def session(approval_course: Course, venue: Venue) -> Session:
    return make_session(approval_course, venue, starts_at=NOW + dt.timedelta(days=40), capacity=2)


def book(session: Session, agency: Agency, booked_by: Any, email: str, **kw: Any) -> Booking:
    order = booking_create(
        session=session,
        attendees=[AttendeeSpec(name=email.split("@")[0].title(), email=email)],
        agency=agency,
        booked_by=booked_by,
        payment_method=kw.pop("method", PaymentMethod.INVOICE),
        manager=kw.pop("manager", MANAGER),
        now=kw.pop("now", NOW),
    )
    return order.bookings.get()


def kinds_to(address: str) -> list[str]:
    return list(OutgoingEmail.objects.filter(to=address).values_list("kind", flat=True))


@pytest.mark.django_db
def test_a_booking_that_needs_approval_holds_its_place_and_asks_the_manager(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = book(session, school, agency_booker, "sam@example.org")

    assert booking.status == BookingStatus.AWAITING_APPROVAL
    assert timezone.localtime(booking.hold_expires_at) == timezone.make_aware(
        dt.datetime(2031, 3, 6, 17, 0)
    )
    assert places_taken(session.pk, NOW) == 1  # counted like a hold
    assert kinds_to("morag@school.example.org") == ["approval_request"]
    assert "booking_confirmed" not in kinds_to("sam@example.org")  # not confirmed yet
    assert not booking.order.invoices.exists()  # invoiced only once approved
    assert AuditEntry.objects.filter(
        object_id=str(booking.pk), action="approval asked of line manager"
    ).exists()


@pytest.mark.django_db
def test_a_course_needing_approval_refuses_a_booking_without_a_manager(
    session: Session, school: Agency, practitioner: Any
) -> None:
    with pytest.raises(BookingError, match="line manager's approval"):
        book(session, school, practitioner, "teacher@example.org", manager=ManagerSpec())


@pytest.mark.django_db
def test_a_booker_who_records_the_managers_agreement_confirms_at_once(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = book(
        session, school, agency_booker, "sam@example.org", manager=ManagerSpec(agreed=True)
    )
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.manager_agreed
    assert not Approval.objects.exists()


@pytest.mark.django_db
def test_approving_confirms_the_place_and_copies_the_manager(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = book(session, school, agency_booker, "sam@example.org")
    approval = booking.approvals.get()

    outcome = approval_decide(
        approval=approval, decision=Decision.APPROVE, decided_by="morag", now=NOW
    )

    booking.refresh_from_db()
    assert outcome == "approved: place confirmed"
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.order.invoices.count() == 1
    assert "booking_confirmed" in kinds_to("sam@example.org")
    assert "manager_booking_confirmed" in kinds_to("morag@school.example.org")
    assert AuditEntry.objects.filter(
        object_id=str(booking.pk), action="line manager approved"
    ).exists()


@pytest.mark.django_db
def test_approving_a_card_place_holds_it_for_payment(
    session: Session, school: Agency, practitioner: Any
) -> None:
    booking = book(session, school, practitioner, "teacher@example.org", method=PaymentMethod.CARD)
    approval_decide(
        approval=booking.approvals.get(), decision=Decision.APPROVE, decided_by="m", now=NOW
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.HELD
    assert booking.hold_expires_at == NOW + dt.timedelta(hours=48)
    assert "approval_granted_pay" in kinds_to("teacher@example.org")


@pytest.mark.django_db
def test_the_line_manager_then_the_training_team_approve(
    session: Session, school: Agency, agency_booker: Any, settings: Any
) -> None:
    settings.TRAINING_TEAM_EMAIL = "team@example.org"
    session.course.approval = ApprovalRule.MANAGER_AND_TEAM
    session.course.save()
    booking = book(session, school, agency_booker, "sam@example.org")

    approval_decide(
        approval=booking.approvals.get(), decision=Decision.APPROVE, decided_by="m", now=NOW
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.AWAITING_APPROVAL
    team = booking.approvals.get(stage=ApprovalStage.TEAM)
    assert kinds_to("team@example.org") == ["approval_team_request"]

    approval_decide(approval=team, decision=Decision.APPROVE, decided_by="team", now=NOW)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


@pytest.mark.django_db
def test_declining_releases_the_place_to_the_waiting_list_and_says_why(
    session: Session,
    school: Agency,
    agency_booker: Any,
    practitioner: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = book(session, school, agency_booker, "sam@example.org")
    book(session, school, agency_booker, "kim@example.org")
    WaitingListEntry.objects.create(
        session=session, person=practitioner, email=practitioner.email, name="Tess"
    )

    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(
            approval=first.approvals.get(),
            decision=Decision.DECLINE,
            decided_by="m",
            reason="We are short-staffed that week",
            now=NOW,
        )

    first.refresh_from_db()
    assert first.status == BookingStatus.DECLINED
    assert places_taken(session.pk, NOW) == 1  # the other place still awaiting approval
    assert WaitingListEntry.objects.get().status == WaitlistStatus.OFFERED
    declined = OutgoingEmail.objects.get(kind="approval_declined", to="sam@example.org")
    assert "short-staffed" in declined.context["reason"]


@pytest.mark.django_db
def test_an_unanswered_request_is_reminded_once_and_then_released(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = book(session, school, agency_booker, "sam@example.org")

    wednesday = timezone.make_aware(dt.datetime(2031, 3, 5, 9, 30))
    assert housekeeping_run(now=wednesday)["approvals_reminded"] == 1
    assert housekeeping_run(now=wednesday)["approvals_reminded"] == 0  # once only
    assert kinds_to("morag@school.example.org") == ["approval_request", "approval_request"]

    friday = timezone.make_aware(dt.datetime(2031, 3, 7, 9, 0))
    assert housekeeping_run(now=friday)["approvals_expired"] == 1
    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    assert booking.approvals.get().status == ApprovalStatus.EXPIRED
    assert "approval_expired" in kinds_to("sam@example.org")


@pytest.mark.django_db
def test_a_link_used_after_expiry_changes_nothing(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = book(session, school, agency_booker, "sam@example.org")
    late = timezone.make_aware(dt.datetime(2031, 3, 6, 17, 1))
    with pytest.raises(BookingError, match="ran out"):
        approval_decide(
            approval=booking.approvals.get(), decision=Decision.APPROVE, decided_by="m", now=late
        )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.AWAITING_APPROVAL  # the tick releases it


@pytest.mark.django_db
def test_approval_for_a_session_cancelled_meanwhile_is_refused(
    session: Session, school: Agency, agency_booker: Any, training_admin: Any
) -> None:
    booking = book(session, school, agency_booker, "sam@example.org")
    session_cancel(session=session, actor=training_admin, now=NOW, reason="trainer ill")
    with pytest.raises(BookingError, match="session has been cancelled"):
        approval_decide(
            approval=booking.approvals.get(), decision=Decision.APPROVE, decided_by="m", now=NOW
        )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert booking.approvals.get().status == ApprovalStatus.WITHDRAWN
    assert "booking_confirmed" not in kinds_to("sam@example.org")


@pytest.mark.django_db
def test_forged_and_altered_links_are_refused(
    session: Session, school: Agency, agency_booker: Any, client: Client
) -> None:
    booking = book(session, school, agency_booker, "sam@example.org")
    approval = booking.approvals.get()
    token = approval_token(approval, Decision.APPROVE)

    assert approval_from_token(token) == (approval, Decision.APPROVE)
    altered = token.replace(token.split(":")[0], token.split(":")[0][:-2] + "xx")
    forged = signing.dumps(
        {"a": approval.pk, "s": "guess", "d": "approve"}, salt="bookings.approval"
    )
    wrong_salt = signing.dumps({"a": approval.pk, "s": approval.secret, "d": "approve"})
    for bad in (altered, forged, wrong_salt, "nonsense"):
        with pytest.raises(BookingError, match="not valid"):
            approval_from_token(bad)
        response = client.post(reverse("bookings:approval", args=[bad]))
        assert response.status_code == 404
    booking.refresh_from_db()
    assert booking.status == BookingStatus.AWAITING_APPROVAL


@pytest.mark.django_db
def test_the_link_shows_the_booking_and_only_a_post_decides(
    session: Session, school: Agency, agency_booker: Any
) -> None:
    booking = book(session, school, agency_booker, "sam@example.org")
    url = reverse("bookings:approval", args=[approval_token(booking.approvals.get(), "approve")])
    client = Client(enforce_csrf_checks=True)

    page = client.get(url)  # what a mail scanner does
    assert page.status_code == 200
    assert b"Approve this training place?" in page.content
    assert b"Sam" in page.content
    booking.refresh_from_db()
    assert booking.status == BookingStatus.AWAITING_APPROVAL

    answered = client.post(url, {"csrfmiddlewaretoken": page.context["csrf_token"]})
    assert answered.status_code == 200
    assert b"Place approved" in answered.content
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED

    again = client.post(url, {"csrfmiddlewaretoken": page.context["csrf_token"]})
    assert again.status_code == 409
    assert b"already been answered" in again.content


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_approve_and_decline_at_the_same_moment_give_one_decision(
    approval_course: Course, venue: Venue, school: Agency
) -> None:
    now = timezone.now()
    session = make_session(approval_course, venue, starts_at=now + dt.timedelta(days=40))
    booker = make_person(
        "booker@example.org", agency=school, roles=(Role.PRACTITIONER, Role.AGENCY_BOOKER)
    )
    booking = book(session, school, booker, "sam@example.org", now=now)
    approval_id = booking.approvals.get().pk

    outcomes = at_once(
        2,
        lambda i: approval_decide(
            approval=Approval.objects.select_related("booking").get(pk=approval_id),
            decision=(Decision.APPROVE, Decision.DECLINE)[i],
            decided_by=f"click {i}",
            now=now,
        ),
    )

    won = [value for kind, value in outcomes if kind == "ok"]
    lost = [value for kind, value in outcomes if kind == "error"]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], BookingError)
    booking.refresh_from_db()
    approval = Approval.objects.get(pk=approval_id)
    if won[0].startswith("approved"):
        assert (booking.status, approval.status) == (BookingStatus.CONFIRMED, "approved")
    else:
        assert (booking.status, approval.status) == (BookingStatus.DECLINED, "declined")
    assert (
        AuditEntry.objects.filter(
            object_id=str(booking.pk), action__contains="line manager "
        ).count()
        == 1
    )
