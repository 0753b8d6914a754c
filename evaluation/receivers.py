"""Reactions to what happens in other apps. ``bookings`` announces, ``evaluation`` listens:
bookings never imports evaluation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bookings.models import Booking
from evaluation.surveys.services import invitations_schedule


def schedule_surveys_on_attendance(
    sender: Any, *, booking: Booking, now: dt.datetime, **kwargs: Any
) -> None:
    """A place was marked attended: schedule its evaluation and follow-up invitations."""
    invitations_schedule(booking=booking, now=now)
