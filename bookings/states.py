"""Changing a booking's status, with its audit entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bookings.audit import audit_record
from bookings.models import (
    Booking,
)


def booking_status_set(
    booking: Booking, status: str, *, actor: Any, now: dt.datetime, **extra: Any
) -> None:
    old = booking.status
    booking.status = status
    for field, value in extra.items():
        setattr(booking, field, value)
    booking.save(update_fields=["status", *extra.keys()])
    audit_record(
        obj=booking,
        action=f"status {old} → {status}",
        actor=actor,
        now=now,
        changes={"status": [old, status], **{k: v for k, v in extra.items()}},
    )
