"""Messaging everyone on a session: who receives it, and sending it through the outbox."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from bookings.audit import audit_record
from bookings.errors import BookingError
from bookings.models import Booking, BookingStatus
from bookings.outbox import emails_queue, outgoing_email
from training.models import Session

SUBJECT_MAX = 150
BODY_MAX = 5000


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    role: str  # "attendee", "booker" or "trainer": how the email greets them


def session_message_recipients(*, session: Session, include_trainers: bool) -> list[Recipient]:
    """The confirmed attendees, their bookers and (if asked) the trainers: one email per
    address, whatever roles it has (an attendee who booked themselves is told once)."""
    bookings = (
        Booking.objects.filter(session=session, status=BookingStatus.CONFIRMED)
        .select_related("order__booked_by")
        .order_by("attendee_name", "pk")
    )
    recipients: dict[str, Recipient] = {}
    bookers: list[Recipient] = []
    for booking in bookings:
        email = booking.attendee_email.lower()
        recipients.setdefault(email, Recipient(email, booking.attendee_name, "attendee"))
        booked_by = booking.order.booked_by
        if booked_by is not None and booked_by.email:
            name = booked_by.get_full_name() or booked_by.email
            bookers.append(Recipient(booked_by.email.lower(), name, "booker"))
    for booker in bookers:
        recipients.setdefault(booker.email, booker)
    if include_trainers:
        for name, email in session.trainers.exclude(email="").values_list("name", "email"):
            recipients.setdefault(email.lower(), Recipient(email.lower(), name, "trainer"))
    return list(recipients.values())


def session_message_send(
    *,
    session: Session,
    subject: str,
    body: str,
    include_trainers: bool,
    actor: Any,
    now: dt.datetime,
) -> int:
    """Email one message to everyone on ``session`` (see ``session_message_recipients``), one
    email each through the outbox, and audit it. Returns how many emails were queued."""
    subject = " ".join(subject.split())
    body = body.strip()
    if not subject or not body:
        raise BookingError("Write both a subject and a message.")
    if len(subject) > SUBJECT_MAX or len(body) > BODY_MAX:
        raise BookingError(
            f"Keep the subject to {SUBJECT_MAX} characters and the message to {BODY_MAX}."
        )
    recipients = session_message_recipients(session=session, include_trainers=include_trainers)
    if not recipients:
        raise BookingError("Nobody holds a confirmed place on this session yet.")
    # The emails and their audit entry are written together, or neither is.
    with transaction.atomic():
        emails_queue(
            outgoing_email(
                kind="session_message",
                to=recipient.email,
                context={
                    "session_id": session.pk,
                    "subject": subject,
                    "body": body,
                    "name": recipient.name,
                    "role": recipient.role,
                },
            )
            for recipient in recipients
        )
        audit_record(
            obj=session,
            action="session messaged",
            actor=actor,
            now=now,
            changes={
                "subject": subject,
                "recipients": len(recipients),
                "trainers_included": include_trainers,
            },
        )
    return len(recipients)
