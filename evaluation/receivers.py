"""Reactions to what happens in other apps. ``bookings`` announces, ``evaluation`` listens:
bookings never imports evaluation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bookings.models import Booking
from evaluation.surveys.services import invitations_schedule, pre_course_invite


def schedule_surveys_on_attendance(
    sender: Any, *, booking: Booking, now: dt.datetime, **kwargs: Any
) -> None:
    """A place was marked attended: schedule its evaluation and follow-up invitations."""
    invitations_schedule(booking=booking, now=now)


def invite_pre_course_on_confirmation(
    sender: Any, *, booking: Booking, now: dt.datetime, **kwargs: Any
) -> None:
    """A place was confirmed: send the pre-course questionnaire if its course asks for one."""
    pre_course_invite(booking=booking, now=now)
