"""Moving a session to other dates, times or a venue, and telling the people booked on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from bookings.audit import audit_record
from bookings.errors import BookingError
from bookings.locking import lock_rows
from bookings.models import ACTIVE_STATUSES, Booking, OutgoingEmail
from bookings.money.confirmations import reminder_time
from bookings.outbox import emails_queue, outgoing_email
from training.models import Session, SessionPart, SessionStatus, Venue

PartTimes = tuple[dt.datetime, dt.datetime]


def _when_text(parts: Sequence[PartTimes]) -> list[str]:
    """Each part as people read it, in local time: 'Tuesday 12 January 2027, 09:30 to 16:00'."""
    rows = []
    for starts_at, ends_at in parts:
        start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
        rows.append(f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M} to {end:%H:%M}")
    return rows


@dataclass(frozen=True)
class MoveRecipients:
    """Who a change to a session is sent to: one email each."""

    bookings: list[Booking]  # each attendee's place
    booked_for: dict[str, list[str]]  # a booker's address: the colleagues they booked
    trainer_emails: list[str]

    @property
    def count(self) -> int:
        return len(self.bookings) + len(self.booked_for) + len(self.trainer_emails)


def session_move_recipients(session: Session) -> MoveRecipients:
    """The active places' attendees, their bookers (once each, unless booked themselves) and
    the trainers (unless already told as one of those)."""
    bookings = list(
        Booking.objects.filter(session=session, status__in=ACTIVE_STATUSES)
        .select_related("order__booked_by")
        .order_by("attendee_name", "pk")
    )
    told = {booking.attendee_email.lower() for booking in bookings}
    booked_for: dict[str, list[str]] = {}
    for booking in bookings:
        booker = getattr(booking.order.booked_by, "email", "").lower()
        if booker and booker not in told:
            booked_for.setdefault(booker, []).append(booking.attendee_name)
    told |= set(booked_for)
    trainer_emails = []
    for trainer_email in session.trainers.exclude(email="").values_list("email", flat=True):
        if trainer_email.lower() not in told:
            told.add(trainer_email.lower())
            trainer_emails.append(trainer_email)
    return MoveRecipients(bookings=bookings, booked_for=booked_for, trainer_emails=trainer_emails)


def session_reschedule(
    *,
    session: Session,
    parts: Sequence[PartTimes],
    venue: Venue,
    tell_people: bool,
    actor: Any,
    now: dt.datetime,
) -> int:
    """Move a session's parts (as many as it has) and venue; every calendar entry for it gets
    a higher SEQUENCE. When ``tell_people``, each attendee, booker and trainer is emailed, the
    attendees with the updated calendar entry. Returns how many people are emailed."""
    with transaction.atomic():
        # The session row lock: no booking, cancellation or other move lands mid-change.
        locked = lock_rows(sessions=[session.pk]).sessions[session.pk]
        if locked.status == SessionStatus.CANCELLED:
            raise BookingError("This session is cancelled, so it cannot be moved.")
        if locked.starts_at is not None and locked.starts_at <= now:
            raise BookingError("This session has already started, so it cannot be moved.")
        current = list(SessionPart.objects.filter(session=locked).order_by("starts_at", "pk"))
        if len(parts) != len(current):
            raise BookingError(f"Give the new times of all {len(current)} parts of the session.")
        moved = sorted(parts)
        for starts_at, ends_at in moved:
            if ends_at <= starts_at:
                raise BookingError("Each part must end after it starts.")
            if starts_at <= now:
                raise BookingError("A session can only be moved to a time still to come.")
        before = [(part.starts_at, part.ends_at) for part in current]
        old_venue = locked.venue
        if moved == before and venue.pk == old_venue.pk:
            raise BookingError("Nothing has changed: give a new date, time or venue.")
        for part, (starts_at, ends_at) in zip(current, moved, strict=True):
            part.starts_at, part.ends_at = starts_at, ends_at
        SessionPart.objects.bulk_update(current, ["starts_at", "ends_at"])
        locked.venue = venue
        locked.calendar_sequence += 1
        locked.save(update_fields=["venue", "calendar_sequence"])
        locked.refresh_starts_at()
        audit_record(
            obj=locked,
            action="moved",
            actor=actor,
            now=now,
            changes={
                "when": [_when_text(before), _when_text(moved)],
                "venue": [old_venue.name, venue.name],
                "calendar_sequence": locked.calendar_sequence,
                "people_told": tell_people,
            },
        )
        _reminders_reschedule(locked, now)
        if not tell_people:
            return 0
        context = {
            "session_id": locked.pk,
            "was_when": _when_text(before),
            "was_venue": old_venue.name,
            "venue_changed": venue.pk != old_venue.pk,
        }
        return len(_move_emails_queue(locked, context))


def _reminders_reschedule(session: Session, now: dt.datetime) -> None:
    # The reminder goes before the new first day; none if that moment has passed.
    reminders = OutgoingEmail.objects.filter(
        booking__session=session, kind="booking_reminder", sent_at=None, claimed_at=None
    )
    reminder_at = reminder_time(session)
    if reminder_at is None or reminder_at <= now:
        reminders.delete()
    else:
        reminders.update(send_after=reminder_at)


def _move_emails_queue(session: Session, context: dict[str, Any]) -> list[OutgoingEmail]:
    """Each attendee about their place (with its calendar entry), each booker once for the
    colleagues they booked, each trainer with their own entry."""
    recipients = session_move_recipients(session)
    emails = [
        outgoing_email(
            kind="session_moved", to=booking.attendee_email, booking=booking, context=context
        )
        for booking in recipients.bookings
    ]
    emails += [
        outgoing_email(
            kind="session_moved_booker", to=booker, context={**context, "attendee_names": names}
        )
        for booker, names in recipients.booked_for.items()
    ]
    emails += [
        outgoing_email(kind="session_moved_trainer", to=trainer_email, context=context)
        for trainer_email in recipients.trainer_emails
    ]
    return emails_queue(emails)


def email_session_context(email: OutgoingEmail) -> dict[str, Any]:
    """The session an email about a whole session (not one place) is about."""
    session = (
        Session.objects.select_related("course", "venue")
        .filter(pk=email.context.get("session_id"))
        .first()
    )
    return {"session": session}
