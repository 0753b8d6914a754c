"""Changing a booking's status, with its audit entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bookings.audit import audit_record
from bookings.models import (
    Booking,
)


def booking_status_set(
    booking: Booking, status: str, *, expected: str, actor: Any, now: dt.datetime, **extra: Any
) -> bool:
    """Move a booking from ``expected`` to ``status`` (with the ``extra`` fields) and audit it.

    One conditional update (``WHERE pk = … AND status = expected``), never a save of what may be
    a stale copy: if another operation changed the status first, nothing is written, no audit
    entry is made and this returns False; the caller decides what that means. On True,
    ``booking`` holds the new values.
    """
    changed = Booking.objects.filter(pk=booking.pk, status=expected).update(status=status, **extra)
    if not changed:
        return False
    booking.status = status
    for field, value in extra.items():
        setattr(booking, field, value)
    audit_record(
        obj=booking,
        action=f"status {expected} → {status}",
        actor=actor,
        now=now,
        changes={"status": [expected, status], **extra},
    )
    return True
