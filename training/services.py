"""Operations on the training programme and on people's profiles."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from training.membership import agency_lookalikes, membership_request
from training.models import Agency, Profile, Sector, Session, SessionPart, SessionStatus


class TrainingError(Exception):
    """A mistake a person can put right; the message says how."""


def agency_propose(*, name: str, sector: Sector, proposed_by: Any) -> Agency:
    """A practitioner's agency that is not on the list waits for the administrator's approval."""
    name = " ".join(name.split())
    if not name:
        raise TrainingError("Enter the name of your agency.")
    # A look-alike of a registered agency is that agency: asking to join it is a request
    # like any other, never a way in by spelling (the form offers the request instead).
    same, _ = agency_lookalikes(name)
    if same is not None or Agency.objects.filter(name__iexact=name).exists():
        raise TrainingError(
            f"{same or name} is already registered: choose it from the list to ask to join it."
        )
    return Agency.objects.create(name=name, sector=sector, approved=False, proposed_by=proposed_by)


@transaction.atomic
def profile_update(
    *,
    user: Any,
    first_name: str,
    last_name: str,
    job_title: str,
    phone: str,
    agency: Agency | None,
    new_agency_name: str = "",
    new_agency_sector: Sector | None = None,
    consent_to_calls: bool,
    now: dt.datetime,
) -> tuple[Profile, bool]:
    """Save a person's details; propose a new agency when theirs is not on the list.

    The agency is a request (``training.membership``): returns the profile and whether the
    membership is verified.
    """
    if agency is None:
        if not new_agency_name or new_agency_sector is None:
            raise TrainingError(
                "Choose your agency from the list, or give its name and sector to add it."
            )
        agency = agency_propose(name=new_agency_name, sector=new_agency_sector, proposed_by=user)
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    user.save(update_fields=["first_name", "last_name"])
    profile, _ = Profile.objects.get_or_create(user=user)
    profile.job_title = job_title.strip()
    profile.phone = phone.strip()
    profile.consent_to_calls = consent_to_calls
    profile.save(update_fields=["job_title", "phone", "consent_to_calls"])
    verified = membership_request(profile=profile, agency=agency, now=now)
    return profile, verified


MOVE_ON_THE_PAGE = (
    "People have booked this session: move it from its Move this session page (Manage "
    "bookings), which asks whether to tell them and sends everyone an updated calendar entry."
)


def session_is_booked(session_id: int | None) -> bool:
    """Whether anyone has ever booked the session (its dates and venue then move only
    through the Move this session page, so nobody is left with the old ones)."""
    return (
        session_id is not None
        and Session.objects.filter(pk=session_id, bookings__isnull=False).exists()
    )


def session_change_problems(
    session_id: int | None, *, capacity: Any, status: str, venue_id: int | None = None
) -> dict[str, str]:
    """Changes to a session that must go through its Manage bookings page, by field.

    Cancelling refunds and emails everyone booked, a capacity is never set below the
    places taken while new places go to the waiting list, and a booked session moves only
    with everyone told: the admin form and the spreadsheet import only create sessions,
    publish or unpublish them, and move sessions nobody has booked.
    """
    before = None
    if session_id is not None:
        before = (
            Session.objects.filter(pk=session_id).values("capacity", "status", "venue_id").first()
        )
    if before is None:
        if status == SessionStatus.CANCELLED:
            return {"status": "A new session cannot start cancelled."}
        return {}
    problems = {}
    if before["status"] != SessionStatus.CANCELLED and status == SessionStatus.CANCELLED:
        problems["status"] = (
            "Cancel a session from its Manage bookings page: that cancels and refunds every "
            "booking and emails everyone."
        )
    elif before["status"] == SessionStatus.CANCELLED and status != SessionStatus.CANCELLED:
        problems["status"] = (
            "A cancelled session stays cancelled: its bookings were refunded. Add a new session."
        )
    if capacity != before["capacity"]:
        problems["capacity"] = (
            "Change the capacity on the session's Manage bookings page: it never goes below the "
            "places taken, and new places are offered to the waiting list."
        )
    if venue_id is not None and venue_id != before["venue_id"] and session_is_booked(session_id):
        problems["venue"] = MOVE_ON_THE_PAGE
    return problems


@transaction.atomic
def session_parts_replace(
    *, session: Session, parts: list[tuple[dt.datetime, dt.datetime]]
) -> None:
    """Give a session exactly these dated parts (start, end), and its start from the first."""
    current = sorted(session.parts.values_list("starts_at", "ends_at"))
    wanted = sorted(parts)
    if current != wanted:
        session.parts.all().delete()
        SessionPart.objects.bulk_create(
            SessionPart(session=session, starts_at=start, ends_at=end) for start, end in wanted
        )
    session.refresh_starts_at()


def profile_line_manager_set(*, user: Any, name: str, email: str) -> None:
    """Remember the line manager a person gave when booking, for their next booking."""
    name, email = " ".join(name.split()), email.strip().lower()
    if not name or not email:
        return
    Profile.objects.filter(user=user).exclude(
        line_manager_name=name, line_manager_email=email
    ).update(line_manager_name=name, line_manager_email=email)
