"""The waiting list: joining, offers in turn when a place frees, claiming, lapsing, leaving."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from bookings import jobs
from bookings.audit import audit_record
from bookings.capacity import places_taken
from bookings.errors import BookingError
from bookings.locking import lock_rows
from bookings.models import (
    ACTIVE_STATUSES,
    Booking,
    WaitingListEntry,
    WaitlistStatus,
)
from bookings.outbox import email_queue
from training.models import Session, SessionStatus


def waitlist_join(*, session: Session, person: Any, now: dt.datetime) -> WaitingListEntry:
    """Join a session's waiting list (once)."""
    if session.status != SessionStatus.PUBLISHED or (
        session.starts_at and session.starts_at <= now
    ):
        raise BookingError("This session is not taking a waiting list.")
    email = person.email.lower()
    if Booking.objects.filter(
        session=session, attendee_email=email, status__in=ACTIVE_STATUSES
    ).exists():
        raise BookingError("You already have a place on this session.")
    existing = WaitingListEntry.objects.filter(
        session=session, person=person, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
    ).first()
    if existing is not None:
        raise BookingError("You are already on the waiting list for this session.")
    try:
        with transaction.atomic():
            entry = WaitingListEntry.objects.create(
                session=session,
                person=person,
                email=email,
                name=person.get_full_name() or email,
                joined_at=now,
            )
    except IntegrityError as error:
        raise BookingError("You are already on the waiting list for this session.") from error
    audit_record(obj=entry, action="joined waiting list", actor=person, now=now)
    return entry


def _offer(entry: WaitingListEntry, *, now: dt.datetime, actor: Any) -> bool:
    """Offer a place to someone waiting, if they still are (they may leave without a lock)."""
    expires_at = now + dt.timedelta(hours=settings.WAITLIST_OFFER_HOURS)
    if not WaitingListEntry.objects.filter(pk=entry.pk, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.OFFERED, offered_at=now, offer_expires_at=expires_at
    ):
        return False
    entry.status = WaitlistStatus.OFFERED
    entry.offered_at = now
    entry.offer_expires_at = expires_at
    audit_record(
        obj=entry,
        action="offered a place",
        actor=actor,
        now=now,
        changes={"offer_expires_at": entry.offer_expires_at},
    )
    email_queue(kind="waitlist_offer", to=entry.email, waiting_list_entry=entry)
    return True


def waitlist_offer_next(*, session: Session, now: dt.datetime) -> list[WaitingListEntry]:
    """Offer every free place on a session to the next people waiting, in order."""
    with transaction.atomic():
        # The session lock: the free places counted here stay free until the offers are made.
        locked = lock_rows(sessions=[session.pk]).sessions[session.pk]
        # Once booking has closed an offer could never be claimed, so none goes out and the
        # open ones lapse now rather than holding the place until they run out.
        closed = not locked.is_open_for_booking(now)
        if closed and locked.status != SessionStatus.PUBLISHED:
            return []  # a cancelled session's list is closed by session_cancel
        lapsing = locked.waiting_list.filter(status=WaitlistStatus.OFFERED)
        if not closed:
            lapsing = lapsing.filter(offer_expires_at__lte=now)
        # Offers that ran out pass on: mark them lapsed first.
        for lapsed in lapsing:
            if WaitingListEntry.objects.filter(pk=lapsed.pk, status=WaitlistStatus.OFFERED).update(
                status=WaitlistStatus.LAPSED
            ):
                audit_record(obj=lapsed, action="offer lapsed", actor=None, now=now)
        if closed:
            return []
        free = locked.capacity - places_taken(locked.pk, now)
        offered = []
        if free > 0:
            for entry in locked.waiting_list.filter(status=WaitlistStatus.WAITING).order_by(
                "joined_at", "pk"
            )[:free]:
                if _offer(entry, now=now, actor=None):
                    offered.append(entry)
    return offered


def waitlist_offer_by_hand(*, entry: WaitingListEntry, actor: Any, now: dt.datetime) -> None:
    """The administrator offers a place to a particular person, even out of turn."""
    with transaction.atomic():
        # The session (free places stay free), then the entry (it cannot leave meanwhile).
        rows = lock_rows(sessions=[entry.session_id], offers=[entry.pk])
        locked, entry = rows.sessions[entry.session_id], rows.offers[entry.pk]
        if entry.status != WaitlistStatus.WAITING:
            raise BookingError("This person is not waiting any more.")
        if not locked.is_open_for_booking(now):
            raise BookingError("Booking for this session has closed, so no place can be offered.")
        if locked.capacity - places_taken(locked.pk, now) <= 0:
            raise BookingError(
                "There is no free place to offer. Raise the capacity first, then offer."
            )
        if not _offer(entry, now=now, actor=actor):
            raise BookingError("This person is not waiting any more.")


def lapsed_offer_sessions(*, now: dt.datetime) -> list[int]:
    """The sessions with waiting-list offers that ran out, or that are still open on a session
    whose booking has closed, in id order."""
    offered = WaitingListEntry.objects.filter(status=WaitlistStatus.OFFERED)
    ran_out = set(offered.filter(offer_expires_at__lte=now).values_list("session_id", flat=True))
    # Whether booking has closed is a working-day rule the database cannot compute; sessions
    # with open offers are few, so each is asked in turn.
    open_offer_sessions = Session.objects.filter(
        pk__in=offered.values("session_id").distinct()
    ).select_related("course")
    closed = {session.pk for session in open_offer_sessions if not session.is_open_for_booking(now)}
    return sorted(ran_out | closed)


def waitlist_lapse_offers(*, now: dt.datetime) -> int:
    """Pass on offers that ran out, and lapse every open offer of a session whose booking has
    closed, session by session (each in a transaction of its own)."""
    session_ids = lapsed_offer_sessions(now=now)
    for session_id in session_ids:
        waitlist_offer_next(session=Session.objects.get(pk=session_id), now=now)
    return len(session_ids)


def waitlist_leave(*, entry: WaitingListEntry, actor: Any, now: dt.datetime) -> None:
    # One conditional update: the entry's own row lock is all it needs.
    with transaction.atomic():
        updated = WaitingListEntry.objects.filter(
            pk=entry.pk, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
        ).update(status=WaitlistStatus.LEFT)
        if updated:
            audit_record(obj=entry, action="left waiting list", actor=actor, now=now)
            jobs.enqueue_on_commit("offer_waiting_places", entry.session_id)
