"""Demo of the people around a booking: courses that need approval, places awaiting it, and
attendees' access and dietary needs (the online session is in the programme's demo)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction

from bookings.demo.names import FIRST_NAMES, LAST_NAMES
from bookings.errors import BookingError
from bookings.models import Booking, OutgoingEmail, PaymentMethod
from bookings.places.approvals import ManagerSpec
from bookings.places.booking import AttendeeSpec, booking_create
from training.models import Agency, ApprovalRule, Course, Session

# The courses whose places wait for the line manager (and, for one, the training team too).
APPROVAL_RULES = {
    "Safer Recruitment": ApprovalRule.MANAGER,
    "Signs of safety": ApprovalRule.MANAGER_AND_TEAM,
}
# What some demo attendees tell the training team, one in seven of them.
ACCESS_NEEDS = (
    "Vegetarian lunch, please",
    "I use a wheelchair: step-free access to the room",
    "Hearing loop, or a seat near the trainer",
    "Gluten-free lunch",
    "I may need to step out for a call from school",
)
AWAITING_SESSIONS = 2  # upcoming sessions of approval courses with places awaiting approval
AWAITING_PER_SESSION = 2


def access_needs_for(index: int) -> str:
    """A demo attendee's needs, by their number on the session: deterministic."""
    return ACCESS_NEEDS[(index // 7) % len(ACCESS_NEEDS)] if index % 7 == 3 else ""


def load_demo_approval_rules() -> int:
    """Mark the demo's approval courses (after the historical year, whose places were booked
    before the rule); returns how many courses changed. Idempotent."""
    changed = 0
    for title, rule in APPROVAL_RULES.items():
        changed += Course.objects.filter(title=title, approval=ApprovalRule.NONE).update(
            approval=rule
        )
    return changed


def load_demo_awaiting_approval(sessions: list[Session], *, now: dt.datetime) -> int:
    """A few places on upcoming approval courses, booked by the administrator for named
    practitioners and waiting for their line managers. Idempotent."""
    booker = get_user_model().objects.filter(email="admin@example.org").first()
    agency = Agency.objects.filter(approved=True, purchase_order_required=False).order_by("pk")
    first_agency = agency.first()
    if booker is None or first_agency is None:
        return 0
    chosen = [
        session
        for session in sessions
        if session.course.needs_approval and session.starts_at and session.starts_at > now
    ][:AWAITING_SESSIONS]
    created = 0
    with transaction.atomic():
        first_new_email = (
            OutgoingEmail.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )
        for session in chosen:
            prefix = f"awaiting.{session.pk}."
            if Booking.objects.filter(session=session, attendee_email__startswith=prefix).exists():
                continue  # already loaded
            for n in range(AWAITING_PER_SESSION):
                name = f"{FIRST_NAMES[(session.pk + n + 5) % 20]} {LAST_NAMES[(n + 9) % 16]}"
                try:
                    booking_create(
                        session=session,
                        attendees=[
                            AttendeeSpec(
                                name=name,
                                email=f"{prefix}{n + 1}@example.org",
                                job_title="Practitioner",
                                access_needs=access_needs_for(n + 3),
                            )
                        ],
                        agency=first_agency,
                        booked_by=booker,
                        payment_method=PaymentMethod.INVOICE,
                        manager=ManagerSpec(
                            name=f"Manager of {name}",
                            email=f"manager.{session.pk}.{n + 1}@example.org",
                        ),
                        now=now,
                    )
                except BookingError:
                    break
                created += 1
        # The demo's own emails are not sent: they were never real bookings.
        OutgoingEmail.objects.filter(pk__gt=first_new_email).delete()
    return created
